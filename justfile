# pywatt: every recipe creates or reuses ./.venv from the committed uv.lock; nothing is
# resolved anew except by `just lock` and `just check-latest`.

set shell := ["bash", "-euo", "pipefail", "-c"]

python := env_var_or_default("PYTHON", "python3")
uv_version := "0.13.8"
tools := ".tools"
uv := tools / "bin/uv"
venv := ".venv"
bin := venv / "bin"
code := "actors pywatt tests benchmarks examples"

export UV_PYTHON := python
export UV_PROJECT_ENVIRONMENT := venv
export PYWATT_UV := justfile_directory() / uv

# List the recipes.
default:
    @just --list

# The pinned uv in ./.tools (its own venv; the system Python is left alone).
_uv:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ ! -x {{uv}} ] || [ "$({{uv}} --version | cut -d' ' -f2)" != "{{uv_version}}" ]; then
        {{python}} -m venv --clear {{tools}}
        {{tools}}/bin/python -m pip install -q --disable-pip-version-check "uv=={{uv_version}}"
    fi

# Create or update ./.venv exactly as uv.lock says (every extra, the dev tools).
setup: _uv
    {{uv}} sync --frozen --all-extras --quiet

# Re-resolve every dependency to the newest allowed versions and rewrite uv.lock.
lock: _uv
    {{uv}} lock --upgrade

# Lint, format check, and the package layers (pyproject.toml's [tool.importlinter] contracts).
lint: setup
    {{bin}}/ruff check {{code}}
    {{bin}}/ruff format --check {{code}}
    {{bin}}/lint-imports --no-cache

# Strict type check of both packages.
typecheck: setup
    {{bin}}/mypy --strict actors pywatt

# Lint, type check, then the whole test suite beside the fault suite's bounded form.
test *ARGS: lint typecheck
    bash .ci/with-services.sh bash .ci/test.sh {{bin}} {{ARGS}}

# The same without the tests marked slow.
test-fast *ARGS: lint typecheck
    @just _pytest {{bin}} -m "'not slow and not faults'" -n auto --maxprocesses 4 {{ARGS}}

# Run the whole suite RUNS times with every core kept busy; fails if any run failed.
test-stress RUNS="5" *ARGS: setup
    @bash .ci/stress.sh {{RUNS}} {{bin}}/python -m pytest -q -p no:cacheprovider -m "not faults" {{ARGS}}

# Lint, types and tests against the newest releases in ./.venv-latest (lock untouched).
check-latest: _uv
    #!/usr/bin/env bash
    set -euo pipefail
    {{uv}} venv --quiet --allow-existing .venv-latest
    VIRTUAL_ENV=.venv-latest {{uv}} pip install --quiet --upgrade --no-config \
        -r pyproject.toml --all-extras --group dev -e .
    {{uv}} pip list --python .venv-latest | grep -iE '^(trio|cattrs|attrs|msgpack|joserfc|psycopg|redis|hiredis|pymemcache|pymysql|hypercorn|mypy|ruff|pytest) ' || true
    .venv-latest/bin/ruff check {{code}}
    .venv-latest/bin/ruff format --check {{code}}
    .venv-latest/bin/mypy --strict actors pywatt
    just _pytest .venv-latest/bin

_pytest BIN *ARGS:
    bash .ci/with-services.sh {{BIN}}/python -m pytest {{ARGS}}

# Run the fuzz targets long (EXAMPLES each); new finds go to tests/fuzz/examples/.
fuzz EXAMPLES="20000" *ARGS: setup
    PYWATT_FUZZ_EXAMPLES={{EXAMPLES}} {{bin}}/python -m pytest -q -p no:cacheprovider tests/fuzz {{ARGS}}

# Run the fault suite, about SECONDS per scenario; writes benchmarks/results/faults.json.
faults SECONDS="8" *ARGS: setup
    bash .ci/with-services.sh {{bin}}/python -m benchmarks.faults --seconds {{SECONDS}} {{ARGS}}

# The fault suite's long form: every scenario for about SECONDS (default 60) each.
soak SECONDS="60" *ARGS: setup
    bash .ci/with-services.sh {{bin}}/python -m benchmarks.faults --seconds {{SECONDS}} {{ARGS}}

# Start the test servers and print their environment (for eval in a shell).
services:
    #!/usr/bin/env bash
    set -euo pipefail
    source .ci/services.sh
    CI_SVC_DIR=$(mktemp -d /tmp/pywatt-svc.XXXXXX)
    export CI_SVC_DIR
    ci_services_start >&2
    echo "export DATABASE_URL='$DATABASE_URL' MYSQL_URL='$MYSQL_URL' REDIS_URL='$REDIS_URL' MEMCACHED_ADDR='$MEMCACHED_ADDR' PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER PGDATABASE=$PGDATABASE CI_SVC_DIR=$CI_SVC_DIR"

# Build the sdist and the wheel into dist/ and check them with twine.
dist: setup
    rm -rf dist
    {{bin}}/python -m build --no-isolation --outdir dist .
    {{bin}}/twine check --strict dist/*

# Run the demo: a supervision tree, two modules, and a web module behind the gateway.
demo: setup
    {{bin}}/python examples/supervision.py
    bash examples/demo.sh
    bash examples/demo_http.sh

# (benchmarks/table.py is not a benchmark: `python -m benchmarks.table --write` updates
# docs/performance.md from the results.)
# Run every benchmark (--quick for a short run); results in benchmarks/results/.
bench *ARGS: setup
    command -v wrk >/dev/null || { apt-get update -q && apt-get install -y -q --no-install-recommends wrk; }
    bash .ci/with-services.sh bash -c 'for b in benchmarks/[a-z]*.py; do n=$(basename "$b" .py); [ "$n" = table ] || {{bin}}/python -m "benchmarks.$n" "$@"; done' bench {{ARGS}}

# Format the code in place.
fmt: setup
    {{bin}}/ruff format {{code}}
    {{bin}}/ruff check --fix {{code}}
