#!/usr/bin/env bats
# The NATS JetStream backend (-L nats://...) on a real 3-node nats-server
# cluster on 127.0.0.1 (tests/tools/nats_cluster.sh), started once for the
# file and stopped afterwards, also when a test failed. Each test uses its
# own topics. Every command runs under `timeout`.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  export NATS_DIR="$BATS_FILE_TMPDIR/cluster"
  "$EVT_SRC/tests/tools/nats_cluster.sh" start "$NATS_DIR" 3 > "$BATS_FILE_TMPDIR/url" 3>&-
}

teardown_file() {
  "$EVT_SRC/tests/tools/nats_cluster.sh" stop "$NATS_DIR" 3>&- || true
}

setup() {
  evt_setup
  NLOG=$(cat "$BATS_FILE_TMPDIR/url")
  CONSUME="$EVT_BIN/evt-consume"
  GROUP="$EVT_BIN/evt-group"
  COMMIT="$EVT_BIN/evt-commit"
  CL="$EVT_SRC/tests/tools/nats_cluster.sh"
}

@test "20,000 events to 3 replicated partitions come back complete, each on the local log's partition, byte-identical" {
  python3 "$GEN" -n 20000 -s 7 -o in.ndjson 2>/dev/null
  timeout 60 "$TOPIC" -L "$NLOG" create rt --partitions 3
  run --separate-stderr timeout 120 "$APPEND" -L "$NLOG" -t rt in.ndjson
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  timeout 120 "$REPLAY" -L "$NLOG" -t rt > out.ndjson
  assert_eq "$(wc -l < out.ndjson)" 20000
  # the same input on the local log: the same partition per event id
  timeout 60 "$APPEND" -L local -t rt --partitions 3 in.ndjson
  timeout 60 "$REPLAY" -L local -t rt | jq -r '[.id, .evtpartition] | @tsv' | sort > local.tsv
  jq -r '[.id, .evtpartition] | @tsv' out.ndjson | sort > nats.tsv
  cmp local.tsv nats.tsv
  # offsets dense per partition: 0..n-1
  for p in 0 1 2; do
    n=$(jq -c "select(.evtpartition==$p)" out.ndjson | wc -l)
    assert_eq "$(jq -r "select(.evtpartition==$p) | .evtoffset" out.ndjson | sort -n | tail -1)" "$((n - 1))"
  done
  # round trip: NATS -> local -> byte-identical without positions
  timeout 60 "$REPLAY" -L "$NLOG" -t rt --no-position --by-partition | sort > a.ndjson
  timeout 60 "$REPLAY" -L local -t rt --no-position --by-partition | sort > b.ndjson
  cmp a.ndjson b.ndjson
  # describe: the streams are replicated 3 times and count what is there
  run --separate-stderr timeout 30 "$TOPIC" -L "$NLOG" describe rt
  [ "$status" -eq 0 ]
  [[ "$output" == *"events: 20000"* ]]
}

@test "--from N, -N and --partition read the positions a user can seek to" {
  timeout 30 "$TOPIC" -L "$NLOG" create seek --partitions 2
  for i in $(seq 0 9); do echo "{\"type\":\"t\",\"partitionkey\":\"k\",\"data\":$i}"; done |
    timeout 30 "$APPEND" -L "$NLOG" -t seek
  p=$("$TOPIC" partition-of k --partitions 2)
  assert_eq "$(timeout 30 "$REPLAY" -L "$NLOG" -t seek --partition "$p" --from 7 | jq -c .data | tr '\n' ' ')" "7 8 9 "
  assert_eq "$(timeout 30 "$REPLAY" -L "$NLOG" -t seek --from -2 | jq -c .data | tr '\n' ' ')" "8 9 "
  assert_eq "$(timeout 30 "$REPLAY" -L "$NLOG" -t seek -n 3 | jq -c .evtoffset | tr '\n' ' ')" "0 1 2 "
}

@test "--expect-version: no-stream, N and exists on the server's subject sequence; a mismatch stores nothing (exit 2)" {
  timeout 30 "$TOPIC" -L "$NLOG" create acct --partitions 2
  echo '{"type":"opened","subject":"acct-1"}' | timeout 30 "$APPEND" -L "$NLOG" -t acct --expect-version no-stream
  run --separate-stderr timeout 30 "$APPEND" -L "$NLOG" -t acct --expect-version no-stream <<< '{"type":"x","subject":"acct-1"}'
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"at version 1"* ]]
  printf '%s\n' '{"type":"dep","subject":"acct-1"}' '{"type":"dep","subject":"acct-1"}' |
    timeout 30 "$APPEND" -L "$NLOG" -t acct --expect-version 1
  run --separate-stderr timeout 30 "$APPEND" -L "$NLOG" -t acct --expect-version 1 <<< '{"type":"x","subject":"acct-1"}'
  [ "$status" -eq 2 ]
  timeout 30 "$REPLAY" -L "$NLOG" -t acct --stream acct-1 > s.ndjson
  assert_eq "$(jq -r .type s.ndjson | tr '\n' ' ')" "opened dep dep "
  assert_eq "$(jq -r .evtversion s.ndjson | tr '\n' ' ')" "1 2 3 "
}

@test "expected-version race: 40 rounds of two writers with the same version, exactly one wins, the loser exits 2" {
  timeout 30 "$TOPIC" -L "$NLOG" create race --partitions 1
  for r in $(seq 1 40); do
    v=$((r - 1)); [ "$v" -eq 0 ] && v=no-stream
    rm -f a.rc b.rc
    echo "{\"type\":\"w\",\"subject\":\"s\",\"data\":\"a$r\"}" > a.in
    ( rc=0; timeout 30 "$APPEND" -L "$NLOG" -t race --expect-version "$v" a.in 2>/dev/null || rc=$?; echo $rc > a.rc ) 3>&- &
    pa=$!
    echo "{\"type\":\"w\",\"subject\":\"s\",\"data\":\"b$r\"}" > b.in
    ( rc=0; timeout 30 "$APPEND" -L "$NLOG" -t race --expect-version "$v" b.in 2>/dev/null || rc=$?; echo $rc > b.rc ) 3>&- &
    pb=$!
    wait $pa $pb || true
    assert_eq "$(cat a.rc b.rc | sort | tr '\n' ' ')" "0 2 "
  done
  assert_eq "$(timeout 30 "$REPLAY" -L "$NLOG" -t race | wc -l)" 40
}

@test "--idempotent: a rerun of the same input stores nothing twice (Nats-Msg-Id, the stream's duplicate window)" {
  python3 "$GEN" -n 3000 -s 3 -o in.ndjson 2>/dev/null
  timeout 30 "$TOPIC" -L "$NLOG" create idem --partitions 3
  jq -c 'del(.subject, .partitionkey)' in.ndjson > unkeyed.ndjson
  timeout 60 "$APPEND" -L "$NLOG" -t idem --idempotent=1h unkeyed.ndjson
  run --separate-stderr timeout 60 "$APPEND" -L "$NLOG" -t idem --idempotent=1h unkeyed.ndjson
  [ "$status" -eq 0 ]
  assert_eq "$(timeout 60 "$REPLAY" -L "$NLOG" -t idem | wc -l)" 3000
}

@test "a consumer group splits the partitions between two members and delivers every event once" {
  python3 "$GEN" -n 4000 -s 5 -o in.ndjson 2>/dev/null
  timeout 30 "$TOPIC" -L "$NLOG" create grp --partitions 4
  timeout 60 "$APPEND" -L "$NLOG" -t grp in.ndjson
  timeout 60 "$CONSUME" -L "$NLOG" -t grp -g g --session-timeout 3s --follow > m1.ndjson 2> m1.err &
  m1=$!
  sleep 1.5
  timeout 60 "$CONSUME" -L "$NLOG" -t grp -g g --session-timeout 3s --follow > m2.ndjson 2> m2.err &
  m2=$!
  for _ in $(seq 100); do
    [ "$(cat m1.ndjson m2.ndjson | wc -l)" -ge 4000 ] && grep -q assigned m2.err && break
    sleep 0.2
  done
  sleep 1
  kill -TERM $m1 $m2; wait $m1 $m2 || true
  # every event delivered; a hand-over may repeat a few (at least once), none lost
  assert_eq "$(cat m1.ndjson m2.ndjson | jq -r .id | sort -u | wc -l)" 4000
  grep -q "assigned" m2.err
  run --separate-stderr timeout 30 "$GROUP" -L "$NLOG" describe g --format json
  [ "$status" -eq 0 ]
  assert_eq "$(echo "$output" | jq '[.partitions[].lag] | add')" 0
  # a reset with no live members, then the whole topic again
  timeout 30 "$GROUP" -L "$NLOG" reset g -t grp --to earliest --execute
  assert_eq "$(timeout 60 "$CONSUME" -L "$NLOG" -t grp -g g | wc -l)" 4000
}

@test "queue mode: a failing event is redelivered with evtdelivery and dead-lettered after --max-deliveries" {
  timeout 30 "$TOPIC" -L "$NLOG" create work --partitions 1
  printf '%s\n' '{"type":"ok","data":1}' '{"type":"poison","data":2}' '{"type":"ok","data":3}' |
    timeout 30 "$APPEND" -L "$NLOG" -t work
  run --separate-stderr timeout 60 "$CONSUME" -L "$NLOG" -t work -g q --mode queue --visibility 1s --max-deliveries 2 \
    --shell --exec 'x=$(cat); case "$x" in *poison*) exit 1;; esac; echo "$x" >> done.ndjson'
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  assert_eq "$(jq -c .data done.ndjson | sort | tr '\n' ' ')" "1 3 "
  run --separate-stderr timeout 30 "$REPLAY" -L "$NLOG" -t work.dlq
  [ "$status" -eq 0 ]
  [[ "$output" == *'"evtdlqreason":"not acknowledged after 2 deliveries'* ]]
}

@test "unreachable cluster: exit 69 within 10 s; --atomic and local-state tools refused with exit 69" {
  start=$(date +%s)
  run --separate-stderr timeout 30 "$APPEND" -L nats://127.0.0.1:1 -t x <<< '{"type":"t"}'
  [ "$status" -eq 69 ]
  [ $(( $(date +%s) - start )) -le 10 ]
  run --separate-stderr timeout 30 "$APPEND" -L "$NLOG" -t rt2 --partitions 1 --atomic <<< '{"type":"t"}'
  [ "$status" -eq 69 ]
  [[ "$stderr" == *"--atomic"* ]]
}

@test "one node of three down: appends go on; two down: exit 69 naming the lost quorum; back up: the same command completes" {
  python3 "$GEN" -n 2000 -s 9 -o in.ndjson 2>/dev/null
  timeout 30 "$TOPIC" -L "$NLOG" create fo --partitions 1
  "$CL" kill "$NATS_DIR" n1
  # the streams n1 led elect new leaders within seconds; a run that meets the
  # election exits 75 having stored a prefix, and the rerun completes it
  for _ in $(seq 10); do
    timeout 60 "$APPEND" -L "$NLOG" -t fo --idempotent in.ndjson 2>>one-down.err && break
    sleep 1
  done
  for _ in $(seq 10); do timeout 60 "$REPLAY" -L "$NLOG" -t fo > one-down.ndjson 2>>one-down.err && break; sleep 1; done
  assert_eq "$(wc -l < one-down.ndjson)" 2000
  "$CL" kill "$NATS_DIR" n2
  start=$(date +%s)
  run --separate-stderr timeout 60 "$APPEND" -L "$NLOG" -t fo --idempotent -X evt.timeout=4s in.ndjson
  [ "$status" -eq 69 ] || { echo "status $status: $stderr" >&2; "$CL" restart "$NATS_DIR" n1; "$CL" restart "$NATS_DIR" n2; return 1; }
  [ $(( $(date +%s) - start )) -le 10 ]
  [[ "$stderr" == *"quorum"* || "$stderr" == *"cannot connect"* || "$stderr" == *"leader"* ]]
  "$CL" restart "$NATS_DIR" n1 3>&-
  "$CL" restart "$NATS_DIR" n2 3>&-
  for _ in $(seq 50); do
    timeout 60 "$APPEND" -L "$NLOG" -t fo --idempotent in.ndjson 2>/dev/null && break
    sleep 0.5
  done
  for _ in $(seq 10); do timeout 60 "$REPLAY" -L "$NLOG" -t fo > back.ndjson 2>>back.err && break; sleep 1; done
  assert_eq "$(jq -r .id back.ndjson | sort | uniq -d | wc -l)" 0
  assert_eq "$(wc -l < back.ndjson)" 2000
}

@test "evt-commit at the end of the pipeline: offsets in log mode, acks in queue mode; a line without a position is exit 65" {
  timeout 30 "$TOPIC" -L "$NLOG" create pipe --partitions 2
  for i in $(seq 1 6); do echo "{\"type\":\"t\",\"data\":$i}"; done | timeout 30 "$APPEND" -L "$NLOG" -t pipe
  timeout 60 "$CONSUME" -L "$NLOG" -t pipe -g lg --commit none > got.ndjson
  assert_eq "$(wc -l < got.ndjson)" 6
  assert_eq "$(timeout 30 "$GROUP" -L "$NLOG" describe lg --format json | jq '[.partitions[].lag] | add')" 6
  timeout 30 "$COMMIT" -L "$NLOG" -g lg < got.ndjson
  assert_eq "$(timeout 30 "$GROUP" -L "$NLOG" describe lg --format json | jq '[.partitions[].lag] | add')" 0
  # queue mode: unacked events come again after the visibility timeout; acked ones do not
  timeout 60 "$CONSUME" -L "$NLOG" -t pipe -g qg --mode queue --visibility 1s --commit none -n 3 > q1.ndjson
  assert_eq "$(wc -l < q1.ndjson)" 3
  timeout 30 "$COMMIT" -L "$NLOG" -g qg < q1.ndjson
  sleep 1.5
  timeout 60 "$CONSUME" -L "$NLOG" -t pipe -g qg --mode queue --visibility 1s > q2.ndjson
  assert_eq "$(cat q1.ndjson q2.ndjson | jq -c .data | sort -n | tr '\n' ' ')" "1 2 3 4 5 6 "
  run --separate-stderr timeout 30 "$COMMIT" -L "$NLOG" -g lg <<< '{"type":"t"}'
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"line 1"* ]]
}
