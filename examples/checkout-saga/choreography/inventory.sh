#!/usr/bin/env bash
# Choreography, the inventory service: reacts to OrderPlaced (reserve) and to
# PaymentDeclined (release what it reserved). Nobody tells it what to do: it
# knows which events of other services concern it.
set -euo pipefail
jq -c '
  def fact(t; d): {type: t, source: "/inventory", id: (.id + "/inventory"), subject: .subject,
                   causationid: .id, data: d};
  if .type == "OrderPlaced" then
    if ([.data.items[]?.qty] | max // 0) <= 10
    then fact("InventoryReserved"; .data + {reservationId: ("res-" + .subject)})
    else fact("InventoryUnavailable"; {orderId: .data.orderId, reason: "not enough stock"}) end
  elif .type == "PaymentDeclined" then fact("InventoryReleased"; {orderId: .data.orderId, reservationId: .data.reservationId})
  else empty end' | evt-append -t inventory-events --idempotent 2>/dev/null
