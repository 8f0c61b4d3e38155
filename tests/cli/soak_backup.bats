#!/usr/bin/env bats
# Soak (issue 9, point 5): hot backups with `evt-check --backup DIR` taken
# while two writers append. Each backup verifies clean (evt-check checks the
# copy) and holds, for every partition, a prefix of what the live log holds
# once the writers stopped: the copy is one consistent snapshot.

bats_require_minimum_version 1.5.0
load helpers

setup() {
  evt_setup
  CHECK="$EVT_BIN/evt-check"
}

# A failing test must not leave its writers running (bats would wait on them).
teardown() { touch "$T/stop"; }

# writer NAME TOPIC: appends batches of 50 keyed events until ./stop exists
writer() {
  local name=$1 topic=$2 n=0
  while [ ! -e stop ]; do
    n=$((n + 1))
    seq 1 50 | awk -v w="$name" -v n="$n" \
      '{ printf "{\"id\":\"%s-%d-%d\",\"source\":\"/w\",\"type\":\"Written\",\"subject\":\"s-%d\",\"partitionkey\":\"k-%d\",\"data\":{\"n\":%d}}\n", w, n, $1, $1 % 11, $1, n }' \
      | "$APPEND" -t "$topic" || return 1
  done
}

ids() {  # ids LOG TOPIC PARTITION
  "$REPLAY" -L "$1" -t "$2" -p "$3" --format '%s\n' | jq -r .id
}

@test "backups taken while two writers append verify clean and hold a prefix of each partition" {
  "$TOPIC" create a --partitions 3 2>/dev/null
  "$TOPIC" create b --partitions 2 2>/dev/null
  writer one a & w1=$!
  writer two b & w2=$!
  # both writers under way before the first copy
  while [ "$("$REPLAY" -t a --no-position 2>/dev/null | wc -l)" -lt 200 ] ||
        [ "$("$REPLAY" -t b --no-position 2>/dev/null | wc -l)" -lt 200 ]; do sleep 0.1; done
  for k in 1 2 3; do
    run --separate-stderr "$CHECK" --backup "$T/bk$k"
    [ "$status" -eq 0 ] || { echo "$output $stderr" >&2; touch stop; return 1; }
    [[ "$output" == "backup $T/bk$k: checked 2 topics, "*": ok" ]]
    sleep 0.5
  done
  touch stop
  wait "$w1"
  wait "$w2"
  run "$CHECK"
  [ "$status" -eq 0 ]
  for k in 1 2 3; do
    total=0
    for tp in a:0 a:1 a:2 b:0 b:1; do
      topic=${tp%:*} p=${tp#*:}
      ids "$T/bk$k" "$topic" "$p" > bk.ids
      ids "$EVT_LOG" "$topic" "$p" > live.ids
      n=$(wc -l < bk.ids)
      total=$((total + n))
      # a prefix: the backup's ids are exactly the live partition's first n ids
      diff bk.ids <(head -n "$n" live.ids)
      [ "$(wc -l < live.ids)" -ge "$n" ]
    done
    echo "# backup $k: $total events" >&3
    [ "$total" -gt 0 ]
  done
  # the writers went on after the backups: the live log holds more than the last copy
  [ "$(count_events a)" -gt "$(EVT_LOG="$T/bk3" count_events a)" ]
  # restore: a backup is a log; moved into place it is read like the original
  mv "$EVT_LOG" "$T/old"
  cp -r "$T/bk1" "$EVT_LOG"
  run "$CHECK"
  [ "$status" -eq 0 ]
  assert_eq "$(count_events a)" "$(EVT_LOG="$T/bk1" count_events a)"
}
