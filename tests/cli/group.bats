#!/usr/bin/env bats
# evt-group (SPEC.md section 6, issue 3): list, describe (table, json,
# mermaid), reset to every spec (dry run and --execute, refused with live
# members), delete, and every error path with its message word for word.

bats_require_minimum_version 1.5.0
load group_helpers

setup() {
  group_setup
  "$TOPIC" create orders --partitions 3 2>/dev/null
  keyed_events 30 | "$APPEND" -t orders  # partitions 0, 1, 2 get 11, 9, 10 events
}

teardown() { group_teardown; }

@test "list: no log and no groups print nothing and exit 0" {
  run --separate-stderr env EVT_LOG="$T/none" "$GROUP" list
  [ "$status" -eq 0 ]
  [ -z "$output$stderr" ]
  run --separate-stderr "$GROUP" list
  [ "$status" -eq 0 ]
  [ -z "$output$stderr" ]
}

@test "list: one line per group with mode, topic, live members and total lag; --format json" {
  "$CONSUME" -t orders -g g -n 10 > /dev/null
  "$CONSUME" -t orders -g q --mode queue > /dev/null
  run --separate-stderr "$GROUP" list
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(printf '%s\n' \
    'GROUP  MODE   TOPIC   MEMBERS  LAG' \
    'g      log    orders        0   20' \
    'q      queue  orders        0    0')"
  run --separate-stderr "$GROUP" list --format json
  [ "$status" -eq 0 ]
  assert_eq "$(jq -c '[.[] | {group, mode, topic, n: (.members | length)}]' <<<"$output")" \
    '[{"group":"g","mode":"log","topic":"orders","n":0},{"group":"q","mode":"queue","topic":"orders","n":0}]'
}

@test "describe: the columns of kafka-consumer-groups --describe, word for word" {
  "$CONSUME" -t orders -g g -n 10 > /dev/null
  run --separate-stderr "$GROUP" describe g
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  assert_eq "$output" "$(printf '%s\n' \
    'Group: g  mode: log  topic: orders  members: 0  generation: 2  assign: range' \
    '' \
    'TOPIC   PARTITION  MEMBER  HOST/PID  COMMITTED  LOG END  LAG' \
    'orders          0  -       -                10       11    1' \
    'orders          1  -       -                 -        9    9' \
    'orders          2  -       -                 -       10   10')"
}

@test "describe --format json: the same data for programs" {
  "$CONSUME" -t orders -g g -n 10 > /dev/null
  run --separate-stderr "$GROUP" describe g --format json
  [ "$status" -eq 0 ]
  assert_eq "$output" '{"generation":2,"group":"g","members":[],"mode":"log","partitions":[{"committed":10,"lag":1,"log_end":11,"member":null,"partition":0,"topic":"orders"},{"committed":null,"lag":9,"log_end":9,"member":null,"partition":1,"topic":"orders"},{"committed":null,"lag":10,"log_end":10,"member":null,"partition":2,"topic":"orders"}],"strategy":"range","topic":"orders"}'
}

@test "describe with live members: owner, host/pid per partition; mermaid draws partitions -> members" {
  start_member a.out -t orders -g g --follow
  local a=$LAST_MEMBER
  start_member b.out -t orders -g g --follow
  local b=$LAST_MEMBER
  wait_until 10 owned_by_n g 2
  j=$("$GROUP" describe g --format json)
  assert_eq "$(jq -r '[.members[].pid] | sort | map(tostring) | join(" ")' <<<"$j")" "$(printf '%s\n' "$a" "$b" | sort -n | tr '\n' ' ' | sed 's/ $//')"
  assert_eq "$(jq -r '.members[].host' <<<"$j" | sort -u)" "$(hostname)"
  # the table: HOST/PID is the owner's
  "$GROUP" describe g > table
  for p in 0 1 2; do
    owner=$(jq -r ".partitions[$p].member" <<<"$j")
    pid=$(jq -r --arg o "$owner" '.members[] | select(.id == $o) | .pid' <<<"$j")
    grep -Eq "^orders +$p +$owner +$(hostname)/$pid +" table || { cat table >&2; return 1; }
  done
  grep -q 'members: 2' table
  # mermaid: one arrow per partition, to its owner
  run --separate-stderr "$GROUP" describe g --format mermaid
  [ "$status" -eq 0 ]
  assert_eq "${lines[0]}" "flowchart LR"
  assert_eq "$(grep -c -- '-->' <<<"$output")" 3
  for p in 0 1 2; do
    owner=$(jq -r ".partitions[$p].member" <<<"$j")
    i=$(jq -r --arg o "$owner" '.members | map(.id) | index($o)' <<<"$j")
    grep -qx "  p$p --> m$i" <<<"$output"
  done
  grep -q 'subgraph group\["group g (log mode)"\]' <<<"$output"
}

@test "describe of a queue group: acked, redelivered and dead-lettered counts and IN FLIGHT" {
  "$CONSUME" -t orders -g q --mode queue --max-deliveries 1 --shell \
    --exec 'grep -qv "\"id\":\"o-1\"," ' 2> /dev/null > /dev/null
  run --separate-stderr "$GROUP" describe q
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(printf '%s\n' \
    'Group: q  mode: queue  topic: orders  members: 0  generation: 2  assign: range' \
    'Acked: 29  redelivered: 0  dead-lettered: 1' \
    '' \
    'TOPIC   PARTITION  MEMBER  HOST/PID  COMMITTED  LOG END  LAG  IN FLIGHT' \
    'orders          0  -       -                11       11    0          0' \
    'orders          1  -       -                 9        9    0          0' \
    'orders          2  -       -                10       10    0          0')"
  run --separate-stderr "$GROUP" describe q --format json
  assert_eq "$(jq -c '[.queue, [.partitions[].in_flight]]' <<<"$output")" '[{"acked":29,"dead_lettered":1,"redelivered":0},[0,0,0]]'
  # mermaid: in queue mode every member shares every partition
  start_member m.out -t orders -g q --mode queue --follow
  wait_until 10 bash -c '[ "$("$1" describe q --format json | jq ".members | length")" -eq 1 ]' _ "$GROUP"
  assert_eq "$("$GROUP" describe q --format mermaid | grep -c -- '--> m0')" 3
}

@test "reset: a dry run prints the table and changes nothing" {
  "$CONSUME" -t orders -g g > /dev/null
  run --separate-stderr "$GROUP" reset g -t orders --to earliest
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(printf '%s\n' \
    'TOPIC   PARTITION  CURRENT  NEW' \
    'orders          0       11    0' \
    'orders          1        9    0' \
    'orders          2       10    0')"
  assert_eq "$stderr" "evt-group: dry run: nothing changed (add --execute to apply)"
  assert_eq "$(committed g)" "11 9 10"
  assert_eq "$("$CONSUME" -t orders -g g | wc -l)" 0
}

@test "reset --execute to earliest, latest, N, shift:-N and shift:+N moves the offsets as stated (clamped)" {
  "$CONSUME" -t orders -g g > /dev/null
  reset_to() {
    run --separate-stderr "$GROUP" reset g -t orders --to "$1" --execute
    [ "$status" -eq 0 ] || { echo "--to $1 exited $status: $stderr" >&2; return 1; }
    [ -z "$stderr" ]
    assert_eq "$(committed g)" "$2"
  }
  reset_to earliest "0 0 0"
  assert_eq "$("$CONSUME" -t orders -g g | wc -l)" 30  # everything again
  reset_to latest "11 9 10"
  reset_to 5 "5 5 5"
  assert_eq "$("$CONSUME" -t orders -g g | jq -r '"\(.evtpartition) \(.evtoffset)"' | sort -k1,1n -k2,2n | head -1)" "0 5"
  reset_to 10 "10 9 10"        # clamped to each log end
  reset_to shift:-3 "7 6 7"
  reset_to shift:-100 "0 0 0"  # clamped to the start
  reset_to shift:+4 "4 4 4"
  reset_to shift:+100 "11 9 10"
}

@test "reset to @TIME: the first event appended at or after TIME in each partition" {
  sleep 1.1
  at=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  keyed_events 30 31 | "$APPEND" -t orders
  "$CONSUME" -t orders -g g > /dev/null
  run --separate-stderr "$GROUP" reset g -t orders --to "@$at" --execute
  [ "$status" -eq 0 ]
  assert_eq "$(committed g)" "11 9 10"  # where the second batch begins
  "$CONSUME" -t orders -g g > again
  assert_eq "$(jq -r .id again | sort -V | head -1) $(wc -l < again)" "o-31 30"
  run --separate-stderr "$GROUP" reset g -t orders --to @-1h --execute
  assert_eq "$(committed g)" "0 0 0"
  run --separate-stderr "$GROUP" reset g -t orders --to @2099-01-01T00:00:00Z --execute
  assert_eq "$(committed g)" "$("$GROUP" describe g --format json | jq -r '[.partitions[].log_end | tostring] | join(" ")')"
}

@test "reset of a queue group drops its leases: every event from the new offset is delivered afresh" {
  "$CONSUME" -t orders -g q --mode queue > /dev/null
  run --separate-stderr "$GROUP" reset q -t orders --to earliest --execute
  [ "$status" -eq 0 ]
  run --separate-stderr "$CONSUME" -t orders -g q --mode queue
  assert_eq "${#lines[@]}" 30
  assert_eq "$(printf '%s\n' "${lines[@]}" | jq -r .evtdelivery | sort -u)" 1
}

@test "reset and delete refuse while the group has live members (75); a killed, reaped member does not count" {
  start_member a.out -t orders -g g --follow
  local a=$LAST_MEMBER
  wait_until 10 owned_by_n g 1
  run --separate-stderr "$GROUP" reset g -t orders --to earliest
  [ "$status" -eq 75 ]
  assert_eq "$stderr" "evt-group: error: group 'g' has 1 live member; stop them before resetting its offsets"
  run --separate-stderr "$GROUP" reset g -t orders --to earliest --execute
  [ "$status" -eq 75 ]
  assert_eq "$(committed g)" "11 9 10"
  run --separate-stderr "$GROUP" delete g
  [ "$status" -eq 75 ]
  assert_eq "$stderr" "evt-group: error: group 'g' has 1 live member; stop them before deleting it"
  start_member b.out -t orders -g g --follow
  wait_until 10 owned_by_n g 2
  run --separate-stderr "$GROUP" delete g
  assert_eq "$stderr" "evt-group: error: group 'g' has 2 live members; stop them before deleting it"
  group_teardown
  start_member c.out -t orders -g g --follow
  wait_until 10 owned_by_n g 1
  kill9_member "$LAST_MEMBER"
  run --separate-stderr "$GROUP" reset g -t orders --to earliest --execute
  [ "$status" -eq 0 ]
  assert_eq "$(committed g)" "0 0 0"
}

@test "delete removes every record of the group; describe then exits 66" {
  "$CONSUME" -t orders -g g > /dev/null
  "$CONSUME" -t orders -g other > /dev/null
  run --separate-stderr "$GROUP" delete g
  [ "$status" -eq 0 ]
  assert_eq "$stderr" "evt-group: deleted group 'g'"
  [ -z "$output" ]
  run --separate-stderr "$GROUP" describe g
  [ "$status" -eq 66 ]
  assert_eq "$("$GROUP" list | awk 'NR > 1 { print $1 }')" other
  # a new group of that name starts over
  assert_eq "$("$CONSUME" -t orders -g g | wc -l)" 30
}

@test "errors: an unknown group exits 66 for describe, reset and delete" {
  "$CONSUME" -t orders -g g -n 1 > /dev/null
  for cmd in "describe nope" "reset nope -t orders --to earliest" "delete nope"; do
    # shellcheck disable=SC2086
    run --separate-stderr "$GROUP" $cmd
    [ "$status" -eq 66 ] || { echo "$cmd: exit $status" >&2; return 1; }
    assert_eq "$stderr" "evt-group: error: no such group 'nope'"
  done
  run --separate-stderr env EVT_LOG="$T/none" "$GROUP" describe g
  [ "$status" -eq 66 ]
  assert_eq "$stderr" "evt-group: error: no log at '$T/none'"
}

@test "errors: a bad reset spec, a bad @TIME and another topic exit 64; nothing changes" {
  "$CONSUME" -t orders -g g > /dev/null
  run --separate-stderr "$GROUP" reset g -t orders --to bogus --execute
  [ "$status" -eq 64 ]
  assert_eq "${stderr_lines[0]}" "evt-group: error: invalid reset spec 'bogus' (earliest, latest, N, @TIME or shift:-N)"
  assert_eq "${stderr_lines[1]}" "Try 'evt-group --help' for more information."
  for spec in shift:x shift: -3 12x ""; do
    run --separate-stderr "$GROUP" reset g -t orders --to "$spec" --execute
    [ "$status" -eq 64 ] || { echo "--to '$spec': exit $status" >&2; return 1; }
    [[ "${stderr_lines[0]}" == "evt-group: error: "* ]]
  done
  run --separate-stderr "$GROUP" reset g -t orders --to @yesterday --execute
  [ "$status" -eq 64 ]
  assert_eq "${stderr_lines[0]}" "evt-group: error: invalid time 'yesterday' (expected RFC 3339 such as 2026-11-01T12:00:00Z, or -15m)"
  "$APPEND" -t other < <(events 1)
  run --separate-stderr "$GROUP" reset g -t other --to earliest --execute
  [ "$status" -eq 64 ]
  assert_eq "${stderr_lines[0]}" "evt-group: error: group 'g' consumes 'orders', not 'other'"
  assert_eq "$(committed g)" "11 9 10"
}

@test "errors: no command, an unknown command, a bad --format, missing arguments exit 64" {
  for args in "" "frobnicate" "list --format yaml" "describe" "describe g --format dot" "reset g --to earliest" \
    "reset g -t orders" "delete"; do
    # shellcheck disable=SC2086
    run --separate-stderr "$GROUP" $args
    [ "$status" -eq 64 ] || { echo "'$args': exit $status" >&2; return 1; }
    [[ "${stderr_lines[0]}" == "evt-group: error: "* ]] || { echo "'$args': $stderr" >&2; return 1; }
    [ -z "$output" ]
  done
}
