#!/usr/bin/env bats
# The consumer-groups lab (examples/consumer-groups): run.sh prints exactly
# expected-output.txt, so the README's story (who gets which message, and why)
# stays true; and it leaves no process and no log behind.

bats_require_minimum_version 1.5.0
load group_helpers

setup() { group_setup; }

@test "examples/consumer-groups/run.sh prints exactly expected-output.txt" {
  run --separate-stderr env EVT_BIN="$EVT_BIN" "$EVT_SRC/examples/consumer-groups/run.sh"
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  diff <(printf '%s\n' "$output") "$EVT_SRC/examples/consumer-groups/expected-output.txt"
  # the racy part goes to stderr, marked
  assert_eq "$(grep -vc '^# this run, worker [123] took:' <<<"$stderr")" 0
  # no member left running
  ! pgrep -u "$(id -u)" -f -- 'evt-consume -t orders -g (billing|shipping)' > /dev/null
  # its own log, not ours
  [ ! -e "$EVT_LOG" ]
}
