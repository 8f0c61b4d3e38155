#!/usr/bin/env bats
# evt-consume (SPEC.md section 6, issue 3): log mode (pub-sub) and queue mode
# (work queue) through the built program: what a member prints, where it
# starts and stops, what it commits, --exec, --dlq, and every flag's error
# path with its message word for word. Fast: seconds in all.

bats_require_minimum_version 1.5.0
load group_helpers

setup() {
  group_setup
  "$TOPIC" create orders --partitions 3 2>/dev/null
  keyed_events 30 > in.ndjson
  "$APPEND" -t orders < in.ndjson
}

teardown() { group_teardown; }

@test "log mode: a lone member prints every event once with its position, in offset order per partition, and stops at the end" {
  run --separate-stderr "$CONSUME" -t orders -g g
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  printf '%s\n' "${lines[@]}" > out
  assert_eq "$(jq -r .id out | sort | md5sum)" "$(jq -r .id in.ndjson | sort | md5sum)"
  # the position attributes, as evt-replay prints them; no evtdelivery in log mode
  assert_eq "$(jq -c 'keys - ["specversion","id","source","type","subject","data","time"]' out | sort -u)" \
    '["evtoffset","evtpartition","evttime","evttopic"]'
  for p in 0 1 2; do
    jq -r "select(.evtpartition == $p) | .evtoffset" out > got
    assert_eq "$(cat got)" "$("$REPLAY" -t orders -p $p --format '%o\n')"
  done
  assert_eq "$(committed g)" "$("$REPLAY" -t orders --by-partition --format '%p\n' | uniq -c | awk '{ printf "%s%s", sep, $1; sep = " " }')"
}

@test "log mode: the next run of the group starts at the committed offsets and gets only new events" {
  "$CONSUME" -t orders -g g > first
  run --separate-stderr "$CONSUME" -t orders -g g
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  keyed_events 5 31 | "$APPEND" -t orders
  "$CONSUME" -t orders -g g > second
  assert_eq "$(jq -r .id second | sort -V | tr '\n' ' ')" "o-31 o-32 o-33 o-34 o-35 "
}

@test "pub-sub: a second group independently gets every event" {
  "$CONSUME" -t orders -g a > a.out
  "$CONSUME" -t orders -g b > b.out
  assert_eq "$(wc -l < a.out)" 30
  assert_eq "$(jq -r .id a.out | sort | md5sum)" "$(jq -r .id b.out | sort | md5sum)"
}

@test "-n COUNT stops after COUNT events and commits only those; the rest come next" {
  run --separate-stderr "$CONSUME" -t orders -g g -n 7
  [ "$status" -eq 0 ]
  assert_eq "${#lines[@]}" 7
  printf '%s\n' "${lines[@]}" > first
  "$CONSUME" -t orders -g g > rest
  assert_eq "$(wc -l < rest)" 23
  assert_eq "$(cat first rest | jq -r .id | sort | md5sum)" "$(jq -r .id in.ndjson | sort | md5sum)"
}

@test "--from latest: a new group starts at the log end; --from earliest (default) at the start" {
  run --separate-stderr "$CONSUME" -t orders -g late --from latest
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  assert_eq "$(committed late)" "$("$GROUP" describe late --format json | jq -r '[.partitions[].log_end | tostring] | join(" ")')"
  keyed_events 2 31 | "$APPEND" -t orders
  assert_eq "$("$CONSUME" -t orders -g late --from latest | jq -r .id | sort | tr '\n' ' ')" "o-31 o-32 "
  assert_eq "$("$CONSUME" -t orders -g early --from earliest | wc -l)" 32
}

@test "without --follow a member stops at the end offsets it saw when it started" {
  # a slow handler keeps the member busy while 10 more events arrive
  start_member out -t orders -g g --batch 1 --shell --exec 'cat; sleep 0.02'
  local m=$LAST_MEMBER
  wait_until 10 lines_at_least out 3
  keyed_events 10 31 | "$APPEND" -t orders
  wait "$m"
  MEMBERS=()
  assert_eq "$(wc -l < out)" 30
  assert_eq "$(jq -r .id out | sort | md5sum)" "$(jq -r .id in.ndjson | sort | md5sum)"
  assert_eq "$("$CONSUME" -t orders -g g | wc -l)" 10
}

@test "--follow: new events appear, SIGTERM leaves the group cleanly (exit 0) with everything committed" {
  start_member out -t orders -g g --follow
  local m=$LAST_MEMBER
  wait_until 10 lines_at_least out 30
  keyed_events 5 31 | "$APPEND" -t orders
  wait_until 10 lines_at_least out 35
  assert_eq "$(live_members g)" 1
  stop_member "$m"
  assert_eq "$(wc -l < out)" 35
  assert_eq "$(live_members g)" 0
  assert_eq "$("$GROUP" describe g --format json | jq '[.partitions[].lag] | add')" 0
}

@test "--assign range: the first member in id order gets two contiguous partitions; roundrobin: partitions 0 and 2 go together" {
  start_member a.out -t orders -g r --follow --assign range
  start_member b.out -t orders -g r --follow --assign range
  wait_until 10 owned_by_n r 2
  owners r > own
  assert_eq "$(awk '{ print $2 }' own | uniq | wc -l)" 2  # 0,1 together, 2 alone
  [ "$(sed -n 1p own | cut -d' ' -f2)" = "$(sed -n 2p own | cut -d' ' -f2)" ]
  first=$("$GROUP" describe r --format json | jq -r '.members[0].id')
  [ "$(sed -n 1p own | cut -d' ' -f2)" = "$first" ]
  assert_eq "$("$GROUP" describe r --format json | jq -r .strategy)" range
  group_teardown
  start_member c.out -t orders -g rr --follow --assign roundrobin
  start_member d.out -t orders -g rr --follow --assign roundrobin
  wait_until 10 owned_by_n rr 2
  owners rr > own
  [ "$(sed -n 1p own | cut -d' ' -f2)" = "$(sed -n 3p own | cut -d' ' -f2)" ]
  [ "$(sed -n 1p own | cut -d' ' -f2)" != "$(sed -n 2p own | cut -d' ' -f2)" ]
  assert_eq "$("$GROUP" describe rr --format json | jq -r .strategy)" roundrobin
}

@test "a member owning several partitions serves each of them round by round: a busy partition does not starve the others" {
  # 3 rounds of 5 events: with the backlog of partition 0 (11 events) ahead,
  # every partition must still get a turn (Kafka rotates the partitions it fetches)
  run --separate-stderr "$CONSUME" -t orders -g g --batch 5 -n 15
  [ "$status" -eq 0 ]
  assert_eq "$(printf '%s\n' "${lines[@]}" | jq -r .evtpartition | sort -u | tr '\n' ' ')" "0 1 2 "
}

@test "--commit none prints but commits nothing: the next run gets the same events" {
  "$CONSUME" -t orders -g g --commit none > first
  "$CONSUME" -t orders -g g --commit none > second
  assert_eq "$(wc -l < first)" 30
  cmp first second
  assert_eq "$(committed g)" "null null null"
}

@test "--exec runs CMD once per event with the event on stdin, splits CMD on blanks, and commits on exit 0" {
  printf '#!/bin/sh\ncat >> "$1"\necho >> "$1.calls"\n' > h.sh
  chmod +x h.sh
  run --separate-stderr "$CONSUME" -t orders -g g --exec "./h.sh handled"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  assert_eq "$(wc -l < handled.calls)" 30
  assert_eq "$(jq -r .id handled | sort | md5sum)" "$(jq -r .id in.ndjson | sort | md5sum)"
  assert_eq "$(jq -r .evttopic handled | sort -u)" orders
  assert_eq "$("$GROUP" describe g --format json | jq '[.partitions[].lag] | add')" 0
}

@test "--exec without --shell passes no shell syntax; --shell runs CMD with /bin/sh -c" {
  run --separate-stderr "$CONSUME" -t orders -g plain -n 1 --exec 'echo $HOME |'
  [ "$status" -eq 0 ]
  assert_eq "$output" '$HOME |'
  run --separate-stderr "$CONSUME" -t orders -g sh -n 2 --shell --exec 'jq -r .id | sed s/o-/order:/'
  [ "$status" -eq 0 ]
  assert_eq "${#lines[@]}" 2
  [[ "${lines[0]}" == order:* ]]
}

@test "--exec failing in log mode: the event is retried with back-off and the partition waits; each event handled once" {
  # fails the first time it sees o-7, then succeeds
  cat > h.sh <<'EOF'
#!/bin/sh
ev=$(cat)
case "$ev" in *'"id":"o-7"'*) if [ ! -e failed-once ]; then : > failed-once; exit 3; fi ;; esac
printf '%s\n' "$ev" >> handled
EOF
  chmod +x h.sh
  run --separate-stderr "$CONSUME" -t orders -g g --exec ./h.sh
  [ "$status" -eq 0 ]
  p=$(jq -r 'select(.id == "o-7") | "\(.evtpartition)/\(.evtoffset)"' handled)
  assert_eq "$stderr" "evt-consume: warning: --exec exited 3 on orders/$p (delivery 1); retrying"
  assert_eq "$(wc -l < handled)" 30
  assert_eq "$(jq -r .id handled | sort | uniq -d)" ""
  # order within o-7's partition kept despite the retry
  part=${p%/*}
  assert_eq "$(jq -r "select(.evtpartition == $part) | .evtoffset" handled | tr '\n' ' ')" \
    "$("$REPLAY" -t orders -p "$part" --format '%o ')"
}

@test "queue mode: a lone member prints every event once with evtdelivery 1 and acks it" {
  run --separate-stderr "$CONSUME" -t orders -g q --mode queue
  [ "$status" -eq 0 ]
  printf '%s\n' "${lines[@]}" > out
  assert_eq "$(wc -l < out)" 30
  assert_eq "$(jq -r .id out | sort | md5sum)" "$(jq -r .id in.ndjson | sort | md5sum)"
  assert_eq "$(jq -r .evtdelivery out | sort -u)" 1
  j=$("$GROUP" describe q --format json)
  assert_eq "$(jq -c .queue <<<"$j")" '{"acked":30,"dead_lettered":0,"redelivered":0}'
  assert_eq "$(jq -r .mode <<<"$j")" queue
  assert_eq "$(jq '[.partitions[] | .lag + .in_flight] | add' <<<"$j")" 0
}

@test "queue mode --visibility: events leased and not acked come back after the visibility with evtdelivery 2" {
  # member 1 leases all 30 for 1 s and then sits in its handler: alive, holding the leases
  start_member first -t orders -g q --mode queue --visibility 1s --batch 30 --follow --shell --exec 'cat >> held; sleep 4'
  wait_until 10 lines_at_least held 1
  assert_eq "$("$GROUP" describe q --format json | jq '[.partitions[].in_flight] | add')" 30
  start=$(date +%s%N)
  "$CONSUME" -t orders -g q --mode queue --visibility 10s > second
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  assert_eq "$(jq -r .evtdelivery second | sort -u)" 2
  assert_eq "$(jq -r .id second | sort | md5sum)" "$(jq -r .id in.ndjson | sort | md5sum)"
  [ "$took" -ge 300 ] || { echo "redelivered after ${took} ms, before the visibility ran out" >&2; return 1; }
  assert_eq "$("$GROUP" describe q --format json | jq -c .queue)" '{"acked":30,"dead_lettered":0,"redelivered":30}'
  assert_eq "$(wc -l < held)" 1  # member 1 got no further
}

@test "queue mode --commit none: what a member printed stays leased after it exits, until --visibility runs out" {
  "$CONSUME" -t orders -g q --mode queue --commit none --visibility 30s -n 30 > first
  assert_eq "$(jq -r .evtdelivery first | sort -u)" 1
  # the events are downstream (a file, a pipeline): another member must not get them now
  assert_eq "$("$GROUP" describe q --format json | jq '[.partitions[].in_flight] | add')" 30
  "$CONSUME" -t orders -g q --mode queue --commit none -n 1 --follow > second &
  local m=$!
  MEMBERS+=("$m")
  sleep 1
  assert_eq "$(wc -l < second)" 0
  # evt-commit acks them
  "$COMMIT" -g q -q first
  assert_eq "$("$GROUP" describe q --format json | jq -c .queue)" '{"acked":30,"dead_lettered":0,"redelivered":0}'
}

@test "queue mode: an idle --follow member waits for new events instead of polling with write transactions" {
  "$CONSUME" -t orders -g q --mode queue > /dev/null
  # 2 s with nothing to do: a waiting member uses almost no CPU (a log-mode member: ~0.01 s)
  run --separate-stderr /usr/bin/time -f '%U %S' timeout -s INT 2 "$CONSUME" -t orders -g q --mode queue --follow
  [ -z "$output" ]
  cpu=$(tail -1 <<<"$stderr" | awk '{ print $1 + $2 }')
  echo "# idle queue member: ${cpu} s CPU in 2 s" >&3
  awk -v c="$cpu" 'BEGIN { exit !(c < 0.2) }' || { echo "an idle queue member used ${cpu} s of CPU in 2 s" >&2; return 1; }
}

@test "queue mode --max-deliveries and --dlq: an event failing every time is dead-lettered with where it came from and why" {
  run --separate-stderr "$CONSUME" -t orders -g q --mode queue --max-deliveries 2 --dlq dead --exec false
  [ "$status" -eq 0 ]
  assert_eq "$(grep -c 'released for redelivery' <<<"$stderr")" 60
  "$REPLAY" -t dead > dlq
  assert_eq "$(wc -l < dlq)" 30
  assert_eq "$(jq -r .id dlq | sort | md5sum)" "$(jq -r .id in.ndjson | sort | md5sum)"
  assert_eq "$(jq -r .evtdlqreason dlq | sort -u)" "not acknowledged after 2 deliveries (--max-deliveries 2)"
  assert_eq "$(jq -r '"\(.evtdlqgroup) \(.evtdlqtopic)"' dlq | sort -u)" "q orders"
  # evtdlqpartition/evtdlqoffset name the original event
  jq -r '"\(.evtdlqpartition) \(.evtdlqoffset) \(.id)"' dlq | sort > dlq.pos
  "$REPLAY" -t orders | jq -r '"\(.evtpartition) \(.evtoffset) \(.id)"' | sort > orig.pos
  cmp dlq.pos orig.pos
  assert_eq "$("$GROUP" describe q --format json | jq -c .queue)" '{"acked":0,"dead_lettered":30,"redelivered":30}'
  "$TOPIC" list | grep -qx dead
  ! "$TOPIC" list | grep -qx orders.dlq
}

@test "queue mode: the default dead-letter topic is TOPIC.dlq" {
  "$CONSUME" -t orders -g q --mode queue --max-deliveries 1 --exec false 2>/dev/null
  assert_eq "$(count_events orders.dlq)" 30
}

@test "writing to a full disk exits 74 and commits nothing" {
  run --separate-stderr bash -c '"$1" -t orders -g g > /dev/full' _ "$CONSUME"
  [ "$status" -eq 74 ]
  assert_eq "$stderr" "evt-consume: error: write error: No space left on device"
  assert_eq "$(committed g)" "null null null"
}

@test "a broken pipe ends the member and commits nothing past what was written" {
  "$APPEND" -t big -P 1 < <(events 20000)
  run bash -c '"$1" -t big -g g | head -1 > /dev/null; echo "${PIPESTATUS[0]}"' _ "$CONSUME"
  assert_eq "$output" 141
  assert_eq "$(committed g)" "null"
}

@test "errors: an unknown topic exits 66" {
  run --separate-stderr "$CONSUME" -t nope -g g
  [ "$status" -eq 66 ]
  assert_eq "$stderr" "evt-consume: error: no such topic 'nope'"
  [ -z "$output" ]
}

@test "errors: a group of the other mode, or of another topic, exits 64" {
  "$CONSUME" -t orders -g g -n 1 > /dev/null
  run --separate-stderr "$CONSUME" -t orders -g g --mode queue
  [ "$status" -eq 64 ]
  assert_eq "${stderr_lines[0]}" "evt-consume: error: group 'g' consumes in log mode, not queue"
  "$CONSUME" -t orders -g q --mode queue -n 1 > /dev/null
  run --separate-stderr "$CONSUME" -t orders -g q
  [ "$status" -eq 64 ]
  assert_eq "${stderr_lines[0]}" "evt-consume: error: group 'q' consumes in queue mode, not log"
  "$APPEND" -t other < <(events 1)
  run --separate-stderr "$CONSUME" -t other -g g
  [ "$status" -eq 64 ]
  assert_eq "${stderr_lines[0]}" "evt-consume: error: group 'g' consumes topic 'orders', not 'other'"
}

@test "errors: --exec with --commit none exits 64" {
  run --separate-stderr "$CONSUME" -t orders -g g --exec cat --commit none
  [ "$status" -eq 64 ]
  assert_eq "${stderr_lines[0]}" "evt-consume: error: --exec commits what it handled: it takes no --commit none"
  assert_eq "${stderr_lines[1]}" "Try 'evt-consume --help' for more information."
  run "$GROUP" describe g
  [ "$status" -eq 66 ]
}

@test "errors: an --exec program that does not exist exits 66" {
  run --separate-stderr "$CONSUME" -t orders -g g --exec ./no-such-handler
  [ "$status" -eq 66 ]
  assert_eq "$stderr" "evt-consume: error: --exec './no-such-handler': No such file or directory"
}

@test "errors: an invalid group name exits 64" {
  run --separate-stderr "$CONSUME" -t orders -g 'bad name'
  [ "$status" -eq 64 ]
  assert_eq "${stderr_lines[0]}" "evt-consume: error: invalid group name 'bad name' (letters, digits, '.', '_', '-')"
}

@test "errors: every bad flag value, and a missing -t or -g, exits 64 with a pointer to --help" {
  local args
  for args in "-g g" "-t orders" "-t orders -g g --mode fifo" "-t orders -g g --assign sticky" \
    "-t orders -g g --from middle" "-t orders -g g --commit sometimes" "-t orders -g g --session-timeout soon" \
    "-t orders -g g --visibility 5x" "-t orders -g g --max-deliveries 0" "-t orders -g g --batch 0" \
    "-t orders -g g -n many"; do
    # shellcheck disable=SC2086
    run --separate-stderr "$CONSUME" $args
    [ "$status" -eq 64 ] || { echo "$args: exit $status" >&2; return 1; }
    [[ "${stderr_lines[0]}" == "evt-consume: error: "* ]] || { echo "$args: $stderr" >&2; return 1; }
    assert_eq "${stderr_lines[-1]}" "Try 'evt-consume --help' for more information."
    [ -z "$output" ]
  done
  run --separate-stderr "$CONSUME" -t orders -g g --session-timeout soon
  assert_eq "${stderr_lines[0]}" "evt-consume: error: --session-timeout: invalid duration 'soon' (expected e.g. 500ms, 30s, 5m, 7d)"
  "$GROUP" list > groups
  [ ! -s groups ]
}
