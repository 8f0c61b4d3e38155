#!/usr/bin/env bash
# The event-shapes lab: the same fact, "an order was placed", published as a
# thin notification (the consumer must call back for the details) and as an
# event that carries its state (event-carried state transfer). The shipping
# service consumes each; we then move the customer and stop the customer
# service, and watch what each shape does.
#
# usage: examples/event-shapes/run.sh      (compare with expected-output.txt)
# The tools come from $EVT_BIN, else the build directory, else $PATH. The lab
# uses a log of its own in a temporary directory and removes it at the end.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lab-common.sh"
export CUSTOMER_SERVICE="$work/customer-service"

# The customer service's state is a fold of its own facts (topic 'customers'):
# one file per customer, rewritten from the log.
sync_customer_service() {
  mkdir -p "$CUSTOMER_SERVICE"
  evt-replay -t customers --no-position | jq -s -c 'reduce .[] as $e ({}; .[$e.subject] += $e.data) | to_entries[]' |
    while read -r row; do
      jq -c .value <<< "$row" > "$CUSTOMER_SERVICE/$(jq -r .key <<< "$row").json"
    done
}

customer_fact() { # TYPE CUSTOMER DATA TIME
  printf '{"specversion":"1.0","id":"%s-%s","source":"/customers","type":"%s","subject":"%s","time":"%s","data":%s}\n' \
    "$2" "$1" "$1" "$2" "$4" "$3" | evt-append -t customers
}

# place ORDER CUSTOMER TIME: the same fact twice, once per shape.
place() {
  local c="$CUSTOMER_SERVICE/$2.json"
  printf '{"specversion":"1.0","id":"%s","source":"/orders","type":"OrderPlaced","subject":"%s","time":"%s","data":{"orderId":"%s","customerId":"%s"}}\n' \
    "$1" "$1" "$3" "$1" "$2" | evt-append -t orders-notified
  printf '{"specversion":"1.0","id":"%s","source":"/orders","type":"OrderPlaced","subject":"%s","time":"%s","data":{"orderId":"%s","customerId":"%s","shipTo":{"name":%s,"address":%s},"lines":[{"sku":"mug","qty":2,"price":"9.50"}],"total":"19.00"}}\n' \
    "$1" "$1" "$3" "$1" "$2" "$(jq .name "$c")" "$(jq .address "$c")" | evt-append -t orders-carried
}

say "== 1. One fact, two shapes =="
say
customer_fact CustomerRegistered c-1 '{"name":"Alice","address":"1 Old Road, Leeds"}' 2026-11-27T09:00:00.000Z
customer_fact CustomerRegistered c-2 '{"name":"Bob","address":"4 Mill Lane, Hull"}' 2026-11-27T09:01:00.000Z
sync_customer_service
touch "$CUSTOMER_SERVICE/UP"
place o-1 c-1 2026-11-27T10:00:00.000Z
say "A notification: which order, which customer. Whoever needs more asks."
cmd "evt-replay -t orders-notified --no-position | jq -c .data"
evt-replay -t orders-notified --no-position | jq -c .data
say
say "Event-carried state: what the consumers need, as it was when it happened."
cmd "evt-replay -t orders-carried --no-position | jq -c .data"
evt-replay -t orders-carried --no-position | jq -c .data
say
say "Sizes of the whole events: notification $(evt-replay -t orders-notified --no-position | wc -c | tr -d ' ') bytes," \
  "state transfer $(evt-replay -t orders-carried --no-position | wc -c | tr -d ' ') bytes."
say

say "== 2. The customer moves before the order ships =="
say
cmd "evt-append -t customers   # CustomerMoved c-1: 9 New Street, York"
customer_fact CustomerMoved c-1 '{"address":"9 New Street, York"}' 2026-11-27T10:05:00.000Z
sync_customer_service
cmd "evt-consume -t orders-notified -g shipping-n --exec ./ship-from-notification.sh"
evt-consume -t orders-notified -g shipping-n --exec "$here/ship-from-notification.sh"
cmd "evt-consume -t orders-carried -g shipping-c --exec ./ship-from-state.sh"
evt-consume -t orders-carried -g shipping-c --exec "$here/ship-from-state.sh"
say
say "Same order, two labels. The notification consumer asked at shipping time"
say "and got the new address; the carried state is the address the customer"
say "confirmed at checkout. Which one is right is a business rule, not a"
say "technical accident: if an order ships to the address it was placed with,"
say "that address belongs in the OrderPlaced fact (or in an OrderAddressChanged"
say "fact of its own), and the notification design quietly broke the rule."
say

say "== 3. The customer service is down =="
say
rm "$CUSTOMER_SERVICE/UP"
cmd "rm customer-service/UP      # the customer service stops answering"
cmd "evt-append ...           # OrderPlaced o-2, in both shapes"
place o-2 c-2 2026-11-27T11:00:00.000Z
cmd "evt-consume -t orders-carried -g shipping-c --exec ./ship-from-state.sh"
evt-consume -t orders-carried -g shipping-c --exec "$here/ship-from-state.sh"
cmd "evt-consume -t orders-notified -g shipping-n --exec ./ship-from-notification.sh &"
evt-consume -t orders-notified -g shipping-n --exec "$here/ship-from-notification.sh" > notified.out 2> notified.err &
pids+=($!)
notified=$!
wait_for bash -c '[ "$(grep -c "customer service unavailable" notified.err)" -ge 2 ]'
say "The notification consumer fails on o-2 and retries with back-off; its"
say "partition waits behind it (order is kept), so the lag stays:"
for g in shipping-n shipping-c; do
  cmd "evt-group describe $g --format json | jq -c '.partitions[] | {topic, lag}'"
  evt-group describe "$g" --format json | jq -c '.partitions[] | {topic, lag}' | sed 's/^/  /'
done
touch "$CUSTOMER_SERVICE/UP"
cmd "touch customer-service/UP    # it answers again"
wait "$notified"
pids=()
cat notified.out
say "...and only now does o-2 ship from the notification."
say

say "== 4. What each shape costs =="
say
say "  notification            consumers call back: temporal coupling (the producer's"
say "                          service must be up), a read of *current* state, load on"
say "                          the owner; small events, one source of truth."
say "  event-carried state     consumers are autonomous and see the state of the"
say "                          moment; bigger events, copies that can go stale,"
say "                          personal data copied into a log that keeps it."
say
say "Replay makes the difference sharper: a notification replayed next year"
say "asks today's customer service about last year's order."
