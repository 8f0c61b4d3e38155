#!/usr/bin/env bash
# The shipping service fed by events that carry their state: the address is
# in the event, as it was when the order was placed. It asks nobody.
set -euo pipefail
jq -r '"  label for \(.data.orderId): \(.data.shipTo.name), \(.data.shipTo.address)"'
