#!/usr/bin/env bash
# bench/saga.sh - the orchestrator end to end: N three-step sagas per second.
#
# The saga is tests/fixtures/saga/good/soak.saga.yaml (reserve, charge, ship:
# compensatable, pivot, retriable; one command topic, one reply topic). N
# OrderPlaced events are appended first (not timed). Then, timed from start
# to end: `evt-saga run --until-done` drives every saga to its end while a
# fast responder, written here and not part of the orchestrator, answers
# every command with its success reply:
#
#     evt-consume -t commands -g responder --follow | python3 -c '...' | evt-append -t replies
#
# (python3 picks type, id and correlationid out of each command line with
# regular expressions and writes the success replies as soon as it has read
# the commands; every saga therefore completes). The run is checked: every
# instance completed, 3N commands, no command id twice. Prints sagas/s per
# run and the median (wall clock, responder included), and the orchestrator's
# own CPU time; the target of issue 7 is 5,000 sagas/s.
#
# Usage: bench/saga.sh                         (~1 min on 2 cores)
#        EVT_BIN=/path/to/build/bin N=50000 RUNS=5 bench/saga.sh
# Env:   EVT_BIN (default ../build/bin), N (20000), RUNS (3), BATCH (evt-saga
#        run --batch, default 4096), TMPDIR (work dir parent; removed at exit).
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EVT_BIN=${EVT_BIN:-$HERE/../build/bin}
DEF=$HERE/../tests/fixtures/saga/good/soak.saga.yaml
N=${N:-20000}
RUNS=${RUNS:-3}
BATCH=${BATCH:-4096}
for t in evt-saga evt-append evt-consume evt-topic evt-replay; do
    [ -x "$EVT_BIN/$t" ] || { echo "bench/saga.sh: error: $EVT_BIN/$t not found (set EVT_BIN)" >&2; exit 66; }
done
for t in mawk jq python3; do command -v "$t" >/dev/null || { echo "bench/saga.sh: error: $t is required" >&2; exit 69; }; done
W=$(mktemp -d "${TMPDIR:-/tmp}/evt-bench-saga.XXXXXX")
RESP=""
cleanup() {
    if [ -n "$RESP" ]; then kill -- "-$RESP" 2>/dev/null || true; wait "$RESP" 2>/dev/null || true; fi
    rm -rf "$W"
}
trap cleanup EXIT

# The responder: commands in, success replies out (python3; no JSON parser:
# three regular expressions per line). It reads whatever the pipe holds
# (os.read returns what is there), answers every complete line and writes
# the answers in one write, so replies go out as soon as commands come in.
RESPONDER='
import os, re
attr = {k: re.compile(rb"\"%s\":\"([^\"]*)\"" % k) for k in (b"type", b"id", b"correlationid")}
reply = {b"ReserveInventory": b"InventoryReserved", b"ChargeCard": b"CardCharged", b"ShipParcel": b"ParcelShipped"}
rest = b""
while True:
    chunk = os.read(0, 1 << 20)
    if not chunk:
        break
    lines = (rest + chunk).split(b"\n")
    rest = lines.pop()
    out = []
    for line in lines:
        m = attr[b"type"].search(line)
        r = reply.get(m.group(1)) if m else None
        if not r:
            continue
        i = attr[b"id"].search(line).group(1)
        c = attr[b"correlationid"].search(line).group(1)
        out.append(b"{\"type\":\"%s\",\"source\":\"/bench\",\"id\":\"%s/reply\",\"subject\":\"%s\",\"correlationid\":\"%s\",\"causationid\":\"%s\",\"data\":{\"reservation\":\"res-%s\"}}\n" % (r, i, c, c, i, c))
    data = b"".join(out)
    while data:
        data = data[os.write(1, data):]
'

rates=() cpus=() percpu=()
for run in $(seq 1 "$RUNS"); do
    export EVT_LOG=$W/log-$run
    for t in orders commands replies; do "$EVT_BIN/evt-topic" create "$t" >/dev/null 2>&1; done
    seq 1 "$N" | mawk '{ printf "{\"type\":\"OrderPlaced\",\"source\":\"/bench\",\"id\":\"placed-%d\",\"subject\":\"order-%d\",\"data\":{\"qty\":1}}\n", $1, $1 }' |
        "$EVT_BIN/evt-append" -t orders 2>/dev/null
    setsid bash -c '"$1/evt-consume" -t commands -g responder --follow 2>/dev/null | python3 -u -c "$2" |
        "$1/evt-append" -t replies 2>/dev/null' _ "$EVT_BIN" "$RESPONDER" &
    RESP=$!
    t0=$(date +%s.%N)
    /usr/bin/time -f 'cpu %U %S' -o "$W/cpu-$run" ${SAGA_WRAP:-} "$EVT_BIN/evt-saga" run "$DEF" --until-done --batch "$BATCH" \
        2> "$W/run-$run.err" || { cat "$W/run-$run.err" >&2; exit 1; }
    t1=$(date +%s.%N)
    kill -- "-$RESP" 2>/dev/null || true
    wait "$RESP" 2>/dev/null || true
    RESP=""
    # the run did what it says
    completed=$("$EVT_BIN/evt-saga" status "$DEF" --format json | jq '[.[] | select(.status == "completed")] | length')
    commands=$("$EVT_BIN/evt-replay" -t commands --no-position --format '%k\n' | wc -l)
    twice=$("$EVT_BIN/evt-replay" -t commands --no-position | jq -r .id | sort | uniq -d | wc -l)
    if [ "$completed" -ne "$N" ] || [ "$commands" -ne $((3 * N)) ] || [ "$twice" -ne 0 ]; then
        echo "bench/saga.sh: error: run $run: $completed of $N completed, $commands commands, $twice sent twice" >&2
        cat "$W/run-$run.err" >&2
        exit 1
    fi
    rate=$(awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    echo "run $run: $N sagas in ${secs}s = $rate sagas/s ($(grep "^evt-saga: saga" "$W/run-$run.err" | sed "s/^evt-saga: //"))" >&2; grep -v "^evt-saga: saga" "$W/run-$run.err" >&2 || true
    rates+=("$rate")
    cpu=$(awk '/^cpu/ { printf "%.2f", $2 + $3 }' "$W/cpu-$run")
    cpus+=("$cpu")
    percpu+=("$(awk -v n="$N" -v c="$cpu" 'BEGIN { printf "%.0f", n / c }')")
    rm -rf "$EVT_LOG"
done
median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }')
load=$(cut -d' ' -f1-3 /proc/loadavg)
printf '| sagas | runs | sagas/s per run (wall) | median sagas/s | target | orchestrator CPU s per run | sagas per orchestrator CPU s | load (1/5/15 min) |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- |\n'
printf '| %d three-step | %d | %s | **%d** | 5000 | %s | %s | %s |\n' "$N" "$RUNS" "$(IFS=' '; echo "${rates[*]}")" "$median" \
    "$(IFS=' '; echo "${cpus[*]}")" "$(IFS=' '; echo "${percpu[*]}")" "$load"
[ "$median" -ge 5000 ] && echo "target met: $median >= 5000 sagas/s" >&2 || echo "target NOT met: $median < 5000 sagas/s" >&2
