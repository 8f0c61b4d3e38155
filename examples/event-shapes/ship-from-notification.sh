#!/usr/bin/env bash
# The shipping service fed by thin notifications. The event says only which
# order and which customer; the address comes from asking the customer service
# now, while the event is handled. The customer service is a directory
# ($CUSTOMER_SERVICE): <customer>.json per customer, and a file UP while it
# answers. Exit 1 (the event will be retried) when it does not answer.
set -euo pipefail
event=$(cat)
order=$(jq -r .data.orderId <<< "$event")
customer=$(jq -r .data.customerId <<< "$event")
service=${CUSTOMER_SERVICE:?CUSTOMER_SERVICE must name the customer service directory}
if [ ! -e "$service/UP" ]; then
  echo "ship-from-notification: $order: customer service unavailable" >&2
  exit 1
fi
address=$(jq -r .address "$service/$customer.json")
printf '  label for %s: %s, %s\n' "$order" "$(jq -r .name "$service/$customer.json")" "$address"
