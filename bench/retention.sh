#!/usr/bin/env bash
# bench/retention.sh - append throughput with retention beside the same append without it,
# in one run (issue 9, "Done when" 2: within 10% of a topic without retention).
#
# Each row starts from a fresh log that already holds N events (the prepare step), then
# times evt-append of N more (gen-events.py -n N -s 42, one process, --sync batch):
#   a0  no retention                      (the comparison row)
#   a1  --retention 1h, the N old events expired (EVT_NOW two hours on): every commit also
#       removes up to twice what it appends - the heaviest steady state
#   a2  --retention-bytes 64MiB: every commit trims the partition back to 64 MiB
#   a3  --compact, 100000 keys (the events' subjects): every event removes its key's last
#   b0  with BASE_BIN=/path/to/bin of another build (e.g. the commit before retention):
#       that build's evt-append, no retention - the hot path of topics without retention
# Rows are interleaved (a0 a1 a2 a3, RUNS times) so load from other users of this shared
# machine falls on all of them alike; medians of hyperfine runs and the ratio to a0.
#
# Usage: bench/retention.sh       EVT_BIN=/path/bin BASE_BIN=/old/bin N=500000 RUNS=3 [ONLY="a0 b0"] bench/retention.sh
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EVT_BIN=$(cd "${EVT_BIN:-$HERE/../build/bin}" && pwd)
SHARED=${SHARED_BENCH:-$HERE/../../shared/bench}
N=${N:-500000}
RUNS=${RUNS:-3}
W=$(mktemp -d "${TMPDIR:-/tmp}/evt-retention.XXXXXX")
trap 'rm -rf "$W"' EXIT
command -v hyperfine >/dev/null || { echo "bench/retention.sh: error: hyperfine is required" >&2; exit 69; }

python3 "$SHARED/gen-events.py" -n "$N" -s 42 > "$W/in.ndjson" 2>/dev/null
T0=1893456000000000  # 2030-01-01T00:00:00Z in microseconds
T2=$((T0 + 7200000000))
A="$EVT_BIN/evt-append"
TOPIC="$EVT_BIN/evt-topic"

prep() {  # prep FLAGS...: a fresh log at $W/L with N events appended at T0
    printf 'rm -rf %q; %q -L %q create t %s 2>/dev/null; EVT_NOW=%s %q -L %q -t t %q' \
        "$W/L" "$TOPIC" "$W/L" "$*" "$T0" "$A" "$W/L" "$W/in.ndjson"
}
timed() { printf 'EVT_NOW=%s %q -L %q -t t %q' "$T2" "$A" "$W/L" "$W/in.ndjson"; }
if [ -n "${BASE_BIN:-}" ]; then
    B=$(cd "$BASE_BIN" && pwd)/evt-append
    prep_b0() { printf 'rm -rf %q; %q -L %q -t t %q' "$W/L" "$B" "$W/L" "$W/in.ndjson"; }
    timed_b0() { printf '%q -L %q -t t %q' "$B" "$W/L" "$W/in.ndjson"; }
fi

declare -A FLAGS=([a0]="" [a1]="--retention 1h" [a2]="--retention-bytes 64MiB" [a3]="--compact")
declare -A NAME=([a0]="no retention" [a1]="--retention 1h (all N old expired)" [a2]="--retention-bytes 64MiB" [a3]="--compact (100k keys)" [b0]="BASE_BIN build, no retention")
ROWS=(a0 a1 a2 a3)
if [ -n "${BASE_BIN:-}" ]; then ROWS+=(b0); fi
if [ -n "${ONLY:-}" ]; then read -r -a ROWS <<<"$ONLY"; fi  # e.g. ONLY="a0 b0" (a0 is always needed)
for r in $(seq 1 "$RUNS"); do
    for id in "${ROWS[@]}"; do
        if [ "$id" = b0 ]; then
            hyperfine --runs 1 --style none --shell bash --prepare "$(prep_b0)" \
                --export-json "$W/$id.$r.json" "$(timed_b0)" > /dev/null 2>&1
            echo "$id $((2 * N)) $(stat -c %s "$W/L/data.mdb")" > "$W/$id.state"
            continue
        fi
        # shellcheck disable=SC2086
        hyperfine --runs 1 --style none --shell bash --prepare "$(prep ${FLAGS[$id]})" \
            --export-json "$W/$id.$r.json" "$(timed)" > /dev/null 2>&1
        # what the row left behind: events kept and file size
        kept=$("$TOPIC" -L "$W/L" describe t --format json | jq '.events')
        echo "$id $kept $(stat -c %s "$W/L/data.mdb")" > "$W/$id.state"
    done
done

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
base=$(for r in $(seq 1 "$RUNS"); do jq '.results[0].mean' "$W/a0.$r.json"; done | median)
cbase=$(for r in $(seq 1 "$RUNS"); do jq '.results[0].user + .results[0].system' "$W/a0.$r.json"; done | median)
echo "| row | topic | append of $N (median of $RUNS) | events/s | time vs a0 | CPU (user+sys) | CPU vs a0 | events kept | data.mdb |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for id in "${ROWS[@]}"; do
    med=$(for r in $(seq 1 "$RUNS"); do jq '.results[0].mean' "$W/$id.$r.json"; done | median)
    cpu=$(for r in $(seq 1 "$RUNS"); do jq '.results[0].user + .results[0].system' "$W/$id.$r.json"; done | median)
    read -r _ kept size < "$W/$id.state"
    awk -v id="$id" -v name="${NAME[$id]}" -v m="$med" -v b="$base" -v c="$cpu" -v cb="$cbase" -v n="$N" -v k="$kept" -v s="$size" \
        'BEGIN { printf "| %s | %s | %.2f s | %.0f | %.2fx | %.2f s | %.2fx | %d | %.0f MiB |\n", id, name, m, n / m, m / b, c, c / cb, k, s / 1048576 }'
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
