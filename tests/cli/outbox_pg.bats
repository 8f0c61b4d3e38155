#!/usr/bin/env bats
# evt-outbox against a real PostgreSQL 15, started for this file on 127.0.0.1
# (tests/tools/pg_start.sh) and stopped afterwards: init, relay, the
# out-of-order commit visibility that defeats `seq > last_seen`, LISTEN/NOTIFY,
# and a database that goes away (exit 69, or --follow retrying) losing nothing.

bats_require_minimum_version 1.5.0
load helpers
load outbox_helpers

setup_file() { pg_up; }
teardown_file() { pg_down; }

setup() {
  outbox_setup
  # a fresh table per test (the server is shared by the file)
  "$PG_START" "$PGDIR" > /dev/null  # no-op restart guard: a test may have stopped it
  pg -c 'DROP TABLE IF EXISTS outbox CASCADE'
  "$OUTBOX" init --db "$PGURL" 2> /dev/null
}

insert() {  # insert AGGREGATE TYPE [N]: N rows (default 1)
  pg -c "INSERT INTO outbox (aggregatetype, aggregateid, type, payload)
         SELECT 'order', '$1', '$2', jsonb_build_object('n', g) FROM generate_series(1, ${3:-1}) g"
}

wait_for_events() {  # wait_for_events TOPIC N [TENTHS]: until the topic holds N events
  local i
  for ((i = 0; i < ${3:-100}; i++)); do
    [ "$(count_events "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

@test "init creates table, partial index and NOTIFY trigger, and can run twice" {
  "$OUTBOX" init --db "$PGURL"
  assert_eq "$(pg -c "SELECT indexdef FROM pg_indexes WHERE indexname = 'outbox_unpublished'")" \
    "CREATE INDEX outbox_unpublished ON public.outbox USING btree (seq) WHERE (published_at IS NULL)"
  assert_eq "$(pg -c "SELECT tgname FROM pg_trigger WHERE tgname = 'outbox_notify'")" outbox_notify
}

@test "rows are relayed in seq order with their uuid as the event id, then marked published" {
  insert o-1 Placed 3
  insert o-2 Placed 2
  run --separate-stderr "$OUTBOX" --db "$PGURL" -t orders -P 3 --batch 2
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"relayed 5 rows to orders (5 new, 0 already in the log)"* ]]
  assert_eq "$(pg -c 'SELECT count(*) FROM outbox WHERE published_at IS NULL')" 0
  assert_eq "$("$REPLAY" -t orders --stream o-1 --no-position | jq -r .data.n | tr '\n' ,)" "1,2,3,"
  pg -c 'SELECT id FROM outbox' | LC_ALL=C sort > want
  "$REPLAY" -t orders --no-position | jq -r .id | LC_ALL=C sort > got
  diff want got
  # the time is the row's occurred_at, in UTC
  assert_eq "$("$REPLAY" -t orders --stream o-2 --no-position | jq -r .time | head -1)" \
    "$(pg -c "SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM outbox WHERE aggregateid = 'o-2' ORDER BY seq LIMIT 1")"
  # --delete
  insert o-3 Placed 2
  "$OUTBOX" --db "$PGURL" -t orders --delete
  assert_eq "$(pg -c "SELECT count(*) FROM outbox WHERE aggregateid = 'o-3'")" 0
  assert_eq "$(count_events orders)" 7
}

@test "a lower seq that commits after a higher one is relayed all the same (no 'seq > last seen')" {
  mkfifo tx
  psql "$PGURL" -X -q -v ON_ERROR_STOP=1 < tx > tx.out 2>&1 &
  local held=$!
  exec 7> tx
  echo "BEGIN; INSERT INTO outbox (aggregatetype, aggregateid, type, payload) VALUES ('order', 'late', 'Late', '{}');" >&7
  local i
  for i in $(seq 100); do
    [ "$(pg -c "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")" -ge 1 ] && break
    sleep 0.05
  done
  insert early Early   # takes a higher seq and commits first
  run --separate-stderr "$OUTBOX" --db "$PGURL" -t orders
  [ "$status" -eq 0 ]
  assert_eq "$("$REPLAY" -t orders --no-position | jq -r .type | tr '\n' ,)" "Early,"
  echo "COMMIT;" >&7
  exec 7>&-
  wait "$held"
  # the late row has the lower seq
  assert_eq "$(pg -c "SELECT string_agg(aggregateid, ',' ORDER BY seq) FROM outbox")" "late,early"
  run --separate-stderr "$OUTBOX" --db "$PGURL" -t orders
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"relayed 1 row to orders (1 new"* ]]
  assert_eq "$("$REPLAY" -t orders --no-position | jq -r .type | tr '\n' ,)" "Early,Late,"
}

@test "--follow is woken by NOTIFY, long before its next poll" {
  "$OUTBOX" --db "$PGURL" -t orders --follow --poll 60s 2> relay.err &
  local pid=$!
  sleep 5  # idle: the poll back-off is now in a ~4 s pause (1, 2, 4 ... 4096 ms)
  insert o-1 Placed
  local t0=$SECONDS
  wait_for_events orders 1 20   # within 2 s
  kill -TERM "$pid"
  wait "$pid" || true
  [ $((SECONDS - t0)) -le 2 ]
}

@test "PostgreSQL unreachable: exit 69 with a clear message, and nothing lost" {
  insert o-1 Placed 50
  "$PG_STOP" --keep "$PGDIR"
  run --separate-stderr "$OUTBOX" --db "$PGURL" -t orders
  [ "$status" -eq 69 ]
  [[ "$stderr" == "evt-outbox: error: PostgreSQL at $PGURL is unreachable: "*"Connection refused"* ]]
  "$PG_START" "$PGDIR" > /dev/null
  run --separate-stderr "$OUTBOX" --db "$PGURL" -t orders
  [ "$status" -eq 0 ]
  assert_eq "$(count_events orders)" 50
  # a server that never was: 69 too
  run --separate-stderr "$OUTBOX" --db postgresql://postgres@127.0.0.1:1/postgres -t orders
  [ "$status" -eq 69 ]
}

@test "--follow rides out a database restart: says so on stderr, retries, loses and duplicates nothing" {
  insert o-1 Placed 100
  "$OUTBOX" --db "$PGURL" -t orders --follow --poll 100ms 2> relay.err &
  local pid=$!
  wait_for_events orders 100
  "$PG_STOP" --keep "$PGDIR"
  sleep 1.5
  kill -0 "$pid"   # still running, retrying
  grep -q "evt-outbox: warning: PostgreSQL at .*; retrying in" relay.err
  "$PG_START" "$PGDIR" > /dev/null
  insert o-1 Placed 100
  wait_for_events orders 200 150
  kill -TERM "$pid"
  wait "$pid" || true
  grep -q "connected again" relay.err
  assert_eq "$(count_events orders)" 200
  assert_eq "$("$REPLAY" -t orders --no-position | jq -r .id | sort -u | wc -l)" 200
  assert_eq "$(pg -c 'SELECT count(*) FROM outbox WHERE published_at IS NULL')" 0
}

@test "a relay started while the database is down waits with --follow, then relays" {
  insert o-1 Placed 10
  "$PG_STOP" --keep "$PGDIR"
  "$OUTBOX" --db "$PGURL" -t orders --follow --poll 100ms 2> relay.err &
  local pid=$!
  sleep 1
  grep -q "is unreachable.*retrying in" relay.err
  "$PG_START" "$PGDIR" > /dev/null
  wait_for_events orders 10 150
  kill -TERM "$pid"
  wait "$pid" || true
  assert_eq "$(count_events orders)" 10
}
