#!/usr/bin/env bash
# bench/kafka.sh - evt-append / evt-replay -L kafka:// beside kcat -P / -C, in one run,
# on the same librdkafka mock cluster (build/bin/kafka_mock) and the same events.
#
# Input: N CloudEvents (../shared/bench/gen-events.py -n N -s SEED, ~280 bytes each),
# key = subject. Every append row writes a topic nobody wrote before (one per timed run,
# made in the prepare step), with P partitions.
#   k1 kcat -P: one record per line, key = subject (-K tab from a keyed copy of the file,
#      made untimed), header content-type: application/cloudevents+json (what evt's
#      structured mode writes), and evt's producer settings: idempotence, acks=all,
#      murmur2_random, lz4, linger.ms=5, batch.num.messages=10000
#   e1 evt-append -L kafka:// --binding structured (the same records, key and header)
#   e2 evt-append -L kafka:// --binding binary (value = data, ce_* headers)
#   k2 kcat -C -e -f '%s\n' > /dev/null (values only)
#   k3 kcat -C -e -f '%t %p %o %k %T %s\n' > /dev/null (a position per record, as evt prints)
#   r1 evt-replay -L kafka:// > /dev/null (events with evttopic/partition/offset/time)
#   r2 evt-replay -L kafka:// --no-position > /dev/null
#   r3 evt-replay -L kafka:// of the binary topic (events rebuilt from headers)
# Verifies that each tool read back every record and that evt's structured round trip is
# the input, byte for byte; prints the table and the ratios (issue 15 "Done when" 5: evt
# at least as fast as kcat both ways).
#
# Why lz4 and P=32: the 2.0.2 mock keeps about 5 MiB of record batches per partition and
# drops the oldest beyond that; 1M events uncompressed would not stay whole. Both tools
# use the same codec, so the comparison holds.
#
# Usage: bench/kafka.sh                      (~3 min on 2 cores)
#        N=200000 RUNS=5 P=16 bench/kafka.sh
# Env:   EVT_BIN, N (1000000), SEED (42), RUNS (3), P (32), SHARED_BENCH, OUT, TMPDIR
set -euo pipefail
export LC_ALL=C
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

N=${N:-1000000}
SEED=${SEED:-42}
P=${P:-32}
bench_dirs kafka evt-bench-kafka
for t in hyperfine jq kcat; do need "$t" || { echo "bench/kafka.sh: error: $t is required" >&2; exit 69; }; done
[ -x "$EVT_BIN/kafka_mock" ] || { echo "bench/kafka.sh: error: $EVT_BIN/kafka_mock not found (it is built with the tests)" >&2; exit 66; }

MOCK_PID=""; FWD_PID=""
cleanup() {
    if [ -n "$FWD_PID" ]; then kill "$FWD_PID" 2>/dev/null || true; fi
    if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true; fi
    exec 7>&- 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- the cluster
mkfifo "$W/mock.in"
"$EVT_BIN/kafka_mock" < "$W/mock.in" > "$W/mock.out" 2> "$W/mock.err" &
MOCK_PID=$!
exec 7> "$W/mock.in"
for _ in $(seq 200); do [ -s "$W/mock.out" ] && break; sleep 0.05; done
BS=$(head -1 "$W/mock.out")
[ -n "$BS" ] || { cat "$W/mock.err" >&2; echo "bench/kafka.sh: error: the mock cluster did not start" >&2; exit 70; }
KLOG="kafka://$BS"
log "mock cluster at $BS (pid $MOCK_PID)"
ACKS=0
mock() {  # mock CMD: a command for the mock; waits for its answer
    echo "$*" >&7
    ACKS=$((ACKS + 1))
    for _ in $(seq 400); do [ "$(tail -n +2 "$W/mock.out" | wc -l)" -ge "$ACKS" ] && break; sleep 0.025; done
    [ "$(tail -n 1 "$W/mock.out")" = ok ] || { echo "bench/kafka.sh: error: mock: $* failed" >&2; exit 70; }
}
# A fresh topic for every timed run: the prepare step of a row runs `next_topic PREFIX`,
# which creates PREFIX-<n> and writes its name to $W/topic; the timed command reads it.
export W P
next_topic() {
    local n
    n=$(( $(cat "$W/count" 2>/dev/null || echo 0) + 1 ))
    echo "$n" > "$W/count"
    echo "topic $1-$n $P" > "$W/mock.req"
}
# hyperfine's prepare runs in its own shell, so it cannot use fd 7: it leaves the request
# in mock.req and this helper, polled in the background, forwards it and removes the file.
forwarder() {
    while kill -0 "$MOCK_PID" 2>/dev/null; do
        if [ -s "$W/mock.req" ]; then
            local req; req=$(cat "$W/mock.req")
            mock "$req"
            echo "$req" | awk '{print $2}' > "$W/topic"
            rm -f "$W/mock.req"
        fi
        sleep 0.02
    done
}
forwarder &
FWD_PID=$!
# prepare: ask for a topic and wait until the forwarder made it
PREP_TOPIC='rm -f "$W/topic"; next_topic %s; for _ in $(seq 400); do [ -s "$W/topic" ] && break; sleep 0.025; done; [ -s "$W/topic" ]'
export -f next_topic

# ---------------------------------------------------------------- inputs
EVENTS=$W/events.ndjson
KEYED=$W/events.keyed
log "generating $N events (seed $SEED)"
"$PY" "$SHARED/gen-events.py" -n "$N" -s "$SEED" -o "$EVENTS" 2>> "$OUT/gen.txt"
# key<TAB>line, the line kept byte for byte (not re-serialised by jq)
paste <(jq -r '.subject' "$EVENTS") "$EVENTS" > "$KEYED"
NL=$(wc -l < "$EVENTS"); NB=$(stat -c %s "$EVENTS")
[ "$(wc -l < "$KEYED")" = "$NL" ] || { echo "bench/kafka.sh: error: keyed copy has the wrong length" >&2; exit 70; }

machine_info "$W" > "$OUT/machine.txt"
{
    echo "versions: librdkafka $(dpkg-query -W -f '${Version}' librdkafka1 2>/dev/null) | kcat $(dpkg-query -W -f '${Version}' kcat 2>/dev/null)"
    echo "input: lines=$NL bytes=$NB sha256=$(sha256sum "$EVENTS" | cut -c1-16)...; $P partitions per topic, a new topic per timed run"
    echo "runs per row: $RUNS (median reported); the mock cluster runs in its own process on the second core"
} >> "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2
results_header

PRODUCER="-X enable.idempotence=true -X acks=all -X partitioner=murmur2_random -X compression.codec=lz4 -X linger.ms=5 -X batch.num.messages=10000"
topic_of() { cat "$W/topic"; }

# ---------------------------------------------------------------- appends
warm "$EVENTS" "$KEYED" "$EVT_BIN/evt-append" "$EVT_BIN/evt-replay"
bench k1 "kcat -P -K tab, structured header, evt's producer settings" "$NL" "$NB" 300 \
    "$(printf "$PREP_TOPIC" k1)" \
    "kcat -b '$BS' -P -t \$(cat '$W/topic') -K \$'\\t' -H content-type=application/cloudevents+json $PRODUCER < '$KEYED'" \
    "value = line, key = subject"
KT=$(topic_of)   # the topic of the row's last run, read below
bench e1 "evt-append -L kafka:// --binding structured" "$NL" "$NB" 300 \
    "$(printf "$PREP_TOPIC" e1)" \
    "'$EVT_BIN/evt-append' -L '$KLOG' -t \$(cat '$W/topic') --binding structured < '$EVENTS'" \
    "validates every event; same records as k1"
ET=$(topic_of)
bench e2 "evt-append -L kafka:// --binding binary" "$NL" "$NB" 300 \
    "$(printf "$PREP_TOPIC" e2)" \
    "'$EVT_BIN/evt-append' -L '$KLOG' -t \$(cat '$W/topic') --binding binary < '$EVENTS'" \
    "value = data, ce_* headers"
BT=$(topic_of)

watermarks() {  # watermarks TOPIC -1|-2: the high (-1) or low (-2) watermarks summed over partitions
    local args=() p
    for p in $(seq 0 $((P - 1))); do args+=(-t "$1:$p:$2"); done
    kcat -b "$BS" -Q "${args[@]}" 2>/dev/null | awk '{ s += $NF } END { print s + 0 }'
}
for t in "$KT" "$ET" "$BT"; do
    check "records in $t (sum of the high watermarks)" "$(watermarks "$t" -1)" "$NL"
    check "none dropped by the mock in $t (sum of the low watermarks)" "$(watermarks "$t" -2)" 0
done

# ---------------------------------------------------------------- reads
bench k2 "kcat -C -e -f '%s' (values) > /dev/null" "$NL" "$NB" 300 "" \
    "kcat -b '$BS' -C -t '$ET' -o beginning -e -q -f '%s\\n' > /dev/null" "values only"
bench k3 "kcat -C -e -f '%t %p %o %k %T %s' > /dev/null" "$NL" "$NB" 300 "" \
    "kcat -b '$BS' -C -t '$ET' -o beginning -e -q -f '%t %p %o %k %T %s\\n' > /dev/null" "a position per record"
bench r1 "evt-replay -L kafka:// > /dev/null" "$NL" "$NB" 300 "" \
    "'$EVT_BIN/evt-replay' -L '$KLOG' -t '$ET' > /dev/null" "merged by time, positions in each event"
bench r2 "evt-replay -L kafka:// --no-position > /dev/null" "$NL" "$NB" 300 "" \
    "'$EVT_BIN/evt-replay' -L '$KLOG' -t '$ET' --no-position > /dev/null"
bench r3 "evt-replay -L kafka:// of the binary-mode topic > /dev/null" "$NL" "$NB" 300 "" \
    "'$EVT_BIN/evt-replay' -L '$KLOG' -t '$BT' > /dev/null" "events rebuilt from ce_* headers"

check "kcat -C reads every record" "$(kcat -b "$BS" -C -t "$ET" -o beginning -e -q -f '%s\n' | wc -l)" "$NL"
"$EVT_BIN/evt-replay" -L "$KLOG" -t "$ET" --no-position | sort > "$W/back.sorted"
sort "$EVENTS" > "$W/in.sorted"
verify "evt-append structured | evt-replay --no-position == input (as sets of lines)" "$W/in.sorted" "$W/back.sorted"
"$EVT_BIN/evt-replay" -L "$KLOG" -t "$BT" --no-position | sort > "$W/back.sorted"
verify "evt-append binary | evt-replay --no-position == input (as sets of lines)" "$W/in.sorted" "$W/back.sorted"
kcat -b "$BS" -C -t "$KT" -o beginning -e -q -f '%s\n' | sort > "$W/back.sorted"
verify "kcat -P | kcat -C == input (as sets of lines)" "$W/in.sorted" "$W/back.sorted"
# the same partition for the same key: evt's records and kcat's, compared per key
kcat -b "$BS" -C -t "$KT" -o beginning -e -q -f '%k %p\n' | sort -u > "$W/kcat.kp"
kcat -b "$BS" -C -t "$ET" -o beginning -e -q -f '%k %p\n' | sort -u > "$W/evt.kp"
verify "each key on the same partition from kcat -P and evt-append" "$W/kcat.kp" "$W/evt.kp"
rm -f "$W"/*.sorted "$W"/*.kp

# ---------------------------------------------------------------- table and ratios
results_table > "$OUT/table.md"
NO_CPU_RATIO="^nothing$"
{
    echo "| ratio of events/s | wall-clock ratio | CPU-time ratio | target (on wall clock) | verdict |"
    echo "|---|---:|---:|---|---|"
    ratio "e1 evt-append structured ÷ k1 kcat -P" e1 k1 1.0 "≥ 1 (at least as fast as kcat)"
    ratio "e2 evt-append binary ÷ k1 kcat -P" e2 k1 "" "(headers per record)"
    ratio "r1 evt-replay ÷ k3 kcat -C with positions" r1 k3 1.0 "≥ 1 (at least as fast as kcat)"
    ratio "r2 evt-replay --no-position ÷ k2 kcat -C values" r2 k2 1.0 "≥ 1 (at least as fast as kcat)"
    ratio "r1 evt-replay ÷ k2 kcat -C values" r1 k2 "" "(evt also prints positions)"
    ratio "r3 evt-replay binary topic ÷ k2" r3 k2 "" "(rebuilt from headers)"
} > "$OUT/ratios.md"
summary_and_exit
