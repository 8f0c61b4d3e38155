#!/usr/bin/env bash
# The same checkout as choreography: no orchestrator, no saga state; each
# service consumes the events of the others it cares about and publishes its
# own. order-2001 is shipped; order-2002's card is declined, so the inventory
# service releases the reservation and the order service cancels the order.
# Standard output is deterministic (compared with expected-choreography.txt).
. "$(dirname "$0")/../lab.sh"
here=$lab/choreography
make_topics
participant inventory-on-orders orders "$here/inventory.sh"
participant inventory-on-payments payment-events "$here/inventory.sh"
participant payment-on-inventory inventory-events "$here/payment.sh"
participant shipping-on-payments payment-events "$here/shipping.sh"
participant orders-on-payments payment-events "$here/orders.sh"
participant orders-on-inventory inventory-events "$here/orders.sh"
echo "== choreography: order-2001 (a good card) and order-2002 (a declined card)"
place_order order-2001 '{"orderId":"order-2001","items":[{"sku":"mug","qty":2}],"total":25,"card":"4242-4242-4242-4242"}'
place_order order-2002 '{"orderId":"order-2002","items":[{"sku":"lamp","qty":1}],"total":80,"card":"4000-0000-0000-0002"}'
wait_for shipping-events order-2001 OrderShipped
wait_for inventory-events order-2002 InventoryReleased
wait_for orders order-2002 OrderCancelled
for id in order-2001 order-2002; do
    echo "-- $id on each topic (evt-replay -t TOPIC --stream $id)"
    show_topics "$id"
done
echo "-- final state, folded from the services' events (there is no saga stream to ask)"
for id in order-2001 order-2002; do
    state=$(for t in orders shipping-events; do evt-replay -t "$t" --stream "$id" --no-position; done |
        jq -rs 'if any(.[]; .type == "OrderCancelled") then "compensated" elif any(.[]; .type == "OrderShipped") then "completed" else "running" end')
    echo "  $id: $state"
done
