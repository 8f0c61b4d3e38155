#!/usr/bin/env bash
# Choreography, the payment service: reacts to InventoryReserved. It needs the
# order's amount and card, so the inventory service had to copy them into its
# event (event-carried state): the coupling choreography hides.
set -euo pipefail
jq -c '
  def fact(t; d): {type: t, source: "/payment", id: (.id + "/payment"), subject: .subject, causationid: .id, data: d};
  if .type == "InventoryReserved" then
    if .data.card == "4000-0000-0000-0002" or (.data.total // 0) > 1000
    then fact("PaymentDeclined"; {orderId: .data.orderId, reservationId: .data.reservationId, reason: "card declined"})
    else fact("PaymentAuthorized"; .data + {authorization: ("auth-" + .subject)}) end
  else empty end' | evt-append -t payment-events --idempotent 2>/dev/null
