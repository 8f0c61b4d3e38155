#!/usr/bin/env bats
# The Kafka backend (-L kafka://...) against librdkafka's mock cluster, started
# per test (kafka_helpers.bash), and kcat on the same cluster. Every command
# runs under `timeout`, so a hang fails the test instead of stalling it.
# EVT_TEST_KAFKA=host:port bats tests/cli/kafka*.bats runs the same file
# against a real broker.

bats_require_minimum_version 1.5.0
load helpers
load kafka_helpers

setup() {
  evt_setup
  CONSUME="$EVT_BIN/evt-consume"
  GROUP="$EVT_BIN/evt-group"
  COMMIT="$EVT_BIN/evt-commit"
  kafka_start
}

teardown() {
  kafka_stop
}

@test "100,000 events to 3 partitions come back complete, on the partition evt-topic partition-of and kcat choose" {
  ktopic orders 3
  python3 "$GEN" -n 100000 -s 7 -o in.ndjson 2>/dev/null
  run --separate-stderr timeout 120 "$APPEND" -L "$KLOG" -t orders in.ndjson
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  timeout 120 "$REPLAY" -L "$KLOG" -t orders > out.ndjson
  assert_eq "$(wc -l < out.ndjson)" 100000
  # the same events, byte for byte, once each
  jq -c 'del(.evttopic, .evtpartition, .evtoffset, .evttime)' out.ndjson | sort > got
  sort in.ndjson > want
  cmp got want
  # each subject on the partition of Kafka's Java partitioner, and of evt-topic partition-of
  jq -r '"\(.subject) \(.evtpartition)"' out.ndjson | sort -u > placed
  assert_eq "$(cut -d' ' -f1 placed | sort -u | wc -l)" "$(wc -l < placed)"  # one partition per key
  cut -d' ' -f1 placed | kafka_partition - 3 | sort > java
  cmp placed java
  local key
  for key in $(cut -d' ' -f1 placed | head -5); do
    assert_eq "$("$TOPIC" partition-of "$key" --partitions 3)" "$(grep "^$key " placed | cut -d' ' -f2)"
  done
  # kcat with murmur2_random puts the same keys on the same partitions
  ktopic bykcat 3
  cut -d' ' -f1 placed | sed 's/.*/&:{}/' | timeout 30 kcat -b "$BS" -P -t bykcat -K: -X partitioner=murmur2_random
  timeout 30 kcat -b "$BS" -C -t bykcat -e -q -f '%k %p\n' | sort > kcat_placed
  cmp placed kcat_placed
}

@test "evt-replay | evt-append -L kafka:// and back to a local log is byte-identical, in both binding modes" {
  python3 "$GEN" -n 5000 -s 3 -o in.ndjson 2>/dev/null
  "$APPEND" -L "$T/src" -t t -P 3 < in.ndjson
  "$REPLAY" -L "$T/src" -t t --no-position > src.ndjson
  local mode
  for mode in structured binary; do
    ktopic "rt-$mode" 3
    run --separate-stderr timeout 60 bash -c '"$1" -L "$2" -t t | "$3" -L "$4" -t "rt-$5" --binding "$5"' _ \
      "$REPLAY" "$T/src" "$APPEND" "$KLOG" "$mode"
    [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
    [ -z "$stderr" ] || { echo "$mode: $stderr" >&2; return 1; }  # no event fell back to structured mode
    timeout 60 "$REPLAY" -L "$KLOG" -t "rt-$mode" | "$APPEND" -L "$T/back-$mode" -t t -P 3
    "$REPLAY" -L "$T/back-$mode" -t t --no-position > back.ndjson
    sort src.ndjson > a
    sort back.ndjson > b
    cmp a b
  done
  # binary mode really is binary: data as the value, attributes as ce_ headers
  timeout 30 kcat -b "$BS" -C -t rt-binary -e -q -c 1 -f '%h\n%s\n' > rec
  grep -q '^ce_specversion=1.0,ce_id=' rec
  grep -q 'content-type=application/json' rec
  [[ "$(sed -n 2p rec)" == '{"order_id":'* ]]
  timeout 30 kcat -b "$BS" -C -t rt-structured -e -q -c 1 -f '%h\n' | grep -qx 'content-type=application/cloudevents+json; charset=UTF-8'
}

@test "records kcat produced in binary mode read back as valid CloudEvents; plain values are refused with their position" {
  ktopic kb 1
  echo '{"sku":"A-1","qty":2}' | timeout 30 kcat -b "$BS" -P -t kb -k sku-1 -H ce_specversion=1.0 -H ce_id=k1 \
    -H ce_source=/kcat -H ce_type=StockReserved -H content-type=application/json
  echo 'hello' | timeout 30 kcat -b "$BS" -P -t kb -H ce_specversion=1.0 -H ce_id=k2 -H ce_source=/kcat \
    -H ce_type=Greeted -H content-type=text/plain
  run --separate-stderr timeout 30 "$REPLAY" -L "$KLOG" -t kb --no-position
  [ "$status" -eq 0 ]
  assert_eq "${lines[0]}" '{"specversion":"1.0","id":"k1","source":"/kcat","type":"StockReserved","datacontenttype":"application/json","data":{"sku":"A-1","qty":2}}'
  assert_eq "${lines[1]}" '{"specversion":"1.0","id":"k2","source":"/kcat","type":"Greeted","datacontenttype":"text/plain","data":"hello"}'
  # what evt-append (the CloudEvents validator) takes as is
  printf '%s\n' "${lines[@]}" | "$APPEND" -L "$T/local" -t kb --require-id
  assert_eq "$(count_events kb -L "$T/local")" 2
  # the key travels as the Kafka key
  assert_eq "$(timeout 30 "$REPLAY" -L "$KLOG" -t kb -n 1 --format '%k %p %o')" "sku-1 0 0"
  echo 'not an event' | timeout 30 kcat -b "$BS" -P -t kb
  run --separate-stderr timeout 30 "$REPLAY" -L "$KLOG" -t kb --no-position
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"evt-replay: error: kb/0/2: not a CloudEvent"* ]]
  assert_eq "${#lines[@]}" 2  # what came before it was printed
}

@test "replay: --from/--to offsets, -N, -p, -n, --type and %h on Kafka" {
  ktopic r 2
  for i in $(seq 0 19); do
    printf '{"type":"%s","subject":"s%d","id":"e%d"}\n' "$([ $((i % 2)) -eq 0 ] && echo OrderPlaced || echo OrderShipped)" $((i % 4)) "$i"
  done > in.ndjson
  timeout 30 "$APPEND" -L "$KLOG" -t r in.ndjson
  assert_eq "$(timeout 30 "$REPLAY" -L "$KLOG" -t r | wc -l)" 20
  assert_eq "$(timeout 30 "$REPLAY" -L "$KLOG" -t r --type 'OrderS*' | jq -r .type | sort -u)" OrderShipped
  assert_eq "$(timeout 30 "$REPLAY" -L "$KLOG" -t r --type 'OrderS*' | wc -l)" 10
  assert_eq "$(timeout 30 "$REPLAY" -L "$KLOG" -t r -n 3 | wc -l)" 3
  assert_eq "$(timeout 30 "$REPLAY" -L "$KLOG" -t r --from -4 | wc -l)" 4
  assert_eq "$(timeout 30 "$REPLAY" -L "$KLOG" -t r --from -4 --by-partition | wc -l)" 8
  local p0
  p0=$(timeout 30 "$REPLAY" -L "$KLOG" -t r -p 0 | wc -l)
  assert_eq "$(timeout 30 "$REPLAY" -L "$KLOG" -t r -p 0 --from 2 --to 4 --format '%p:%o ')" "0:2 0:3 "
  assert_eq "$(( p0 + $(timeout 30 "$REPLAY" -L "$KLOG" -t r -p 1 | wc -l) ))" 20
  timeout 30 "$REPLAY" -L "$KLOG" -t r -n 1 --format '%h' | grep -qx 'content-type=application/cloudevents+json; charset=UTF-8'
  run --separate-stderr timeout 30 "$REPLAY" -L "$KLOG" -t r -p 5
  [ "$status" -eq 64 ]
}

@test "replay --follow sees new events and exits on SIGTERM" {
  ktopic f 2
  timeout 30 "$REPLAY" -L "$KLOG" -t f --follow > follow.out 2>follow.err &
  local pid=$!
  sleep 2
  printf '{"type":"A","subject":"x"}\n{"type":"B","subject":"y"}\n' | timeout 30 "$APPEND" -L "$KLOG" -t f
  local i
  for i in $(seq 100); do [ "$(wc -l < follow.out)" -ge 2 ] && break; sleep 0.1; done
  kill -TERM "$pid"
  wait "$pid" || true
  assert_eq "$(wc -l < follow.out)" 2
}

@test "unreachable broker: exit 69 within 10 s; unknown topic: 66" {
  local start=$SECONDS
  run --separate-stderr timeout 30 "$REPLAY" -L kafka://127.0.0.1:1 -t x
  [ "$status" -eq 69 ]
  [ $((SECONDS - start)) -le 12 ]
  [[ "$stderr" == "evt-replay: error: kafka://127.0.0.1:1: no answer from the Kafka brokers"* ]]
  start=$SECONDS
  run --separate-stderr timeout 30 "$APPEND" -L kafka://127.0.0.1:1 -t x <<< '{"type":"A"}'
  [ "$status" -eq 69 ]
  [ $((SECONDS - start)) -le 12 ]
  run --separate-stderr timeout 30 "$REPLAY" -L "$KLOG" -t nosuch
  [ "$status" -eq 66 ]
  assert_eq "$stderr" "evt-replay: error: no such topic 'nosuch' on $KLOG"
  run --separate-stderr timeout 30 "$CONSUME" -L "$KLOG" -t nosuch -g g
  [ "$status" -eq 66 ]
  # a shorter timeout is a setting
  start=$SECONDS
  run --separate-stderr timeout 30 "$REPLAY" -L kafka://127.0.0.1:1 -X evt.timeout=2s -t x
  [ "$status" -eq 69 ]
  [ $((SECONDS - start)) -le 4 ]
}

@test "injected produce errors: a non-zero exit, and the acknowledged count is what kcat reads back" {
  ktopic inj 1
  python3 "$GEN" -n 20000 -s 5 -o in.ndjson 2>/dev/null
  # the first batches go through, then every Produce request fails (MSG_SIZE_TOO_LARGE, not retriable)
  head -5000 in.ndjson | timeout 60 "$APPEND" -L "$KLOG" -t inj
  kmock errors 0 100000 10
  run --separate-stderr timeout 120 "$APPEND" -L "$KLOG" -t inj in.ndjson
  [ "$status" -ne 0 ]
  [[ "$stderr" =~ ([0-9]+)\ events?\ acknowledged\ by\ Kafka\ in\ all ]] || { echo "$stderr" >&2; return 1; }
  local acked=${BASH_REMATCH[1]}
  local read
  read=$(timeout 30 kcat -b "$BS" -C -t inj -e -q -f '%o\n' | wc -l)
  assert_eq "$read" "$((5000 + acked))"
}

@test "features Kafka lacks are refused with exit 69, one line naming the feature and the backend" {
  ktopic t 1
  run --separate-stderr timeout 30 "$APPEND" -L "$KLOG" -t t --expect-version 0 <<< '{"type":"A","subject":"s"}'
  [ "$status" -eq 69 ]
  assert_eq "$stderr" "evt-append: error: --expect-version needs the embedded log; Kafka has no conditional append"
  run --separate-stderr timeout 30 "$APPEND" -L "$KLOG" -t t --idempotent <<< '{"type":"A"}'
  [ "$status" -eq 69 ]
  [[ "$stderr" == "evt-append: error: --idempotent needs the embedded log; "* ]]
  run --separate-stderr timeout 30 "$REPLAY" -L "$KLOG" -t t --stream s
  [ "$status" -eq 69 ]
  [[ "$stderr" == "evt-replay: error: --stream needs the embedded log; Kafka has no per-subject index"* ]]
  run --separate-stderr timeout 30 "$CONSUME" -L "$KLOG" -t t -g q --mode queue
  [ "$status" -eq 69 ]
  [[ "$stderr" == "evt-consume: error: --mode queue needs the embedded log; "* ]]
  # nothing was written by the refused appends
  assert_eq "$(timeout 30 "$REPLAY" -L "$KLOG" -t t | wc -l)" 0
}

@test "--atomic is one Kafka transaction: all events or none" {
  ktopic tx 2
  python3 "$GEN" -n 1000 -s 2 -o in.ndjson 2>/dev/null
  run --separate-stderr timeout 60 "$APPEND" -L "$KLOG" -t tx --atomic in.ndjson
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  assert_eq "$(timeout 30 "$REPLAY" -L "$KLOG" -t tx | wc -l)" 1000
  { head -10 in.ndjson; echo '{"no":"type"}'; } > bad.ndjson
  run --separate-stderr timeout 60 "$APPEND" -L "$KLOG" -t tx --atomic bad.ndjson
  [ "$status" -eq 65 ]
  assert_eq "$(timeout 30 "$REPLAY" -L "$KLOG" -t tx | wc -l)" 1000
}

@test "--echo prints what the broker acknowledged, with its partition and offset" {
  ktopic e 3
  printf '{"type":"A","subject":"k1"}\n{"type":"A","subject":"k2"}\n{"type":"A","subject":"k1"}\n' > in.ndjson
  timeout 30 "$APPEND" -L "$KLOG" -t e --echo in.ndjson > echoed
  assert_eq "$(wc -l < echoed)" 3
  timeout 30 "$REPLAY" -L "$KLOG" -t e --by-partition | jq -c '[.id, .evtpartition, .evtoffset]' | sort > stored
  jq -c '[.id, .evtpartition, .evtoffset]' echoed | sort > said
  cmp stored said
  assert_eq "$(jq -r .evtpartition echoed | head -1)" "$(kafka_partition k1 3)"
  # many batches in flight at once: still every event, in input order, each once
  python3 "$GEN" -n 20000 -s 9 -o many.ndjson 2>/dev/null
  timeout 60 "$APPEND" -L "$KLOG" -t e --echo many.ndjson > echoed
  assert_eq "$(jq -r .id echoed | tr -d '\n' | md5sum)" "$(jq -r .id many.ndjson | tr -d '\n' | md5sum)"
  assert_eq "$(jq -r '"\(.evtpartition)/\(.evtoffset)"' echoed | sort -u | wc -l)" 20000
}

@test "topics: list and describe from metadata and watermarks; partition-of needs no broker" {
  ktopic alpha 2
  ktopic beta 1
  printf '{"type":"A","subject":"k%d"}\n' 1 2 3 4 5 | timeout 30 "$APPEND" -L "$KLOG" -t alpha
  run --separate-stderr timeout 30 "$TOPIC" -L "$KLOG" list
  [ "$status" -eq 0 ]
  assert_eq "$output" $'alpha\nbeta'
  run --separate-stderr timeout 30 "$TOPIC" -L "$KLOG" describe alpha --format json
  [ "$status" -eq 0 ]
  assert_eq "$(jq .events <<< "$output")" 5
  assert_eq "$(jq '.partition_detail | length' <<< "$output")" 2
  run --separate-stderr timeout 30 "$TOPIC" -L "$KLOG" describe nosuch
  [ "$status" -eq 66 ]
}

@test "topic admin the mock lacks ends within the timeout with one line, never a hang" {
  [ -z "$KREAL" ] || skip "the mock's limits"
  local start=$SECONDS
  run --separate-stderr timeout 60 "$TOPIC" -L "$KLOG" -X evt.timeout=2s create fresh --partitions 2
  [ "$status" -eq 75 ] || [ "$status" -eq 69 ]
  [ $((SECONDS - start)) -le 10 ]
  assert_eq "$(wc -l <<< "$stderr")" 1
  [[ "$stderr" == "evt-topic: error: "*CreateTopics* ]]
}

@test "settings: -X and a properties file reach librdkafka; a bad one is a usage error that never shows its value" {
  ktopic s 1
  printf '# client settings\nclient.id = evt-test\n' > client.properties
  run --separate-stderr timeout 30 "$APPEND" -L "$KLOG" --kafka-config client.properties -X linger.ms=1 -t s <<< '{"type":"A"}'
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  run --separate-stderr timeout 30 "$REPLAY" -L "$KLOG" -X sasl.password=hunter2-secret -X no.such.setting=1 -t s
  [ "$status" -eq 64 ]
  [[ "$stderr" == *"no.such.setting"* ]]
  [[ "$stderr" != *hunter2* ]]
  run --separate-stderr timeout 30 "$REPLAY" -L "$KLOG" -X ssl.key.password=hunter2-secret -X linger.ms=notanumber -t s
  [ "$status" -eq 64 ]
  [[ "$stderr" != *hunter2* ]]
  EVT_KAFKA_CONFIG=client.properties run --separate-stderr timeout 30 "$REPLAY" -L "$KLOG" -t s
  [ "$status" -eq 0 ]
  run --separate-stderr "$REPLAY" -L "$T/local" -X linger.ms=1 -t s
  [ "$status" -eq 64 ]
}

@test "a tombstone (evttombstone, data null) is a null-value record, as Kafka's compaction needs, and reads back" {
  ktopic ts 1
  local t='{"specversion":"1.0","id":"d1","source":"/s","type":"CustomerErased","subject":"c-1","time":"2026-12-01T00:00:00Z","evttombstone":true,"data":null}'
  local mode
  for mode in structured binary; do
    timeout 30 "$APPEND" -L "$KLOG" -t ts --binding $mode <<< "$t"
  done
  assert_eq "$(timeout 30 kcat -b "$BS" -C -t ts -e -q -f '%k %S\n')" $'c-1 -1\nc-1 -1'  # -1: a null value
  run --separate-stderr timeout 30 "$REPLAY" -L "$KLOG" -t ts --no-position
  [ "$status" -eq 0 ]
  assert_eq "$output" "$t"$'\n'"$t"
}
