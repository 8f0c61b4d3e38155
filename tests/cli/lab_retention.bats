#!/usr/bin/env bats
# The retention lab (examples/retention, issue 9): the script prints exactly
# expected-output.txt, and what it says each topic holds is checked here
# against an independent count of the same stream.

bats_require_minimum_version 1.5.0
load helpers

setup() { evt_setup; }

@test "examples/retention/run.sh prints expected-output.txt and exits 0" {
  run --separate-stderr "$EVT_SRC/examples/retention/run.sh"
  [ "$status" -eq 0 ] || { echo "run.sh exited $status: $stderr" >&2; return 1; }
  diff -u "$EVT_SRC/examples/retention/expected-output.txt" <(printf '%s\n' "$output")
  [ ! -e "$EVT_LOG" ] && [ ! -e .evt ]
}

@test "the lab's counts are the stream's (computed here independently)" {
  run --separate-stderr "$EVT_SRC/examples/retention/run.sh"
  [ "$status" -eq 0 ]
  # 14 days x 2 halves x 5 SKUs, minus sku-5 after its delisting on day 10 (the tombstone replaces one)
  total=$(awk 'BEGIN { for (d = 0; d < 14; d++) for (h = 0; h < 2; h++) for (s = 1; s <= 5; s++)
                       if (!(s == 5 && (d > 10 || (d == 10 && h == 1)))) n++; print n }')
  [[ "$output" == *"appended $total events to each topic"* ]]
  [[ "$output" == *"prices-all: $total events, oldest from day 0"* ]]
  # days 7..13 (the cutoff is day 14 minus 7 days)
  week=$(awk 'BEGIN { for (d = 7; d < 14; d++) for (h = 0; h < 2; h++) for (s = 1; s <= 5; s++)
                      if (!(s == 5 && (d > 10 || (d == 10 && h == 1)))) n++; print n }')
  [[ "$output" == *"prices-7d: $week events, oldest from day 7"* ]]
  [[ "$output" == *"prices-table: 4 events"* ]]
  [[ "$output" == *"sku-1 1131"* ]]  # 1000*1 + 10*13 + 1: the last change of day 13
}
