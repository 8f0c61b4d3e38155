#!/usr/bin/env bash
# bench/project.sh - evt-project beside the fold peers of ../shared/bench, in one run.
#
# On 1M CloudEvents (gen-events.py -n 1000000 -s 42 -e 100000: 100,000 subjects,
# the input of ../shared/bench/baselines.sh), appended to a fresh log (untimed),
# times with hyperfine (RUNS=3, medians) the fold "count per subject, sum of
# data.amount_cents per type":
#   peers  f4 mawk -F'"' positional fold, no JSON parse (baselines.sh row f4, same program)
#          f2 jq -n reduce, '=' form + flat keys, linear (baselines.sh row f2, same program)
#   ours   o1 evt-project SPEC: a fresh fold of the whole topic into a read model
#             (rows and positions written to the log in LMDB transactions; the model is
#             dropped, untimed, before each run)
# evt-query's result is turned into the peers' canonical text and must equal mawk's.
# Then the memory of evt-project: /usr/bin/time -v's maximum RSS, and the peak RssAnon,
# at 100k and at 1M events (same 100,000 subjects), to show it does not grow with
# the number of events. Prints a markdown table and the ratios of issue 6 "Done
# when" 3: o1 >= f4 and o1 >= 10x f2 (events/s).
#
# Usage: bench/project.sh                      (~2 min on 2 cores)
#        EVT_BIN=/path/to/build/bin N=200000 RUNS=5 bench/project.sh
# Env:   EVT_BIN (default ../build/bin), N (1000000), SEED (42), ENTITIES (100000),
#        RUNS (3), SHARED_BENCH (../../shared/bench), OUT (results dir, kept; default
#        /tmp/evt-bench-project-<stamp>), TMPDIR (work dir parent; removed at the end).
set -euo pipefail
export LC_ALL=C
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

N=${N:-1000000}
SEED=${SEED:-42}
ENTITIES=${ENTITIES:-100000}
SMALL=$((N / 10))
bench_dirs project evt-bench-project
cleanup() { rm -rf "$W"; }
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

for t in hyperfine jq mawk; do need "$t" || { echo "bench/project.sh: error: $t is required" >&2; exit 69; }; done
for t in evt-project evt-query; do
    [ -x "$EVT_BIN/$t" ] || { echo "bench/project.sh: error: $EVT_BIN/$t not found (set EVT_BIN)" >&2; exit 66; }
done


# ---------------------------------------------------------------- input
EVENTS=$W/events.ndjson
SMALLEV=$W/events-small.ndjson
DB=$W/db
mkdir -p "$DB"
log "generating $N events (seed $SEED, $ENTITIES subjects) into $W"
"$PY" "$SHARED/gen-events.py" -n "$N" -s "$SEED" -e "$ENTITIES" -o "$EVENTS" 2>> "$OUT/gen.txt"
"$PY" "$SHARED/gen-events.py" -n "$SMALL" -s "$SEED" -e "$ENTITIES" -o "$SMALLEV" 2>> "$OUT/gen.txt"
NL=$(wc -l < "$EVENTS"); NB=$(stat -c %s "$EVENTS")

machine_info "$W" > "$OUT/machine.txt"
echo "input: lines=$NL bytes=$NB sha256=$(sha256sum "$EVENTS" | cut -c1-16)... ($ENTITIES subjects)" >> "$OUT/machine.txt"
echo "runs per row: $RUNS (median reported)" >> "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2
results_header

# The peers' programs, exactly as ../shared/bench/baselines.sh section f writes them.
cat > "$W/fold-linear.jq" <<'JQ'
reduce (inputs | ["n/" + .subject, "s/" + .type, (.data.amount_cents // 0)]) as [$nk, $sk, $a]
        ({}; .[$nk] = (.[$nk] + 1) | .[$sk] = (.[$sk] + $a))
      | to_entries
      | (.[] | select(.key | startswith("s/")) | "\(.key[2:])\t\(.value)"),
        "#subjects\t\(map(select(.key | startswith("n/"))) | length)",
        "#events\t\(map(select(.key | startswith("n/")) | .value) | add)"
JQ
cat > "$W/fold.awk" <<'AWK'
{ n[$20]++; s[$16] += ($36 == "amount_cents") ? substr($37, 2) + 0 : 0 }
        END { for (t in s) printf "%s\t%.0f\n", t, s[t]; for (k in n) { c++; tot += n[k] }
              printf "#subjects\t%.0f\n#events\t%.0f\n", c, tot }
AWK
# Ours: the same fold as a projection spec.
SPEC=$W/fold.yaml
cat > "$SPEC" <<'YAML'
name: bench_fold
source: {topic: events}
key: subject
on:
  "*":
    - inc: {events: 1}
aggregates:
  per_type:
    key: type
    on:
      "*":
        - inc: {amount_cents: $data.amount_cents}
YAML
cp "$SPEC" "$OUT/fold.yaml"

log "appending $NL events to a fresh log (untimed)"
"$EVT_BIN/evt-append" -L "$DB/log" -t events < "$EVENTS"
"$EVT_BIN/evt-append" -L "$DB/small" -t events < "$SMALLEV"

# ---------------------------------------------------------------- rows
P=$EVT_BIN/evt-project; Q=$EVT_BIN/evt-query
warm "$EVENTS"
bench f4 "mawk -F'\"' positional fold (no JSON parse)" "$NL" "$NB" 120 "" \
    "mawk -F'\"' -f '$W/fold.awk' '$EVENTS' > '$DB/fold-awk.out'" "baselines.sh f4"
bench f2 "jq -n reduce, '=' form + flat keys (linear)" "$NL" "$NB" 300 "" \
    "jq -rn -f '$W/fold-linear.jq' '$EVENTS' > '$DB/fold-jq.out'" "baselines.sh f2"
warm "$P" "$DB/log/data.mdb"
bench o1 "evt-project (count/subject, sum/type), fresh model" "$NL" "$NB" 300 \
    "'$P' -L '$DB/log' --drop bench_fold -q > /dev/null 2>&1 || true" \
    "'$P' -L '$DB/log' -q '$SPEC'" "rows + positions in LMDB txns"

# the model as the peers' canonical text
{
    "$Q" -L "$DB/log" bench_fold.per_type --format ndjson | jq -r '"\(.key)\t\(.amount_cents)"'
    "$Q" -L "$DB/log" bench_fold --format ndjson | jq -rs '"#subjects\t\(length)", "#events\t\(map(.events) | add)"'
} | sort > "$DB/fold-ours.sorted"
for x in awk jq; do sort "$DB/fold-$x.out" > "$DB/fold-$x.sorted"; done
verify "fold jq == awk" "$DB/fold-jq.sorted" "$DB/fold-awk.sorted"
verify "o1 evt-project (via evt-query) == awk" "$DB/fold-ours.sorted" "$DB/fold-awk.sorted"
cp "$DB/fold-ours.sorted" "$OUT/fold-result.txt"

# ---------------------------------------------------------------- memory: 100k vs 1M events
for which in small log; do
    "$P" -L "$DB/$which" --drop bench_fold -q > /dev/null 2>&1 || true
    ev=$( [ "$which" = small ] && echo "$SMALL" || echo "$NL" )
    /usr/bin/time -v "$P" -L "$DB/$which" -q "$SPEC" 2> "$OUT/time-v-$which.txt"
    maxrss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$OUT/time-v-$which.txt")
    "$P" -L "$DB/$which" --drop bench_fold -q > /dev/null 2>&1 || true
    read -r ANON HWM < <(peak_anon "$P" -L "$DB/$which" -q "$SPEC")
    rows=$("$Q" -L "$DB/$which" --list --format json | jq '.[] | select(.name == "bench_fold") | .rows')
    printf '%s\t%s\t%s\t%s\t%s\n' "$ev" "$rows" "$maxrss" "$ANON" "$HWM" >> "$OUT/memory.tsv"
done
{
    echo "| events | rows (subjects) | /usr/bin/time -v max RSS MB | peak RssAnon MB | VmHWM MB |"
    echo "|---:|---:|---:|---:|---:|"
    awk -F'\t' '{ printf "| %s | %s | %.1f | %.1f | %.1f |\n", $1, $2, $3 / 1024, $4 / 1024, $5 / 1024 }' "$OUT/memory.tsv"
} > "$OUT/memory.md"
rm -rf "$DB"

# ---------------------------------------------------------------- table and ratios
results_table > "$OUT/table.md"

{
    echo "| ratio of events/s | wall-clock ratio | CPU-time ratio | target (on wall clock) | verdict |"
    echo "|---|---:|---:|---|---|"
    ratio "o1 evt-project ÷ f4 mawk" o1 f4 1.0 "≥ 1"
    ratio "o1 evt-project ÷ f2 jq" o1 f2 10.0 "≥ 10"
} > "$OUT/ratios.md"

{
    echo; cat "$OUT/machine.txt"; echo
    cat "$OUT/table.md"; echo
    cat "$OUT/ratios.md"; echo
    echo "memory of evt-project (a fresh fold; time -v counts the log pages mapped at once, RssAnon its own memory):"
    cat "$OUT/memory.md"; echo
    echo "verification:"; cat "$OUT/verify.txt"
    echo "at the end: load average $(cut -d' ' -f1-3 /proc/loadavg); CPU pressure $(head -1 /proc/pressure/cpu 2>/dev/null | cut -d' ' -f2-4)"
    echo "results: $OUT  (results.tsv, table.md, ratios.md, memory.md, commands.txt, json/, logs/)  total $(( $(date +%s) - T0 )) s"
} | tee "$OUT/summary.txt"
grep -q '^DIFF' "$OUT/verify.txt" && exit 1
exit 0
