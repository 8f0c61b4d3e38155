#!/usr/bin/env bash
# The order service's command side: CancelOrder -> OrderCancelled, a fact on
# the orders topic beside OrderPlaced.
set -euo pipefail
jq -c '
  if .type == "CancelOrder" then
    {type: "OrderCancelled", source: "/orders", id: (.id + "/reply"), subject: .data.orderId,
     correlationid: .correlationid, causationid: .id, data: {orderId: .data.orderId, reason: .data.reason}}
  else empty end' | evt-append -t orders --idempotent 2>/dev/null
