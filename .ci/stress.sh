#!/usr/bin/env bash
# The test suite under load: `stress.sh RUNS PYTEST-COMMAND...` runs the command RUNS times
# while one busy-looping process per core keeps the CPU full, then prints each run's
# failures and a summary. Exits non-zero if any run failed. Starts the test servers unless
# the environment already names them (as `just test` does).
set -euo pipefail
runs=$1; shift
if [ -z "${DATABASE_URL:-}" ] || [ -z "${MYSQL_URL:-}" ] || [ -z "${REDIS_URL:-}" ] || [ -z "${MEMCACHED_ADDR:-}" ]; then
    exec bash "$(dirname "$0")/with-services.sh" bash "$0" "$runs" "$@"
fi
logs=$(mktemp -d /tmp/pywatt-stress.XXXXXX)
hogs=()
for _ in $(seq "$(nproc)"); do
    python3 -c 'while True: pass' &
    hogs+=($!)
done
stop_hogs() { kill "${hogs[@]}" 2>/dev/null || true; }
trap stop_hogs EXIT
failed_runs=0
for run in $(seq "$runs"); do
    start=$SECONDS
    if "$@" -rf >"$logs/run$run.log" 2>&1; then status=ok; else status=FAILED; failed_runs=$((failed_runs + 1)); fi
    summary=$(grep -E '[0-9]+ (passed|failed|errors?)\b' "$logs/run$run.log" | tail -1 | tr -d '=' || true)
    echo "run $run: $status in $((SECONDS - start)) s: ${summary}"
    grep -E '^(FAILED|ERROR) ' "$logs/run$run.log" | sed 's/^/    /' || true
done
echo "$runs runs under load, $failed_runs with failures (logs in $logs)"
[ "$failed_runs" -eq 0 ]
