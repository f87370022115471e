#!/usr/bin/env bash
# The pywatt demo: two modules under the embedded orchestrator. It shows startup, a secret
# fetched, a secret rotated while running and picked up, a module crash and restart, and a
# clean shutdown; it ends by itself. Run it with `just demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${PYWATT_BIN:-.venv/bin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'GREETING=hello\n' > "$work/demo.env"
export FLAKY_STATE_DIR="$work"

echo "== pywatt run examples/greeter.py examples/flaky.py (for 8 s)"
"$bin/pywatt" run examples/greeter.py examples/flaky.py \
    --secrets-file "$work/demo.env" --run-dir "$work/run" --for 8 &
orchestrator=$!

# Rotate once the greeter is up and has fetched its secret.
for _ in $(seq 100); do
    if "$bin/pywatt" status --run-dir "$work/run" 2>/dev/null | grep -q '^greeter .* running .*GET /greet'; then
        break
    fi
    sleep 0.1
done
echo "== pywatt rotate GREETING (while running)"
printf 'hola' | "$bin/pywatt" rotate GREETING --run-dir "$work/run"
wait "$orchestrator"
echo "== demo finished"
