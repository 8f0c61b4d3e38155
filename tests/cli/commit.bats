#!/usr/bin/env bats
# evt-commit (SPEC.md section 6, issue 3): commits for a group the events a
# pipeline finished: contiguous progress per partition in log mode, acks in
# queue mode; files and stdin; the summary; every error with its line number.

bats_require_minimum_version 1.5.0
load group_helpers

setup() {
  group_setup
  "$TOPIC" create orders --partitions 3 2>/dev/null
  keyed_events 30 | "$APPEND" -t orders  # partitions 0, 1, 2 get 11, 9, 10 events
  "$CONSUME" -t orders -g g --commit none > all.ndjson
}

teardown() { group_teardown; }

@test "log mode: consume --commit none | evt-commit commits everything it read, with a summary" {
  run --separate-stderr "$COMMIT" -g g < all.ndjson
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  assert_eq "$stderr" "evt-commit: 30 events read; offsets advanced by 30, 0 acked, 0 already settled"
  assert_eq "$(committed g)" "11 9 10"
  assert_eq "$("$CONSUME" -t orders -g g | wc -l)" 0
}

@test "a pipeline: evt-consume --commit none | jq | evt-commit, the filter passing events on untouched" {
  "$CONSUME" -t orders -g p --commit none | jq -c '.data.seen = true' | "$COMMIT" -g p -q
  assert_eq "$(committed p)" "11 9 10"
}

@test "log mode: only contiguous progress per partition is committed; a gap holds its partition back" {
  # partition 0: offsets 0-3 and 5-10 (4 missing); partitions 1 and 2 complete
  jq -c 'select(.evtpartition != 0 or .evtoffset != 4)' all.ndjson > gap.ndjson
  run --separate-stderr "$COMMIT" -g g gap.ndjson
  [ "$status" -eq 0 ]
  assert_eq "$stderr" "evt-commit: 29 events read; offsets advanced by 23, 0 acked, 0 already settled"
  assert_eq "$(committed g)" "4 9 10"
  # the missing event arrives later: the partition moves past everything seen up to now
  jq -c 'select(.evtpartition == 0 and .evtoffset >= 4)' all.ndjson > rest.ndjson
  "$COMMIT" -g g -q rest.ndjson
  assert_eq "$(committed g)" "11 9 10"
}

@test "log mode: events out of order within one input are committed once they are contiguous" {
  tac all.ndjson | "$COMMIT" -g g -q
  assert_eq "$(committed g)" "11 9 10"
}

@test "log mode: events below the committed offset are ignored; offsets never move back" {
  "$COMMIT" -g g -q all.ndjson
  run --separate-stderr "$COMMIT" -g g all.ndjson
  [ "$status" -eq 0 ]
  assert_eq "$stderr" "evt-commit: 30 events read; offsets advanced by 0, 0 acked, 0 already settled"
  assert_eq "$(committed g)" "11 9 10"
}

@test "FILE arguments are read in turn; '-' is stdin; -q prints no summary" {
  head -10 all.ndjson > a
  sed -n '21,30p' all.ndjson > c
  run --separate-stderr bash -c 'sed -n "11,20p" all.ndjson | "$1" -g g a - c' _ "$COMMIT"
  [ "$status" -eq 0 ]
  assert_eq "$stderr" "evt-commit: 30 events read; offsets advanced by 30, 0 acked, 0 already settled"
  run --separate-stderr "$COMMIT" -g g -q a
  [ "$status" -eq 0 ]
  [ -z "$stderr$output" ]
  run --separate-stderr "$COMMIT" -g g --quiet < /dev/null
  [ "$status" -eq 0 ]
  [ -z "$stderr$output" ]
}

@test "queue mode: evt-commit acks the events a --commit none member delivered; a second ack is already settled" {
  start_member q.out -t orders -g q --mode queue --commit none --follow
  wait_until 10 lines_at_least q.out 30
  assert_eq "$("$GROUP" describe q --format json | jq '[.partitions[].in_flight] | add')" 30
  run --separate-stderr "$COMMIT" -g q q.out
  [ "$status" -eq 0 ]
  assert_eq "$stderr" "evt-commit: 30 events read; offsets advanced by 0, 30 acked, 0 already settled"
  j=$("$GROUP" describe q --format json)
  assert_eq "$(jq -c '[.queue.acked, [.partitions[].committed], [.partitions[].in_flight]]' <<<"$j")" '[30,[11,9,10],[0,0,0]]'
  run --separate-stderr "$COMMIT" -g q q.out
  assert_eq "$stderr" "evt-commit: 30 events read; offsets advanced by 0, 0 acked, 30 already settled"
  # acked events are not delivered again, even after the visibility
  stop_member "${MEMBERS[0]}"
  assert_eq "$("$CONSUME" -t orders -g q --mode queue --visibility 1s | wc -l)" 0
}

@test "queue mode: acks out of order move the committed offset only past events that are done" {
  start_member q.out -t orders -g q --mode queue --commit none --follow
  wait_until 10 lines_at_least q.out 30
  jq -c 'select(.evtpartition == 1 and .evtoffset != 2)' q.out | "$COMMIT" -g q -q
  assert_eq "$(committed q)" "0 2 0"
  jq -c 'select(.evtpartition == 1 and .evtoffset == 2)' q.out | "$COMMIT" -g q -q
  assert_eq "$(committed q)" "0 9 0"
}

@test "errors: an event without positions exits 65 with its line number; what came before is committed" {
  { head -3 all.ndjson; echo '{"specversion":"1.0","id":"x","source":"/t","type":"T"}'; sed -n '4,30p' all.ndjson; } > in
  run --separate-stderr "$COMMIT" -g g < in
  [ "$status" -eq 65 ]
  assert_eq "$stderr" "evt-commit: error: line 4: the event carries no position (evttopic, evtpartition, evtoffset); was it printed with --no-position?"
  [ "$(committed g)" != "null null null" ]
  got=$("$GROUP" describe g --format json | jq '[.partitions[].committed // 0] | add')
  assert_eq "$got" "$(head -3 all.ndjson | jq -s '[group_by(.evtpartition)[] | select(.[0].evtoffset == 0) | length] | add')"
  # from a file, the message names it
  run --separate-stderr "$COMMIT" -g g in
  [ "$status" -eq 65 ]
  assert_eq "$stderr" "evt-commit: error: in: line 4: the event carries no position (evttopic, evtpartition, evtoffset); was it printed with --no-position?"
  # a replay with --no-position has none
  run --separate-stderr bash -c '"$1" -t orders --no-position | "$2" -g g' _ "$REPLAY" "$COMMIT"
  [ "$status" -eq 65 ]
  [[ "$stderr" == "evt-commit: error: line 1: the event carries no position"* ]]
}

@test "errors: a malformed line, or a partial position, exits 65 with its line number" {
  run --separate-stderr bash -c '{ head -1 all.ndjson; echo "not json"; } | "$1" -g g' _ "$COMMIT"
  [ "$status" -eq 65 ]
  assert_eq "$stderr" "evt-commit: error: line 2: malformed JSON"
  run --separate-stderr bash -c 'echo "{\"evttopic\":\"orders\",\"evtpartition\":1}" | "$1" -g g' _ "$COMMIT"
  [ "$status" -eq 65 ]
  [[ "$stderr" == "evt-commit: error: line 1: the event carries no position"* ]]
  run --separate-stderr bash -c 'echo "{\"evttopic\":\"orders\",\"evtpartition\":-1,\"evtoffset\":0}" | "$1" -g g' _ "$COMMIT"
  [ "$status" -eq 65 ]
}

@test "errors: an unknown group exits 66; a missing FILE exits 66" {
  run --separate-stderr "$COMMIT" -g nope < all.ndjson
  [ "$status" -eq 66 ]
  assert_eq "$stderr" "evt-commit: error: no such group 'nope'"
  run --separate-stderr "$COMMIT" -g g missing.ndjson
  [ "$status" -eq 66 ]
  assert_eq "$stderr" "evt-commit: error: missing.ndjson: No such file or directory"
  assert_eq "$(committed g)" "null null null"
}

@test "errors: an event of another topic exits 64 with its line number" {
  "$APPEND" -t other < <(events 1)
  run --separate-stderr bash -c '"$1" -t other | "$2" -g g' _ "$REPLAY" "$COMMIT"
  [ "$status" -eq 64 ]
  assert_eq "${stderr_lines[0]}" "evt-commit: error: line 1: an event of topic 'other', but group 'g' consumes 'orders'"
}

@test "errors: no -g, an unknown flag exit 64 with a pointer to --help" {
  run --separate-stderr "$COMMIT" < all.ndjson
  [ "$status" -eq 64 ]
  [[ "${stderr_lines[0]}" == "evt-commit: error: "*"--group"* ]]
  assert_eq "${stderr_lines[-1]}" "Try 'evt-commit --help' for more information."
}
