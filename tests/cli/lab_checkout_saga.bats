#!/usr/bin/env bats
# The checkout saga lab (examples/checkout-saga, issue 7 done-when 1): the
# happy path and the failed-payment path, orchestrated by evt-saga run with
# the participants as evt-consume --exec pipelines, print exactly their
# expected outputs (final states and event sequences); the choreographed
# version reaches the same final states; the committed diagram is the one
# evt-saga draws today and its PNG is a PNG.

bats_require_minimum_version 1.5.0
load helpers

LABDIR="$EVT_SRC/examples/checkout-saga"

setup() {
  evt_setup
  export EVT_BIN
}

@test "happy-path.sh: order-1001 completes after ReserveInventory, AuthorizePayment, ShipOrder" {
  run --separate-stderr timeout 120 "$LABDIR/happy-path.sh"
  [ "$status" -eq 0 ] || { echo "exit $status: $stderr" >&2; return 1; }
  diff -u "$LABDIR/expected-happy-path.txt" <(printf '%s\n' "$output")
  [[ "$output" == *"order-1001: completed"* ]]
  # the script cleans up after itself
  [ ! -e "$EVT_LOG" ] && [ ! -e .evt ]
}

@test "failed-payment.sh: order-1002 is declined; inventory released, then the order cancelled" {
  run --separate-stderr timeout 120 "$LABDIR/failed-payment.sh"
  [ "$status" -eq 0 ] || { echo "exit $status: $stderr" >&2; return 1; }
  diff -u "$LABDIR/expected-failed-payment.txt" <(printf '%s\n' "$output")
  [[ "$output" == *"order-1002: compensated"* ]]
  # the compensations follow the failure, in reverse order of the steps
  [[ "$output" == *"StepFailed authorize-payment (reply: PaymentDeclined)"*"CompensationSent reserve-inventory"*"CompensationSent start"*"SagaAborted"* ]]
  [[ "$output" == *"inventory-events    InventoryReserved InventoryReleased"* ]]
  [[ "$output" == *"orders              OrderPlaced OrderCancelled"* ]]
  [[ "$output" != *"shipping-commands"* ]]
}

@test "choreography/run.sh: the same two orders, no orchestrator, the same final states" {
  run --separate-stderr timeout 120 "$LABDIR/choreography/run.sh"
  [ "$status" -eq 0 ] || { echo "exit $status: $stderr" >&2; return 1; }
  diff -u "$LABDIR/expected-choreography.txt" <(printf '%s\n' "$output")
  [[ "$output" == *"order-2001: completed"* ]]
  [[ "$output" == *"order-2002: compensated"* ]]
}

@test "the lab's definition checks clean; its committed diagrams are what evt-saga draws now" {
  "$EVT_BIN/evt-saga" check "$LABDIR/checkout.saga.yaml"
  diff -u "$LABDIR/checkout-saga.dot" <("$EVT_BIN/evt-saga" diagram "$LABDIR/checkout.saga.yaml" --format dot)
  diff -u "$LABDIR/checkout-saga.mmd" <("$EVT_BIN/evt-saga" diagram "$LABDIR/checkout.saga.yaml")
  [ "$(head -c 8 "$LABDIR/checkout-saga.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
  if command -v dot >/dev/null; then
    dot -Tpng "$LABDIR/checkout-saga.dot" -o fresh.png
    [ -s fresh.png ]
  fi
}
