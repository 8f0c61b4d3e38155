#!/usr/bin/env bats
# Soak: the outbox relay killed (SIGKILL) at 20 random points while 4
# concurrent writers insert 10,000 outbox rows (two relays run at a time, one
# holding the relay lock, the other standing by and taking over); afterwards every row is in the
# log exactly once and each aggregate's events are in the order they were
# written. Once against a real PostgreSQL 15 (started here, on 127.0.0.1),
# once against SQLite. Issue 8, done-when points 1 and 2.

bats_require_minimum_version 1.5.0
load helpers
load outbox_helpers

setup_file() { pg_up; }
teardown_file() { pg_down; }

setup() {
  outbox_setup
}

# throttle: pass lines on, pausing 30 ms every 20 lines, so the writers keep
# inserting (for about 5 s) while the relay is being killed.
throttle() {
  local line k=0
  while IFS= read -r line; do
    printf '%s\n' "$line"
    if ((++k % 20 == 0)); then sleep 0.03; fi
  done
}

# kill_loop DB KILLS WRITER_PIDS...: start two relays (--follow, random batch
# sizes: one works, the other stands by for the relay lock), SIGKILL the first
# after a random 30-400 ms, then the second, KILLS times; kills.txt notes how
# many writers were still inserting at each kill of the first.
kill_loop() {
  local db=$1 kills=$2 i pid pid2 w alive
  shift 2
  for ((i = 1; i <= kills; i++)); do
    "$OUTBOX" --db "$db" -t orders -P 3 --follow --batch $((10 + RANDOM % 300)) --poll 50ms 2>>"$T/relay.err" &
    pid=$!
    "$OUTBOX" --db "$db" -t orders -P 3 --follow --batch $((10 + RANDOM % 300)) --poll 50ms 2>>"$T/relay2.err" &
    pid2=$!
    sleep "$(printf '0.%03d' $((30 + RANDOM % 370)))"
    alive=0
    for w in "$@"; do kill -0 "$w" 2>/dev/null && alive=$((alive + 1)); done
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    echo "kill $i: $alive writers inserting" >> "$T/kills.txt"
    # the standby takes over the lock; kill it a moment later
    sleep "$(printf '0.%03d' $((RANDOM % 100)))"
    kill -9 "$pid2"
    wait "$pid2" 2>/dev/null || true
  done
}

# soak DB DIALECT PSQLCMD...: 4 writers of 2,500 rows each through PSQLCMD,
# the kill loop beside them, then a final relay that drains what is left.
soak() {
  local db=$1 dialect=$2 w pids=()
  shift 2
  for w in 1 2 3 4; do
    sql_writer "$w" 2500 25 "$dialect" > "$T/writer$w.sql"
    throttle < "$T/writer$w.sql" | "$@" > "$T/writer$w.out" 2>&1 &
    pids+=($!)
  done
  kill_loop "$db" 20 "${pids[@]}"
  for w in "${pids[@]}"; do
    wait "$w" || { cat "$T"/writer*.out >&2; return 1; }
  done
  run --separate-stderr "$OUTBOX" --db "$db" -t orders -P 3
  [ "$status" -eq 0 ] || { echo "final relay: $status $stderr" >&2; return 1; }
  echo "final relay: $stderr" >&3
  assert_eq "$(wc -l < "$T/kills.txt")" 20
  # most kills must land while rows are being written, or this proves little
  local busy
  busy=$(grep -vc ': 0 writers' "$T/kills.txt" || true)
  echo "$busy of 20 kills while writers were inserting" >&3
  [ "$busy" -ge 10 ] || { cat "$T/kills.txt" >&2; return 1; }
  # and two relays really ran at once: one waited for the other's lock
  local waited
  waited=$(cat "$T/relay.err" "$T/relay2.err" | grep -c "another relay holds the lock" || true)
  echo "a relay stood by for the lock in $waited of 20 rounds" >&3
  [ "$waited" -ge 10 ]
}

@test "PostgreSQL: relay killed at 20 random points while 4 writers insert 10,000 rows: each row once, per-aggregate order" {
  "$OUTBOX" init --db "$PGURL"
  soak "$PGURL" pg psql "$PGURL" -X -q -v ON_ERROR_STOP=1
  assert_eq "$(pg -c 'SELECT count(*) FROM outbox')" 10000
  assert_eq "$(pg -c 'SELECT count(*) FROM outbox WHERE published_at IS NULL')" 0
  check_relayed orders 10000
  # the ids in the log are exactly the table's ids
  pg -c 'SELECT id FROM outbox' | LC_ALL=C sort > "$T/table.ids"
  cut -f1 "$T/relayed.tsv" | LC_ALL=C sort > "$T/log.ids"
  cmp "$T/table.ids" "$T/log.ids"
}

@test "SQLite: relay killed at 20 random points while 4 writers insert 10,000 rows: each row once, per-aggregate order" {
  "$OUTBOX" init --db "sqlite:$T/app.db"
  soak "sqlite:$T/app.db" sqlite sqlite3 -bail -cmd '.timeout 20000' "$T/app.db"
  assert_eq "$(sqlite3 "$T/app.db" 'SELECT count(*) FROM outbox')" 10000
  assert_eq "$(sqlite3 "$T/app.db" 'SELECT count(*) FROM outbox WHERE published_at IS NULL')" 0
  check_relayed orders 10000
  sqlite3 "$T/app.db" 'SELECT id FROM outbox' | LC_ALL=C sort > "$T/table.ids"
  cut -f1 "$T/relayed.tsv" | LC_ALL=C sort > "$T/log.ids"
  cmp "$T/table.ids" "$T/log.ids"
}
