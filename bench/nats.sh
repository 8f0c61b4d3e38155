#!/usr/bin/env bash
# bench/nats.sh - evt-append / evt-replay -L nats:// beside a plain libnats publisher and
# fetcher (build/bin/nats_plain, tests/tools/nats_plain.cpp), in one run, on one 3-node
# JetStream cluster (Debian's nats-server, tests/tools/nats_cluster.sh, 127.0.0.1).
#
# Input: N CloudEvents (../shared/bench/gen-events.py -n N -s SEED, ~270 bytes each).
# Every append row writes streams nobody wrote before (P partitions, replicas R, made in
# the row's prepare step, one set per timed run):
#   p1 nats_plain pub: line i to stream i mod P, one subject per stream, js_PublishAsync,
#      4096 in flight, waits for every ack (the floor: no parsing, no key, no headers)
#   p2 nats_plain pub-keyed: the same, but each line to the stream of its key's hash and
#      to subject plain.<T>.<p>.<subject>, from a key<TAB>line copy made untimed with jq:
#      one subject per entity, as evt writes (what --expect-version and --stream need);
#      the server keeps a per-subject index, and that is most of the gap between p1 and e1
#   e1 evt-append -L nats:// (validates each event, partition by murmur2(key), subject
#      per event subject, 4096 in flight, each event counted on the quorum's ack)
#   e2 evt-append -L nats:// --idempotent (Nats-Msg-Id = id, the duplicate window set)
#   f1 nats_plain fetch > /dev/null: ordered consumers, partition after partition
#   r1 evt-replay -L nats:// > /dev/null (merged by time, with evttopic/partition/offset/time)
#   r2 evt-replay -L nats:// --no-position > /dev/null
# Verifies that the plain loop and evt stored and read back every event, and that evt's
# round trip is the input (as sets of lines). Prints the table and the ratios
# (issue 16 "Done when" 5: evt within 80% of the plain loop).
#
# The cluster's three servers share the machine's cores with the client: what the
# client spends in CPU is taken from the servers, so the CPU-time column matters here.
#
# Usage: bench/nats.sh                      (~2 min on 2 cores)
#        N=100000 RUNS=5 P=4 bench/nats.sh
# Env:   EVT_BIN, N (200000), SEED (42), RUNS (3), P (8), R (3), SHARED_BENCH, OUT, TMPDIR
set -euo pipefail
export LC_ALL=C
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

N=${N:-200000}
SEED=${SEED:-42}
P=${P:-8}
R=${R:-3}
bench_dirs nats evt-bench-nats
for t in hyperfine jq nats-server; do need "$t" || { echo "bench/nats.sh: error: $t is required" >&2; exit 69; }; done
PLAIN=$EVT_BIN/nats_plain
[ -x "$PLAIN" ] || { echo "bench/nats.sh: error: $PLAIN not found (it is built with the tests)" >&2; exit 66; }
CLUSTER=$HERE/../tests/tools/nats_cluster.sh

cleanup() {
    "$CLUSTER" stop "$W/cluster" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

URL=$("$CLUSTER" start "$W/cluster" 3)
log "cluster at $URL"

# A fresh topic for every timed run: the prepare step runs `next_topic PREFIX evt|plain`,
# which makes PREFIX<n> (evt-topic create, or nats_plain create) and leaves its name in
# $W/topic for the timed command.
export W P R URL PLAIN EVT_BIN
next_topic() {
    local n name
    n=$(( $(cat "$W/count" 2>/dev/null || echo 0) + 1 ))
    echo "$n" > "$W/count"
    name=$1$n
    if [ "$2" = plain ]; then
        "$PLAIN" create "$URL" "$name" "$P" "$R"
    else
        "$EVT_BIN/evt-topic" -L "$URL" -X "evt.replicas=$R" create "$name" --partitions "$P" > /dev/null
    fi
    echo "$name" > "$W/topic"
}
export -f next_topic
topic_of() { cat "$W/topic"; }

EVENTS=$W/events.ndjson
log "generating $N events (seed $SEED)"
"$PY" "$SHARED/gen-events.py" -n "$N" -s "$SEED" -o "$EVENTS" 2>> "$OUT/gen.txt"
NL=$(wc -l < "$EVENTS"); NB=$(stat -c %s "$EVENTS")
KEYED=$W/events.keyed   # subject (as one NATS token) <TAB> the line, byte for byte
paste <(jq -r '.subject // "_" | gsub("[^A-Za-z0-9-]"; "_")' "$EVENTS") "$EVENTS" > "$KEYED"
[ "$(wc -l < "$KEYED")" = "$NL" ] || { echo "bench/nats.sh: error: keyed copy has the wrong length" >&2; exit 70; }

machine_info "$W" > "$OUT/machine.txt"
{
    echo "versions: nats-server $(dpkg-query -W -f '${Version}' nats-server 2>/dev/null) | libnats $(pkg-config --modversion libnats 2>/dev/null)"
    echo "input: lines=$NL bytes=$NB sha256=$(sha256sum "$EVENTS" | cut -c1-16)...; $P partitions (streams) per topic, replicas $R, a new topic per timed run"
    echo "runs per row: $RUNS (median reported); 3 nats-server processes on this machine beside the client"
} >> "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2
results_header

# ---------------------------------------------------------------- appends
warm "$EVENTS" "$KEYED" "$PLAIN" "$EVT_BIN/evt-append" "$EVT_BIN/evt-replay"
bench p1 "nats_plain pub (js_PublishAsync, 4096 in flight)" "$NL" "$NB" 300 \
    "next_topic p1- plain" \
    "'$PLAIN' pub '$URL' \$(cat '$W/topic') $P < '$EVENTS'" "the floor: line = payload, no key"
PT=$(topic_of)
bench p2 "nats_plain pub-keyed (a subject per entity)" "$NL" "$NB" 300 \
    "next_topic p2- plain" \
    "'$PLAIN' pub-keyed '$URL' \$(cat '$W/topic') $P < '$KEYED'" "the same subjects as evt"
KT=$(topic_of)
bench e1 "evt-append -L nats://" "$NL" "$NB" 300 \
    "next_topic e1- evt" \
    "'$EVT_BIN/evt-append' -L '$URL' -t \$(cat '$W/topic') < '$EVENTS'" "validates, keys by subject"
ET=$(topic_of)
bench e2 "evt-append -L nats:// --idempotent" "$NL" "$NB" 300 \
    "next_topic e2- evt" \
    "'$EVT_BIN/evt-append' -L '$URL' -t \$(cat '$W/topic') --idempotent < '$EVENTS'" "Nats-Msg-Id = id"
IT=$(topic_of)

check "plain loop stored every line" "$("$PLAIN" count "$URL" "$PT" "$P")" "$NL"
check "plain keyed loop stored every line" "$("$PLAIN" count "$URL" "$KT" "$P")" "$NL"
for t in "$ET" "$IT"; do
    check "evt stored every event in $t" "$("$EVT_BIN/evt-topic" -L "$URL" describe "$t" --format json | jq .events)" "$NL"
done

# ---------------------------------------------------------------- reads
bench f1 "nats_plain fetch > /dev/null (ordered consumers)" "$NL" "$NB" 300 "" \
    "'$PLAIN' fetch '$URL' '$PT' $P > /dev/null" "payloads only"
bench r1 "evt-replay -L nats:// > /dev/null" "$NL" "$NB" 300 "" \
    "'$EVT_BIN/evt-replay' -L '$URL' -t '$ET' > /dev/null" "merged by time, positions in each event"
bench r2 "evt-replay -L nats:// --no-position > /dev/null" "$NL" "$NB" 300 "" \
    "'$EVT_BIN/evt-replay' -L '$URL' -t '$ET' --no-position > /dev/null" "merged by time"

sort "$EVENTS" > "$W/in.sorted"
"$PLAIN" fetch "$URL" "$PT" "$P" 2>/dev/null | sort > "$W/back.sorted"
verify "nats_plain pub | nats_plain fetch == input (as sets of lines)" "$W/in.sorted" "$W/back.sorted"
"$EVT_BIN/evt-replay" -L "$URL" -t "$ET" --no-position | sort > "$W/back.sorted"
verify "evt-append | evt-replay --no-position == input (as sets of lines)" "$W/in.sorted" "$W/back.sorted"
rm -f "$W"/*.sorted

# ---------------------------------------------------------------- table and ratios
results_table > "$OUT/table.md"
{
    echo "| ratio of events/s | wall-clock ratio | CPU-time ratio | target (on wall clock) | verdict |"
    echo "|---|---:|---:|---|---|"
    ratio "e1 evt-append ÷ p2 plain publisher, the same subjects" e1 p2 0.8 "≥ 0.8 (within 80% of the plain loop)"
    ratio "e1 evt-append ÷ p1 plain publisher, one subject per stream" e1 p1 0.8 "≥ 0.8 (within 80% of the plain loop)"
    ratio "p2 ÷ p1: what a subject per entity costs the server" p2 p1 "" "(both the plain loop)"
    ratio "e2 evt-append --idempotent ÷ p1 plain publisher" e2 p1 "" "(a message id per event)"
    ratio "r1 evt-replay ÷ f1 plain fetcher" r1 f1 0.8 "≥ 0.8 (within 80% of the plain loop)"
    ratio "r2 evt-replay --no-position ÷ f1 plain fetcher" r2 f1 0.8 "≥ 0.8 (within 80% of the plain loop)"
} > "$OUT/ratios.md"
summary_and_exit
