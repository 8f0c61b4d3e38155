#!/usr/bin/env bats
# Consumer groups with real processes (issue 3, Done when 1-5): two --follow
# members splitting a 3-partition topic and a second group getting everything;
# kill -9 of a member and the survivor going on from the last commit; a work
# queue with 3 members, a failing handler, redelivery and the dead-letter
# topic; a queue member killed while holding leases; a consume | jq | commit
# pipeline killed midway and rerun; evt-group reset to each spec. Every test
# stops the processes it started (teardown), each in well under 90 s.

bats_require_minimum_version 1.5.0
load group_helpers

setup() {
  group_setup
  PIPELINE_PGID=""
  # produce.py N FIRST RATE: N keyed events order-FIRST.., RATE per second in bursts of 10.
  cat > produce.py <<'EOF'
import json, sys, time
n, first, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
start = time.time()
for k in range(n):
    i = first + k
    sys.stdout.write(json.dumps({"specversion": "1.0", "id": "o-%d" % i, "source": "/soak", "type": "OrderPlaced",
                                 "subject": "order-%d" % i, "data": {"i": i}}, separators=(",", ":")) + "\n")
    if rate > 0 and (k + 1) % 10 == 0:
        sys.stdout.flush()
        d = start + (k + 1) / rate - time.time()
        if d > 0:
            time.sleep(d)
sys.stdout.flush()
EOF
  "$TOPIC" create orders --partitions 3 2>/dev/null
}

teardown() {
  if [ -n "$PIPELINE_PGID" ]; then kill -KILL -- "-$PIPELINE_PGID" 2>/dev/null || true; fi
  group_teardown
}

# produce N FIRST RATE: appends (paced) to orders.
produce() { python3 produce.py "$@" | "$APPEND" -t orders; }

# all_ids: every id in the topic, sorted.
all_ids() { "$REPLAY" -t orders | jq -r .id | sort; }

# acked_plus_dead GROUP: acked + dead-lettered of a queue group.
settled() { "$GROUP" describe "$1" --format json | jq '.queue.acked + .queue.dead_lettered'; }
settled_at_least() { [ "$(settled "$1")" -ge "$2" ]; }

@test "1: two --follow members own disjoint partitions covering all three, output every event exactly once; a second group gets every event" {
  start_member a.out -t orders -g g --follow
  start_member b.out -t orders -g g --follow
  start_member audit.out -t orders -g audit --follow
  wait_until 10 owned_by_n g 2
  wait_until 10 owned_by_n audit 1
  j=$("$GROUP" describe g --format json)
  # disjoint, covering 0, 1, 2: every partition has exactly one owner, both members own some
  assert_eq "$(jq -r '[.partitions[].partition] | map(tostring) | join(" ")' <<<"$j")" "0 1 2"
  assert_eq "$(jq '[.partitions[].member] | map(select(. != null)) | length' <<<"$j")" 3
  assert_eq "$(jq '[.partitions[].member] | unique | length' <<<"$j")" 2
  produce 3000 1 1500  # ~2 s while both live
  wait_until 30 bash -c '[ $(($(wc -l < a.out) + $(wc -l < b.out))) -ge 3000 ] && [ $(wc -l < audit.out) -ge 3000 ]'
  sleep 0.3  # a duplicate would show up now
  # the assignment did not change while both lived
  assert_eq "$("$GROUP" describe g --format json | jq -c '[.generation, [.partitions[].member]]')" \
    "$(jq -c '[.generation, [.partitions[].member]]' <<<"$j")"
  # together: every event exactly once
  cat a.out b.out | jq -r .id | sort > got
  all_ids > want
  assert_eq "$(wc -l < want)" 3000
  cmp got want
  # each member printed exactly the partitions it owns, in offset order
  for m in a b; do
    pid=$([ $m = a ] && echo "${MEMBERS[0]}" || echo "${MEMBERS[1]}")
    id=$(jq -r --arg p "$pid" '.members[] | select((.pid | tostring) == $p) | .id' <<<"$j")
    assert_eq "$(jq -r '.evtpartition' $m.out | sort -u | tr '\n' ' ')" \
      "$(jq -r --arg id "$id" '.partitions[] | select(.member == $id) | .partition' <<<"$j" | tr '\n' ' ')"
    for p in 0 1 2; do
      jq -r "select(.evtpartition == $p) | .evtoffset" $m.out > offs
      [ ! -s offs ] || assert_eq "$(md5sum < offs)" "$(seq 0 $(($(wc -l < offs) - 1)) | md5sum)"
    done
  done
  # the second group, independently: every event once
  jq -r .id audit.out | sort > audit.ids
  cmp audit.ids want
  for pid in "${MEMBERS[@]}"; do stop_member "$pid"; done
  assert_eq "$("$GROUP" describe g --format json | jq '[.partitions[].lag] | add')" 0
}

@test "1b: members joining and leaving cleanly while events flow: every event exactly once, per-partition order kept" {
  produce 6000 1 2000 &
  local producer=$!
  start_member m1.out -t orders -g g --follow
  wait_until 10 lines_at_least m1.out 200
  start_member m2.out -t orders -g g --follow
  local m2=$LAST_MEMBER
  wait_until 10 owned_by_n g 2
  sleep 0.5
  start_member m3.out -t orders -g g --follow
  wait_until 10 owned_by_n g 3
  sleep 0.5
  stop_member "$m2"
  wait_until 10 owned_by_n g 2
  wait "$producer"
  wait_until 30 bash -c '[ "$("$1" describe g --format json | jq "[.partitions[].lag] | add")" -eq 0 ]' _ "$GROUP"
  sleep 0.3
  echo "# generation $("$GROUP" describe g --format json | jq .generation); events per member: $(wc -l < m1.out) $(wc -l < m2.out) $(wc -l < m3.out)" >&3
  cat m1.out m2.out m3.out | jq -r .id | sort > got
  all_ids > want
  assert_eq "$(uniq -d got | head -5)" ""
  cmp got want
  # per partition, the members' outputs together are the partition in order, each offset once
  for p in 0 1 2; do
    cat m1.out m2.out m3.out | jq -r "select(.evtpartition == $p) | .evtoffset" | sort -n > offs
    assert_eq "$(md5sum < offs)" "$(seq 0 $(($(wc -l < offs) - 1)) | md5sum)"
    for m in m1 m2 m3; do
      jq -r "select(.evtpartition == $p) | .evtoffset" $m.out > mo
      assert_eq "$(md5sum < mo)" "$(sort -n mo | md5sum)"
    done
  done
}

@test "2: kill -9 a member: the survivor owns all partitions within the session timeout and goes on from the last commit, no event lost" {
  # A handles slowly and commits every 20 events: it dies with uncommitted work
  start_member a.stdout -t orders -g g --follow --session-timeout 5s --batch 20 --shell --exec 'cat >> a.out; sleep 0.005'
  local a=$LAST_MEMBER
  wait_until 10 owned_by_n g 1
  start_member b.out -t orders -g g --follow --session-timeout 5s
  local b=$LAST_MEMBER
  wait_until 10 owned_by_n g 2
  j=$("$GROUP" describe g --format json)
  a_id=$(jq -r --arg p "$a" '.members[] | select((.pid | tostring) == $p) | .id' <<<"$j")
  a_parts=$(jq -r --arg id "$a_id" '.partitions[] | select(.member == $id) | .partition' <<<"$j" | tr '\n' ' ')
  [ -n "$a_parts" ]
  produce 1500 1 5000
  wait_until 30 lines_at_least a.out 150
  # freeze B so that the commits can be read at the moment A dies
  kill -STOP "$b"
  kill9_member "$a"
  declare -A C
  for p in $a_parts; do C[$p]=$("$GROUP" describe g --format json | jq -r ".partitions[$p].committed // 0"); done
  kill -CONT "$b"
  start=$(date +%s%N)
  wait_until 5 owned_by_n g 1
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "# survivor owned all partitions ${took} ms after the kill was noticed (session timeout 5 s)" >&3
  assert_eq "$(owners g | awk '{ print $2 }' | sort -u)" "$(jq -r --arg p "$b" '.members[] | select((.pid | tostring) == $p) | .id' <<<"$j")"
  produce 300 1501 0
  wait_until 30 bash -c '[ "$("$1" describe g --format json | jq "[.partitions[].lag] | add")" -eq 0 ]' _ "$GROUP"
  sleep 0.3
  # no event lost
  cat a.out b.out | jq -r .id | sort -u > got
  all_ids > want
  cmp got want
  # B printed each event once
  assert_eq "$(jq -r .id b.out | sort | uniq -d)" ""
  # on A's partitions B started exactly at A's last commit, contiguous to the end: the events
  # after the commit were delivered again, and only those
  redelivered=0
  for p in $a_parts; do
    jq -r "select(.evtpartition == $p) | .evtoffset" b.out > offs
    end=$("$GROUP" describe g --format json | jq -r ".partitions[$p].log_end")
    assert_eq "$(md5sum < offs)" "$(seq "${C[$p]}" $((end - 1)) | md5sum)"
    # A handled everything below its commit
    jq -r "select(.evtpartition == $p) | .evtoffset" a.out | sort -n > a.offs
    assert_eq "$(awk -v c="${C[$p]}" '$1 < c' a.offs | wc -l)" "${C[$p]}"
    redelivered=$((redelivered + $(awk -v c="${C[$p]}" '$1 >= c' a.offs | wc -l)))
  done
  echo "# A's partitions: $a_parts; committed at the kill: ${C[*]}; $redelivered events handled by A after its last commit were delivered again" >&3
  grep -q "is gone; its partitions move" b.out.err
}

@test "2b: a member too busy to heartbeat is replaced; coming back, it must not drop the new owner's claim (no unowned partition, no duplicates)" {
  keyed_events 30 | "$APPEND" -t orders
  # A's handler takes 0.5 s, longer than the 300 ms session timeout: B declares A dead
  # and takes its partitions; A finishes, its commit is refused, it rejoins
  start_member a.out -t orders -g g --follow --session-timeout 300ms --batch 5 --shell --exec 'cat >> a.got; sleep 0.5'
  sleep 0.2
  start_member b.out -t orders -g g --follow --session-timeout 300ms
  wait_until 30 bash -c '[ "$("$1" describe g --format json | jq "[.partitions[].lag] | add")" -eq 0 ]' _ "$GROUP"
  # A finishes its batch (5 x 0.5 s), its commit is refused, it rejoins
  wait_until 20 grep -q 'rejoining' a.out.err
  grep -q 'refused' a.out.err
  # settled: no work left, both heartbeat in time: two live members own the three partitions
  if ! wait_until 20 owned_by_n g 2; then
    j=$("$GROUP" describe g --format json)
    echo "not settled: generation $(jq .generation <<<"$j"), live $(jq -c '[.members[].id]' <<<"$j"), owners $(jq -c '[.partitions[].member]' <<<"$j"); A=${MEMBERS[0]} B=${MEMBERS[1]} both running: $(ps -o pid= -p "${MEMBERS[0]}","${MEMBERS[1]}" | wc -l)" >&2
    sed 's/^/A: /' a.out.err >&2
    sed 's/^/B: /' b.out.err >&2
    return 1
  fi
  settled=$("$GROUP" describe g --format json)
  b_id=$(jq -r --arg p "${MEMBERS[1]}" '.members[] | select((.pid | tostring) == $p) | .id' <<<"$settled")
  b_parts=$(jq -r --arg id "$b_id" '.partitions[] | select(.member == $id) | .partition' <<<"$settled")
  [ -n "$b_parts" ]
  # 3 new events on each of B's partitions (A's slow handler stays idle): each printed once, by B
  for p in $b_parts; do
    printf '{"type":"Late","id":"late-%d-%d"}\n' $p 1 $p 2 $p 3 | "$APPEND" -t orders -p $p
  done
  wait_until 20 bash -c '[ "$("$1" describe g --format json | jq "[.partitions[].lag] | add")" -eq 0 ]' _ "$GROUP"
  sleep 0.5
  { jq -r 'select(.type == "Late") | "A \(.id)"' a.got; jq -r 'select(.type == "Late") | "B \(.id)"' b.out; } | sort -k2 > late
  if [ "$(awk '{ print $2 }' late | sort | uniq -d | wc -l)" -ne 0 ] || grep -q '^A ' late; then
    echo "late events on B's partitions ($(echo $b_parts)) printed: $(tr '\n' ' ' < late)" >&2
    echo "owners before they were appended: $(jq -c '[.partitions[].member]' <<<"$settled"); B is $b_id" >&2
    sed 's/^/A: /' a.out.err >&2
    sed 's/^/B: /' b.out.err >&2
    return 1
  fi
  assert_eq "$(wc -l < late)" $((3 * $(echo "$b_parts" | wc -w)))
}

@test "3: queue mode, 3 members, a failing handler: every other event acked exactly once, failing ones redelivered with rising evtdelivery and dead-lettered to orders.dlq; describe shows the counts" {
  # the handler fails for every event whose data.i is a multiple of 25
  cat > handler.sh <<'EOF'
#!/bin/sh
ev=$(cat)
i=$(printf '%s' "$ev" | jq .data.i)
if [ $((i % 25)) -eq 0 ]; then printf '%s\n' "$ev" >> "fail.$1"; exit 1; fi
printf '%s\n' "$ev" >> "ok.$1"
EOF
  chmod +x handler.sh
  produce 300 1 0
  for m in 1 2 3; do
    start_member "m$m.out" -t orders -g work --mode queue --follow --batch 5 --max-deliveries 3 --visibility 10s \
      --exec "./handler.sh $m"
  done
  wait_until 80 settled_at_least work 300
  sleep 0.3
  cat ok.* | jq -r .id | sort > ok.ids
  "$REPLAY" -t orders | jq -r 'select(.data.i % 25 != 0) | .id' | sort > good.ids
  "$REPLAY" -t orders | jq -r 'select(.data.i % 25 == 0) | .id' | sort > bad.ids
  # every other event handled (and acked) exactly once across members
  cmp ok.ids good.ids
  used=0
  for m in 1 2 3; do [ ! -s "ok.$m" ] || used=$((used + 1)); done
  echo "# events handled per member: $(for m in 1 2 3; do printf '%s ' "$( [ -f ok.$m ] && wc -l < ok.$m || echo 0)"; done)" >&3
  [ "$used" -ge 2 ] || { echo "only $used member(s) got work" >&2; return 1; }
  # failing events: delivered 3 times with evtdelivery 1, 2, 3, then dead-lettered
  cat fail.* | jq -r '"\(.id) \(.evtdelivery)"' | sort -k1,1 -k2,2n > fails
  assert_eq "$(awk '{ print $1 }' fails | uniq -c | awk '{ print $1 }' | sort -u)" 3
  assert_eq "$(awk '{ print $2 }' fails | sort -u | tr '\n' ' ')" "1 2 3 "
  assert_eq "$(awk '{ print $1 }' fails | uniq)" "$(cat bad.ids)"
  "$REPLAY" -t orders.dlq > dlq
  assert_eq "$(jq -r .id dlq | sort)" "$(cat bad.ids)"
  assert_eq "$(jq -r .evtdlqreason dlq | sort -u)" "not acknowledged after 3 deliveries (--max-deliveries 3)"
  assert_eq "$(jq -r '"\(.evtdlqgroup) \(.evtdlqtopic)"' dlq | sort -u)" "work orders"
  assert_eq "$(jq -r '"\(.evtdlqpartition)/\(.evtdlqoffset) \(.id)"' dlq | sort)" \
    "$("$REPLAY" -t orders | jq -r 'select(.data.i % 25 == 0) | "\(.evtpartition)/\(.evtoffset) \(.id)"' | sort)"
  j=$("$GROUP" describe work --format json)
  assert_eq "$(jq -c '.queue' <<<"$j")" "{\"acked\":$(wc -l < good.ids),\"dead_lettered\":$(wc -l < bad.ids),\"redelivered\":$((2 * $(wc -l < bad.ids)))}"
  assert_eq "$(jq -c '[(.members | length), ([.partitions[] | .lag + .in_flight] | add)]' <<<"$j")" "[3,0]"
  "$GROUP" describe work | grep -qx "Acked: $(wc -l < good.ids)  redelivered: $((2 * $(wc -l < bad.ids)))  dead-lettered: $(wc -l < bad.ids)"
}

@test "3b: a queue member killed while holding leases: its events come back after the visibility timeout" {
  produce 20 1 0
  # A leases all 20 for 1 s and is slow with the first
  start_member a.out -t orders -g work --mode queue --follow --visibility 1s --batch 20 --shell --exec 'cat >> a.got; sleep 2'
  local a=$LAST_MEMBER
  wait_until 10 bash -c '[ "$("$1" describe work --format json | jq "[.partitions[].in_flight] | add")" -eq 20 ]' _ "$GROUP"
  leased=$(date +%s%N)
  kill9_member "$a"
  killed=$(date +%s%N)
  # a leased event is not redelivered before its lease runs out
  start_member b.out -t orders -g work --mode queue --follow --visibility 10s
  wait_until 10 lines_at_least b.out 20
  back=$(date +%s%N)
  echo "# leases taken by the killed member came back $(( (back - leased) / 1000000 )) ms after they were taken (visibility 1 s; killed after $(( (killed - leased) / 1000000 )) ms)" >&3
  [ $(( (back - leased) / 1000000 )) -ge 500 ] || { echo "redelivered too early" >&2; return 1; }
  assert_eq "$(jq -r .evtdelivery b.out | sort -u)" 2
  assert_eq "$(jq -r .id b.out | sort)" "$(all_ids)"
  wait_until 10 settled_at_least work 20
  assert_eq "$("$GROUP" describe work --format json | jq -c .queue)" '{"acked":20,"dead_lettered":0,"redelivered":20}'
}

@test "4: evt-consume --commit none | jq -c 'select(...)' | evt-commit, killed midway and rerun: every event at least once, none that was committed" {
  produce 4000 1 2000 &
  local producer=$!
  setsid bash -c '"$1" -t orders -g g --commit none --follow | jq -c --unbuffered "select(.type == \"OrderPlaced\")" |
    tee -a processed1 | "$2" -g g -q' _ "$CONSUME" "$COMMIT" 2> pipeline.err &
  PIPELINE_PGID=$!
  wait_until 20 lines_at_least processed1 1000
  kill -KILL -- "-$PIPELINE_PGID"
  wait "$PIPELINE_PGID" 2>/dev/null || true
  PIPELINE_PGID=""
  wait "$producer"
  read -r -a C <<<"$(committed g | sed 's/null/0/g')"
  total_committed=$(( C[0] + C[1] + C[2] ))
  echo "# killed after $(wc -l < processed1) events processed, $total_committed committed (${C[*]}) of 4000" >&3
  [ "$total_committed" -gt 0 ] && [ "$total_committed" -lt 4000 ]
  # every committed event was processed by the first run
  for p in 0 1 2; do
    assert_eq "$(jq -r "select(.evtpartition == $p and .evtoffset < ${C[$p]}) | .evtoffset" processed1 | sort -un | wc -l)" "${C[$p]}"
  done
  # rerun (to the end): exactly the events after the commits
  "$CONSUME" -t orders -g g --commit none | jq -c 'select(.type == "OrderPlaced")' | tee processed2 | "$COMMIT" -g g -q
  for p in 0 1 2; do
    jq -r "select(.evtpartition == $p) | .evtoffset" processed2 > offs
    end=$("$GROUP" describe g --format json | jq -r ".partitions[$p].log_end")
    assert_eq "$(md5sum < offs)" "$(seq "${C[$p]}" $((end - 1)) | md5sum)"
  done
  cat processed1 processed2 | jq -r .id | sort -u > got
  all_ids > want
  cmp got want
  assert_eq "$("$GROUP" describe g --format json | jq '[.partitions[].lag] | add')" 0
}

@test "5: evt-group reset to each spec moves the offsets as stated, refuses with live members (75), and the dry run changes nothing" {
  produce 30 1 0
  sleep 1.1
  at=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  produce 30 31 0
  "$CONSUME" -t orders -g g > /dev/null
  read -r -a END <<<"$(committed g)"
  start_member live.out -t orders -g g --follow
  local m=$LAST_MEMBER
  wait_until 10 owned_by_n g 1
  for spec in earliest latest 3 "@$at" shift:-2; do
    run --separate-stderr "$GROUP" reset g -t orders --to "$spec" --execute
    [ "$status" -eq 75 ] || { echo "--to $spec with a live member exited $status" >&2; return 1; }
    assert_eq "$stderr" "evt-group: error: group 'g' has 1 live member; stop them before resetting its offsets"
  done
  stop_member "$m"
  assert_eq "$(committed g)" "${END[*]}"
  # spec -> what the next consume must deliver, per partition "P FIRST COUNT"
  check() {
    local spec=$1
    run --separate-stderr "$GROUP" reset g -t orders --to "$spec"
    [ "$status" -eq 0 ]
    assert_eq "$(committed g)" "${END[*]}"  # the dry run changed nothing
    dry=$(printf '%s\n' "${lines[@]:1}" | awk '{ print $4 }' | tr '\n' ' ')
    "$GROUP" reset g -t orders --to "$spec" --execute > /dev/null
    assert_eq "$(committed g | tr ' ' '\n' | tr '\n' ' ')" "$dry"  # what the dry run showed is what happened
    "$CONSUME" -t orders -g g > out
    for p in 0 1 2; do
      jq -r "select(.evtpartition == $p) | .evtoffset" out > offs
      from=$(echo "$dry" | awk -v i=$((p + 1)) '{ print $i }')
      assert_eq "$(md5sum < offs)" "$(seq "$from" $((END[p] - 1)) | md5sum)"
    done
  }
  check earliest
  assert_eq "$(wc -l < out)" 60
  check latest
  assert_eq "$(wc -l < out)" 0
  check 3
  assert_eq "$(committed g)" "${END[*]}"
  check "@$at"
  assert_eq "$(jq -r .id out | sort -V | tr '\n' ' ' | awk '{ print $1, NF }')" "o-31 30"
  check shift:-2
  assert_eq "$(wc -l < out)" 6
  check shift:-1000
  assert_eq "$(wc -l < out)" 60
}
