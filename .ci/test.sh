#!/usr/bin/env bash
# `test.sh BIN [PYTEST-ARGS...]`: the test suite, and beside it (in parallel: the suite waits on
# sockets and processes far more than it uses the CPU) the fault suite's bounded form. Fails
# if either fails. PYWATT_SKIP_FAULTS=1 runs the tests alone. The suite itself runs on one
# pytest-xdist worker per core (at most 4), each taking the next test as it is free.
set -uo pipefail
bin=$1; shift
faults_pid=""
if [ "${PYWATT_SKIP_FAULTS:-}" != 1 ]; then
    faults_dir=$(mktemp -d /tmp/pywatt-faults.XXXXXX)
    "$bin/python" -m benchmarks.faults --seconds 4 --out "$faults_dir" >"$faults_dir/log" 2>&1 &
    faults_pid=$!
fi
summary=$(mktemp /tmp/pywatt-pytest.XXXXXX)
"$bin/python" -m pytest -m "not faults" -n auto --maxprocesses 4 --dist worksteal "$@" | tee "$summary"
tests=${PIPESTATUS[0]}
faults=0
if [ -n "$faults_pid" ]; then
    wait "$faults_pid"; faults=$?
    echo
    echo "== the fault suite, bounded form (python -m benchmarks.faults --seconds 4), exit $faults:"
    grep -v '^faults: ' "$faults_dir/log" || true
    if [ "$faults" -eq 0 ]; then rm -rf "$faults_dir"; else tail -n 40 "$faults_dir/log"; echo "(all of it in $faults_dir)"; fi
fi
echo
tail -n 1 "$summary"   # pytest's closing line, last
rm -f "$summary"
[ "$tests" -eq 0 ] && [ "$faults" -eq 0 ]
