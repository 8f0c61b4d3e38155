#!/usr/bin/env python3
"""Seeded CloudEvents 1.0 NDJSON for evt's tests (the project's own generator).

  gen_events.py -n 20000 -s 7 [-o FILE] [--dup-fraction F] [--entities K]

Same seed and arguments give the same bytes. Each line is one compact
object: specversion, id (a UUID4 drawn from the seeded generator), source,
type (past-tense order-domain facts), subject "order-<k>" (k < entities,
default n/10), time (non-decreasing, from 2026-11-01T12:00:00.000Z),
datacontenttype and data {order_id, amount_cents, currency}. With
--dup-fraction F, round(n*F) of the n lines repeat an earlier line exactly
(an at-least-once redelivery).
"""
import argparse
import random
import sys

TYPES = [("OrderPlaced", "/checkout"), ("PaymentAuthorized", "/billing"), ("PaymentCaptured", "/billing"),
         ("InvoiceIssued", "/billing"), ("InvoicePaid", "/billing"), ("OrderConfirmed", "/checkout"),
         ("ItemAdded", "/checkout"), ("ItemRemoved", "/checkout"), ("ShipmentDispatched", "/shipping"),
         ("OrderShipped", "/shipping"), ("OrderDelivered", "/shipping"), ("OrderCancelled", "/checkout"),
         ("CustomerNotified", "/notifications"), ("PaymentFailed", "/billing"), ("PaymentRefunded", "/billing")]
WEIGHTS = [9, 7, 7, 5, 5, 8, 6, 2, 6, 7, 7, 2, 10, 1, 1]
CURRENCIES = ["EUR", "EUR", "USD", "GBP", "CHF"]


def uuid4(rng):
    b = bytearray(rng.getrandbits(8) for _ in range(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def stamp(ms):
    secs, milli = divmod(ms, 1000)
    day, sod = divmod(secs, 86400)
    sod += 12 * 3600
    day, sod = day + sod // 86400, sod % 86400
    return f"2026-11-{1 + day:02d}T{sod // 3600:02d}:{sod // 60 % 60:02d}:{sod % 60:02d}.{milli:03d}Z"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("-s", "--seed", type=int, default=1)
    ap.add_argument("-o", "--output")
    ap.add_argument("--dup-fraction", type=float, default=0.0)
    ap.add_argument("--entities", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    entities = a.entities or max(1, a.n // 10)
    dups = round(a.n * a.dup_fraction)
    unique = a.n - dups
    dup_at = set(rng.sample(range(1, a.n), dups)) if dups else set()
    out = open(a.output, "w") if a.output else sys.stdout
    lines, ms = [], 0
    for i in range(a.n):
        if i in dup_at and lines:
            line = lines[rng.randrange(len(lines))]
        else:
            t, source = rng.choices(TYPES, WEIGHTS)[0]
            k = rng.randrange(entities)
            ms += rng.randrange(0, 21)
            line = ('{"specversion":"1.0","id":"%s","source":"%s","type":"%s","subject":"order-%d",'
                    '"time":"%s","datacontenttype":"application/json",'
                    '"data":{"order_id":"order-%d","amount_cents":%d,"currency":"%s"}}'
                    % (uuid4(rng), source, t, k, stamp(ms), k, rng.randrange(100, 100000), rng.choice(CURRENCIES)))
            lines.append(line)
        out.write(line + "\n")
    print(f"gen_events: lines={a.n} unique={unique}", file=sys.stderr)


if __name__ == "__main__":
    main()
