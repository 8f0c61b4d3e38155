#!/usr/bin/env bats
# Soak (issue 7, done-when 2): 100 concurrent checkout sagas (three steps,
# tests/fixtures/saga/good/soak.saga.yaml) whose replies go through
# `evt-chaos --dup`, driven once by an orchestrator that is never
# interrupted and once by one that is killed with SIGKILL at 20 random
# points. Every saga must end exactly as in the uninterrupted run (and as
# the responder's rule says), with the same state events; no command may be
# sent twice for one step attempt and no compensation may be missing.

bats_require_minimum_version 1.5.0
load helpers

FIX="$EVT_SRC/tests/fixtures/saga"
DEF="$FIX/good/soak.saga.yaml"
N=100

setup() {
  evt_setup
  SAGA="$EVT_BIN/evt-saga"
  PIDS=()
}

teardown() {
  local p
  for p in "${PIDS[@]}"; do kill -- "-$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}

# The orders.
orders() {
  local i
  for i in $(seq 1 "$N"); do
    printf '{"type":"OrderPlaced","source":"/soak","id":"placed-%d","subject":"order-%d","data":{"qty":%d}}\n' "$i" "$i" "$((i % 5 + 1))"
  done
}

# prepare LOG: topics, the orders, and the responder (the participants):
# commands -> jq -> evt-chaos --dup -> replies, each reply delayed 25 ms so
# that the 100 sagas are in flight together for seconds.
prepare() {
  export EVT_LOG="$1"
  local t
  for t in orders commands replies; do "$EVT_BIN/evt-topic" create "$t" --partitions 2 >/dev/null 2>&1; done
  # all 100 orders at once: the sagas run concurrently
  orders | "$EVT_BIN/evt-append" -t orders 2>/dev/null
  setsid bash -c '"$1/evt-consume" -t commands -g responder --follow 2>/dev/null |
      jq --unbuffered -c -f "$2" | "$1/evt-chaos" --dup 0.3 --delay 25ms --seed 11 | "$1/evt-append" -t replies 2>/dev/null' \
      _ "$EVT_BIN" "$FIX/responder.jq" &
  PIDS+=($!)
}

# finished LOG: how many sagas have ended.
finished() {
  EVT_LOG="$1" "$SAGA" status "$DEF" --format json 2>/dev/null |
    jq '[.[] | select(.status == "completed" or .status == "compensated")] | length'
}

# drive_to_end LOG: run the orchestrator until every saga has ended (at most 4 more runs).
drive_to_end() {
  local i
  for i in 1 2 3 4; do
    [ "$(finished "$1")" -lt "$N" ] || return 0
    EVT_LOG="$1" timeout 60 "$SAGA" run "$DEF" --until-done -q || true
  done
  [ "$(finished "$1")" -eq "$N" ] || { echo "$1: only $(finished "$1") of $N sagas ended" >&2; return 1; }
}

# The truth, from the responder's rule.
expected_status() {
  local i
  for i in $(seq 1 "$N"); do
    if ((i % 7 == 0 || i % 4 == 0)); then echo "order-$i compensated"; else echo "order-$i completed"; fi
  done | sort
}

statuses() { EVT_LOG="$1" "$SAGA" status "$DEF" --format json | jq -r '.[] | "\(.id) \(.status)"' | sort; }

# Every instance's state events, as "ID TYPE STEP ATTEMPT" lines, in stream order.
histories() {
  local id
  for id in $(statuses "$1" | cut -d' ' -f1); do
    EVT_LOG="$1" "$SAGA" status "$DEF" "$id" --format json |
      jq -r --arg id "$id" '.[] | "\($id) \(.type) \(.data.step // "-") \(.data.attempt // "-")"'
  done
}

@test "100 sagas, replies duplicated, orchestrator killed at 20 random points: the same ends as an uninterrupted run" {
  # the uninterrupted run
  prepare "$T/a"
  run --separate-stderr timeout 120 "$SAGA" run "$DEF" --until-done
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  drive_to_end "$T/a"
  teardown
  PIDS=()

  # the interrupted run: SIGKILL after a random 20..250 ms, 20 times, then to the end
  prepare "$T/b"
  local k killed_busy=0 seed=${SOAK_SEED:-$RANDOM} pid done_now
  echo "# seed $seed" >&3
  RANDOM=$seed
  for k in $(seq 1 20); do
    "$SAGA" run "$DEF" --follow -q 2>>"$T/b.err" &
    pid=$!
    sleep "0.$(printf '%03d' $((20 + RANDOM % 230)))"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    done_now=$(finished "$T/b")
    if [ "$done_now" -lt "$N" ]; then killed_busy=$((killed_busy + 1)); fi
    echo "# kill $k: $done_now finished, $("$REPLAY" -L "$T/b" -t orders --no-position | wc -l) placed" >&3
  done
  echo "# $killed_busy of 20 kills landed while sagas were still running" >&3
  # the kills must have hit work in progress, not an idle orchestrator
  [ "$killed_busy" -ge 15 ]
  drive_to_end "$T/b"

  # every saga ended as the rule says, in both runs
  diff -u <(expected_status) <(statuses "$T/a")
  diff -u <(statuses "$T/a") <(statuses "$T/b")
  # and went through exactly the same state events
  histories "$T/a" > "$T/ha"
  histories "$T/b" > "$T/hb"
  diff -u "$T/ha" "$T/hb"
  [ "$(wc -l < "$T/ha")" -gt "$((N * 6))" ]

  local log
  for log in "$T/a" "$T/b"; do
    export EVT_LOG=$log
    # the chaos did happen: duplicate replies are in the reply topic
    dups=$("$REPLAY" -t replies --no-position | jq -r .id | sort | uniq -d | wc -l)
    [ "$dups" -gt 10 ]
    # no command twice for one step attempt (ids are SAGA/ID/STEP/ATTEMPT)
    run bash -c '"$1" -t commands --no-position | jq -r .id | sort | uniq -d' _ "$REPLAY"
    [ -z "$output" ] || { echo "commands sent twice: $output" >&2; return 1; }
    # no timeouts fired: every command is a first attempt or a compensation
    run bash -c '"$1" -t commands --no-position | jq -r .id | grep -Ev "/(1|compensation)$"' _ "$REPLAY"
    [ -z "$output" ]
    # no compensation missed: a declined card (reserve done) releases and cancels;
    # no inventory cancels only
    for i in $(seq 1 "$N"); do
      if ((i % 7 == 0)); then echo "soak/order-$i/start/compensation"
      elif ((i % 4 == 0)); then echo "soak/order-$i/reserve/compensation"; echo "soak/order-$i/start/compensation"; fi
    done | sort > "$T/want-comp"
    "$REPLAY" -t commands --no-position | jq -r 'select(.id | endswith("/compensation")) | .id' | sort > "$T/got-comp"
    diff -u "$T/want-comp" "$T/got-comp"
    # every release names the reservation of its own saga
    run bash -c '"$1" -t commands --no-position --type ReleaseInventory |
        jq -r "select(.data.reservation != (\"res-\" + (.subject | ltrimstr(\"order-\"))))"' _ "$REPLAY"
    [ -z "$output" ]
  done
  # the log is intact
  "$EVT_BIN/evt-check" -L "$T/b" >/dev/null
}
