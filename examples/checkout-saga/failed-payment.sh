#!/usr/bin/env bash
# The checkout saga's failed payment: order-1002 pays with a card that is
# declined. The inventory reserved for it is released and the order is
# cancelled: the compensations, in reverse order.
# Standard output is deterministic (compared with expected-failed-payment.txt
# by tests/cli/lab_checkout_saga.bats).
. "$(dirname "$0")/lab.sh"
make_topics
start_services
echo "== the failed payment: order-1002, the card is declined"
place_order order-1002 '{"orderId":"order-1002","items":[{"sku":"lamp","qty":1}],"total":80,"card":"4000-0000-0000-0002","address":"2 High St"}'
evt-saga run "$lab/checkout.saga.yaml" --until-done --quiet
# the compensations are commands: wait until the services have carried them out
wait_for inventory-events order-1002 InventoryReleased
wait_for orders order-1002 OrderCancelled
echo "-- the saga's stream (evt-saga status checkout.saga.yaml order-1002)"
show_saga order-1002
echo "-- the order on each topic (evt-replay -t TOPIC --stream order-1002)"
show_topics order-1002
echo "-- final state"
show_status
