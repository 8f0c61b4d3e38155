#!/usr/bin/env bash
# The checkout saga's happy path: order-1001 is placed; the orchestrator
# (evt-saga run) sends ReserveInventory, AuthorizePayment and ShipOrder to
# the services, one after the other's reply, and the saga completes.
# Standard output is deterministic (compared with expected-happy-path.txt by
# tests/cli/lab_checkout_saga.bats).
. "$(dirname "$0")/lab.sh"
make_topics
start_services
echo "== the happy path: order-1001, two mugs, a good card"
place_order order-1001 '{"orderId":"order-1001","items":[{"sku":"mug","qty":2}],"total":25,"card":"4242-4242-4242-4242","address":"1 Main St"}'
evt-saga run "$lab/checkout.saga.yaml" --until-done --quiet
echo "-- the saga's stream (evt-saga status checkout.saga.yaml order-1001)"
show_saga order-1001
echo "-- the order on each topic (evt-replay -t TOPIC --stream order-1001)"
show_topics order-1001
echo "-- final state"
show_status
