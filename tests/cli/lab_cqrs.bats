#!/usr/bin/env bats
# The CQRS lab (examples/cqrs, issue 6): the lab script runs against the built
# tools and prints exactly expected-output.txt: two read models from the same
# order events, checked against totals computed from the events; a dropped
# model rebuilt byte for byte; a changed spec refused until --rebuild; a
# snapshot at offset 100.

bats_require_minimum_version 1.5.0
load helpers

setup() { evt_setup; }

@test "examples/cqrs/run.sh prints expected-output.txt and exits 0" {
  run --separate-stderr "$EVT_SRC/examples/cqrs/run.sh"
  [ "$status" -eq 0 ] || { echo "run.sh exited $status: $stderr" >&2; return 1; }
  diff -u "$EVT_SRC/examples/cqrs/expected-output.txt" <(printf '%s\n' "$output")
  [ ! -e "$EVT_LOG" ] && [ ! -e .evt ]
}

@test "the lab's board equals a fold done here with awk over the same events" {
  awk -f "$EVT_SRC/examples/cqrs/gen-orders.awk" > orders.ndjson
  "$APPEND" -t orders --partitions 3 < orders.ndjson
  "$EVT_BIN/evt-project" -q "$EVT_SRC/examples/cqrs/revenue_by_day.yaml"
  jq -r 'select(.type == "OrderPaid" or .type == "OrderRefunded") | "\(.time[:10]) \(.type) \(.data.amount_cents)"' orders.ndjson |
    awk '{ if ($2 == "OrderPaid") { r[$1] += $3; n[$1]++ } else r[$1] -= $3 } END { for (d in r) print d, n[d], r[d] }' | sort > want.txt
  "$EVT_BIN/evt-query" revenue_by_day --format ndjson | jq -r '"\(.key) \(.paid_orders) \(.revenue_cents)"' > got.txt
  diff -u want.txt got.txt
  [ "$(wc -l < got.txt)" -eq 3 ]
}
