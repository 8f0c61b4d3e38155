#!/usr/bin/env bash
# The checkout demo: the checkout saga lab (examples/checkout-saga) on the
# embedded log. The saga is written once, checked, drawn and simulated; then
# the orchestrator (evt-saga run) drives it with the participant services as
# evt-consume --exec pipelines, once on the happy path and once with a
# declined payment that is compensated. Last, a glance at the log itself.
# Installs what is missing and builds first (see .ci/setup.sh).
set -euo pipefail
. "$(dirname "$0")/../.ci/setup.sh" >/dev/null
here=$(cd "$(dirname "$0")" && pwd)
export EVT_BIN=$EVT_BUILD/bin
export EVT_LOG=$(mktemp -d)/log
trap 'rm -rf "$(dirname "$EVT_LOG")"' EXIT
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; }
cd "$here/.."
saga=examples/checkout-saga/checkout.saga.yaml

step "evt-saga check checkout.saga.yaml   # structural and naming mistakes, FILE:LINE:COL"
evt-saga check "$saga"

step "evt-saga check mistakes/compensatable-after-pivot.yaml   # what a mistake looks like"
evt-saga check tests/fixtures/saga/mistakes/compensatable-after-pivot.yaml || echo "  (exit $?)"

step "evt-saga diagram checkout.saga.yaml   # Mermaid; --format dot | dot -Tpng for a PNG"
evt-saga diagram "$saga" | sed -n '1,/^    classDef/p' | sed '$d'

step "evt-saga simulate checkout.saga.yaml --fail authorize-payment"
evt-saga simulate "$saga" --fail authorize-payment

step "examples/checkout-saga/happy-path.sh   # evt-saga run + four services over evt-consume --exec"
"$here/checkout-saga/happy-path.sh"

step "examples/checkout-saga/failed-payment.sh   # the declined card is compensated"
"$here/checkout-saga/failed-payment.sh"

step "examples/checkout-saga/choreography/run.sh   # the same without an orchestrator"
"$here/checkout-saga/choreography/run.sh"

step "evt-append -t orders --partitions 3 < orders.ndjson; evt-replay -t orders --stream order-1001"
evt-append -t orders --partitions 3 < "$here/checkout/orders.ndjson" 2>/dev/null
evt-replay -t orders --stream order-1001 | jq -c '{version: .evtversion, type, partition: .evtpartition}'

step "evt-topic partition-of order-1001 --partitions 3   # the partition Kafka would choose too"
evt-topic partition-of order-1001 --partitions 3

echo
echo "More: examples/checkout-saga/README.md (orchestration vs choreography), man -l man/evt-saga.1"
