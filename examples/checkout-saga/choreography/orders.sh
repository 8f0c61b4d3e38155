#!/usr/bin/env bash
# Choreography, the order service: cancels the order on PaymentDeclined or
# InventoryUnavailable.
set -euo pipefail
jq -c '
  if .type == "PaymentDeclined" or .type == "InventoryUnavailable" then
    {type: "OrderCancelled", source: "/orders", id: (.id + "/orders"), subject: .subject, causationid: .id,
     data: {orderId: .data.orderId, reason: .type}}
  else empty end' | evt-append -t orders --idempotent 2>/dev/null
