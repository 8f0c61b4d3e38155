#!/usr/bin/env bash
# The inventory service, one command at a time (run by evt-consume --exec):
# ReserveInventory -> InventoryReserved, or InventoryUnavailable when an order
# asks for more than 10 of one item; ReleaseInventory -> InventoryReleased.
# Replies echo the command's correlationid and carry its id as causationid;
# their own id is derived from the command's, so evt-append --idempotent
# stores a redelivered command's reply once.
set -euo pipefail
jq -c '
  def reply(t; d): {type: t, source: "/inventory", id: (.id + "/reply"), subject: .subject,
                    correlationid: .correlationid, causationid: .id, data: d};
  if .type == "ReserveInventory" then
    if ([.data.items[]?.qty] | max // 0) <= 10
    then reply("InventoryReserved"; {orderId: .data.orderId, reservationId: ("res-" + .data.orderId)})
    else reply("InventoryUnavailable"; {orderId: .data.orderId, reason: "not enough stock"}) end
  elif .type == "ReleaseInventory" then reply("InventoryReleased"; {orderId: .data.orderId, reservationId: .data.reservationId})
  else empty end' | evt-append -t inventory-events --idempotent 2>/dev/null
