#!/usr/bin/env bash
# bench/outbox.sh: rows per second relayed by evt-outbox from PostgreSQL 15 and
# from SQLite into a fresh log, in one run. Targets (issue 8): 50,000 rows/s
# from PostgreSQL, 100,000 rows/s from SQLite.
#
# Each run: a fresh outbox table filled with ROWS rows (payload ~100 bytes,
# 1,000 aggregates), a fresh log, then `evt-outbox --db ... -t bench --batch B`
# timed until the table is drained (every row appended durably with the
# idempotent append, then marked published). RUNS runs of each (default 2);
# the machine's load average is printed beside every run, as the machine is
# shared. The PostgreSQL server is a throwaway one (tests/tools/pg_start.sh),
# stopped at the end.
#
#   EVT_BIN=build/bin bash bench/outbox.sh            # ROWS=200000 RUNS=2 BATCH=10000
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
EVT_BIN=$(cd "${EVT_BIN:-$SRC/build/bin}" && pwd)
ROWS=${ROWS:-200000}
RUNS=${RUNS:-2}
BATCH=${BATCH:-10000}
OUTBOX=$EVT_BIN/evt-outbox
[ -x "$OUTBOX" ] || { echo "bench/outbox.sh: $OUTBOX not found (build first, or set EVT_BIN)" >&2; exit 66; }

W=$(mktemp -d /tmp/evt-bench-outbox.XXXXXX)
PGDIR=$(mktemp -d /tmp/evt-pg.XXXXXX)
cleanup() { "$SRC/tests/tools/pg_stop.sh" "$PGDIR"; rm -rf "$W"; }
trap cleanup EXIT
PGURL=$("$SRC/tests/tools/pg_start.sh" "$PGDIR")
pg() { PGOPTIONS="-c client_min_messages=warning" psql "$PGURL" -X -q -v ON_ERROR_STOP=1 -At "$@"; }

now() { date +%s.%N; }
load1() { cut -d' ' -f1 /proc/loadavg; }

printf '# evt-outbox relay throughput, %s UTC, git %s, %d rows per run, --batch %d\n' \
    "$(date -u '+%Y-%m-%d %H:%M')" "$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')" "$ROWS" "$BATCH"
printf '| database | run | rows | seconds | rows/s | CPU s (relay) | load1 before | target | verdict |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---|\n'

row() {  # row DB RUN SECONDS CPU LOAD TARGET
    awk -v db="$1" -v run="$2" -v rows="$ROWS" -v s="$3" -v cpu="$4" -v load="$5" -v target="$6" 'BEGIN {
        rate = rows / s
        printf "| %s | %d | %d | %.3f | %.0f | %.2f | %s | %d | %s |\n", db, run, rows, s, rate, cpu, load, target,
            (rate >= target) ? "met" : "MISSED" }'
}

# timed_relay DB [FLAGS...]: runs the relay into a fresh log; prints "seconds cpu"
timed_relay() {
    rm -rf "$W/log"
    local t0 t1 db=$1
    shift
    t0=$(now)
    /usr/bin/time -f '%U %S' -o "$W/cpu" "$OUTBOX" -L "$W/log" --db "$db" -t bench --batch "$BATCH" "$@" 2> "$W/relay.err" ||
        { cat "$W/relay.err" >&2; exit 1; }
    t1=$(now)
    grep -q "relayed $ROWS rows" "$W/relay.err" || { echo "bench: relay did not relay $ROWS rows:" >&2; cat "$W/relay.err" >&2; exit 1; }
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') $(awk '{ print $1 + $2 }' "$W/cpu")"
}

fill_pg() {
    pg -c 'DROP TABLE IF EXISTS outbox CASCADE'
    "$OUTBOX" init --db "$PGURL" 2>/dev/null
    pg -c "INSERT INTO outbox (aggregatetype, aggregateid, type, payload)
           SELECT 'order', 'order-' || (g % 1000), 'OrderPlaced',
                  jsonb_build_object('order_id', g, 'customer', 'customer-' || (g % 977), 'total', g % 500, 'currency', 'EUR')
           FROM generate_series(1, $ROWS) g"
    pg -c 'VACUUM ANALYZE outbox'
}

for run in $(seq "$RUNS"); do
    fill_pg
    load=$(load1)
    read -r secs cpu < <(timed_relay "$PGURL")
    [ "$(pg -c 'SELECT count(*) FROM outbox WHERE published_at IS NULL')" = 0 ] || { echo "bench: rows left unpublished" >&2; exit 1; }
    row "PostgreSQL (mark published_at)" "$run" "$secs" "$cpu" "$load" 50000

    fill_pg
    load=$(load1)
    read -r secs cpu < <(timed_relay "$PGURL" --delete)
    [ "$(pg -c 'SELECT count(*) FROM outbox')" = 0 ] || { echo "bench: rows left in the table" >&2; exit 1; }
    row "PostgreSQL (--delete)" "$run" "$secs" "$cpu" "$load" 50000

    rm -f "$W/app.db"*
    "$OUTBOX" init --db "sqlite:$W/app.db" 2>/dev/null
    sqlite3 "$W/app.db" "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $ROWS)
        INSERT INTO outbox (aggregatetype, aggregateid, type, payload)
        SELECT 'order', 'order-' || (i % 1000), 'OrderPlaced',
               json_object('order_id', i, 'customer', 'customer-' || (i % 977), 'total', i % 500, 'currency', 'EUR')
        FROM g"
    load=$(load1)
    read -r secs cpu < <(timed_relay "sqlite:$W/app.db")
    [ "$(sqlite3 "$W/app.db" 'SELECT count(*) FROM outbox WHERE published_at IS NULL')" = 0 ] || { echo "bench: rows left unpublished" >&2; exit 1; }
    row "SQLite (mark published_at)" "$run" "$secs" "$cpu" "$load" 100000
done
