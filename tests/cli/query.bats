#!/usr/bin/env bats
# evt-query (issue 6): one row, all rows, --where, --sort, --limit, the three
# formats, --list with position and lag, and its exit codes.

bats_require_minimum_version 1.5.0
load helpers

setup() {
  evt_setup
  PROJECT="$EVT_BIN/evt-project"
  QUERY="$EVT_BIN/evt-query"
  FX="$EVT_SRC/tests/fixtures/project"
  "$APPEND" -t orders < "$FX/orders.ndjson"
  "$PROJECT" -q "$FX/order_summary.yaml"
}

@test "one row by key, as JSON; a missing row exits 66" {
  run "$QUERY" order_summary order-3 --format json
  [ "$status" -eq 0 ]
  [ "$output" = '{"key":"order-3","customer":"c-1","events":2,"paid_cents":900,"placed_at":"2026-11-02T08:00:00Z","status":"paid","total_cents":900}' ]
  run "$QUERY" order_summary order-404
  [ "$status" -eq 66 ]
  [[ "$output" == *"no row 'order-404' in 'order_summary'"* ]]
}

@test "--where, --sort and --limit select and order rows" {
  [ "$("$QUERY" order_summary --where customer=c-1 --format ndjson | jq -r .key | tr '\n' ' ')" = "order-1 order-3 " ]
  [ "$("$QUERY" order_summary --where customer=c-1 --where status=paid --format ndjson | jq -r .key)" = "order-3" ]
  [ "$("$QUERY" order_summary --where events=4 --format ndjson | jq -r .key)" = "order-1" ]
  [ -z "$("$QUERY" order_summary --where events='"4"' --format ndjson)" ]
  [ "$("$QUERY" order_summary --sort -total_cents --format ndjson | jq -r .key | tr '\n' ' ')" = "order-2 order-1 order-3 " ]
  [ "$("$QUERY" order_summary --sort total_cents --limit 1 --format ndjson | jq -r .key)" = "order-3" ]
  # rows without the field sort last
  [ "$("$QUERY" order_summary --sort carrier --format ndjson | jq -r .key | head -1)" = "order-1" ]
  run "$QUERY" order_summary --where nonsense
  [ "$status" -eq 64 ]
}

@test "formats: table for people, json array, ndjson lines carry the same rows" {
  run "$QUERY" order_summary
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == KEY*STATUS* ]]
  [ "${#lines[@]}" -eq 4 ]
  [[ "${lines[1]}" == order-1*shipped* ]]
  diff <("$QUERY" order_summary --format json | jq -c '.[]') <("$QUERY" order_summary --format ndjson)
  run "$QUERY" order_summary --format yaml
  [ "$status" -eq 64 ]
}

@test "--list shows each model with its position and lag" {
  run "$QUERY" --list --format json
  [ "$status" -eq 0 ]
  [ "$(jq -r '.[0].name' <<<"$output")" = order_summary ]
  [ "$(jq '.[0].position' <<<"$output")" -eq 8 ]
  [ "$(jq '.[0].lag' <<<"$output")" -eq 0 ]
  [ "$(jq '.[0].rows' <<<"$output")" -eq 3 ]
  [ "$(jq -c '.[0].aggregates' <<<"$output")" = '["by_customer"]' ]
  "$APPEND" -t orders < "$FX/orders.ndjson"
  [ "$("$QUERY" --list --format json | jq '.[0].lag')" -eq 8 ]
  run "$QUERY" --list
  [[ "${lines[0]}" == NAME*POSITION*LAG* ]]
  [[ "${lines[1]}" == order_summary*active* ]]
}

@test "unknown models, aggregates and logs exit 66; bad names 64" {
  run "$QUERY" nothing
  [ "$status" -eq 66 ]
  run "$QUERY" order_summary.nope
  [ "$status" -eq 66 ]
  run "$QUERY" 'bad/name'
  [ "$status" -eq 64 ]
  run "$QUERY"
  [ "$status" -eq 64 ]
  run "$QUERY" -L "$T/none" order_summary
  [ "$status" -eq 66 ]
}
