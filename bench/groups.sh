#!/usr/bin/env bash
# bench/groups.sh - consumer groups (issue 3, Done when 6), one run:
#   t  throughput: one evt-consume member, --commit auto, delivering 1M events
#      (gen-events.py -n 1000000 -s 42, 3 partitions) to a pipe (| wc -l); RUNS runs,
#      each a new group; median events/s (target >= 2,000,000)
#   l  --follow latency: a paced producer appends 10,000 events/s for LAT_SECONDS
#      (python3 | evt-append); a member with --follow pipes into a python3 reader that
#      stamps each line's arrival; delay = arrival - evttime (the append time);
#      p50/p99/max (target p99 < 5 ms)
#   r  rebalance after a clean leave: two --follow members on 3 partitions; the one
#      owning one partition gets SIGTERM; from its exit (waitpid) to the survivor
#      owning all 3 partitions (polling evt-group describe --format json); REBALANCES
#      times; median/max (target < 100 ms)
# Prints a summary (and writes it to $OUT/summary.txt) with the machine's description.
#
# Usage: bench/groups.sh          (~1-2 min on 2 cores)
# Env:   EVT_BIN (default ../build/bin), RUNS (3), N (1000000), LAT_SECONDS (10),
#        REBALANCES (10), SHARED_BENCH, OUT (default /tmp/evt-bench-groups-<stamp>), TMPDIR.
set -euo pipefail
export LC_ALL=C
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

N=${N:-1000000}
LAT_SECONDS=${LAT_SECONDS:-10}
REBALANCES=${REBALANCES:-10}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-/tmp/evt-bench-groups-$STAMP}
W=$(mktemp -d "${TMPDIR:-/tmp}/evt-bench-groups.XXXXXX")
mkdir -p "$OUT"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$W"
}
trap cleanup EXIT
for t in evt-consume evt-group; do
    [ -x "$EVT_BIN/$t" ] || { echo "bench/groups.sh: error: $EVT_BIN/$t not found (set EVT_BIN)" >&2; exit 66; }
done
export PATH="$EVT_BIN:$PATH"
SUMMARY=$OUT/summary.txt
{ echo "# bench/groups.sh $STAMP"; machine_info "$W"; echo; } > "$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }

# ---- t: throughput ---------------------------------------------------------------
log "t: generating $N events (seed 42) and appending them to a 3-partition topic"
export EVT_LOG=$W/tput
"$PY" "$SHARED/gen-events.py" -n "$N" -s 42 -o "$W/events.ndjson" 2>/dev/null
evt-topic create orders --partitions 3 2>/dev/null
evt-append -t orders --sync none < "$W/events.ndjson"
rates=()
for r in $(seq 1 "${RUNS}"); do
    sync
    start=$(date +%s%N)
    got=$(evt-consume -t orders -g tput$r --commit auto | wc -l)
    end=$(date +%s%N)
    [ "$got" -eq "$N" ] || { echo "bench/groups.sh: error: run $r delivered $got of $N events" >&2; exit 70; }
    lag=$(evt-group describe tput$r --format json | jq '[.partitions[].lag] | add')
    [ "$lag" -eq 0 ] || { echo "bench/groups.sh: error: run $r left lag $lag" >&2; exit 70; }
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    rates+=("$(awk -v n="$N" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')")
    log "   run $r: $secs s, ${rates[-1]} events/s (load $(cut -d' ' -f1 /proc/loadavg))"
done
median_rate=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
say "t  one member, --commit auto, $N events (3 partitions) | wc -l: median $median_rate events/s over ${RUNS} runs (${rates[*]}); target >= 2000000"
# references, to tell where the time goes: the same member committing nothing (no write
# transactions), and evt-replay of the same topic
ref() {  # ref LABEL CMD...: median events/s and CPU seconds of CMD | wc -l over RUNS runs
    local label=$1 r out=() cpu=()
    shift
    for r in $(seq 1 "${RUNS}"); do
        local s e c
        s=$(date +%s%N)
        c=$( { /usr/bin/time -f '%U %S' "$@" 2>&1 >&3 | tail -1 | awk '{ print $1 + $2 }'; } 3> >(wc -l > "$W/ref.n"))
        e=$(date +%s%N)
        sleep 0.1
        [ "$(cat "$W/ref.n")" -eq "$N" ] || { echo "bench/groups.sh: error: $label printed $(cat "$W/ref.n") of $N" >&2; exit 70; }
        out+=("$(awk -v n="$N" -v a="$s" -v b="$e" 'BEGIN { printf "%.0f", n / ((b - a) / 1e9) }')")
        cpu+=("$c")
    done
    say "$label: median $(printf '%s\n' "${out[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }') events/s (${out[*]}); CPU s per run: ${cpu[*]}"
}
ref "t' same, --commit none (no commits)" bash -c 'evt-consume -t orders -g none$RANDOM --commit none'
ref "t'' evt-replay -t orders (the log core alone)" evt-replay -t orders
cpu_auto=$( { /usr/bin/time -f '%U %S %e' evt-consume -t orders -g cpu --commit auto > /dev/null; } 2>&1 | tail -1)
say "t  CPU of one --commit auto run (user sys wall s): $cpu_auto; the rest of the wall time is waiting for the per-round commit's fsync"
rm -f "$W/events.ndjson"

# ---- l: --follow latency ---------------------------------------------------------
log "l: --follow latency at 10000 events/s for ${LAT_SECONDS}s"
export EVT_LOG=$W/lat
evt-topic create lat --partitions 3 2>/dev/null
cat > "$W/produce.py" <<'EOF'
# produce.py N RATE: N small keyed events at RATE events/s, flushed every millisecond's worth.
import json, sys, time
n, rate = int(sys.argv[1]), float(sys.argv[2])
per = max(1, int(rate / 1000))
start = time.time()
out = sys.stdout
for i in range(n):
    out.write('{"specversion":"1.0","id":"l-%d","source":"/bench","type":"Tick","subject":"k-%d","data":{"i":%d}}\n' % (i, i % 97, i))
    if (i + 1) % per == 0:
        out.flush()
        d = start + (i + 1) / rate - time.time()
        if d > 0:
            time.sleep(d)
out.flush()
EOF
cat > "$W/stamp.py" <<'EOF'
# stamp.py OUT: for every line read on stdin, "arrival_ms evttime" to OUT.
import os, sys, time, re
out = open(sys.argv[1], "w")
pat = re.compile(rb'"evttime":"([^"]+)"')
buf = b""
while True:
    d = os.read(0, 1 << 16)
    if not d:
        break
    t = time.time() * 1000
    buf += d
    *lines, buf = buf.split(b"\n")
    for l in lines:
        m = pat.search(l)
        out.write("%.3f %s\n" % (t, m.group(1).decode()))
    out.flush()
out.close()
EOF
cat > "$W/latency.py" <<'EOF'
# latency.py FILE: p50 p99 max n of arrival - evttime (ms).
import datetime, sys
ds = []
for line in open(sys.argv[1]):
    t, et = line.split()
    e = datetime.datetime.strptime(et, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
    ds.append(float(t) - e)
ds.sort()
n = len(ds)
print("%.2f %.2f %.2f %d" % (ds[n // 2], ds[min(n - 1, int(n * 0.99))], ds[-1], n))
EOF
lat_n=$((10000 * LAT_SECONDS))
evt-consume -t lat -g lat --follow 2> "$W/lat.err" | "$PY" "$W/stamp.py" "$W/lat.stamps" &
cons=$!
PIDS+=("$cons")
# the same stream read by evt-replay --follow at the same time: the log core's share of the delay
evt-replay -t lat --follow 2> "$W/rep.err" | "$PY" "$W/stamp.py" "$W/rep.stamps" &
rep=$!
PIDS+=("$rep")
for _ in $(seq 1 100); do
    [ "$(evt-group describe lat --format json 2>/dev/null | jq '.members | length')" = 1 ] && break
    sleep 0.05
done
"$PY" "$W/produce.py" "$lat_n" 10000 | evt-append -t lat
for _ in $(seq 1 200); do
    [ "$(wc -l < "$W/lat.stamps" 2>/dev/null || echo 0)" -ge "$lat_n" ] &&
        [ "$(wc -l < "$W/rep.stamps" 2>/dev/null || echo 0)" -ge "$lat_n" ] && break
    sleep 0.05
done
consumer_pid=$(evt-group describe lat --format json | jq -r '.members[0].pid')
kill -TERM "$consumer_pid" 2>/dev/null || true
wait "$cons" 2>/dev/null || true
for p in $(ps -o pid= --ppid $$); do
    [ "$(ps -o comm= -p "$p" 2>/dev/null)" = evt-replay ] && kill -TERM "$p" 2>/dev/null || true
done
wait "$rep" 2>/dev/null || true
PIDS=()
read -r p50 p99 pmax n < <("$PY" "$W/latency.py" "$W/lat.stamps")
read -r q50 q99 qmax qn < <("$PY" "$W/latency.py" "$W/rep.stamps")
say "l  evt-consume --follow append->stdout at 10000 events/s, $n events (evttime has ms resolution: +-1 ms): p50 $p50 ms, p99 $p99 ms, max $pmax ms; target p99 < 5 ms"
say "l' evt-replay --follow on the same stream at the same time, $qn events: p50 $q50 ms, p99 $q99 ms, max $qmax ms (reference: the append + log-core share)"

# ---- r: rebalance after a clean leave ------------------------------------------------
log "r: rebalance after a clean leave, $REBALANCES times"
export EVT_LOG=$W/reb
evt-topic create reb --partitions 3 2>/dev/null
"$PY" "$W/produce.py" 3000 1000000 | evt-append -t reb
cat > "$W/rebalance.py" <<'EOF'
# rebalance.py TIMES: two --follow members; SIGTERM the one with one partition; ms from
# its exit to the other owning all partitions. Prints one number per line.
import json, os, signal, subprocess, sys, time
def describe():
    return json.loads(subprocess.run(["evt-group", "describe", "reb", "--format", "json"],
                                     capture_output=True, check=True).stdout)
def wait_owned(n, limit=10.0):
    end = time.time() + limit
    while time.time() < end:
        try:
            d = describe()
        except subprocess.CalledProcessError:
            time.sleep(0.005); continue
        owners = [p["member"] for p in d["partitions"]]
        if len(d["members"]) == n and None not in owners and len(set(owners)) == n:
            return d
    raise SystemExit("rebalance.py: no stable assignment to %d members" % n)
null = open(os.devnull, "wb")
for _ in range(int(sys.argv[1])):
    a = subprocess.Popen(["evt-consume", "-t", "reb", "-g", "reb", "--follow"], stdout=null)
    wait_owned(1)
    b = subprocess.Popen(["evt-consume", "-t", "reb", "-g", "reb", "--follow"], stdout=null)
    d = wait_owned(2)
    pid_of = {m["id"]: m["pid"] for m in d["members"]}
    count = {}
    for p in d["partitions"]:
        count[p["member"]] = count.get(p["member"], 0) + 1
    one = min(count, key=count.get)
    leaver = a if pid_of[one] == a.pid else b
    stay = b if leaver is a else a
    leaver.send_signal(signal.SIGTERM)
    leaver.wait()
    t0 = time.time()
    wait_owned(1)
    print("%.1f" % ((time.time() - t0) * 1000), flush=True)
    stay.send_signal(signal.SIGTERM)
    stay.wait()
EOF
"$PY" "$W/rebalance.py" "$REBALANCES" > "$W/reb.ms"
poll=$("$PY" - <<'EOF'
import subprocess, time
t = time.time()
for _ in range(20):
    subprocess.run(["evt-group", "describe", "reb", "--format", "json"], capture_output=True)
print("%.1f" % ((time.time() - t) / 20 * 1000))
EOF
)
read -r rmed rmax < <(sort -n "$W/reb.ms" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)], a[NR] }')
say "r  rebalance after a clean leave (exit -> survivor owns all 3 partitions), $REBALANCES times: median $rmed ms, max $rmax ms ($(tr '\n' ' ' < "$W/reb.ms")); one describe poll takes ~$poll ms; target < 100 ms"
log "summary in $SUMMARY"
