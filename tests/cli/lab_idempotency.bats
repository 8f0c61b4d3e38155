#!/usr/bin/env bats
# The saga and idempotency clinic (examples/idempotency-clinic, issue 5): the
# lab script runs against the built tools and prints exactly
# expected-output.txt: the naive payment counter is wrong by what the
# evt-chaos report says was duplicated, the evt-dedup --store pipeline is
# right, a redelivery after a restart adds nothing, and the ledger written by
# evt-dedup --store --to-topic after four SIGKILLs and a restart is right.

bats_require_minimum_version 1.5.0
load helpers

setup() { evt_setup; }

@test "examples/idempotency-clinic/run.sh prints expected-output.txt and exits 0" {
  run --separate-stderr "$EVT_SRC/examples/idempotency-clinic/run.sh"
  [ "$status" -eq 0 ] || { echo "run.sh exited $status: $stderr" >&2; return 1; }
  diff -u "$EVT_SRC/examples/idempotency-clinic/expected-output.txt" <(printf '%s\n' "$output")
  # the script cleans up after itself: no log left here
  [ ! -e "$EVT_LOG" ] && [ ! -e .evt ]
}

@test "the lab's totals are the real ones (computed here independently)" {
  run --separate-stderr "$EVT_SRC/examples/idempotency-clinic/run.sh"
  [ "$status" -eq 0 ]
  local truth
  truth=$(awk 'BEGIN { for (i = 1; i <= 400; i++) s += 100 + (i * 7919) % 9900; print s }')
  [[ "$output" == *"the true total is $truth cents"* ]]
  [[ "$output" == *"deduplicated total: $truth cents, right"* ]]
  [[ "$output" == *"ledger total: $truth cents, right"* ]]
  [[ "$output" == *"naive total: "*"WRONG by "* ]]
}
