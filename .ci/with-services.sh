#!/usr/bin/env bash
# `with-services.sh CMD...`: run CMD with PostgreSQL, MariaDB, Redis and Memcached on
# loopback (a fresh set, installed if needed, stopped afterwards) unless the environment
# already names servers (DATABASE_URL, MYSQL_URL, REDIS_URL, MEMCACHED_ADDR).
set -euo pipefail
if [ -z "${DATABASE_URL:-}" ] || [ -z "${MYSQL_URL:-}" ] || [ -z "${REDIS_URL:-}" ] || [ -z "${MEMCACHED_ADDR:-}" ]; then
    source "$(dirname "$0")/services.sh"
    CI_SVC_DIR=$(mktemp -d /tmp/pywatt-svc.XXXXXX)  # always a fresh set of servers
    export CI_SVC_DIR
    # Set first: a server that fails to start must not leave the others running. The
    # servers' data and logs go with a green run and stay for a red one, to read.
    trap 'rc=$?; ci_services_stop; if [ "$rc" -eq 0 ]; then rm -rf "$CI_SVC_DIR"; else echo "server data and logs kept in $CI_SVC_DIR" >&2; fi' EXIT
    ci_services_start
fi
"$@"
