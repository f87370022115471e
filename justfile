# pywatt: every recipe creates or reuses ./.venv and installs what it needs itself.

set shell := ["bash", "-euo", "pipefail", "-c"]

python := env_var_or_default("PYTHON", "python3")
venv := ".venv"
bin := venv / "bin"

# List the recipes.
default:
    @just --list

# Create or reuse the virtualenv and install pywatt with its dev tools.
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ ! -x {{bin}}/python ]; then {{python}} -m venv {{venv}}; fi
    stamp={{venv}}/.installed
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        {{bin}}/python -m pip install -q -U pip
        {{bin}}/python -m pip install -q -e '.[dev]'
        touch "$stamp"
    fi

# Lint and format check.
lint: setup
    {{bin}}/ruff check actors pywatt tests benchmarks examples
    {{bin}}/ruff format --check actors pywatt tests benchmarks examples

# Strict type check of both packages.
typecheck: setup
    {{bin}}/mypy --strict actors pywatt

# Lint, type check and run the whole test suite.
test *ARGS: lint typecheck
    {{bin}}/python -m pytest {{ARGS}}

# Run the demo: a supervision tree in one process, then two modules under the orchestrator.
demo: setup
    {{bin}}/python examples/supervision.py
    bash examples/demo.sh

# Run every benchmark (pass --quick for a short run); results go to benchmarks/results/.
bench *ARGS: setup
    #!/usr/bin/env bash
    set -euo pipefail
    for b in benchmarks/[a-z]*.py; do
        name=$(basename "$b" .py)
        {{bin}}/python -m benchmarks."$name" {{ARGS}}
    done

# Format the code in place.
fmt: setup
    {{bin}}/ruff format actors pywatt tests benchmarks examples
    {{bin}}/ruff check --fix actors pywatt tests benchmarks examples
