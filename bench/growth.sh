#!/usr/bin/env bash
# bench/growth.sh - does evt get slower as the log grows? (issue 2, Done-when 8)
#
# Generates BATCHES x PER events (gen-events.py -n BATCHES*PER -s SEED, split into
# batches of PER lines; default 10 x 1M), then appends them batch by batch into ONE log
# (`evt-append -t bench < batch`, default flags, durable at end; each batch a separate
# process, page cache warm, `sync` before each) and times every batch. The sequence is
# repeated REPS times (default 2) on a fresh log so the noise of this VM is visible.
# After the first batch (1M events) and after the last (10M):
#   * `evt-replay -t bench --from -10` timed with hyperfine (TAIL_RUNS runs, 3 warm-up)
#   * `evt-replay -t bench --from K -n 10` (offset seek into the middle), same
#   * `evt-replay -t bench > /dev/null` timed with hyperfine (RUNS), its peak RSS
#     (/usr/bin/time %M, counts the mapped log pages it touched) and its peak RssAnon
#     (own heap; polled from /proc), to show whether a reader's memory depends on log size.
# Prints markdown; the raw files stay in OUT.
#
# Usage: nohup bench/growth.sh > growth.out 2>&1 &      (~10-15 min on 2 cores)
# Each batch is also appended into an empty log right after (CONTROL=1), and every
# timed append is preceded by touching PRETOUCH_MB of memory (pretouch, bench/common.sh).
# Env:   EVT_BIN (default ../build/bin), BATCHES (10), PER (1000000), SEED (42), REPS (2),
#        CONTROL (1), PRETOUCH_MB (2048),
#        ENTITIES (distinct subjects; default 0 = gen-events' default, BATCHES*PER/10),
#        APPEND_FLAGS (extra evt-append flags, e.g. --idempotent),
#        RUNS (3), TAIL_RUNS (20), OUT (default /tmp/evt-growth-<stamp>), TMPDIR
set -euo pipefail
export LC_ALL=C
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

BATCHES=${BATCHES:-10}
PER=${PER:-1000000}
SEED=${SEED:-42}
ENTITIES=${ENTITIES:-0}               # distinct subjects; 0: gen-events' default, a tenth of the events
REPS=${REPS:-2}
CONTROL=${CONTROL:-1}                 # 1: also append each batch into an empty log, right after
# PRETOUCH_MB (common.sh, default 2048): warm memory touched and freed before each timed append
APPEND_FLAGS=${APPEND_FLAGS:-}        # e.g. --idempotent: the same growth check with the id index
TAIL_RUNS=${TAIL_RUNS:-20}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-/tmp/evt-growth-$STAMP}
W=$(mktemp -d "${TMPDIR:-/tmp}/evt-growth.XXXXXX")
mkdir -p "$OUT/json" "$OUT/logs" "$OUT/rss"
RESULTS=$OUT/results.tsv
: > "$OUT/commands.txt"
trap 'rm -rf "$W"' EXIT
trap 'log "interrupted"; exit 130' INT TERM
for t in hyperfine jq split; do need "$t" || { echo "bench/growth.sh: error: $t is required" >&2; exit 69; }; done

A=$EVT_BIN/evt-append; R=$EVT_BIN/evt-replay
TOTAL=$(( BATCHES * PER ))
log "generating $TOTAL events (seed $SEED) into $W, split into $BATCHES x $PER"
"$PY" "$SHARED/gen-events.py" -n "$TOTAL" -s "$SEED" -e "$ENTITIES" 2>> "$OUT/gen.txt" | split -l "$PER" -d -a 3 - "$W/batch-"
ls "$W"/batch-* | head -n "$BATCHES" > "$W/batches"
[ "$(wc -l < "$W/batches")" = "$BATCHES" ] || { echo "bench/growth.sh: error: split produced too few batches" >&2; exit 70; }
machine_info "$W" > "$OUT/machine.txt"
echo "input: gen-events.py -n $TOTAL -s $SEED -e $ENTITIES, $(cat "$OUT/gen.txt" | tail -1)" >> "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2
results_header
printf 'rep\tbatch\tevents_before\tseconds\tevents_per_s\tdata_mdb_MB\tcpu_s\tmax_rss_MB\tmajor_faults\tload1\tuser_s\tsys_s\tcontrol_s\tcontrol_user_s\tcontrol_sys_s\n' > "$OUT/batches.tsv"

# timed_append LOG FILE: sets s (wall), us, ss, cpu, rk (max RSS KiB), mf (major faults)
timed_append() {
    pretouch
    local t0 t1
    t0=$(now)
    # shellcheck disable=SC2086
    /usr/bin/time -f '%U %S %M %F' -o "$W/time" "$A" -L "$1" -t bench $APPEND_FLAGS < "$2"
    t1=$(now)
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
    read -r us ss rk mf < <(tail -1 "$W/time")
    cpu=$(awk -v u="$us" -v s="$ss" 'BEGIN { printf "%.2f", u + s }')
}

now() { date +%s.%N; }
reader_rows() {  # reader_rows TAG EVENTS_IN_LOG LOG
    local tag=$1 n=$2 l=$3 mid=$(( $2 / 2 )) anon hwm
    bench "tail-$tag" "evt-replay --from -10 ($n events in log)" 10 0 60 "" \
        "'$R' -L '$l' -t bench --from -10 > /dev/null" "$TAIL_RUNS runs, 3 warm-up" "$TAIL_RUNS" 3
    bench "seek-$tag" "evt-replay --from $mid -n 10 ($n events in log)" 10 0 60 "" \
        "'$R' -L '$l' -t bench --from $mid -n 10 > /dev/null" "$TAIL_RUNS runs, 3 warm-up" "$TAIL_RUNS" 3
    bench "full-$tag" "evt-replay > /dev/null ($n events in log)" "$n" "$(du -b "$l/data.mdb" | cut -f1)" 600 "" \
        "'$R' -L '$l' -t bench > /dev/null" "MB/s here = data.mdb bytes / s"
    # the same --from -10 without the bash/time/timeout wrappers (hyperfine -N, no shell)
    hyperfine -N --runs "$TAIL_RUNS" --warmup 3 --style basic --export-json "$OUT/json/tail-direct-$tag.json" \
        "$R -L $l -t bench --from -10" > "$OUT/logs/tail-direct-$tag.log" 2>&1 &&
        jq -r --arg n "$n" '.results[0] | "evt-replay --from -10 on \($n) events, hyperfine -N (no wrappers): median \(.median * 1000 * 10 | round / 10) ms, min \(.min * 1000 * 10 | round / 10) ms, max \(.max * 1000 * 10 | round / 10) ms, CPU \((.user + .system) * 1000 * 10 | round / 10) ms"' \
            "$OUT/json/tail-direct-$tag.json" >> "$OUT/notes.txt"
    read -r anon hwm < <(peak_anon "$R" -L "$l" -t bench)
    printf '%s\t%s\t%s\t%s\n' "$tag" "$n" "$anon" "$hwm" >> "$OUT/reader-mem.tsv"
    [ "$("$R" -L "$l" -t bench --from -10 | wc -l)" = 10 ] || log "WARNING: --from -10 did not print 10 events"
}
printf 'tag\tevents\tpeak_rss_anon_KiB\tvm_hwm_KiB\n' > "$OUT/reader-mem.tsv"

for rep in $(seq 1 "$REPS"); do
    L=$W/log-$rep
    rm -rf "$L"
    i=0; before=0
    while read -r f; do
        i=$((i + 1))
        cat "$f" > /dev/null; sync
        echo "rep $rep batch $i: $A -L $L -t bench $APPEND_FLAGS < $(basename "$f")" >> "$OUT/commands.txt"
        timed_append "$L" "$f"
        g_s=$s g_us=$us g_ss=$ss
        printf '%s\t%s\t%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$rep" "$i" "$before" "$s" "$(awk -v s="$s" -v n="$PER" 'BEGIN { print n / s }')" \
            "$(du -m "$L/data.mdb" | cut -f1)" "$cpu" "$((rk / 1024))" "$mf" "$(cut -d' ' -f1 /proc/loadavg)" "$us" "$ss" >> "$OUT/batches.tsv"
        if [ "$CONTROL" = 1 ]; then
            # the same batch into an empty log, right after: what this batch costs here and now
            rm -rf "$W/control"
            timed_append "$W/control" "$f"
            rm -rf "$W/control"
            printf '\t%s\t%s\t%s\n' "$s" "$us" "$ss" >> "$OUT/batches.tsv"
            log "rep $rep batch $i ($before events before): $g_s s wall (user $g_us, sys $g_ss); into an empty log $s s (user $us, sys $ss)"
        else
            printf '\t\t\t\n' >> "$OUT/batches.tsv"
            log "rep $rep batch $i ($before events before): $g_s s wall (user $g_us, sys $g_ss)"
        fi
        before=$((before + PER))
        if [ "$rep" = 1 ] && [ "$i" = 1 ]; then reader_rows first "$before" "$L"; fi
    done < "$W/batches"
    if [ "$rep" = 1 ]; then
        got=$("$R" -L "$L" -t bench | wc -l)
        [ "$got" = "$TOTAL" ] && echo "OK    evt-replay | wc -l = $got" > "$OUT/verify.txt" || echo "DIFF  evt-replay | wc -l = $got, want $TOTAL" > "$OUT/verify.txt"
        reader_rows last "$TOTAL" "$L"
        echo "log after $TOTAL events: $(du -m "$L/data.mdb" | cut -f1) MB data.mdb" >> "$OUT/notes.txt"
        "$EVT_BIN/evt-topic" -L "$L" describe bench > "$OUT/describe.txt" 2>&1 || true
    fi
    rm -rf "$L"
done

# ---------------------------------------------------------------- report
{
    echo; cat "$OUT/machine.txt"; echo
    echo "Append time of each batch of $PER events into one growing log: \`evt-append -t bench $APPEND_FLAGS < batch\`;"
    echo "\"empty log\": the same batch appended into an empty log right after (CONTROL=$CONTROL); before every timed append $PRETOUCH_MB MiB were touched and freed (PRETOUCH_MB)."
    echo
    awk -F'\t' -v reps="$REPS" -v nb="$BATCHES" -v per="$PER" '
        function median(a, n,   i, j, x, b) {  # of a[1..n]
            for (i = 1; i <= n; i++) b[i] = a[i]
            for (i = 2; i <= n; i++) { x = b[i]; for (j = i - 1; j >= 1 && b[j] > x; j--) b[j + 1] = b[j]; b[j + 1] = x }
            return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
        }
        function med3(a, b, c) { return a + b + c - (a < b ? (a < c ? a : c) : (b < c ? b : c)) - (a > b ? (a > c ? a : c) : (b > c ? b : c)) }
        NR > 1 { t[$1, $2] = $4; b[$2] = $3; m[$1, $2] = $6; u[$1, $2] = $11; sy[$1, $2] = $12; ct[$1, $2] = $13; cu[$1, $2] = $14; cs[$1, $2] = $15 }
        END {
            printf "| batch | events before | data.mdb MB after |"
            for (r = 1; r <= reps; r++) printf " rep %d wall s | user s | sys s | empty log: wall s | user s | sys s | wall ratio |", r
            print ""
            printf "|---:|---:|---:|"; for (r = 1; r <= reps; r++) printf "---:|---:|---:|---:|---:|---:|---:|"; print ""
            for (i = 1; i <= nb; i++) {
                printf "| %d | %d | %s |", i, b[i], m[1, i]
                for (r = 1; r <= reps; r++)
                    printf " %.3f | %.2f | %.2f | %s | %s | %s | %s |", t[r, i], u[r, i], sy[r, i], ct[r, i], cu[r, i], cs[r, i], (ct[r, i] > 0 ? sprintf("%.2f", t[r, i] / ct[r, i]) : "")
                print ""
            }
            print ""
            for (r = 1; r <= reps; r++) {
                printf "rep %d: batch 1 %.3f s, batch %d %.3f s: last/first wall %.3f, user %.3f", r, t[r, 1], nb, t[r, nb], t[r, nb] / t[r, 1], (u[r, 1] > 0 ? u[r, nb] / u[r, 1] : 0)
                if (nb >= 6) {
                    m1 = med3(t[r, 1], t[r, 2], t[r, 3]); m2 = med3(t[r, nb - 2], t[r, nb - 1], t[r, nb])
                    printf "; median wall of batches 1-3 %.3f s, of %d-%d %.3f s (ratio %.3f)", m1, nb - 2, nb, m2, m2 / m1
                }
                if (ct[r, nb] > 0) printf "; batch %d into the grown log / into an empty log: wall %.3f, user %.3f", nb, t[r, nb] / ct[r, nb], u[r, nb] / cu[r, nb]
                print ""
            }
            if (nb >= 6) {  # all reps pooled: the first three batches against the last three
                n1 = n2 = 0
                for (r = 1; r <= reps; r++) for (i = 1; i <= 3; i++) { w1[++n1] = t[r, i]; v1[n1] = u[r, i]; w2[++n2] = t[r, nb - 3 + i]; v2[n2] = u[r, nb - 3 + i] }
                printf "all %d reps: median wall of batches 1-3 %.3f s, of batches %d-%d %.3f s (ratio %.3f); median user %.2f s and %.2f s (ratio %.3f)\n", reps, median(w1, n1), nb - 2, nb, median(w2, n2), median(w2, n2) / median(w1, n1), median(v1, n1), median(v2, n2), median(v2, n2) / median(v1, n1)
            }
        }' "$OUT/batches.tsv"
    echo
    echo "Readers (hyperfine medians):"
    echo
    echo "| id | job | median ms | min–max ms | CPU ms (mean) | runs | peak RSS MB (%M) |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    tail -n +2 "$RESULTS" | awk -F'\t' '$5 != "FAIL" { printf "| %s | %s | %.1f | %.1f–%.1f | %.1f | %s | %s |\n", $1, $2, $5 * 1000, $6 * 1000, $7 * 1000, $13 * 1000, $11, $10 }
                                      $5 == "FAIL" { printf "| %s | %s | FAIL | | | |\n", $1, $2 }'
    echo
    echo "Reader memory (evt-replay -t bench > /dev/null, polled every ~5 ms):"
    echo
    echo "| log | peak RssAnon MB | VmHWM MB (incl. mapped log pages) |"
    echo "|---|---:|---:|"
    tail -n +2 "$OUT/reader-mem.tsv" | awk -F'\t' '{ printf "| %s events | %.1f | %.0f |\n", $2, $3 / 1024, $4 / 1024 }'
    echo
    awk -F'\t' -v n="$TOTAL" 'NR > 1 && $1 == "tail-last" && $5 != "FAIL" { printf "--from -10 on the %d-event log, wrapped in bash -c + time + timeout like every row: median %.1f ms\n", n, $5 * 1000 }' "$RESULTS"
    [ -s "$OUT/json/tail-direct-last.json" ] && jq -r --arg n "$TOTAL" '.results[0] | "--from -10 on the \($n)-event log, the tool alone (hyperfine -N): median \(.median * 10000 | round / 10) ms (target < 20 ms): \(if .median < 0.020 then "met" else "MISSED" end)"' "$OUT/json/tail-direct-last.json"
    cat "$OUT/notes.txt" "$OUT/verify.txt"
    echo "results: $OUT  total $(( $(date +%s) - T0 )) s"
} | tee "$OUT/summary.txt"
