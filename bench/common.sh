# shellcheck shell=bash
# bench/common.sh - shared helpers for bench/run.sh and bench/growth.sh (sourced).
#
# Provides: log, need, bench (a hyperfine row with peak RSS), check, verify, peak_anon, machine_info,
# free_port, and the variables HERE, EVT_BIN, SHARED, PY, RUNS.
# The caller sets W (its temp dir), OUT (results dir) and RESULTS (tsv) before `bench`.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EVT_BIN=${EVT_BIN:-$HERE/../build/bin}
EVT_BIN=$(cd "$EVT_BIN" 2>/dev/null && pwd) || { echo "bench: error: EVT_BIN '$EVT_BIN' not found (build first, or set EVT_BIN)" >&2; exit 66; }
SHARED=${SHARED_BENCH:-$HERE/../../shared/bench}
PY=/usr/bin/python3
RUNS=${RUNS:-3}
T0=$(date +%s)

log() { printf '[%s +%ss] %s\n' "$(date -u +%H:%M:%S)" $(( $(date +%s) - T0 )) "$*" >&2; }
need() { command -v "$1" >/dev/null 2>&1; }

for t in evt-append evt-replay evt-topic; do
    [ -x "$EVT_BIN/$t" ] || { echo "bench: error: $EVT_BIN/$t not found (set EVT_BIN)" >&2; exit 66; }
done
[ -f "$SHARED/gen-events.py" ] || { echo "bench: error: $SHARED/gen-events.py not found (set SHARED_BENCH)" >&2; exit 66; }

# bench ID "job" EVENTS BYTES TIMEOUT_S "prepare cmd" "timed cmd" ["note"] [runs] [warmup]
# Same shape as ../shared/bench/baselines.sh: hyperfine --runs N --shell bash --prepare,
# the command wrapped in /usr/bin/time -f %M (peak RSS of the process tree) and timeout;
# one tsv line per row (median, min, max, events/s, MB/s, RSS MB, and cpu_s = hyperfine's
# mean user+system time: under load from other processes it moves less than wall time).
# Touches PRETOUCH_MB (default 2048; 0: off) of fresh memory and frees it.
# On this VM (Firecracker, virtio-balloon) the first touch of memory that has
# been free for a while is slow (by my reading, free pages are reported back
# to the host): the same 1M-event append into an empty log took 0.34-0.42 s of system
# time right after a log was deleted and 0.8-1.6 s after a pause. bench() runs
# it in every row's prepare step, so every timed run, ours and the peers',
# starts from the same warm pool.
PRETOUCH_MB=${PRETOUCH_MB:-2048}
pretouch() { [ "$PRETOUCH_MB" -gt 0 ] && "$PY" -c "x = b'\\x01' * ($PRETOUCH_MB << 20)"; return 0; }
export -f pretouch
export PRETOUCH_MB PY
bench() {
    local id=$1 name=$2 ev=$3 by=$4 to=$5 prep=${6:-true} cmd=$7 note=${8:-} runs=${9:-$RUNS} warm=${10:-0}
    prep="${prep:-true}; pretouch"
    local js=$OUT/json/$id.json rss=$OUT/rss/$id.txt wrapped load1
    rm -f "$js" "$rss"
    load1=$(cut -d' ' -f1 /proc/loadavg)
    log "$id $name"
    printf '%s  %s\n    prepare: %s\n    timed:   %s\n' "$id" "$name" "${prep:-true}" "$cmd" >> "$OUT/commands.txt"
    wrapped="/usr/bin/time -f '%M' -a -o '$rss' timeout $to bash -c $(printf '%q' "set -o pipefail; $cmd")"
    if hyperfine --runs "$runs" --warmup "$warm" --style basic --shell bash --prepare "${prep:-true}" \
            --export-json "$js" -n "$id" "$wrapped" > "$OUT/logs/$id.log" 2>&1 && [ -s "$js" ]; then
        local med mn mx cpu rssmb
        read -r med mn mx cpu < <(jq -r '.results[0] | "\(.median) \(.min) \(.max) \(.user + .system)"' "$js")
        rssmb=$(awk '/^[0-9]+$/ { if ($1 > m) m = $1 } END { printf "%.0f", m / 1024 }' "$rss" 2>/dev/null)
        awk -v id="$id" -v name="$name" -v ev="$ev" -v by="$by" -v med="$med" -v mn="$mn" -v mx="$mx" \
            -v rss="$rssmb" -v note="$note" -v runs="$runs" -v cpu="$cpu" -v load1="$load1" 'BEGIN {
              printf "%s\t%s\t%.0f\t%.0f\t%.4f\t%.4f\t%.4f\t%.0f\t%.1f\t%s\t%s\t%s\t%.4f\t%s\n",
                id, name, ev, by, med, mn, mx, ev / med, by / 1e6 / med, rss, runs, note, cpu, load1 }' >> "$RESULTS"
        log "   median $(printf '%.4f' "$med") s"
    else
        printf '%s\t%s\t%d\t%d\tFAIL\t-\t-\t-\t-\t-\t%s\t%s (see logs/%s.log)\t-\t%s\n' "$id" "$name" "$ev" "$by" "$runs" "$note" "$id" "$load1" >> "$RESULTS"
        log "   FAILED (timeout ${to}s or error), see $OUT/logs/$id.log"
        tail -5 "$OUT/logs/$id.log" >&2 || true
    fi
}
results_header() {
    printf 'id\tjob\tevents\tbytes\tmedian_s\tmin_s\tmax_s\tevents_per_s\tMB_per_s\tmax_rss_MB\truns\tnote\tcpu_s\tload1_at_start\n' > "$RESULTS"
}

# peak_anon CMD...: run CMD (stdout to /dev/null), poll /proc/PID/status every ~5 ms and
# print the peak RssAnon (heap/stack, no mapped file pages) and the final VmHWM, in KiB:
# "anon_kib hwm_kib". LMDB maps the data file, so VmHWM (= time's %M) counts every page of
# the log the reader touched; RssAnon is the reader's own memory.
peak_anon() {
    local pid a h peak=0 hwm=0
    "$@" > /dev/null 2>&1 &
    pid=$!
    while [ -r "/proc/$pid/status" ]; do
        read -r a h < <(awk '/^RssAnon:/ { a = $2 } /^VmHWM:/ { h = $2 } END { print a + 0, h + 0 }' "/proc/$pid/status" 2>/dev/null || echo "0 0")
        [ "${a:-0}" -gt "$peak" ] && peak=$a
        [ "${h:-0}" -gt "$hwm" ] && hwm=$h
        sleep 0.005
    done
    wait "$pid" || true
    echo "$peak $hwm"
}

free_port() {  # free_port START: first port >= START nobody listens on
    local p=$1
    while ss -ltnH 2>/dev/null | awk '{print $4}' | grep -q ":$p\$"; do p=$((p + 1)); done
    echo "$p"
}

machine_info() {  # machine_info DIR
    echo "date_utc: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -n)  kernel: $(uname -r)  arch: $(uname -m)"
    echo "cpu: $(nproc) x $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk -F': ' '/cpu MHz/ { print $2 " MHz"; exit }' /proc/cpuinfo)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on this machine compete for the 2 cores); CPU pressure: $(head -1 /proc/pressure/cpu 2>/dev/null | cut -d' ' -f2-4)"
    echo "mem: $(free -m | awk '/^Mem:/ { print $2 " MiB total, " $7 " MiB available" }')"
    echo "disk($1): $(df -h --output=source,fstype,size,avail "$1" | tail -1 | tr -s ' ') $(findmnt -no OPTIONS --target "$1" 2>/dev/null | cut -c1-60)"
    echo "os: $(. /etc/os-release; echo "$PRETTY_NAME")"
    echo "evt: $EVT_BIN ($("$EVT_BIN/evt-append" --version 2>&1 | head -1)), binaries built $(date -u -r "$EVT_BIN/evt-append" +%Y-%m-%dT%H:%M:%SZ); source tree now at git $(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null)$(git -C "$HERE/.." diff --quiet HEAD -- core tools 2>/dev/null || echo '+uncommitted core/tools edits')"
    echo "versions: LMDB $(dpkg-query -W -f '${Version}' liblmdb0 2>/dev/null) | sqlite3 $(sqlite3 --version | cut -d' ' -f1) |" \
         "$(redis-server --version 2>/dev/null | cut -d' ' -f1-3) | $(hyperfine --version) | $(cc --version | head -1) |" \
         "$("$PY" --version) | coreutils $(cat --version | head -1 | awk '{print $NF}')"
}

results_table() {  # results_table > table.md: the markdown table of $RESULTS
    echo "| id | job | events | median s | min–max s | events/s | MB/s | CPU s | peak RSS MB | load | note |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    tail -n +2 "$RESULTS" | awk -F'\t' '
        function commas(x,  s, r) { s = sprintf("%.0f", x); r = ""; while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) } return s r }
        {
        if ($5 == "FAIL") { printf "| %s | %s | %s | FAIL | | | | | | %s | %s |\n", $1, $2, commas($3), $14, $12; next }
        mb = ($4 > 0) ? sprintf("%.1f", $9) : "–"
        printf "| %s | %s | %s | %.4f | %.4f–%.4f | %s | %s | %.3f | %s | %s | %s |\n", $1, $2, commas($3), $5, $6, $7, commas($8), mb, $13, $10, $14, $12 }'
}

# ratio "label" NUM_ID DEN_ID|=VALUE TARGET "how": a row of the ratios table from $RESULTS
# (events/s of NUM over DEN, or over a fixed VALUE). The CPU-time ratio is left out
# when DEN's id matches $NO_CPU_RATIO (a peer whose work runs in a server process).
ratio() {
    awk -F'\t' -v lab="$1" -v a="$2" -v b="$3" -v tgt="$4" -v how="$5" -v nocpu="${NO_CPU_RATIO:-}" '
        NR > 1 && $5 != "FAIL" { eps[$1] = $8; ev[$1] = $3; cpu[$1] = $13 }
        END {
            if (!(a in eps)) { printf "| %s | n/a (%s failed) | | %s | n/a |\n", lab, a, how; exit }
            rc = "–"
            if (b ~ /^=/) den = substr(b, 2) + 0
            else if (b in eps) { den = eps[b]; if ((nocpu == "" || b !~ nocpu) && cpu[a] > 0 && cpu[b] > 0) rc = sprintf("%.3f", (ev[a] / cpu[a]) / (ev[b] / cpu[b])) }
            else { printf "| %s | n/a (%s missing) | | %s | n/a |\n", lab, b, how; exit }
            r = eps[a] / den
            printf "| %s | %.3f | %s | %s | %s |\n", lab, r, rc, how, (tgt == "" ? "–" : (r >= tgt ? "met" : "**MISSED**"))
        }' "$RESULTS"
}

bench_dirs() {  # bench_dirs OUT_NAME WORK_NAME: sets STAMP, OUT (kept), W (work dir) and RESULTS
    STAMP=$(date -u +%Y%m%dT%H%M%SZ)
    OUT=${OUT:-/tmp/evt-bench-$1-$STAMP}
    W=$(mktemp -d "${TMPDIR:-/tmp}/$2.XXXXXX")
    mkdir -p "$OUT/json" "$OUT/logs" "$OUT/rss"
    RESULTS=$OUT/results.tsv
    : > "$OUT/verify.txt"; : > "$OUT/commands.txt"; : > "$OUT/notes.txt"
}
check() {  # check "what" GOT WANT: OK or DIFF into $OUT/verify.txt
    if [ "$2" = "$3" ]; then echo "OK    $1 ($2)" >> "$OUT/verify.txt"
    else echo "DIFF  $1 (got $2, want $3)" >> "$OUT/verify.txt"; log "VERIFY FAILED: $1"; fi
}
verify() {  # verify "what" file1 file2: OK or DIFF into $OUT/verify.txt
    if cmp -s "$2" "$3"; then echo "OK    $1" >> "$OUT/verify.txt"
    else echo "DIFF  $1 ($(cmp "$2" "$3" 2>&1 | head -1))" >> "$OUT/verify.txt"; log "VERIFY FAILED: $1"; fi
}
warm() { cat "$@" > /dev/null; }  # warm FILE...: into the page cache

# summary_and_exit: machine, table, ratios and verification into $OUT/summary.txt (and
# stdout); exit 1 when a verification differed
summary_and_exit() {
    {
        echo; cat "$OUT/machine.txt"; echo
        cat "$OUT/table.md"; echo
        cat "$OUT/ratios.md"; echo
        echo "verification:"; cat "$OUT/verify.txt"
        echo "at the end: load average $(cut -d' ' -f1-3 /proc/loadavg); CPU pressure $(head -1 /proc/pressure/cpu 2>/dev/null | cut -d' ' -f2-4)"
        echo "results: $OUT  (results.tsv, table.md, ratios.md, commands.txt, json/, logs/)  total $(( $(date +%s) - T0 )) s"
    } | tee "$OUT/summary.txt"
    grep -q '^DIFF' "$OUT/verify.txt" && exit 1
    exit 0
}
