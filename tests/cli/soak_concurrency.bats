#!/usr/bin/env bats
# Concurrency (issue 2, Done when 6): 4 evt-append processes write distinct
# keyed event sets (a per-key sequence number in data) to one 3-partition topic
# at once while 2 evt-replay --follow readers, started before them, watch. At the
# end no event is lost or duplicated, per-key order holds in the log and in what
# each reader saw, every reader saw every event, and the delay from an event's
# append time (evttime) to the moment a reader printed it has p99 < 50 ms.

bats_require_minimum_version 1.5.0
load helpers

setup() {
  evt_setup
  # gen.py WRITER N RATE: N events for keys WRITER-k0..k9 with data.seq counting per
  # key; RATE events/s in bursts of 20 (0: as fast as possible).
  cat > gen.py <<'EOF'
import json, sys, time
w, n, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
seq = [0] * 10
out = sys.stdout
start = time.time()
for i in range(n):
    k = i % 10
    out.write(json.dumps({"specversion": "1.0", "id": "%s-%d" % (w, i), "source": "/soak",
                          "type": "Counted", "partitionkey": "%s-k%d" % (w, k),
                          "data": {"writer": w, "key": k, "seq": seq[k]}}, separators=(",", ":")) + "\n")
    seq[k] += 1
    if rate > 0 and (i + 1) % 20 == 0:
        out.flush()
        d = start + (i + 1) / rate - time.time()
        if d > 0:
            time.sleep(d)
out.flush()
EOF
  # stamp.py OUT: prefixes every line read on stdin with the time it arrived (ms).
  cat > stamp.py <<'EOF'
import os, sys, time
out = open(sys.argv[1], "wb")
buf = b""
while True:
    d = os.read(0, 1 << 16)
    if not d:
        break
    t = b"%.3f " % (time.time() * 1000)
    buf += d
    *lines, buf = buf.split(b"\n")
    for l in lines:
        out.write(t + l + b"\n")
    out.flush()
out.close()
EOF
  # latency.py FILE...: delay from evttime to arrival; prints "n p50 p99 max" (ms).
  cat > latency.py <<'EOF'
import datetime, json, sys
ds = []
for name in sys.argv[1:]:
    for line in open(name):
        t, j = line.split(" ", 1)
        e = json.loads(j)
        et = datetime.datetime.strptime(e["evttime"], "%Y-%m-%dT%H:%M:%S.%fZ")
        et = et.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
        ds.append(float(t) - et)
ds.sort()
n = len(ds)
print(n, "%.1f" % ds[n // 2], "%.1f" % ds[min(n - 1, int(n * 0.99))], "%.1f" % ds[-1])
EOF
  "$TOPIC" create t --partitions 3 2>/dev/null
}

teardown() {
  for pid in ${READERS:-}; do kill "$pid" 2>/dev/null || true; done
}

# start_readers: 2 followers, each through a fifo into the stamper.
start_readers() {
  READERS=""
  STAMPERS=""
  for r in 1 2; do
    mkfifo "fifo$r"
    python3 stamp.py "reader$r.out" < "fifo$r" &
    STAMPERS="$STAMPERS $!"
    "$REPLAY" -t t --follow > "fifo$r" 2> "reader$r.err" &
    READERS="$READERS $!"
  done
  sleep 0.5
  for pid in $READERS; do kill -0 "$pid"; done
}

# stop_readers N: waits until every reader printed N events (60 s at most), stops them.
stop_readers() {
  local n=$1 deadline=$(( $(date +%s) + 60 )) r
  for r in 1 2; do
    while [ "$(wc -l < "reader$r.out")" -lt "$n" ]; do
      [ "$(date +%s)" -lt "$deadline" ] || { echo "reader $r saw $(wc -l < "reader$r.out") of $n events" >&2; return 1; }
      sleep 0.1
    done
  done
  sleep 0.3  # anything extra (a duplicate) would show up now
  for pid in $READERS; do kill "$pid"; wait "$pid" || true; done
  for pid in $STAMPERS; do wait "$pid"; done
  READERS=""
  for r in 1 2; do [ ! -s "reader$r.err" ] || { cat "reader$r.err" >&2; return 1; }; done
}

# per_key_gaps: reads "KEY SEQ" lines; prints how many times SEQ was not the key's previous SEQ + 1.
per_key_gaps() {
  awk '{ want = ($1 in last) ? last[$1] + 1 : 0; if ($2 != want) bad++; last[$1] = $2 } END { print bad + 0 }'
}

check_everything() {  # check_everything TOTAL
  local total=$1 r
  # the log: every id once, exactly the writers' ids
  "$REPLAY" -t t --no-position > log.ndjson
  assert_eq "$(wc -l < log.ndjson)" "$total"
  cat in.* | jq -r .id | sort > want.ids
  jq -r .id log.ndjson | sort > log.ids
  assert_eq "$(sort -u log.ids | wc -l)" "$total"
  cmp want.ids log.ids
  # per-key order in the log (merged and partition by partition)
  assert_eq "$(jq -r '"\(.partitionkey) \(.data.seq)"' log.ndjson | per_key_gaps)" 0
  assert_eq "$("$REPLAY" -t t --by-partition --format '%s\n' | jq -r '"\(.partitionkey) \(.data.seq)"' | per_key_gaps)" 0
  # each key on its own partition (Kafka's partitioner)
  "$REPLAY" -t t --format '%k %p\n' | sort -u > kp
  assert_eq "$(cut -d' ' -f1 kp | uniq -d | wc -l)" 0
  assert_eq "$(cut -d' ' -f1 kp | kafka_partition - 3)" "$(cat kp)"
  # offsets dense per partition
  for p in 0 1 2; do
    n=$("$REPLAY" -t t -p $p --format '%o\n' | wc -l)
    assert_eq "$("$REPLAY" -t t -p $p --format '%o\n' | md5sum)" "$(seq 0 $((n - 1)) | md5sum)"
  done
  # each reader: every event once, per-key order kept
  for r in 1 2; do
    cut -d' ' -f2- "reader$r.out" > "reader$r.ndjson"
    assert_eq "$(jq -r .id "reader$r.ndjson" | sort | md5sum)" "$(md5sum < log.ids)"
    assert_eq "$(jq -r '"\(.partitionkey) \(.data.seq)"' "reader$r.ndjson" | per_key_gaps)" 0
  done
}

@test "4 paced writers and 2 followers: nothing lost or doubled, per-key order, every reader sees every event within 50 ms (p99)" {
  start_readers
  pids=""
  for w in 1 2 3 4; do
    # 4 x 8000 events at 2000/s each: ~4 s of concurrent appends
    python3 gen.py "w$w" 8000 2000 | tee "in.w$w" | "$APPEND" -t t &
    pids="$pids $!"
  done
  for pid in $pids; do wait "$pid"; done
  stop_readers 32000
  check_everything 32000
  read -r n p50 p99 max < <(python3 latency.py reader1.out reader2.out)
  echo "# follow latency (evttime -> printed), $n deliveries: p50 ${p50} ms, p99 ${p99} ms, max ${max} ms" >&3
  assert_eq "$n" 64000
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 50 else 1)' "$p99" ||
    { echo "p99 follow latency ${p99} ms is not under 50 ms" >&2; return 1; }
}

@test "4 writers at full speed and 2 followers: nothing lost or doubled, per-key order, every reader sees everything" {
  for w in 1 2 3 4; do python3 gen.py "w$w" 50000 0 > "in.w$w"; done
  start_readers
  pids=""
  for w in 1 2 3 4; do
    "$APPEND" -t t < "in.w$w" &
    pids="$pids $!"
  done
  for pid in $pids; do wait "$pid"; done
  stop_readers 200000
  check_everything 200000
  read -r n p50 p99 max < <(python3 latency.py reader1.out reader2.out)
  echo "# bulk (4 x 50000 as fast as possible): reader delay p50 ${p50} ms, p99 ${p99} ms, max ${max} ms (throughput-bound, not asserted)" >&3
}

@test "a long replay while a writer appends reads exactly what was there when it started, across snapshot renewals" {
  python3 "${EVT_GEN:-/work/shared/bench/gen-events.py}" -n 200000 -s 3 -o in.ndjson 2>/dev/null
  "$APPEND" -t t < in.ndjson
  # The second append gets its input once the replay has written its first
  # line (so it has fixed what it will read), and the replay is then held on
  # a full pipe for a second while that append commits.
  ( while [ ! -e started ]; do sleep 0.01; done; cat in.ndjson ) | "$APPEND" -t t &
  w=$!
  "$REPLAY" -t t --format '%p %o %T\n' | { IFS= read -r first; echo "$first"; touch started; sleep 1; count_events t > held.count; cat; } > merged.out
  "$REPLAY" -t t -p 1 --format '%o\n' > p1.out
  wait $w
  # the merged replay began before the second append committed anything, and
  # went on after the log had grown
  [ "$(cat held.count)" -gt 200000 ]
  assert_eq "$(wc -l < merged.out)" 200000
  for p in 0 1 2; do
    assert_eq "$(awk -v p=$p '$1 == p { if ($2 != n) bad++; n++ } END { print bad + 0 }' merged.out)" 0
  done
  assert_eq "$(awk '$3 < prev { bad++ } { prev = $3 } END { print bad + 0 }' merged.out)" 0
  # a single-partition replay: dense offsets from 0, whatever it caught of the second append
  n=$(wc -l < p1.out)
  assert_eq "$(md5sum < p1.out)" "$(seq 0 $((n - 1)) | md5sum)"
  assert_eq "$(count_events t)" 400000
}

@test "3 writers append the same input with --idempotent at once: every event once, in input order per partition" {
  python3 "${EVT_GEN:-/work/shared/bench/gen-events.py}" -n 50000 -s 5 -o in.ndjson 2>/dev/null
  "$APPEND" -t ref -P 3 < in.ndjson
  cat > feed.py <<'PY'
import sys, time
out = sys.stdout.buffer
lines = open(sys.argv[1], "rb").readlines()
for i in range(0, len(lines), 1000):
    out.write(b"".join(lines[i:i + 1000]))
    out.flush()
    time.sleep(0.002)
PY
  pids=""
  for i in 1 2 3; do
    python3 feed.py in.ndjson | "$APPEND" -t t --idempotent 2> "err$i" &
    pids="$pids $!"
  done
  for pid in $pids; do wait "$pid"; done
  assert_eq "$(count_events t)" 50000
  assert_eq "$("$REPLAY" -t t --no-position | jq -r .id | sort -u | wc -l)" 50000
  # the three reports of skipped duplicates add up to the two extra copies
  skipped=0
  for i in 1 2 3; do
    n=$(sed -n 's/^evt-append: warning: skipped \([0-9]*\) duplicate.*/\1/p' "err$i")
    skipped=$((skipped + ${n:-0}))
  done
  echo "# skipped by the 3 writers: $(cat err1 err2 err3 | grep -o 'skipped [0-9]*' | tr '\n' ' ')" >&3
  assert_eq "$skipped" 100000
  for p in 0 1 2; do
    cmp <("$REPLAY" -t ref -p $p --no-position) <("$REPLAY" -t t -p $p --no-position)
  done
}
