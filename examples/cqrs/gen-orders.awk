# 120 orders over three days, deterministic: each is placed; most are paid,
# some shipped, some cancelled, a few refunded after payment.
function ev(type, order, day, sec, data) {
    printf "{\"specversion\":\"1.0\",\"id\":\"%s-%s\",\"source\":\"/shop\",\"type\":\"%s\",\"subject\":\"%s\",\"time\":\"2026-11-%02dT%02d:%02d:%02dZ\",\"data\":{%s}}\n", \
        order, type, type, order, day, int(sec / 3600), int(sec % 3600 / 60), sec % 60, data
}
BEGIN {
    for (i = 1; i <= 120; i++) {
        order = sprintf("order-%03d", i)
        cust = sprintf("cust-%d", 1 + (i * 7) % 17)
        amount = 500 + (i * 7919) % 20000
        day = 1 + int((i - 1) / 40)
        sec = 8 * 3600 + (i * 397) % 36000
        ev("OrderPlaced", order, day, sec, sprintf("\"customer\":\"%s\",\"amount_cents\":%d,\"items\":%d", cust, amount, 1 + i % 4))
        if (i % 9 == 0) { ev("OrderCancelled", order, day, sec + 600, sprintf("\"customer\":\"%s\",\"reason\":\"changed mind\"", cust)); continue }
        ev("OrderPaid", order, day, sec + 120, sprintf("\"customer\":\"%s\",\"amount_cents\":%d", cust, amount))
        if (i % 3 != 0) ev("OrderShipped", order, day, sec + 3000, "\"carrier\":\"" (i % 2 ? "DHL" : "UPS") "\"")
        if (i % 13 == 0) ev("OrderRefunded", order, day, sec + 5000, sprintf("\"customer\":\"%s\",\"amount_cents\":%d", cust, amount))
    }
}
