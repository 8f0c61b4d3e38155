#!/usr/bin/env bash
# The payment service: AuthorizePayment -> PaymentAuthorized, or
# PaymentDeclined for the test card "4000-0000-0000-0002" or an amount over 1000.
set -euo pipefail
jq -c '
  def reply(t; d): {type: t, source: "/payment", id: (.id + "/reply"), subject: .subject,
                    correlationid: .correlationid, causationid: .id, data: d};
  if .type == "AuthorizePayment" then
    if .data.card == "4000-0000-0000-0002" or (.data.amount // 0) > 1000
    then reply("PaymentDeclined"; {orderId: .data.orderId, reason: "card declined"})
    else reply("PaymentAuthorized"; {orderId: .data.orderId, authorization: ("auth-" + .data.orderId), amount: .data.amount}) end
  else empty end' | evt-append -t payment-events --idempotent 2>/dev/null
