#!/usr/bin/env bats
# evt-topic: create, list, describe (table and json), alter, delete, partition-of
# with Kafka's published murmur2 vectors, and the exit codes of its errors.

bats_require_minimum_version 1.5.0
load helpers

setup() { evt_setup; }

@test "create prints what it made; list names it; list --format json has partitions and events" {
  # the confirmation is a diagnostic: stderr, stdout stays clean for data
  run --separate-stderr "$TOPIC" create orders --partitions 3
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  assert_eq "$stderr" "created topic 'orders' with 3 partitions"
  run --separate-stderr "$TOPIC" create audit
  [ "$status" -eq 0 ]
  assert_eq "$stderr" "created topic 'audit' with 1 partition"
  run --separate-stderr "$TOPIC" list
  [ "$status" -eq 0 ]
  assert_eq "$(echo "$output" | sort)" "$(printf 'audit\norders')"
  run --separate-stderr "$TOPIC" list --format json
  [ "$status" -eq 0 ]
  assert_eq "$(echo "$output" | jq -c 'sort_by(.name)')" \
    '[{"events":0,"name":"audit","partitions":1},{"events":0,"name":"orders","partitions":3}]'
}

@test "the log is found through -L, --log and EVT_LOG, and they name the same place" {
  "$TOPIC" create a --partitions 2 2>/dev/null
  [ -d "$EVT_LOG" ]
  assert_eq "$("$TOPIC" -L "$EVT_LOG" list)" "a"
  assert_eq "$(EVT_LOG= "$TOPIC" --log "$EVT_LOG" list)" "a"
  "$TOPIC" -L "$T/other" create b 2>/dev/null
  assert_eq "$("$TOPIC" list)" "a"
  assert_eq "$(EVT_LOG="$T/other" "$TOPIC" list)" "b"
}

@test "without -L or EVT_LOG the log is ./.evt" {
  mkdir work && cd work
  unset EVT_LOG
  "$TOPIC" create here 2>/dev/null
  [ -d .evt ]
  assert_eq "$(stat -c %a .evt)" "700"
  assert_eq "$("$TOPIC" list)" "here"
  assert_eq "$("$TOPIC" -L "$T/work/.evt" list)" "here"
}

@test "a new log directory is created with mode 0700" {
  "$TOPIC" create a 2>/dev/null
  assert_eq "$(stat -c %a "$EVT_LOG")" "700"
}

@test "describe: a table with per-partition start, end, events and append times" {
  "$TOPIC" create orders --partitions 3 2>/dev/null
  # 4 events on partition 0, 2 on partition 2, none on 1.
  events 4 | "$APPEND" -t orders -p 0
  events 2 | "$APPEND" -t orders -p 2
  run --separate-stderr "$TOPIC" describe orders
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^Topic:\ orders\ +partitions:\ 3\ +events:\ 6\ + ]]
  header=$(printf '%s\n' "${lines[@]}" | grep -n '^PARTITION' | cut -d: -f1)
  [ -n "$header" ]
  read -r -a h <<<"$(printf '%s\n' "${lines[@]}" | sed -n "${header}p")"
  assert_eq "${h[*]:0:4}" "PARTITION START END EVENTS"
  rows=$(printf '%s\n' "${lines[@]}" | sed -n "$((header + 1)),\$p")
  assert_eq "$(echo "$rows" | wc -l)" 3
  assert_eq "$(echo "$rows" | awk '{print $1, $2, $3, $4}')" "$(printf '0 0 4 4\n1 0 0 0\n2 0 2 2')"
  # partitions with events show RFC 3339 append times; the empty one shows '-'
  [[ "$(echo "$rows" | sed -n 1p)" =~ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\ +[0-9]{4}- ]]
  [[ "$(echo "$rows" | sed -n 2p)" =~ \ -\ +-$ ]]
  # aligned for people: the append-time column starts at the same place in every row
  hline=$(printf '%s\n' "${lines[@]}" | sed -n "${header}p")
  prefix=${hline%%FIRST APPEND*}
  col=${#prefix}
  [ "$col" -gt 0 ]
  while IFS= read -r row; do
    [ "${row:$((col - 1)):1}" = " " ]
    [ "${row:$col:1}" != " " ]
  done <<<"$rows"
}

@test "describe --format json: the same data with per-partition start, end and events" {
  "$TOPIC" create orders --partitions 3 2>/dev/null
  events 4 | "$APPEND" -t orders -p 0
  events 2 | "$APPEND" -t orders -p 2
  run --separate-stderr "$TOPIC" describe orders --format json
  [ "$status" -eq 0 ]
  assert_eq "$(echo "$output" | jq -c '[.topic, .partitions, .events]')" '["orders",3,6]'
  assert_eq "$(echo "$output" | jq -c '[.partition_detail[] | [.partition, .start, .end, .events]]')" \
    '[[0,0,4,4],[1,0,0,0],[2,0,2,2]]'
  assert_eq "$(echo "$output" | jq -c '[.partition_detail[] | .first_append != null]')" '[true,false,true]'
  echo "$output" | jq -e '.partition_detail[0] | (.first_append <= .last_append) and (.disk_bytes > 0)'
  echo "$output" | jq -e '.partition_detail[1].disk_bytes == 0'
}

@test "describe after a delete-free append: end moves, events count stays dense" {
  events 10 | "$APPEND" -t t -P 2 -p 1
  events 5 | "$APPEND" -t t -p 1
  assert_eq "$("$TOPIC" describe t --format json | jq -c '.partition_detail[1] | [.start, .end, .events]')" '[0,15,15]'
}

@test "alter adds partitions; it refuses to remove them (exit 64); events stay where they were" {
  "$TOPIC" create orders --partitions 2 2>/dev/null
  events 3 | "$APPEND" -t orders -p 1
  run --separate-stderr "$TOPIC" alter orders --partitions 5
  [ "$status" -eq 0 ]
  [[ "$stderr" == "topic 'orders' now has 5 partitions"* ]]
  assert_eq "$("$TOPIC" describe orders --format json | jq -c '[.partitions, [.partition_detail[].events]]')" '[5,[0,3,0,0,0]]'
  run --separate-stderr "$TOPIC" alter orders --partitions 2
  [ "$status" -eq 64 ]
  assert_eq "${stderr_lines[0]}" "evt-topic: error: topic 'orders' has 5 partitions; partitions can only be added"
  assert_eq "$("$TOPIC" describe orders --format json | jq .partitions)" 5
  # new events can go to the new partitions
  events 1 | "$APPEND" -t orders -p 4
  assert_eq "$("$REPLAY" -t orders -p 4 --format '%p %o\n')" "4 0"
}

@test "alter of a missing topic exits 66" {
  run --separate-stderr "$TOPIC" alter nope --partitions 3
  [ "$status" -eq 66 ]
  assert_eq "$stderr" "evt-topic: error: no such topic 'nope'"
}

@test "delete removes the topic and its events; a new topic of that name starts empty at offset 0" {
  events 3 | "$APPEND" -t gone -P 2
  events 2 | "$APPEND" -t kept
  run --separate-stderr "$TOPIC" delete gone
  [ "$status" -eq 0 ]
  assert_eq "$stderr" "deleted topic 'gone'"
  assert_eq "$("$TOPIC" list)" "kept"
  run --separate-stderr "$REPLAY" -t gone
  [ "$status" -eq 66 ]
  assert_eq "$stderr" "evt-replay: error: no such topic 'gone'"
  events 1 | "$APPEND" -t gone
  assert_eq "$("$REPLAY" -t gone --format '%p %o\n')" "0 0"
  assert_eq "$(count_events kept)" 2
  run --separate-stderr "$TOPIC" delete nope
  [ "$status" -eq 66 ]
  assert_eq "$stderr" "evt-topic: error: no such topic 'nope'"
}

@test "creating an existing topic exits 2 and leaves it alone" {
  "$TOPIC" create orders --partitions 3 2>/dev/null
  events 2 | "$APPEND" -t orders
  run --separate-stderr "$TOPIC" create orders --partitions 5
  [ "$status" -eq 2 ]
  assert_eq "$stderr" "evt-topic: error: topic 'orders' already exists"
  assert_eq "$("$TOPIC" describe orders --format json | jq -c '[.partitions, .events]')" '[3,2]'
}

@test "describe of a missing topic exits 66 in both formats" {
  "$TOPIC" create a 2>/dev/null
  run --separate-stderr "$TOPIC" describe nope
  [ "$status" -eq 66 ]
  assert_eq "$stderr" "evt-topic: error: no such topic 'nope'"
  [ -z "$output" ]
  run --separate-stderr "$TOPIC" describe nope --format json
  [ "$status" -eq 66 ]
  [ -z "$output" ]
}

@test "a bad partition count is a usage error (64) that names the flag" {
  for bad in 0 257 abc -1; do
    run --separate-stderr "$TOPIC" create x --partitions "$bad"
    [ "$status" -eq 64 ]
    [[ "${stderr_lines[0]}" == "evt-topic: error: --partitions: "* ]]
    assert_eq "${stderr_lines[1]}" "Try 'evt-topic --help' for more information."
  done
  run --separate-stderr "$TOPIC" partition-of foobar --partitions 0
  [ "$status" -eq 64 ]
  run --separate-stderr "$TOPIC" partition-of foobar
  [ "$status" -eq 64 ]
  assert_eq "${stderr_lines[0]}" "evt-topic: error: --partitions is required"
  # nothing was created by the failed attempts
  run "$TOPIC" list
  [[ "$output" != *x* ]]
}

@test "bad topic names are usage errors" {
  run --separate-stderr "$TOPIC" create 'bad name'
  [ "$status" -eq 64 ]
  assert_eq "${stderr_lines[0]}" "evt-topic: error: topic name 'bad name' may only contain letters, digits, '.', '_' and '-'"
  run --separate-stderr "$TOPIC" create ''
  [ "$status" -eq 64 ]
  assert_eq "${stderr_lines[0]}" "evt-topic: error: a topic name cannot be empty"
}

@test "partition-of matches Kafka's published murmur2 vectors" {
  # Kafka's Java client: murmur2("21") = -973932308, ("foobar") = -790332482,
  # ("a-little-bit-long-string") = -985981536, ("abc") = 479470107, ("") = 275646681;
  # partition = (h & 0x7fffffff) % n.
  check() {
    local key=$1 h=$2 n
    for n in 1 2 3 7 10 256; do
      want=$(( (h & 0x7fffffff) % n ))
      got=$("$TOPIC" partition-of "$key" --partitions "$n")
      assert_eq "$got" "$want" || { echo "key '$key' n=$n" >&2; return 1; }
    done
  }
  check "21" -973932308
  check "foobar" -790332482
  check "a-little-bit-long-string" -985981536
  check "abc" 479470107
  check "" 275646681
  # the short flag, and the documented example
  assert_eq "$("$TOPIC" partition-of foobar -P 3)" 0
  assert_eq "$("$TOPIC" partition-of foobar -P 10)" 6
}

@test "partition-of agrees with an independent murmur2 on many keys (including multi-byte UTF-8)" {
  for key in order-1 order-42 order-4711 customer-7 "ümlaut-ß" "日本語キー" x xy xyz wxyz "with space"; do
    for n in 3 16; do
      assert_eq "$("$TOPIC" partition-of "$key" -P "$n")" "$(kafka_partition "$key" "$n")" || { echo "key '$key' n=$n" >&2; return 1; }
    done
  done
}

@test "partition-of needs no log" {
  EVT_LOG="$T/does-not-exist" run --separate-stderr "$TOPIC" partition-of abc -P 7
  [ "$status" -eq 0 ]
  assert_eq "$output" 4
  [ ! -e "$T/does-not-exist" ]
}

@test "list on a log that does not exist: text and json agree on the exit status" {
  EVT_LOG="$T/none" run --separate-stderr "$TOPIC" list
  text_status=$status
  EVT_LOG="$T/none" run --separate-stderr "$TOPIC" list --format json
  json_status=$status
  assert_eq "$text_status" "$json_status"
  [ ! -e "$T/none" ]
}

@test "list on an empty log prints nothing (text) and [] (json)" {
  "$TOPIC" create a 2>/dev/null
  "$TOPIC" delete a >/dev/null
  run --separate-stderr "$TOPIC" list
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  run --separate-stderr "$TOPIC" list --format json
  [ "$status" -eq 0 ]
  assert_eq "$(echo "$output" | jq -c .)" '[]'
}

@test "delete then create again: streams, idempotency ids and versions start fresh" {
  printf '{"type":"A","id":"x1","subject":"s"}\n{"type":"B","id":"x2","subject":"s"}\n' | "$APPEND" -t t --idempotent
  "$TOPIC" delete t 2>/dev/null
  printf '{"type":"C","id":"x1","subject":"s"}\n' | "$APPEND" -t t --idempotent --expect-version no-stream
  assert_eq "$("$REPLAY" -t t --stream s | jq -r '"\(.type)\(.evtversion)"')" "C1"
  assert_eq "$("$REPLAY" -t t --format '%o %k\n')" "0 s"
}
