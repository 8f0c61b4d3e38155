#!/usr/bin/env bash
# Choreography, the shipping service: reacts to PaymentAuthorized.
set -euo pipefail
jq -c '
  if .type == "PaymentAuthorized" then
    {type: "OrderShipped", source: "/shipping", id: (.id + "/shipping"), subject: .subject, causationid: .id,
     data: {orderId: .data.orderId, tracking: ("track-" + .subject)}}
  else empty end' | evt-append -t shipping-events --idempotent 2>/dev/null
