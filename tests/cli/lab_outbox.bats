#!/usr/bin/env bats
# The outbox lab (examples/outbox, issue 8): dual-write.sh shows the event
# lost when the service dies between its database commit and its append;
# outbox.sh shows every order's event in the log exactly once, in commit
# order, after the relay was SIGKILLed again and again and the service killed
# at the same point. Both print exactly expected-output.txt.

bats_require_minimum_version 1.5.0
load helpers

setup() { evt_setup; }

@test "examples/outbox: dual-write.sh loses order-5's event; outbox.sh loses and duplicates nothing" {
  run --separate-stderr "$EVT_SRC/examples/outbox/dual-write.sh"
  [ "$status" -eq 0 ] || { echo "dual-write.sh exited $status: $stderr" >&2; return 1; }
  local dual=$output
  [[ "$dual" == *"LOST: order-5 is in the database"* ]]
  run --separate-stderr "$EVT_SRC/examples/outbox/outbox.sh"
  [ "$status" -eq 0 ] || { echo "outbox.sh exited $status: $output $stderr" >&2; return 1; }
  [[ "$output" == *"lost: 0, duplicated: 0"* ]]
  # the relay really was killed more than once while orders were placed
  local kills
  kills=$(sed -n 's/.*the relay was killed \([0-9]*\) times.*/\1/p' <<<"$stderr")
  [ "${kills:-0}" -ge 3 ]
  diff -u "$EVT_SRC/examples/outbox/expected-output.txt" <(printf '%s\n%s\n' "$dual" "$output")
  # the scripts clean up after themselves
  [ ! -e "$EVT_LOG" ] && [ ! -e .evt ]
}
