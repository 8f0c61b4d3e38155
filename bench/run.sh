#!/usr/bin/env bash
# bench/run.sh - evt-append / evt-replay beside the peers of ../shared/bench, in one run.
#
# On 1M CloudEvents (gen-events.py -n 1000000 -s 42, ~269 bytes each) and the 5%-duplicate
# variant, times with hyperfine (RUNS=3, --prepare resets state, medians):
#   peers  a1 cat > /dev/null, a5 cat | wc -l, a3 durable dd, b7 lmdb-anchor write -b 1000 (durable),
#          b4 lmdb-anchor read, c1 sqlite3 .import (WAL, synchronous=NORMAL, 1 txn),
#          c3 sqlite3 ordered select > /dev/null, d1 Redis XADD via redis-cli --pipe
#          (no persistence; only when redis-server is installed), g5 lmdb-anchor dedup
#          (the commands and SQL are those of ../shared/bench/baselines.sh)
#   ours   z1 evt-append, z2 evt-append --idempotent, z3 evt-append --idempotent on the
#          dup file, r1 evt-replay > /dev/null, r2 evt-replay | wc -l,
#          r3 evt-replay --no-position > /dev/null, r4 evt-replay --from -10
# verifies the round trips, and prints a markdown table and the target ratios
# (../shared/DESIGN.md section 5, issue 2 "Done when" 8). Besides the wall-clock median
# the table has hyperfine's mean CPU time (user+system of the timed process tree) and
# the 1-minute load average when the row started: this 2-core VM is shared, and a peer
# slowed by someone else's compile makes a wall-clock ratio look better than it is.
# The growth check (10M events) is bench/growth.sh.
#
# Usage: bench/run.sh                       (~1.5 min on 2 cores)
#        EVT_BIN=/path/to/build/bin N=200000 RUNS=5 bench/run.sh
# Env:   EVT_BIN (default ../build/bin from this script), N (1000000), SEED (42), RUNS (3),
#        SHARED_BENCH (../../shared/bench), OUT (results dir, kept; default
#        /tmp/evt-bench-results-<stamp>), TMPDIR (work dir parent; the work dir is removed).
set -euo pipefail
export LC_ALL=C
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

N=${N:-1000000}
SEED=${SEED:-42}
bench_dirs results evt-bench

REDIS_PID=""
stop_redis() {
    if [ -n "$REDIS_PID" ] && kill -0 "$REDIS_PID" 2>/dev/null; then
        log "stopping redis-server (pid $REDIS_PID)"
        kill -TERM "$REDIS_PID" 2>/dev/null || true
        for _ in $(seq 1 300); do kill -0 "$REDIS_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$REDIS_PID" 2>/dev/null && kill -KILL "$REDIS_PID" 2>/dev/null
        wait "$REDIS_PID" 2>/dev/null || true
    fi
    REDIS_PID=""
}
cleanup() { stop_redis; rm -rf "$W"; }
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

for t in hyperfine jq mawk sqlite3 cc; do need "$t" || { echo "bench/run.sh: error: $t is required" >&2; exit 69; }; done


# ---------------------------------------------------------------- inputs
EVENTS=$W/events.ndjson
DUPS=$W/events-dup5.ndjson
PREP=$W/prep; DB=$W/db
mkdir -p "$PREP" "$DB"
log "generating $N events (seed $SEED) and the 5% dup file into $W"
"$PY" "$SHARED/gen-events.py" -n "$N" -s "$SEED" -o "$EVENTS" 2>> "$OUT/gen.txt" &
g1=$!
"$PY" "$SHARED/gen-events.py" -n "$N" -s "$SEED" --dup-fraction 0.05 -o "$DUPS" 2>> "$OUT/gen.txt" &
g2=$!
wait "$g1"; wait "$g2"
NL=$(wc -l < "$EVENTS"); NB=$(stat -c %s "$EVENTS")
DL=$(wc -l < "$DUPS");   DB_=$(stat -c %s "$DUPS")
# derived peer inputs, untimed (same conversions as baselines.sh)
mawk '{ printf "%d\037%s\n", NR, $0 }' "$EVENTS" > "$PREP/sqlite-import.us"
cat > "$PREP/sqlite-import.sql" <<EOF
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE events(seq INTEGER PRIMARY KEY, body TEXT);
BEGIN;
.mode ascii
.separator "\\037" "\\n"
.import $PREP/sqlite-import.us events
COMMIT;
EOF
HAVE_REDIS=0
if need redis-server && need redis-cli; then
    HAVE_REDIS=1
    mawk 'BEGIN { ORS = "" } { printf "*5\r\n$4\r\nXADD\r\n$6\r\nevents\r\n$1\r\n*\r\n$1\r\nd\r\n$%d\r\n%s\r\n", length($0), $0 }' \
        "$EVENTS" > "$PREP/redis-xadd.resp"
fi
mawk -F'"' '!seen[$8]++' "$DUPS" > "$PREP/dedup-awk.out"      # expected result of the dedup rows
ANCHOR=$W/lmdb-anchor
cc -O2 -o "$ANCHOR" "$SHARED/lmdb-anchor.c" -llmdb

machine_info "$W" > "$OUT/machine.txt"
echo "input: events lines=$NL bytes=$NB sha256=$(sha256sum "$EVENTS" | cut -c1-16)...  dup5: lines=$DL bytes=$DB_ sha256=$(sha256sum "$DUPS" | cut -c1-16)..." >> "$OUT/machine.txt"
echo "runs per row: $RUNS (median reported)" >> "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2
results_header

# ---------------------------------------------------------------- peers
warm "$EVENTS"
bench a1 "cat events > /dev/null" "$NL" "$NB" 60 "" \
    "cat '$EVENTS' > /dev/null" "page-cache read"
bench a5 "cat events | wc -l" "$NL" "$NB" 60 "" \
    "cat '$EVENTS' | wc -l > /dev/null" "pipe + wc ceiling (r2's peer)"
bench a3 "dd bs=1M conv=fdatasync (durable write)" "$NL" "$NB" 120 "rm -f '$DB/copy.ndjson'; sync" \
    "dd if='$EVENTS' of='$DB/copy.ndjson' bs=1M conv=fdatasync status=none" "1 fdatasync"
rm -f "$DB/copy.ndjson"
P="rm -rf '$DB/lmdb'; mkdir -p '$DB/lmdb'; sync"
bench b7 "lmdb-anchor write -b 1000 (MDB_APPEND, durable)" "$NL" "$NB" 120 "$P" \
    "'$ANCHOR' write '$DB/lmdb' -b 1000 < '$EVENTS'" "1000 durable commits, no validation"
bench b4 "lmdb-anchor read > /dev/null" "$NL" "$NB" 60 "" \
    "'$ANCHOR' read '$DB/lmdb' > /dev/null" "cursor walk"
"$ANCHOR" read "$DB/lmdb" 2>/dev/null > "$DB/out"; verify "lmdb-anchor write+read round trip" "$EVENTS" "$DB/out"
rm -rf "$DB/lmdb" "$DB/out"

warm "$PREP/sqlite-import.us"
P="rm -f '$DB/sq.db' '$DB/sq.db-wal' '$DB/sq.db-shm'; sync"
bench c1 "sqlite3 .import, WAL, synchronous=NORMAL, 1 txn" "$NL" "$NB" 180 "$P" \
    "sqlite3 '$DB/sq.db' < '$PREP/sqlite-import.sql'" "includes WAL checkpoint at close"
bench c3 "sqlite3 select body order by seq > /dev/null" "$NL" "$NB" 60 "" \
    "sqlite3 '$DB/sq.db' 'select body from events order by seq' > /dev/null"
sqlite3 "$DB/sq.db" 'select body from events order by seq' > "$DB/out"; verify "sqlite round trip" "$EVENTS" "$DB/out"
rm -f "$DB/sq.db" "$DB/sq.db-wal" "$DB/sq.db-shm" "$DB/out"

if [ "$HAVE_REDIS" = 1 ]; then
    warm "$PREP/redis-xadd.resp"
    RPORT=$(free_port "${REDIS_PORT:-6391}")
    mkdir -p "$DB/redis"
    redis-server --bind 127.0.0.1 --port "$RPORT" --protected-mode yes --save '' --appendonly no \
        --dir "$DB/redis" --logfile "$DB/redis/redis.log" --daemonize no &
    REDIS_PID=$!
    for _ in $(seq 1 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
    spid=$(redis-cli -p "$RPORT" info server | tr -d '\r' | awk -F: '$1=="process_id"{print $2}')
    if [ "$spid" = "$REDIS_PID" ]; then
        log "redis-server pid $REDIS_PID on 127.0.0.1:$RPORT (no persistence)"
        bench d1 "redis XADD via redis-cli --pipe (appendonly no)" "$NL" "$NB" 180 \
            "redis-cli -p $RPORT flushall sync > /dev/null" \
            "redis-cli -p $RPORT --pipe < '$PREP/redis-xadd.resp' > /dev/null" "in memory only; server on the 2nd core"
        check "redis XLEN after XADD" "$(redis-cli -p "$RPORT" xlen events)" "$NL"
    else
        log "redis-server did not start on port $RPORT (pid $spid vs $REDIS_PID)"
        printf 'd1\tredis XADD (server did not start)\t%d\t%d\tFAIL\t-\t-\t-\t-\t-\t-\t\n' "$NL" "$NB" >> "$RESULTS"
    fi
    stop_redis
    rm -rf "$DB/redis" "$PREP/redis-xadd.resp"
else
    log "redis-server not installed: row d1 skipped"
fi

warm "$DUPS"
bench g5 "lmdb-anchor dedup (persistent, 1 txn, durable)" "$DL" "$DB_" 120 "rm -rf '$DB/lmdb-dedup'; sync" \
    "'$ANCHOR' dedup '$DB/lmdb-dedup' < '$DUPS' > /dev/null" "dup5 input; MDB_NOOVERWRITE on id"
rm -rf "$DB/lmdb-dedup"

# ---------------------------------------------------------------- ours
A=$EVT_BIN/evt-append; R=$EVT_BIN/evt-replay
L=$DB/evt; LI=$DB/evt-idem; LD=$DB/evt-dedup
warm "$EVENTS" "$A" "$R"
bench z1 "evt-append -t bench < events (fresh log)" "$NL" "$NB" 300 "rm -rf '$L'; sync" \
    "'$A' -L '$L' -t bench < '$EVENTS'" "default flags: validation, stream index, durable at end"
bench z2 "evt-append -t bench --idempotent < events (fresh log)" "$NL" "$NB" 300 "rm -rf '$LI'; sync" \
    "'$A' -L '$LI' -t bench --idempotent < '$EVENTS'" "+ id index"
NDUP=$(( DL - $(wc -l < "$PREP/dedup-awk.out") ))
bench z3 "evt-append -t bench --idempotent < dup5 (fresh log)" "$DL" "$DB_" 300 "rm -rf '$LD'; sync" \
    "'$A' -L '$LD' -t bench --idempotent < '$DUPS'" "$NDUP duplicates to skip"
"$R" -L "$LD" -t bench --no-position > "$DB/out"; verify "evt-append --idempotent < dup5 == mawk dedup" "$PREP/dedup-awk.out" "$DB/out"
"$R" -L "$LI" -t bench --no-position > "$DB/out"; verify "evt-append --idempotent round trip" "$EVENTS" "$DB/out"
rm -rf "$LI" "$LD" "$DB/out"

bench r1 "evt-replay -t bench > /dev/null" "$NL" "$NB" 120 "" \
    "'$R' -L '$L' -t bench > /dev/null" "with positions"
bench r2 "evt-replay -t bench | wc -l" "$NL" "$NB" 120 "" \
    "'$R' -L '$L' -t bench | wc -l > /dev/null" "into a pipe"
bench r3 "evt-replay -t bench --no-position > /dev/null" "$NL" "$NB" 120 "" \
    "'$R' -L '$L' -t bench --no-position > /dev/null"
TAIL_RUNS=$(( RUNS > 20 ? RUNS : 20 ))
bench r4 "evt-replay -t bench --from -10" 10 0 60 "" \
    "'$R' -L '$L' -t bench --from -10 > /dev/null" "the last 10 of $NL events; $TAIL_RUNS runs, 3 warm-up" "$TAIL_RUNS" 3
hyperfine -N --runs "$TAIL_RUNS" --warmup 3 --style basic --export-json "$OUT/json/r4-direct.json" \
    "$R -L $L -t bench --from -10" > "$OUT/logs/r4-direct.log" 2>&1 &&
    jq -r --arg n "$NL" '.results[0] | "evt-replay --from -10 on \($n) events, the tool alone (hyperfine -N, no bash/time/timeout wrappers): median \(.median * 10000 | round / 10) ms, min \(.min * 10000 | round / 10) ms, CPU \((.user + .system) * 10000 | round / 10) ms"' \
        "$OUT/json/r4-direct.json" >> "$OUT/notes.txt"
"$R" -L "$L" -t bench --no-position > "$DB/out"; verify "evt-append + evt-replay --no-position round trip (byte for byte)" "$EVENTS" "$DB/out"
check "evt-replay | wc -l" "$("$R" -L "$L" -t bench | wc -l)" "$NL"
"$R" -L "$L" -t bench --from -10 --no-position > "$DB/out"; tail -n 10 "$EVENTS" > "$DB/want"
verify "evt-replay --from -10 == tail -10" "$DB/want" "$DB/out"
"$R" -L "$L" -t bench -n 1000 | jq -r '.evtoffset' > "$DB/out"; seq 0 999 > "$DB/want"
verify "evt-replay positions: evtoffset 0..999 dense" "$DB/want" "$DB/out"
rm -f "$DB/out" "$DB/want"
read -r ANON HWM < <(peak_anon "$R" -L "$L" -t bench)
echo "evt-replay -t bench > /dev/null on $NL events: peak RssAnon $((ANON / 1024)) MB, VmHWM $((HWM / 1024)) MB (mapped log pages included)" >> "$OUT/notes.txt"
echo "log size after $NL events: $(du -sm "$L" | cut -f1) MB ($(du -sm "$L/data.mdb" 2>/dev/null | cut -f1) MB data.mdb)" >> "$OUT/notes.txt"
"$EVT_BIN/evt-topic" -L "$L" describe bench > "$OUT/describe.txt" 2>&1 || true

# ---------------------------------------------------------------- table and ratios
results_table > "$OUT/table.md"
NO_CPU_RATIO="^d"  # d1 is Redis: its work runs in redis-server, not in the timed client

{
    echo "| ratio of events/s | wall-clock ratio | CPU-time ratio | target (on wall clock) | verdict |"
    echo "|---|---:|---:|---|---|"
    ratio "z1 append ÷ b7 lmdb-anchor write -b 1000" z1 b7 0.70 "≥ 0.70"
    ratio "z1 append ÷ c1 sqlite .import" z1 c1 3.0 "≥ 3"
    [ "$HAVE_REDIS" = 1 ] && ratio "z1 append ÷ d1 redis XADD (no persistence)" z1 d1 1.0 "≥ 1 (ahead of Redis)"
    ratio "z2 append --idempotent ÷ b7" z2 b7 0.70 "≥ 0.70 (indexes on)"
    ratio "z2 append --idempotent ÷ c1" z2 c1 3.0 "≥ 3"
    ratio "z3 append --idempotent < dup5 ÷ g5 lmdb-anchor dedup" z3 g5 1.0 "≥ 1 (persistent dedup ≥ raw LMDB row)"
    ratio "r1 replay > /dev/null ÷ c3 sqlite select" r1 c3 1.0 "≥ 1.0"
    ratio "r1 replay ÷ b4 lmdb-anchor read" r1 b4 "" "(ceiling)"
    ratio "r3 replay --no-position ÷ c3" r3 c3 1.0 "≥ 1.0"
    ratio "r2 replay \\| wc -l ÷ 3M events/s" r2 =3000000 1.0 "≥ 1.0 (3M events/s)"
    ratio "r2 replay \\| wc -l ÷ a5 cat \\| wc -l" r2 a5 "" "(pipe ceiling)"
    awk -F'\t' 'NR > 1 && $1 == "r4" && $5 != "FAIL" { printf "| r4 replay --from -10, median ms | %.1f | | < 20 ms on 10M (bench/growth.sh) | %s |\n", $5 * 1000, ($5 < 0.020 ? "met at 1M" : "**MISSED** at 1M") }' "$RESULTS"
} > "$OUT/ratios.md"

{
    echo; cat "$OUT/machine.txt"; echo
    cat "$OUT/table.md"; echo
    cat "$OUT/ratios.md"; echo
    cat "$OUT/notes.txt"; echo
    echo "verification:"; cat "$OUT/verify.txt"
    echo "at the end: load average $(cut -d' ' -f1-3 /proc/loadavg); CPU pressure $(head -1 /proc/pressure/cpu 2>/dev/null | cut -d' ' -f2-4)"
    echo "results: $OUT  (results.tsv, table.md, ratios.md, commands.txt, json/, logs/)  total $(( $(date +%s) - T0 )) s"
} | tee "$OUT/summary.txt"
grep -q '^DIFF' "$OUT/verify.txt" && exit 1
exit 0
