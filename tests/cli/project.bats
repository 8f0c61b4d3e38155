#!/usr/bin/env bats
# evt-project (issue 6): folding a topic into a read model from a YAML spec;
# incremental runs, a changed spec needing --rebuild, snapshots, drop, spec
# and fold errors with their positions, --follow.

bats_require_minimum_version 1.5.0
load helpers

setup() {
  evt_setup
  PROJECT="$EVT_BIN/evt-project"
  QUERY="$EVT_BIN/evt-query"
  FX="$EVT_SRC/tests/fixtures/project"
  cp "$FX/order_summary.yaml" spec.yaml
}

orders() { "$APPEND" -t orders < "$FX/orders.ndjson"; }

# position of a model in --list
position() { "$QUERY" --list --format json | jq -r --arg n "$1" '.[] | select(.name == $n) | .position'; }

@test "a fold of the order events gives the expected rows and aggregate rows" {
  orders
  run "$PROJECT" spec.yaml
  [ "$status" -eq 0 ]
  [[ "$output" == *"order_summary: 8 events read, 8 applied, 1 batch (generation 1)"* ]]
  "$QUERY" order_summary --format json > got.json
  diff -u "$FX/order_summary.expected.json" got.json
  "$QUERY" order_summary.by_customer --format json > agg.json
  diff -u "$FX/by_customer.expected.json" agg.json
}

@test "a second run folds only the new events; the result equals one run over everything" {
  head -4 "$FX/orders.ndjson" | "$APPEND" -t orders
  "$PROJECT" -q spec.yaml
  [ "$(position order_summary)" -eq 4 ]
  tail -n +5 "$FX/orders.ndjson" | "$APPEND" -t orders
  run "$PROJECT" spec.yaml
  [ "$status" -eq 0 ]
  [[ "$output" == *"4 events read"* ]]
  "$QUERY" order_summary --format json | diff -u "$FX/order_summary.expected.json" -
  run "$PROJECT" spec.yaml
  [[ "$output" == *"0 events read"* ]]
}

@test "a changed spec is refused with exit 64 naming --rebuild; --rebuild swaps in the new model" {
  orders
  "$PROJECT" -q spec.yaml
  sed -i 's/- inc: {events: 1}/- inc: {events: 10}/' spec.yaml
  run "$PROJECT" spec.yaml
  [ "$status" -eq 64 ]
  [[ "$output" == *"spec of read model 'order_summary' changed"*"--rebuild"* ]]
  # the refused run changed nothing
  "$QUERY" order_summary --format json | diff -u "$FX/order_summary.expected.json" -
  run "$PROJECT" spec.yaml --rebuild
  [ "$status" -eq 0 ]
  [[ "$output" == *"generation 2, rebuilt and swapped in"* ]]
  [ "$("$QUERY" order_summary order-1 --format json | jq .events)" -eq 31 ]
  [ "$("$QUERY" --list --format json | jq '.[0].generation')" -eq 2 ]
  # comments and layout are not a change
  printf '# a comment\n' | cat - spec.yaml > commented.yaml
  run "$PROJECT" commented.yaml
  [ "$status" -eq 0 ]
}

@test "spec errors are reported with file, line and column and exit 65" {
  orders
  run "$PROJECT" "$FX/bad_op.yaml"
  [ "$status" -eq 65 ]
  [[ "$output" == *"bad_op.yaml:7:7: unknown operation 'incr'"* ]]
  printf 'name: x\nsource: orders\nkey: data..id\non: {}\n' > badpath.yaml
  run "$PROJECT" badpath.yaml
  [ "$status" -eq 65 ]
  [[ "$output" == *"badpath.yaml:3:6: bad path 'data..id'"* ]]
  printf 'name: x\nsource: orders\nkey: subject\non:\n  A: [{set: {n: 1}}\n' > broken.yaml
  run "$PROJECT" broken.yaml
  [ "$status" -eq 65 ]
  [[ "$output" == *"broken.yaml:"*":"* ]]
  # nothing was created
  [ "$("$QUERY" --list --format json)" = "[]" ]
}

@test "a fold error names the event's position and stops without committing its batch" {
  orders
  printf '{"type":"OrderPaid","subject":"order-9","data":{"customer_id":"c-9","amount_cents":"lots"}}\n' | "$APPEND" -t orders
  "$APPEND" -t orders < "$FX/orders.ndjson"
  run "$PROJECT" spec.yaml --batch 4
  [ "$status" -eq 65 ]
  [[ "$output" == *"error: event orders/0/8: spec.yaml:28:20: inc 'lifetime_cents': the value is a string, not a number"* ]]
  # the two batches before it (offsets 0..7) are committed, the failing batch is not
  [ "$(position order_summary)" -eq 8 ]
  "$QUERY" order_summary --format json | diff -u "$FX/order_summary.expected.json" -
  # fixed spec (set instead of inc) goes on after a rebuild
  sed -i 's/OrderPaid: \[{inc: {lifetime_cents: $data.amount_cents}}/OrderPaid: [{set: {lifetime_cents: $data.amount_cents}}/' spec.yaml
  run "$PROJECT" spec.yaml --rebuild
  [ "$status" -eq 0 ]
  [ "$(position order_summary)" -eq 17 ]
}

@test "snapshots: --to OFFSET and --until @TIME fold into NAME@LABEL and stay at their bound" {
  head -3 "$FX/orders.ndjson" | "$APPEND" -t orders
  sleep 0.05
  mid=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  sleep 0.05
  tail -n +4 "$FX/orders.ndjson" | "$APPEND" -t orders
  run "$PROJECT" spec.yaml --until "@$mid" --snapshot at-mid
  [ "$status" -eq 0 ]
  [[ "$output" == *"order_summary@at-mid: 3 events read"* ]]
  [ "$("$QUERY" order_summary@at-mid order-1 --format json | jq -r .status)" = placed ]
  run "$PROJECT" spec.yaml --to 5
  [ "$status" -eq 0 ]
  [[ "$output" == *"order_summary@5: 5 events read"* ]]
  [ "$("$QUERY" order_summary@5 --format ndjson | wc -l)" -eq 3 ]
  # new events do not move a snapshot
  "$APPEND" -t orders < "$FX/orders.ndjson"
  run "$PROJECT" spec.yaml --until "@$mid" --snapshot at-mid
  [[ "$output" == *"0 events read"* ]]
  [ "$("$QUERY" --list --format json | jq '.[] | select(.name == "order_summary@at-mid") | .lag')" -eq 0 ]
  run "$PROJECT" spec.yaml --snapshot x
  [ "$status" -eq 64 ]
}

@test "a dropped model is rebuilt to the same content" {
  orders
  "$PROJECT" -q spec.yaml
  "$QUERY" order_summary --format json > before.json
  run "$PROJECT" --drop order_summary
  [ "$status" -eq 0 ]
  run "$QUERY" order_summary
  [ "$status" -eq 66 ]
  run "$PROJECT" --drop order_summary
  [ "$status" -eq 66 ]
  "$PROJECT" -q spec.yaml
  "$QUERY" order_summary --format json | cmp before.json -
}

@test "missing spec, topic or flags exit 66 and 64" {
  run "$PROJECT" nope.yaml
  [ "$status" -eq 66 ]
  run "$PROJECT" spec.yaml
  [ "$status" -eq 66 ]
  [[ "$output" == *"no such topic 'orders'"* ]]
  run "$PROJECT"
  [ "$status" -eq 64 ]
  run "$PROJECT" spec.yaml --until @-1m --to 3
  [ "$status" -eq 64 ]
  run "$PROJECT" spec.yaml --batch 0
  [ "$status" -eq 64 ]
}

@test "--follow folds events appended later and ends cleanly on SIGTERM" {
  head -2 "$FX/orders.ndjson" | "$APPEND" -t orders
  "$PROJECT" spec.yaml --follow 2> follow.err &
  pid=$!
  for _ in $(seq 1 100); do [ "$(position order_summary)" = 2 ] && break; sleep 0.05; done
  [ "$(position order_summary)" = 2 ]
  tail -n +3 "$FX/orders.ndjson" | "$APPEND" -t orders
  for _ in $(seq 1 100); do [ "$(position order_summary)" = 8 ] && break; sleep 0.05; done
  kill -TERM "$pid"
  wait "$pid"
  "$QUERY" order_summary --format json | diff -u "$FX/order_summary.expected.json" -
  grep -q "8 events read" follow.err
}

@test "--progress draws a progress line on stderr; by default a pipe gets none" {
  "$APPEND" -t orders < "$FX/orders.ndjson"
  run "$PROJECT" spec.yaml --no-progress
  [[ "$output" != *$'\r'* ]]
  [ "$status" -eq 0 ]
}
