#!/usr/bin/env bash
# The checkout demo on the embedded log: keyed order events appended to a
# 3-partition topic, one order's stream replayed, the topic described.
# Installs what is missing and builds first (see .ci/setup.sh).
set -euo pipefail
. "$(dirname "$0")/../.ci/setup.sh" >/dev/null
here=$(cd "$(dirname "$0")" && pwd)
export EVT_LOG=$(mktemp -d)/log
trap 'rm -rf "$(dirname "$EVT_LOG")"' EXIT
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; }

step "evt-append -t orders --partitions 3 < orders.ndjson"
evt-append -t orders --partitions 3 --echo < "$here/checkout/orders.ndjson" |
    jq -r '"  stored \(.type) for \(.subject) at partition \(.evtpartition) offset \(.evtoffset)"'

step "evt-topic partition-of order-1001 --partitions 3   # the partition Kafka would choose too"
evt-topic partition-of order-1001 --partitions 3

step "evt-replay -t orders --stream order-1001   # one order's history, in order, with versions"
evt-replay -t orders --stream order-1001 | jq -c '{version: .evtversion, type, data}'

step "evt-replay -t orders --type 'Payment*' --format '%p/%o %k\n'"
evt-replay -t orders --type 'Payment*' --format '%p/%o %k\n'

step "evt-append -t orders --expect-version 5   # optimistic concurrency: order-1001 is at version 5"
echo '{"type":"OrderReturned","subject":"order-1001"}' | evt-append -t orders --expect-version 5 && echo "  appended as version 6"
echo '{"type":"OrderRefunded","subject":"order-1001"}' | evt-append -t orders --expect-version 5 || echo "  exit $? (the second writer read a stale version and loses)"

step "evt-topic describe orders"
evt-topic describe orders
