#!/usr/bin/env bash
# The HTTP and JWT demo: examples/web.py under the embedded orchestrator, reached with curl
# through the orchestrator's HTTP gateway (HTTP over IPC to the module), a public endpoint,
# then a JWT-protected one without a token, with a bad token and with a valid token minted
# from the demo secret. It ends by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${PYWATT_BIN:-.venv/bin}
work=$(mktemp -d)
orchestrator=""
cleanup() {
    if [ -n "$orchestrator" ] && kill -0 "$orchestrator" 2>/dev/null; then
        kill "$orchestrator" 2>/dev/null || true
        wait "$orchestrator" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
secret="demo-jwt-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export JWT_SECRET="$secret"

echo "== pywatt run examples/web.py (for 20 s at most)"
"$bin/pywatt" run examples/web.py --secret JWT_SECRET --run-dir "$work/run" --for 20 \
    --log-format pretty > "$work/orchestrator.log" 2>&1 &
orchestrator=$!

gateway=""
for _ in $(seq 200); do
    gateway=$(grep -o 'HTTP gateway on http://[0-9.:]*' "$work/orchestrator.log" | head -n1 | awk '{print $4}' || true)
    if [ -n "$gateway" ] && grep -q 'web is up' "$work/orchestrator.log"; then
        break
    fi
    sleep 0.1
done
if [ -z "$gateway" ] || ! grep -q 'web is up' "$work/orchestrator.log"; then
    echo "the module did not come up; orchestrator output:" >&2
    cat "$work/orchestrator.log" >&2
    exit 1
fi
grep -E 'HTTP gateway on|web is up' "$work/orchestrator.log"

show() {  # show <title> <curl args...>
    local title=$1; shift
    echo
    echo "== $title"
    echo "\$ curl $*" | sed -E 's/Bearer [A-Za-z0-9._-]+/Bearer <token>/'
    curl -sS -w '\n-> HTTP %{http_code}\n' "$@"
}

show "a public endpoint, through the gateway" "$gateway/api/hello"
show "a JWT-protected endpoint without a token" "$gateway/api/me"
show "with a token signed by someone else" \
    -H "Authorization: Bearer $("$bin/python" - <<'PY'
import time
from joserfc import jwt
from joserfc.jwk import OctKey
claims = {"sub": "mallory", "iss": "pywatt-demo", "aud": "pywatt-web", "exp": int(time.time()) + 300}
print(jwt.encode({"alg": "HS256"}, claims, OctKey.import_key("not-the-demo-secret-at-all-000000")))
PY
)" "$gateway/api/me"
token=$("$bin/python" - <<'PY'
import os, time
from joserfc import jwt
from joserfc.jwk import OctKey
claims = {"sub": "alice", "iss": "pywatt-demo", "aud": "pywatt-web", "roles": ["reader"],
          "exp": int(time.time()) + 300}
print(jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(os.environ["JWT_SECRET"])))
PY
)
show "with a valid token minted from the demo secret" \
    -H "Authorization: Bearer $token" "$gateway/api/me"

echo
echo "== shutting down"
kill -INT "$orchestrator" 2>/dev/null || true
wait "$orchestrator" || true
orchestrator=""
if grep -q -e "$secret" -e "$token" "$work/orchestrator.log"; then
    echo "a secret or token leaked into the orchestrator's output" >&2
    exit 1
fi
echo "== demo finished (no secret or token in the logs)"
