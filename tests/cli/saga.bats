#!/usr/bin/env bats
# evt-saga (issue 7): check finds each mistake of tests/fixtures/saga/mistakes
# at its line and column and nothing in the good definitions; diagrams render
# with dot (and with Mermaid's parser when node and the mermaid package are
# there); simulate prints the exact sequences; run is the orchestrator
# (duplicates ignored, timeouts and retries, one at a time, refusals); status.

bats_require_minimum_version 1.5.0
load helpers

FIX="$EVT_SRC/tests/fixtures/saga"

setup() {
  evt_setup
  SAGA="$EVT_BIN/evt-saga"
  LAB="$EVT_SRC/examples/checkout-saga/checkout.saga.yaml"
}

@test "check: the good definitions and the lab's have no problem (exit 0)" {
  run --separate-stderr "$SAGA" check "$FIX"/good/*.yaml "$LAB"
  [ "$status" -eq 0 ]
  [[ "$output" == "no problems in "*" files" ]]
}

@test "check: each file of mistakes/ is reported at its line and column, with its rule and nothing else" {
  local f want rule pos n=0
  for f in "$FIX"/mistakes/*.yaml; do
    want=$(sed -n '1s/^# expect: //p' "$f")
    rule=${want% *} pos=${want#* }
    [ -n "$rule" ] && [ -n "$pos" ]
    run --separate-stderr "$SAGA" check "$f"
    if [ "$rule" = saga/compensation-ignored ]; then [ "$status" -eq 0 ]; else [ "$status" -eq 1 ]; fi
    grep -qF "$f:$pos: " <<<"$output" || { echo "$f: no finding at $pos: $output" >&2; return 1; }
    grep -F "$f:$pos: " <<<"$output" | grep -qF "[$rule]" || { echo "$f: $pos is not $rule: $output" >&2; return 1; }
    # one mistake per file: every finding names that rule
    run bash -c 'grep -o "\[saga/[a-z-]*\]$" <<<"$1" | sort -u' _ "$output"
    [ "$output" = "[$rule]" ] || { echo "$f: other rules reported: $output" >&2; return 1; }
    n=$((n + 1))
  done
  [ "$n" -ge 10 ]
}

@test "check: every rule of the issue has a mistake file" {
  local r
  for r in compensatable-after-pivot missing-compensation compensation-named-like-event command-named-like-fact \
           reply-named-like-command unreachable-step missing-timeout; do
    grep -lq "^# expect: saga/$r " "$FIX"/mistakes/*.yaml || { echo "no mistake file for $r" >&2; return 1; }
  done
}

@test "check --format json gives the findings as JSON; several files at once" {
  run --separate-stderr "$SAGA" check --format json "$FIX/mistakes/missing-timeout.yaml" "$FIX/good/trip.saga.yaml"
  [ "$status" -eq 1 ]
  [ "$(jq length <<<"$output")" -eq 1 ]
  [ "$(jq -r '.[0].code' <<<"$output")" = saga/missing-timeout ]
}

@test "check: a missing file exits 66, a file that is not YAML exits 65 with the line" {
  run --separate-stderr "$SAGA" check nope.yaml
  [ "$status" -eq 66 ]
  [[ "$stderr" == "evt-saga: error: nope.yaml: no such file"* ]]
  printf 'saga: x\nsteps: [\n  - {id: a\n' > bad.yaml
  run --separate-stderr "$SAGA" check bad.yaml
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"bad.yaml:"*"not YAML"* ]]
}

@test "the definitions validate against schemas/saga.schema.json; a mistake of shape does not" {
  python3 -c 'import jsonschema, yaml' 2>/dev/null || skip "python3 jsonschema/yaml missing"
  run python3 "$EVT_SRC/tests/fixtures/lint/check-schema.py" "$EVT_SRC/schemas/saga.schema.json" "$FIX"/good/*.yaml "$LAB"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
  run python3 "$EVT_SRC/tests/fixtures/lint/check-schema.py" "$EVT_SRC/schemas/saga.schema.json" \
      "$FIX/mistakes/schema-step-without-reply.yaml"
  [ "$status" -eq 1 ]
  [[ "$output" == *"'reply' is a required property"* ]]
}

@test "diagram --format dot renders with dot -Tpng for every good definition" {
  command -v dot >/dev/null || skip "graphviz (dot) is not installed"
  local f
  for f in "$FIX"/good/*.yaml "$LAB"; do
    "$SAGA" diagram "$f" --format dot > d.dot
    dot -Tpng d.dot -o d.png
    [ "$(head -c 8 d.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
  done
}

@test "diagram: the happy path, every failure path and every compensation are in the picture" {
  run --separate-stderr "$SAGA" diagram "$LAB"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = stateDiagram-v2 ]
  [[ "$output" == *"[*] --> step_reserve_inventory : OrderPlaced / ReserveInventory"* ]]
  [[ "$output" == *"step_reserve_inventory --> step_authorize_payment : InventoryReserved / AuthorizePayment"* ]]
  [[ "$output" == *"step_authorize_payment --> step_ship_order : PaymentAuthorized / ShipOrder"* ]]
  [[ "$output" == *"step_ship_order --> completed : OrderShipped"* ]]
  [[ "$output" == *"step_authorize_payment --> undo_reserve_inventory : PaymentDeclined or timeout"*"/ ReleaseInventory"* ]]
  [[ "$output" == *"step_reserve_inventory --> undo_start : InventoryUnavailable or timeout"*"/ CancelOrder"* ]]
  [[ "$output" == *"undo_reserve_inventory --> undo_start : CancelOrder"* ]]
  [[ "$output" == *"undo_start --> compensated"* ]]
  run --separate-stderr "$SAGA" diagram "$LAB" --format dot
  [[ "$output" == "digraph "* ]]
  [[ "$output" == *"step_authorize_payment -> undo_reserve_inventory"* ]]
}

@test "diagram: Mermaid's own parser accepts every diagram (needs node and npm's mermaid; skipped in CI)" {
  # npm is not reachable in CI: point EVT_MERMAID_DIR at a directory where
  # `npm install mermaid jsdom` was run (see examples/checkout-saga/README.md).
  command -v node >/dev/null || skip "node is not installed"
  local dir=${EVT_MERMAID_DIR:-/tmp/mermaid-check}
  [ -d "$dir/node_modules/mermaid" ] && [ -d "$dir/node_modules/jsdom" ] ||
    skip "no mermaid and jsdom in $dir/node_modules (npm install mermaid jsdom there, or set EVT_MERMAID_DIR)"
  local f i=0
  for f in "$FIX"/good/*.yaml "$LAB"; do
    i=$((i + 1))
    "$SAGA" diagram "$f" > "d$i.mmd"
  done
  printf 'stateDiagram-v2\n  [*] --> \n  a -->> b\n' > broken.mmd
  run node "$FIX/mermaid-parse.mjs" "$dir" d*.mmd
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
  [ "$(grep -c ': ok (stateDiagram)' <<<"$output")" -eq "$i" ]
  # the check can fail
  run node "$FIX/mermaid-parse.mjs" "$dir" broken.mmd
  [ "$status" -eq 1 ]
}

@test "simulate: the happy path sends each command once and completes" {
  run --separate-stderr "$SAGA" simulate "$LAB" --format ndjson
  [ "$status" -eq 0 ]
  run bash -c 'jq -r "select(.sagaflow != \"state\") | \"\(.sagaflow) \(.type)\"" <<<"$1" | paste -sd, -' _ "$output"
  [ "$output" = "start OrderPlaced,command ReserveInventory,reply InventoryReserved,command AuthorizePayment,reply PaymentAuthorized,command ShipOrder,reply OrderShipped" ]
  run --separate-stderr "$SAGA" simulate "$LAB" --format ndjson
  [ "$(jq -r 'select(.sagaflow == "state") | .type' <<<"$output" | tail -1)" = SagaCompleted ]
}

@test "simulate --fail authorize-payment: the compensations in reverse order" {
  run --separate-stderr "$SAGA" simulate "$LAB" --fail authorize-payment --format ndjson
  [ "$status" -eq 0 ]
  run bash -c 'jq -r "\"\(.sagaflow) \(.type)\"" <<<"$1" | paste -sd, -' _ "$output"
  [ "$output" = "start OrderPlaced,state SagaStarted,state CommandSent,command ReserveInventory,reply InventoryReserved,state StepCompleted,state CommandSent,command AuthorizePayment,reply PaymentDeclined,state StepFailed,state CompensationSent,compensation ReleaseInventory,state CompensationSent,compensation CancelOrder,state SagaAborted" ]
  # the release carries the reservation from the reserve step's reply data, the table reads the same
  run --separate-stderr "$SAGA" simulate "$LAB" --fail authorize-payment
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == *"#"*"TIME"*"FLOW"*"TOPIC"*"EVENT"*"STEP"*"DETAIL"* ]]
  [[ "${lines[15]}" == *"SagaAborted"*"authorize-payment"*"compensated"* ]]
}

@test "simulate --timeout: each attempt times out after its timeout, retries follow the back-off" {
  run --separate-stderr "$SAGA" simulate "$LAB" --timeout reserve-inventory --format ndjson
  [ "$status" -eq 0 ]
  # defaults: timeout 5s, retry initial 500ms, backoff 2, 3 attempts
  run bash -c 'jq -r "select(.sagaflow == \"command\") | \"\(.id) \(.time)\"" <<<"$1"' _ "$output"
  [ "${lines[0]}" = "checkout/sim-1/reserve-inventory/1 2026-01-01T00:00:00.000Z" ]
  [ "${lines[1]}" = "checkout/sim-1/reserve-inventory/2 2026-01-01T00:00:05.500Z" ]
  [ "${lines[2]}" = "checkout/sim-1/reserve-inventory/3 2026-01-01T00:00:11.500Z" ]
  [ "${#lines[@]}" -eq 3 ]
  run --separate-stderr "$SAGA" simulate "$LAB" --timeout reserve-inventory --format ndjson
  [ "$(jq -r 'select(.sagaflow == "compensation") | .type' <<<"$output")" = CancelOrder ]
}

@test "simulate: an unknown step exits 64; --fail on a step without failure reply exits 64" {
  run --separate-stderr "$SAGA" simulate "$LAB" --fail nope
  [ "$status" -eq 64 ]
  [[ "$stderr" == *"no step 'nope'"* ]]
  run --separate-stderr "$SAGA" simulate "$FIX/good/soak.saga.yaml" --fail ship
  [ "$status" -eq 64 ]
}

# A saga with short timeouts for the run tests.
short_saga() {
  cat > short.yaml <<'EOF'
saga: short
start: {topic: orders, type: OrderPlaced}
defaults:
  timeout: 300ms
  retry: {initial: 100ms, max_attempts: 2}
steps:
  - id: reserve
    command: {topic: commands, type: ReserveInventory, data: {order: $.id}}
    reply: {topic: replies, ok: InventoryReserved, fail: InventoryUnavailable}
    compensation: {topic: commands, type: ReleaseInventory}
  - id: charge
    kind: pivot
    command: {topic: commands, type: ChargeCard}
    reply: {topic: replies, ok: CardCharged, fail: CardDeclined}
EOF
}

# Waits (at most 10 s) until the orchestrator of saga `short` has joined its group.
wait_member() {
  local i
  for i in $(seq 1 100); do
    [ "$("$EVT_BIN/evt-group" describe saga.short --format json 2>/dev/null | jq '.members | length')" = 1 ] && return 0
    sleep 0.1
  done
  return 1
}

reply() {  # reply TYPE ID
  printf '{"type":"%s","correlationid":"%s"}\n' "$1" "$2" | "$APPEND" -t replies 2>/dev/null
}

@test "run: replies drive the saga; a duplicate reply and a duplicate start are ignored" {
  short_saga
  printf '{"type":"OrderPlaced","subject":"o-1"}\n{"type":"OrderPlaced","subject":"o-1"}\n' | "$APPEND" -t orders 2>/dev/null
  run --separate-stderr "$SAGA" run short.yaml
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"2 events read; 1 started"*"1 ignored"* ]]
  reply InventoryReserved o-1
  reply InventoryReserved o-1
  run --separate-stderr "$SAGA" run short.yaml
  [[ "$stderr" == *"1 replies taken, 1 ignored"* ]]
  reply CardCharged o-1
  "$SAGA" run short.yaml -q
  run "$SAGA" status short.yaml --format json
  [ "$(jq -r '.[0].status' <<<"$output")" = completed ]
  [ "$("$REPLAY" -t commands --no-position | jq -r .id | paste -sd,)" = "short/o-1/reserve/1,short/o-1/charge/1" ]
  # the state is a stream per instance, readable with evt-replay
  [ "$("$REPLAY" -t saga.short --stream o-1 --no-position | jq -r .type | paste -sd,)" = \
    "SagaStarted,CommandSent,StepCompleted,CommandSent,StepCompleted,SagaCompleted" ]
  # the consumed offsets are the group's: evt-group sees it
  run "$EVT_BIN/evt-group" describe saga.short --format json
  [ "$(jq -r '.partitions[0].committed' <<<"$output")" -eq 2 ]
}

@test "run: a timed-out step is retried, then the saga compensates" {
  short_saga
  printf '{"type":"OrderPlaced","subject":"o-2"}\n' | "$APPEND" -t orders 2>/dev/null
  "$SAGA" run short.yaml -q
  reply InventoryReserved o-2
  run --separate-stderr timeout 20 "$SAGA" run short.yaml --until-done
  [ "$status" -eq 0 ]
  [ "$("$REPLAY" -t commands --no-position | jq -r .id | paste -sd,)" = \
    "short/o-2/reserve/1,short/o-2/charge/1,short/o-2/charge/2,short/o-2/reserve/compensation" ]
  run "$SAGA" status short.yaml o-2 --format json
  [ "$(jq -r '[.[].type] | join(",")' <<<"$output")" = \
    "SagaStarted,CommandSent,StepCompleted,CommandSent,StepFailed,CommandSent,StepFailed,CompensationSent,SagaAborted" ]
  [ "$(jq -r '[.[] | select(.type == "StepFailed") | .data.reason] | join(",")' <<<"$output")" = timeout,timeout ]
  # a late reply to the abandoned step changes nothing
  reply CardCharged o-2
  "$SAGA" run short.yaml -q
  [ "$("$SAGA" status short.yaml --format json | jq -r '.[0].status')" = compensated ]
}

@test "run: a second orchestrator for the same saga exits 75 while the first lives; then takes over" {
  short_saga
  printf '{"type":"OrderPlaced","subject":"o-3"}\n' | "$APPEND" -t orders 2>/dev/null
  "$SAGA" run short.yaml --follow -q &
  local pid=$!
  wait_member
  run --separate-stderr "$SAGA" run short.yaml
  [ "$status" -eq 75 ]
  [[ "$stderr" == *"already run by pid $pid"* ]]
  kill -9 "$pid"
  wait "$pid" || true
  reply InventoryReserved o-3
  run --separate-stderr "$SAGA" run short.yaml
  [ "$status" -eq 0 ]
  [ "$("$REPLAY" -t commands --no-position | jq -r .id | tail -1)" = short/o-3/charge/1 ]
}

@test "run --follow ends cleanly on SIGTERM and leaves the group" {
  short_saga
  "$SAGA" run short.yaml --follow -q &
  local pid=$!
  wait_member
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ]
  [ "$("$EVT_BIN/evt-group" describe saga.short --format json | jq '.members | length')" -eq 0 ]
}

@test "run refuses a definition with structural errors (65) and a bad one (65); status of nothing" {
  run --separate-stderr "$SAGA" run "$FIX/mistakes/compensatable-after-pivot.yaml"
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"compensatable-after-pivot.yaml:12:11:"*"[saga/compensatable-after-pivot]"* ]]
  run --separate-stderr "$SAGA" run "$FIX/mistakes/schema-step-without-reply.yaml"
  [ "$status" -eq 65 ]
  run --separate-stderr "$SAGA" status "$LAB"
  [ "$status" -eq 66 ]
}

@test "status ID: one instance's history; an unknown instance exits 66" {
  short_saga
  printf '{"type":"OrderPlaced","subject":"o-4"}\n' | "$APPEND" -t orders 2>/dev/null
  "$SAGA" run short.yaml -q
  run --separate-stderr "$SAGA" status short.yaml
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "ID"*"STATUS"*"STEP"*"ATTEMPT"*"EVENTS"*"LAST EVENT"*"UPDATED" ]]
  [[ "${lines[1]}" == "o-4"*"running"*"reserve"*"1"*"2"*"CommandSent"* ]]
  run --separate-stderr "$SAGA" status short.yaml o-4
  [ "$status" -eq 0 ]
  [[ "${lines[2]}" == *"CommandSent"*"reserve"*"attempt=1"* ]]
  run --separate-stderr "$SAGA" status short.yaml o-99
  [ "$status" -eq 66 ]
  [[ "$stderr" == *"no instance 'o-99'"* ]]
}
