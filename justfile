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

# Lint, type check and run the whole test suite. Starts PostgreSQL, MariaDB, Redis and
# Memcached on loopback (installing them if needed) unless the environment already names them.
test *ARGS: lint typecheck
    #!/usr/bin/env bash
    set -euo pipefail
    if [ -z "${DATABASE_URL:-}" ] || [ -z "${MYSQL_URL:-}" ] || [ -z "${REDIS_URL:-}" ] || [ -z "${MEMCACHED_ADDR:-}" ]; then
        source .ci/services.sh
        CI_SVC_DIR=$(mktemp -d /tmp/pywatt-svc.XXXXXX)  # always a fresh set of servers
        export CI_SVC_DIR
        ci_services_start
        trap 'ci_services_stop' EXIT
    fi
    {{bin}}/python -m pytest {{ARGS}}

# Start the test servers and print the environment that names them (for a shell: eval).
services:
    #!/usr/bin/env bash
    set -euo pipefail
    source .ci/services.sh
    CI_SVC_DIR=$(mktemp -d /tmp/pywatt-svc.XXXXXX)
    export CI_SVC_DIR
    ci_services_start >&2
    echo "export DATABASE_URL='$DATABASE_URL' MYSQL_URL='$MYSQL_URL' REDIS_URL='$REDIS_URL' MEMCACHED_ADDR='$MEMCACHED_ADDR' PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER PGDATABASE=$PGDATABASE CI_SVC_DIR=$CI_SVC_DIR"

# Run the demo: a supervision tree in one process, two modules under the orchestrator, then
# a web module reached through the orchestrator's HTTP gateway with and without a JWT.
demo: setup
    {{bin}}/python examples/supervision.py
    bash examples/demo.sh
    bash examples/demo_http.sh

# Run every benchmark (pass --quick for a short run); results go to benchmarks/results/.
bench *ARGS: setup
    #!/usr/bin/env bash
    set -euo pipefail
    if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ] || [ -z "${MEMCACHED_ADDR:-}" ]; then
        source .ci/services.sh
        CI_SVC_DIR=$(mktemp -d /tmp/pywatt-svc.XXXXXX)  # always a fresh set of servers
        export CI_SVC_DIR
        ci_services_start
        trap 'ci_services_stop' EXIT
    fi
    for b in benchmarks/[a-z]*.py; do
        name=$(basename "$b" .py)
        {{bin}}/python -m benchmarks."$name" {{ARGS}}
    done

# Format the code in place.
fmt: setup
    {{bin}}/ruff format actors pywatt tests benchmarks examples
    {{bin}}/ruff check --fix actors pywatt tests benchmarks examples
