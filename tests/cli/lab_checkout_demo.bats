#!/usr/bin/env bats
# The README's first command, `bash examples/checkout-demo.sh`: it sets up
# (here: the build under test, so nothing is rebuilt elsewhere), runs the
# checkout saga on both paths and the choreographed version, and shows the log.

bats_require_minimum_version 1.5.0
load helpers

setup() { evt_setup; }

@test "bash examples/checkout-demo.sh runs to the end with both saga outcomes" {
  run --separate-stderr env EVT_BUILD="$(dirname "$EVT_BIN")" bash "$EVT_SRC/examples/checkout-demo.sh"
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  grep -qx '  order-1001: completed' <<< "$output"
  grep -qx '  order-1002: compensated' <<< "$output"
  grep -qx '  order-2002: compensated' <<< "$output"
  # the partition Kafka's client would choose for order-1001 of 3: computed independently
  assert_eq "$(kafka_partition order-1001 3)" "$(grep -A1 'partition-of order-1001' <<< "$output" | tail -1)"
  # it cleans up after itself: its own log is gone and no member is left running
  ! pgrep -u "$(id -u)" -f -- 'evt-saga run' > /dev/null
  [ ! -e "$EVT_LOG" ]
}
