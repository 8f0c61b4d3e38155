#!/usr/bin/env bash
# bench/dedup.sh - evt-dedup beside the dedup peers of ../shared/bench, in one run.
#
# On 1M CloudEvents with 5% exact duplicates (gen-events.py -n 1000000 -s 42
# --dup-fraction 0.05), times with hyperfine (RUNS=3, --prepare resets state, medians):
#   peers  p1 mawk -F'"' '!seen[$8]++' whole lines, in memory (../shared/bench/baselines.sh
#             row g3; issue 5 calls it "row g1")
#          p2 lmdb-anchor dedup -b 1000: the raw LMDB dedup loop, one durable txn per 1000
#          p3 lmdb-anchor dedup: the same loop, one durable txn (baselines.sh row g5 exactly)
#   ours   d1 evt-dedup (in memory)
#          d2 evt-dedup --store bench, fresh log (keys committed per batch, output before commit)
#          d3 evt-dedup --store bench --to-topic uniq, fresh log (keys + events in one txn)
# Every output (d3: the topic, replayed without positions) must equal mawk's, byte for
# byte. Prints a markdown table (events/s, peak RSS of the process tree, CPU time, load)
# and the ratios of issue 5 "Done when" 3: d1 >= 2x p1, d2 >= p2 (and >= p3).
#
# Usage: bench/dedup.sh                        (~1 min on 2 cores)
#        EVT_BIN=/path/to/build/bin N=200000 RUNS=5 bench/dedup.sh
# Env:   EVT_BIN (default ../build/bin), N (1000000), SEED (42), RUNS (3),
#        SHARED_BENCH (../../shared/bench), OUT (results dir, kept; default
#        /tmp/evt-bench-dedup-<stamp>), TMPDIR (work dir parent; the work dir is removed).
set -euo pipefail
export LC_ALL=C
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

N=${N:-1000000}
SEED=${SEED:-42}
bench_dirs dedup evt-bench-dedup
cleanup() { rm -rf "$W"; }
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

for t in hyperfine jq mawk cc; do need "$t" || { echo "bench/dedup.sh: error: $t is required" >&2; exit 69; }; done
for t in evt-dedup; do
    [ -x "$EVT_BIN/$t" ] || { echo "bench/dedup.sh: error: $EVT_BIN/$t not found (set EVT_BIN)" >&2; exit 66; }
done


# ---------------------------------------------------------------- input
DUPS=$W/events-dup5.ndjson
DB=$W/db
mkdir -p "$DB"
log "generating $N events (seed $SEED, 5% duplicates) into $W"
"$PY" "$SHARED/gen-events.py" -n "$N" -s "$SEED" --dup-fraction 0.05 -o "$DUPS" 2>> "$OUT/gen.txt"
DL=$(wc -l < "$DUPS"); DB_=$(stat -c %s "$DUPS")
ANCHOR=$W/lmdb-anchor
cc -O2 -o "$ANCHOR" "$SHARED/lmdb-anchor.c" -llmdb

machine_info "$W" > "$OUT/machine.txt"
echo "input: dup5 lines=$DL bytes=$DB_ sha256=$(sha256sum "$DUPS" | cut -c1-16)..." >> "$OUT/machine.txt"
echo "runs per row: $RUNS (median reported)" >> "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2
results_header
warm "$DUPS"

# ---------------------------------------------------------------- rows
D=$EVT_BIN/evt-dedup; R=$EVT_BIN/evt-replay
bench p1 "mawk -F'\"' '!seen[\$8]++' whole lines" "$DL" "$DB_" 120 "" \
    "mawk -F'\"' '!seen[\$8]++' '$DUPS' > '$DB/p1.out'" "in memory; baselines.sh g3"
bench p2 "lmdb-anchor dedup -b 1000 (txn/1000, durable)" "$DL" "$DB_" 120 "rm -rf '$DB/anchor'; sync" \
    "'$ANCHOR' dedup '$DB/anchor' -b 1000 < '$DUPS' > '$DB/p2.out'" "MDB_NOOVERWRITE on id"
bench p3 "lmdb-anchor dedup (1 txn, durable)" "$DL" "$DB_" 120 "rm -rf '$DB/anchor'; sync" \
    "'$ANCHOR' dedup '$DB/anchor' < '$DUPS' > '$DB/p3.out'" "baselines.sh g5"
rm -rf "$DB/anchor"
warm "$D" "$R"
bench d1 "evt-dedup (in memory)" "$DL" "$DB_" 120 "" \
    "'$D' < '$DUPS' > '$DB/d1.out'" "exact seen-set, full JSON parse"
bench d2 "evt-dedup --store bench (fresh log)" "$DL" "$DB_" 300 "rm -rf '$DB/log2'; sync" \
    "'$D' -L '$DB/log2' --store bench < '$DUPS' > '$DB/d2.out'" "durable commit per batch, output before commit"
bench d3 "evt-dedup --store bench --to-topic uniq (fresh log)" "$DL" "$DB_" 300 "rm -rf '$DB/log3'; sync" \
    "'$D' -L '$DB/log3' --store bench --to-topic uniq < '$DUPS'" "keys and events in one txn per batch"
"$R" -L "$DB/log3" -t uniq --no-position > "$DB/d3.out"

verify "p2 lmdb-anchor dedup -b 1000 == mawk" "$DB/p1.out" "$DB/p2.out"
verify "p3 lmdb-anchor dedup == mawk" "$DB/p1.out" "$DB/p3.out"
verify "d1 evt-dedup == mawk" "$DB/p1.out" "$DB/d1.out"
verify "d2 evt-dedup --store == mawk" "$DB/p1.out" "$DB/d2.out"
verify "d3 evt-dedup --store --to-topic (replayed --no-position) == mawk" "$DB/p1.out" "$DB/d3.out"
echo "dedup: $(wc -l < "$DB/p1.out") of $DL lines kept" >> "$OUT/notes.txt"
echo "log size after d2 (store only): $(du -sm "$DB/log2" | cut -f1) MB; after d3 (store + topic): $(du -sm "$DB/log3" | cut -f1) MB" >> "$OUT/notes.txt"
read -r ANON HWM < <(peak_anon "$D" -L "$DB/log4" --store bench "$DUPS")
echo "evt-dedup --store on $DL lines: peak RssAnon $((ANON / 1024)) MB, VmHWM $((HWM / 1024)) MB (mapped log pages included)" >> "$OUT/notes.txt"
read -r ANON HWM < <(peak_anon "$D" "$DUPS")
echo "evt-dedup (memory) on $DL lines: peak RssAnon $((ANON / 1024)) MB, VmHWM $((HWM / 1024)) MB" >> "$OUT/notes.txt"
rm -rf "$DB"

# ---------------------------------------------------------------- table and ratios
results_table > "$OUT/table.md"

{
    echo "| ratio of events/s | wall-clock ratio | CPU-time ratio | target (on wall clock) | verdict |"
    echo "|---|---:|---:|---|---|"
    ratio "d1 evt-dedup (memory) ÷ p1 mawk" d1 p1 2.0 "≥ 2"
    ratio "d2 evt-dedup --store ÷ p2 lmdb-anchor dedup -b 1000" d2 p2 1.0 "≥ 1"
    ratio "d2 evt-dedup --store ÷ p3 lmdb-anchor dedup (1 txn, g5)" d2 p3 1.0 "≥ 1"
    ratio "d3 evt-dedup --store --to-topic ÷ p2" d3 p2 "" "(no target)"
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
