#!/usr/bin/env bash
# The shipping service: ShipOrder -> OrderShipped.
set -euo pipefail
jq -c '
  if .type == "ShipOrder" then
    {type: "OrderShipped", source: "/shipping", id: (.id + "/reply"), subject: .subject,
     correlationid: .correlationid, causationid: .id,
     data: {orderId: .data.orderId, tracking: ("track-" + .data.orderId)}}
  else empty end' | evt-append -t shipping-events --idempotent 2>/dev/null
