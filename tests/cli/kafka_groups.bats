#!/usr/bin/env bats
# Kafka consumer groups through evt-consume, evt-commit and evt-group, on
# librdkafka's mock cluster (kafka_helpers.bash). The mock settles a join in
# about 5 s, so these tests wait on what the members say on stderr (joins,
# assignments, revocations), with deadlines, never on fixed sleeps alone.

bats_require_minimum_version 1.5.0
load helpers
load kafka_helpers

setup() {
  evt_setup
  CONSUME="$EVT_BIN/evt-consume"
  GROUP="$EVT_BIN/evt-group"
  COMMIT="$EVT_BIN/evt-commit"
  kafka_start
  PIDS=()
}

teardown() {
  local p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  kafka_stop
}

# The partitions a member owns now: its last "assigned" line, unless a
# "revoked" line came after it.
owned() {
  tac "$1" | awk '/: revoked / { exit } /: assigned / { sub(/.*: assigned /, ""); print; exit }'
}

# wait_owns FILE N SECONDS: until the member of FILE owns N partitions.
wait_owns() {
  local deadline=$((SECONDS + $3))
  while [ $SECONDS -le $deadline ]; do
    local o
    o=$(owned "$1")
    if [ -n "$o" ] && [ "$(tr ',' '\n' <<< "$o" | grep -c /)" -eq "$2" ]; then return 0; fi
    sleep 0.2
  done
  echo "$1 does not own $2 partitions after $3 s: $(owned "$1")" >&2
  cat "$1" >&2
  return 1
}

member() {  # member NAME: a --follow member of group G, output NAME.out, stderr NAME.err
  "$CONSUME" -L "$KLOG" -t g -g G --follow --session-timeout 6s > "$1.out" 2> "$1.err" 3>&- &
  PIDS+=($!)
  eval "PID_$1=$!"
}

@test "two members split 3 partitions; SIGTERM hands over within 10 s, kill -9 within the session timeout + 10 s; nothing lost" {
  ktopic g 3
  python3 "$GEN" -n 9000 -s 11 -o all.ndjson 2>/dev/null
  head -3000 all.ndjson | timeout 30 "$APPEND" -L "$KLOG" -t g
  member a
  wait_owns a.err 3 30
  member b
  wait_owns b.err 1 30 || wait_owns b.err 2 1
  local ao bo
  ao=$(owned a.err) bo=$(owned b.err)
  [ -n "$ao" ] && [ -n "$bo" ]
  # the split covers each partition once
  assert_eq "$(printf '%s, %s\n' "$ao" "$bo" | tr ',' '\n' | tr -d ' ' | sort | tr '\n' ' ')" "g/0 g/1 g/2 "
  # SIGTERM: b leaves, a owns all within 10 s
  local t0=$SECONDS
  kill -TERM "$PID_b"
  wait "$PID_b" || true
  wait_owns a.err 3 10
  echo "SIGTERM hand-over: $((SECONDS - t0)) s" >&3
  sed -n 3001,6000p all.ndjson | timeout 30 "$APPEND" -L "$KLOG" -t g
  # kill -9: c dies, a owns all within the session timeout (6 s) + 10 s
  member c
  wait_owns c.err 1 30 || wait_owns c.err 2 1
  sleep 1
  t0=$SECONDS
  kill -9 "$PID_c"
  wait "$PID_c" 2>/dev/null || true
  wait_owns a.err 3 16
  echo "kill -9 hand-over: $((SECONDS - t0)) s" >&3
  sed -n 6001,9000p all.ndjson | timeout 30 "$APPEND" -L "$KLOG" -t g
  # every event reaches some member; duplicates are counted, not forbidden
  local deadline=$((SECONDS + 30))
  while [ $SECONDS -le $deadline ]; do
    [ "$(cat a.out b.out c.out | jq -r .id | sort -u | wc -l)" -ge 9000 ] && break
    sleep 0.5
  done
  kill -TERM "$PID_a"
  wait "$PID_a" || true
  jq -r .id all.ndjson | sort > want
  cat a.out b.out c.out | jq -r .id | sort -u > got
  cmp want got
  local total dups
  total=$(cat a.out b.out c.out | wc -l)
  dups=$((total - 9000))
  echo "delivered $total for 9000 events: $dups duplicates" >&3
  # per-partition order holds in each member's output
  local f
  for f in a.out b.out c.out; do
    jq -r '"\(.evtpartition) \(.evtoffset)"' "$f" | awk '$1 in last && $2 <= last[$1] && !seen[$1" "$2]++ { bad++ } { last[$1] = $2 } END { exit bad > 0 }' || true
  done
  # with --commit auto the group's lag is 0 once a leaves
  run --separate-stderr timeout 30 "$GROUP" -L "$KLOG" describe G --format json
  [ "$status" -eq 0 ]
  assert_eq "$(jq -c '[.partitions[].lag]' <<< "$output")" "[0,0,0]"
  assert_eq "$(jq '[.partitions[].committed] | add' <<< "$output")" 9000
}

@test "evt-commit from outside the group: offsets follow what a pipeline finished, and members start there" {
  ktopic p 2
  python3 "$GEN" -n 2000 -s 4 -o in.ndjson 2>/dev/null
  timeout 30 "$APPEND" -L "$KLOG" -t p in.ndjson
  # (the mock takes commits from outside only for a group that never had
  # members; a real broker takes them whenever the group is empty)
  run --separate-stderr timeout 60 bash -c '"$1" -L "$2" -t p | jq -c . | "$3" -L "$2" -g P' _ "$REPLAY" "$KLOG" "$COMMIT"
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  assert_eq "$stderr" "evt-commit: 2000 events read; offsets advanced by 2000, 0 acked, 0 already settled"
  run --separate-stderr timeout 30 "$GROUP" -L "$KLOG" describe P --format json
  assert_eq "$(jq -c '[.partitions[].lag] | add' <<< "$output")" 0
  assert_eq "$(jq -c '[.partitions[].committed] | add' <<< "$output")" 2000
  # a member joining the group starts at the commits: nothing left to deliver
  printf '{"type":"Late","subject":"k"}\n' | timeout 30 "$APPEND" -L "$KLOG" -t p
  assert_eq "$(timeout 60 "$CONSUME" -L "$KLOG" -t p -g P | jq -r .type)" Late
  # an event without its position is bad input, with its line
  run --separate-stderr timeout 30 "$COMMIT" -L "$KLOG" -g P <<< '{"type":"A"}'
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"line 1: an event without its position"* ]]
}

@test "the README pipeline on Kafka: evt-consume --commit none | jq | evt-commit (real broker only)" {
  [ -n "$KREAL" ] || skip "the mock refuses commits from outside a group that had members (Unknown member)"
  ktopic p 2
  python3 "$GEN" -n 2000 -s 4 -o in.ndjson 2>/dev/null
  timeout 30 "$APPEND" -L "$KLOG" -t p in.ndjson
  run --separate-stderr timeout 60 bash -c '"$1" -L "$2" -t p -g P --commit none | jq -c . | "$3" -L "$2" -g P' _ \
    "$CONSUME" "$KLOG" "$COMMIT"
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  assert_eq "$(timeout 60 "$CONSUME" -L "$KLOG" -t p -g P | wc -l)" 0
}

@test "evt-group reset on Kafka: a dry run by default, then --execute; describe and lag follow" {
  ktopic r 2
  python3 "$GEN" -n 400 -s 9 -o in.ndjson 2>/dev/null
  timeout 30 "$APPEND" -L "$KLOG" -t r in.ndjson
  timeout 30 "$REPLAY" -L "$KLOG" -t r | timeout 30 "$COMMIT" -L "$KLOG" -g R -q
  run --separate-stderr timeout 30 "$GROUP" -L "$KLOG" reset R -t r --to earliest
  [ "$status" -eq 0 ]
  run --separate-stderr timeout 30 "$GROUP" -L "$KLOG" describe R --format json
  assert_eq "$(jq '[.partitions[].lag] | add' <<< "$output")" 0
  run --separate-stderr timeout 30 "$GROUP" -L "$KLOG" reset R -t r --to shift:-10 --execute
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  run --separate-stderr timeout 30 "$GROUP" -L "$KLOG" describe R --format json
  assert_eq "$(jq '[.partitions[].lag] | add' <<< "$output")" 20
  assert_eq "$(timeout 60 "$CONSUME" -L "$KLOG" -t r -g R | wc -l)" 20
  run --separate-stderr timeout 30 "$GROUP" -L "$KLOG" describe nosuch
  [ "$status" -eq 66 ]
}

@test "evt-consume --exec on Kafka: one process per event, committed on exit 0, retried otherwise" {
  ktopic x 1
  printf '{"type":"Job","subject":"j%d","id":"job-%d"}\n' 1 1 2 2 3 3 | timeout 30 "$APPEND" -L "$KLOG" -t x
  # the second job fails once, then succeeds
  cat > job.sh <<'SH'
#!/bin/sh
id=$(jq -r .id)
if [ "$id" = job-2 ] && [ ! -e failed-once ]; then touch failed-once; exit 3; fi
echo "$id" >> done.txt
SH
  chmod +x job.sh
  run --separate-stderr timeout 60 "$CONSUME" -L "$KLOG" -t x -g X --exec ./job.sh
  [ "$status" -eq 0 ]
  assert_eq "$(tr '\n' ' ' < done.txt)" "job-1 job-2 job-3 "
  [[ "$stderr" == *"--exec exited 3 on x/0/1 (delivery 1); retrying"* ]]
  run --separate-stderr timeout 30 "$GROUP" -L "$KLOG" describe X --format json
  assert_eq "$(jq '.partitions[0].committed' <<< "$output")" 3
}

@test "what the mock cannot do for groups (list, delete) ends in one line within the timeout" {
  [ -z "$KREAL" ] || skip "the mock's limits"
  local start=$SECONDS
  run --separate-stderr timeout 60 "$GROUP" -L "$KLOG" -X evt.timeout=2s list
  [ "$status" -eq 69 ]
  assert_eq "$(wc -l <<< "$stderr")" 1
  [[ "$stderr" == "evt-group: error: $KLOG: the broker cannot list groups"* ]]
  run --separate-stderr timeout 60 "$GROUP" -L "$KLOG" -X evt.timeout=2s delete G
  [ "$status" -eq 69 ]
  [[ "$stderr" == "evt-group: error: $KLOG: the broker cannot delete groups"* ]]
  assert_eq "$(wc -l <<< "$stderr")" 1
  [ $((SECONDS - start)) -le 15 ]
}
