#!/usr/bin/env bats
# Retention and compaction from the command line (issue 9): a compacted topic
# replays the latest event per key; tombstones delete keys after
# --tombstone-retention; time retention moves the log start offset (EVT_NOW
# injects the clock); a consumer group whose committed offset fell off the
# start is warned and continues, or fails with --on-lost fail; evt-topic and
# evt-group describe show the start.

bats_require_minimum_version 1.5.0
load helpers

setup() {
  evt_setup
  CHECK="$EVT_BIN/evt-check"
  CONSUME="$EVT_BIN/evt-consume"
  GROUP="$EVT_BIN/evt-group"
}

# price ID KEY VALUE (VALUE "null" makes a tombstone)
price() {
  if [ "$3" = null ]; then
    printf '{"id":"%s","source":"/shop","type":"PriceSet","partitionkey":"%s","data":null,"evttombstone":true}\n' "$1" "$2"
  else
    printf '{"id":"%s","source":"/shop","type":"PriceSet","partitionkey":"%s","data":{"cents":%s}}\n' "$1" "$2" "$3"
  fi
}

# clicks FROM TO: click events with ids c-FROM..c-TO, one subject
clicks() {
  seq "$1" "$2" | awk '{ printf "{\"id\":\"c-%d\",\"source\":\"/web\",\"type\":\"Clicked\",\"subject\":\"user-1\"}\n", $1 }'
}

@test "a compacted topic replays the latest event per key, in offset order, and describes itself" {
  "$TOPIC" create prices --partitions 2 --compact --tombstone-retention 1h 2>/dev/null
  { price p1 apple 100; price p2 pear 200; price p3 apple 110; price p4 plum 300; price p5 pear 210; } | "$APPEND" -t prices
  got=$("$REPLAY" -t prices --no-position | jq -r '"\(.partitionkey)=\(.data.cents)"' | sort | tr '\n' ' ')
  assert_eq "$got" "apple=110 pear=210 plum=300 "
  # per partition, in offset order: offsets only grow
  "$REPLAY" -t prices --by-partition --format '%p %o\n' > offs
  sort -k1,1n -k2,2n -c offs
  run --separate-stderr "$TOPIC" describe prices
  [[ "$output" == *"Retention: forever  compacted (tombstones kept 1h)"* ]]
  assert_eq "$("$TOPIC" describe prices --format json | jq -c '[.events, .compact, .tombstone_retention_ms]')" "[3,true,3600000]"
  run "$CHECK"
  [ "$status" -eq 0 ]
}

@test "a tombstone deletes its key's value at once, and itself after --tombstone-retention" {
  "$TOPIC" create prices --compact --tombstone-retention 1h 2>/dev/null
  { price p1 apple 100; price p2 pear 200; } | EVT_NOW=2030-01-01T00:00:00Z "$APPEND" -t prices
  price p3 apple null | EVT_NOW=2030-01-01T00:10:00Z "$APPEND" -t prices
  assert_eq "$("$REPLAY" -t prices --no-position | jq -c '[.id, .data]' | tr '\n' ' ')" '["p2",{"cents":200}] ["p3",null] '
  # an hour later the tombstone goes too (it is not the partition's last record)
  price p4 plum 300 | EVT_NOW=2030-01-01T01:20:00Z "$APPEND" -t prices
  assert_eq "$("$REPLAY" -t prices --no-position | jq -r .id | tr '\n' ' ')" "p2 p4 "
  run "$CHECK"
  [ "$status" -eq 0 ]
}

@test "--tombstone-retention needs --compact (64)" {
  run --separate-stderr "$TOPIC" create t --tombstone-retention 1h
  [ "$status" -eq 64 ]
  [[ "$stderr" == *"--tombstone-retention needs --compact"* ]]
}

@test "time retention moves the start offset; replay and stream reads start there; evt-check is clean" {
  "$TOPIC" create clicks --retention 1h 2>/dev/null
  clicks 1 100 | EVT_NOW=2030-01-01T00:00:00Z "$APPEND" -t clicks
  clicks 101 300 | EVT_NOW=2030-01-01T02:00:00Z "$APPEND" -t clicks
  # the second append removed every expired record (its budget, 2 x 200 + 64, covers them)
  assert_eq "$("$TOPIC" describe clicks --format json | jq -c '.partition_detail[0] | [.start, .end, .events]')" "[100,300,200]"
  assert_eq "$("$REPLAY" -t clicks --no-position | head -1 | jq -r .id)" "c-101"
  # the stream is read from its first event still there; versions keep counting
  assert_eq "$("$REPLAY" -t clicks --stream user-1 | head -1 | jq -c '[.id, .evtversion]')" '["c-101",101]'
  assert_eq "$("$REPLAY" -t clicks --stream user-1 | wc -l)" 200
  run --separate-stderr "$CHECK"
  [ "$status" -eq 0 ]
}

@test "a group whose committed offset fell off the start is warned and goes on; --on-lost fail exits 66" {
  "$TOPIC" create clicks --retention 1h 2>/dev/null
  clicks 1 100 | EVT_NOW=2030-01-01T00:00:00Z "$APPEND" -t clicks
  "$CONSUME" -t clicks -g slow -n 10 > /dev/null
  "$CONSUME" -t clicks -g strict -n 10 > /dev/null
  clicks 101 300 | EVT_NOW=2030-01-01T02:00:00Z "$APPEND" -t clicks
  # describe shows the start and what was lost
  run --separate-stderr "$GROUP" describe slow
  [[ "${lines[1]}" == *"COMMITTED  LOG START  LOG END  LAG  LOST"* ]]
  assert_eq "$("$GROUP" describe slow --format json | jq -c '.partitions[0] | [.committed, .log_start, .log_end, .lag, .lost]')" "[10,100,300,200,90]"
  run --separate-stderr "$CONSUME" -t clicks -g slow -n 2
  [ "$status" -eq 0 ]
  assert_eq "$(jq -r .id <<<"$output" | tr '\n' ' ')" "c-101 c-102 "
  [[ "$stderr" == *"evt-consume: warning: group 'slow', topic 'clicks' partition 0: events 10..99 were removed by retention before this group read them; continuing at the log start offset 100"* ]]
  run --separate-stderr "$CONSUME" -t clicks -g strict -n 2 --on-lost fail
  [ "$status" -eq 66 ]
  [ -z "$output" ]
  [[ "$stderr" == *"events 10..99 were removed by retention"*"(--on-lost fail)"* ]]
  # nothing was committed for the strict group
  assert_eq "$("$GROUP" describe strict --format json | jq '.partitions[0].committed')" 10
}

@test "consumers read across a compacted topic's gaps" {
  "$TOPIC" create prices --compact 2>/dev/null
  { price p1 a 1; price p2 b 2; price p3 a 3; price p4 c 4; price p5 b 5; price p6 d 6; } | "$APPEND" -t prices
  run --separate-stderr "$CONSUME" -t prices -g g
  [ "$status" -eq 0 ]
  assert_eq "$(jq -r .id <<<"$output" | tr '\n' ' ')" "p3 p4 p5 p6 "
}

@test "size retention keeps a partition near --retention-bytes" {
  "$TOPIC" create logs --retention-bytes 64KiB 2>/dev/null
  python3 "$GEN" -n 5000 -s 9 | "$APPEND" -t logs
  bytes=$("$TOPIC" describe logs --format json | jq '.partition_detail[0].disk_bytes')
  [ "$bytes" -le $((64 * 1024 + 16384)) ]
  [ "$("$TOPIC" describe logs --format json | jq '.partition_detail[0].start')" -gt 0 ]
  run "$CHECK"
  [ "$status" -eq 0 ]
}
