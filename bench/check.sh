#!/usr/bin/env bash
# bench/check.sh - evt-check on a clean log of N events (issue 9, "Done when" 3: 1M events
# checked in under 2 s), beside a full read of the same log (evt-replay > /dev/null) and
# beside the base build's evt-check when BASE_BIN is given, in one run.
#
# The log: gen-events.py -n N -s 42 (100k subjects, so 100k streams) appended to a topic
# of 4 partitions, plus the same events appended --idempotent to a second topic so the
# id index is checked too (2N records). hyperfine, RUNS runs, medians.
#
# Usage: bench/check.sh      EVT_BIN=/path/bin N=1000000 RUNS=5 bench/check.sh
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EVT_BIN=$(cd "${EVT_BIN:-$HERE/../build/bin}" && pwd)
SHARED=${SHARED_BENCH:-$HERE/../../shared/bench}
N=${N:-1000000}
RUNS=${RUNS:-5}
W=$(mktemp -d "${TMPDIR:-/tmp}/evt-check.XXXXXX")
trap 'rm -rf "$W"' EXIT
command -v hyperfine >/dev/null || { echo "bench/check.sh: error: hyperfine is required" >&2; exit 69; }

python3 "$SHARED/gen-events.py" -n "$N" -s 42 > "$W/in.ndjson" 2>/dev/null
"$EVT_BIN/evt-append" -L "$W/L" -t orders -P 4 "$W/in.ndjson"
"$EVT_BIN/evt-append" -L "$W/L" -t ids --idempotent "$W/in.ndjson"
"$EVT_BIN/evt-check" -L "$W/L" -t orders > "$W/c1.out"
"$EVT_BIN/evt-check" -L "$W/L" > "$W/c2.out"
grep -q ': ok$' "$W/c1.out" && grep -q ': ok$' "$W/c2.out" || { echo "bench/check.sh: the log does not check clean" >&2; exit 1; }

hyperfine --runs "$RUNS" --warmup 1 --style none --export-json "$W/h.json" \
    -n "c1 evt-check -t orders ($N records, 4 partitions)" "$EVT_BIN/evt-check -L $W/L -t orders" \
    -n "c2 evt-check (all: $((2 * N)) records, the id index of $N)" "$EVT_BIN/evt-check -L $W/L" \
    -n "r1 evt-replay -t orders > /dev/null (a full read)" "$EVT_BIN/evt-replay -L $W/L -t orders > /dev/null" \
    > /dev/null 2>&1
echo "| row | median | min | max | CPU (user+sys, mean) | records/s (median) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
jq -r --argjson n "$N" '.results[] | [.command, .median, .min, .max, (.user + .system),
    ((if (.command | startswith("c2")) then 2 * $n else $n end) / .median)] |
    "| \(.[0]) | \(.[1] * 1000 | floor) ms | \(.[2] * 1000 | floor) ms | \(.[3] * 1000 | floor) ms | \(.[4] * 1000 | floor) ms | \(.[5] | floor) |"' "$W/h.json"
echo
echo "evt-check output: $(cat "$W/c1.out")"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
