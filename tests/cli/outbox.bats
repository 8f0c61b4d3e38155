#!/usr/bin/env bats
# evt-outbox with SQLite (the embedded default): init, relay, --delete,
# --once, --map, the relay lock, bad rows and the exit codes of SPEC.md.

bats_require_minimum_version 1.5.0
load helpers
load outbox_helpers

setup() {
  outbox_setup
  DB="sqlite:$T/app.db"
}

insert() {  # insert AGGREGATE TYPE PAYLOAD_SQL
  sqlite3 "$T/app.db" "INSERT INTO outbox (aggregatetype, aggregateid, type, payload) VALUES ('order', '$1', '$2', $3)"
}

@test "init creates the table and its partial index; running it again changes nothing; --print shows the DDL" {
  run --separate-stderr "$OUTBOX" init --db "$DB"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"table outbox is ready"* ]]
  sqlite3 "$T/app.db" .schema > "$T/schema1"
  grep -q 'CREATE TABLE outbox' "$T/schema1"
  grep -q 'CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL' "$T/schema1"
  assert_eq "$(sqlite3 "$T/app.db" 'PRAGMA journal_mode')" wal
  "$OUTBOX" init --db "$DB"
  sqlite3 "$T/app.db" .schema > "$T/schema2"
  cmp "$T/schema1" "$T/schema2"
  run --separate-stderr "$OUTBOX" init --db sqlite:none.db --print
  [ "$status" -eq 0 ]
  [[ "$output" == *"CREATE TABLE IF NOT EXISTS outbox"* ]]
  [ ! -e none.db ]
  run --separate-stderr "$OUTBOX" init --db postgresql://u@127.0.0.1:1/x --print --table app.outbox
  [ "$status" -eq 0 ]
  [[ "$output" == *"CREATE OR REPLACE TRIGGER outbox_notify AFTER INSERT ON app.outbox"* ]]
  [[ "$output" == *"pg_notify('evt_outbox_app_outbox', '')"* ]]
}

@test "rows become CloudEvents in seq order, keyed and streamed by aggregateid, then marked published" {
  "$OUTBOX" init --db "$DB"
  insert o-1 OrderPlaced "'{\"total\": 5}'"
  insert o-2 OrderPlaced NULL
  insert o-1 OrderPaid "'{\"paid\":true}'"
  run --separate-stderr "$OUTBOX" --db "$DB" -t orders -P 4 --source /shop
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"relayed 3 rows to orders (3 new, 0 already in the log)"* ]]
  assert_eq "$(sqlite3 "$T/app.db" 'SELECT count(*) FROM outbox WHERE published_at IS NULL')" 0
  "$REPLAY" -t orders --stream o-1 --no-position | jq -r '[.type, .subject, .partitionkey, .source, .aggregatetype, .datacontenttype] | join(" ")' > got
  printf '%s\n' "OrderPlaced o-1 o-1 /shop order application/json" "OrderPaid o-1 o-1 /shop order application/json" > want
  diff want got
  # the id is the row's id; data is the payload; no payload, no data
  assert_eq "$("$REPLAY" -t orders --stream o-1 --no-position | jq -r .id | head -1)" "$(sqlite3 "$T/app.db" 'SELECT id FROM outbox WHERE seq = 1')"
  assert_eq "$("$REPLAY" -t orders --stream o-1 --no-position | jq -c .data | head -1)" '{"total":5}'
  assert_eq "$("$REPLAY" -t orders --stream o-2 --no-position | jq -c 'has("data")')" false
  # one aggregate, one partition (Kafka's partitioner on the aggregateid)
  assert_eq "$("$REPLAY" -t orders --stream o-1 | jq -r .evtpartition | sort -u)" "$(kafka_partition o-1 4)"
  # nothing left: a second run relays nothing
  run --separate-stderr "$OUTBOX" --db "$DB" -t orders
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"relayed 0 rows"* ]]
  assert_eq "$(count_events orders)" 3
}

@test "a row marked unpublished again (a crash before the mark) is skipped by the idempotent append" {
  "$OUTBOX" init --db "$DB"
  for i in 1 2 3; do insert "o-$i" Placed "'{}'"; done
  "$OUTBOX" --db "$DB" -t orders
  sqlite3 "$T/app.db" 'UPDATE outbox SET published_at = NULL'
  insert o-4 Placed "'{}'"
  run --separate-stderr "$OUTBOX" --db "$DB" -t orders
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"relayed 4 rows to orders (1 new, 3 already in the log)"* ]]
  assert_eq "$(count_events orders)" 4
}

@test "--delete removes relayed rows; --once relays one batch; --map sends a column as an attribute" {
  "$OUTBOX" init --db "$DB"
  sqlite3 "$T/app.db" 'ALTER TABLE outbox ADD COLUMN trace TEXT'
  for i in 1 2 3 4 5; do
    sqlite3 "$T/app.db" "INSERT INTO outbox (aggregatetype, aggregateid, type, payload, trace) VALUES ('order', 'o', 'Step', '{\"i\": $i}', 't$i')"
  done
  run --separate-stderr "$OUTBOX" --db "$DB" -t orders --once --batch 2 --delete --map trace=traceparent
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"relayed 2 rows"* ]]
  assert_eq "$(sqlite3 "$T/app.db" 'SELECT count(*) FROM outbox')" 3
  assert_eq "$("$REPLAY" -t orders --no-position | jq -r '"\(.data.i) \(.traceparent)"' | tr '\n' ,)" "1 t1,2 t2,"
  run --separate-stderr "$OUTBOX" --db "$DB" -t orders --map 'trace=Bad-Name'
  [ "$status" -eq 64 ]
  run --separate-stderr "$OUTBOX" --db "$DB" -t orders --map 'nosuchcol=x'
  [ "$status" -eq 66 ]
  [[ "$stderr" == *"no such column"* ]]
}

@test "a row that cannot be an event stops the relay with 65, naming it, after the rows before it" {
  "$OUTBOX" init --db "$DB"
  insert o A "'{}'"
  insert o B "'{not json'"
  insert o C "'{}'"
  run --separate-stderr "$OUTBOX" --db "$DB" -t orders
  [ "$status" -eq 65 ]
  [[ "$stderr" == "evt-outbox: error: row seq=2 id="*"(1 rows before it were relayed)"* ]]
  assert_eq "$("$REPLAY" -t orders --no-position | jq -r .type)" A
  assert_eq "$(sqlite3 "$T/app.db" 'SELECT count(*) FROM outbox WHERE published_at IS NULL')" 2
}

@test "usage and not-found errors: 64 and 66" {
  run --separate-stderr "$OUTBOX" --db "$DB"
  [ "$status" -eq 64 ]
  [[ "$stderr" == *"-t/--topic is required"* ]]
  run --separate-stderr "$OUTBOX" -t x
  [ "$status" -eq 64 ]
  run --separate-stderr "$OUTBOX" --db mysql://h/x -t x
  [ "$status" -eq 64 ]
  [[ "$stderr" == *"expected sqlite:PATH or postgresql://"* ]]
  run --separate-stderr "$OUTBOX" --db "$DB" -t x --table 'outbox;drop'
  [ "$status" -eq 64 ]
  run --separate-stderr "$OUTBOX" --db "$DB" -t x --batch 0
  [ "$status" -eq 64 ]
  run --separate-stderr "$OUTBOX" --db "$DB" -t x
  [ "$status" -eq 66 ]
  [[ "$stderr" == *"no such SQLite database"* ]]
  sqlite3 "$T/app.db" 'CREATE TABLE other (x)'
  run --separate-stderr "$OUTBOX" --db "$DB" -t x
  [ "$status" -eq 66 ]
  [[ "$stderr" == *"no such table: outbox"*"evt-outbox init"* ]]
}

@test "a second relay stands by while the first holds the relay lock, then takes over" {
  "$OUTBOX" init --db "$DB"
  insert o-1 A "'{}'"
  "$OUTBOX" --db "$DB" -t orders --follow --poll 50ms 2> first.err &
  local first=$!
  for _ in $(seq 50); do [ "$(count_events orders 2>/dev/null || echo 0)" -eq 1 ] && break; sleep 0.1; done
  "$OUTBOX" --db "$DB" -t orders 2> second.err &
  local second=$!
  for _ in $(seq 100); do grep -q "another relay holds the lock of outbox" second.err && break; sleep 0.05; done
  grep -q "another relay holds the lock of outbox" second.err
  kill -0 "$second"  # still waiting
  insert o-1 B "'{}'"
  kill -TERM "$first"
  wait "$first"
  wait "$second"
  assert_eq "$("$REPLAY" -t orders --no-position | jq -r .type | tr '\n' ,)" "A,B,"
}

@test "--follow relays rows as they are inserted, and stops cleanly on SIGTERM" {
  "$OUTBOX" init --db "$DB"
  "$OUTBOX" --db "$DB" -t orders --follow --poll 100ms 2> relay.err &
  local pid=$!
  for i in 1 2 3; do insert "o-$i" Placed "'{}'"; sleep 0.1; done
  for _ in $(seq 50); do [ "$(count_events orders 2>/dev/null || echo 0)" -eq 3 ] && break; sleep 0.1; done
  assert_eq "$(count_events orders)" 3
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  assert_eq "$rc" 0
  grep -q "relayed 3 rows" relay.err
}
