# shellcheck shell=bash
# Shared by dual-write.sh and outbox.sh (sourced): finds the tools, makes a
# work directory that is removed on exit, and the order service's database.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${EVT_BIN:-}" ]; then PATH="$EVT_BIN:$PATH"
elif [ -x "$here/../../build/bin/evt-outbox" ]; then PATH="$here/../../build/bin:$PATH"; fi
for t in evt-append evt-replay evt-outbox sqlite3 jq setsid; do
    command -v "$t" >/dev/null || { echo "$(basename "$0"): error: $t not found (build evt, or set EVT_BIN)" >&2; exit 69; }
done
work=$(mktemp -d)
export EVT_LOG=$work/log
service_pgid=""
cleanup() {
    if [ -n "$service_pgid" ]; then kill -9 -- "-$service_pgid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
note() { printf '  (%s)\n' "$*" >&2; }

# The order service's own table.
sqlite3 shop.db "PRAGMA journal_mode = WAL;
  CREATE TABLE orders (id TEXT PRIMARY KEY, customer TEXT NOT NULL, total_cents INTEGER NOT NULL)" > /dev/null

# orders_in_db: how many orders the service has committed.
orders_in_db() { sqlite3 -cmd '.timeout 5000' shop.db 'SELECT count(*) FROM orders'; }

# start_service SCRIPT: runs the service in its own process group (so kill -9
# takes it and whatever it runs at that instant).
start_service() {
    setsid bash -c "$1" > service.out 2>&1 &
    service_pgid=$!
}

# crash_service_after N: waits until the service has committed N orders, then
# kills it (SIGKILL), as a crash or a deploy would, in the slow step that follows.
crash_service_after() {
    local i
    for ((i = 0; i < 400; i++)); do
        [ "$(orders_in_db)" -ge "$1" ] && break
        sleep 0.02
    done
    kill -9 -- "-$service_pgid"
    wait "$service_pgid" 2>/dev/null || true
    service_pgid=""
}
