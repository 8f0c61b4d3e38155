#!/usr/bin/env bash
# The CQRS lab (issue 6): the same order events projected two ways, an order
# summary for customers and a revenue-per-day board for finance; a read model
# deleted and rebuilt to the same content; a rebuild while the old model keeps
# serving; "what did we know after the first 100 events" as a snapshot. See
# README.md.
#
# Usage: examples/cqrs/run.sh        (EVT_BIN=/path/to/bin to choose the build)
# Standard output is deterministic and is compared with expected-output.txt by
# tests/cli/lab_cqrs.bats. Exits 1 if a check fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
needs=(evt-append evt-replay evt-project evt-query jq awk)
. "$here/../lab-common.sh"
failed=0
check() {  # check WHAT GOT WANT
    if [ "$2" = "$3" ]; then echo "  check: $1: yes"
    else echo "  check: $1: NO (got $2, want $3)"; failed=1; fi
}
cp "$here/order_summary.yaml" "$here/revenue_by_day.yaml" .

echo "== 1. the write side: order events, appended as facts"
awk -f "$here/gen-orders.awk" > orders.ndjson
evt-append -t orders --partitions 3 < orders.ndjson
echo "  $(wc -l < orders.ndjson) events about $(jq -r .subject orders.ndjson | sort -u | wc -l) orders: $(jq -r .type orders.ndjson | sort | uniq -c | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }')"

echo
echo "== 2. two read models from the same events"
echo "  \$ evt-project order_summary.yaml; evt-project revenue_by_day.yaml"
evt-project -q order_summary.yaml
evt-project -q revenue_by_day.yaml
echo "  the customer's page: \$ evt-query order_summary --where customer=cust-8"
evt-query order_summary --where customer=cust-8 | sed 's/^/    /'
echo "  their lifetime value: \$ evt-query order_summary.customers cust-8 --format json"
echo "    $(evt-query order_summary.customers cust-8 --format json)"
echo "  finance's board: \$ evt-query revenue_by_day"
evt-query revenue_by_day | sed 's/^/    /'
# the board, checked against the events themselves
want=$(jq -s '(map(select(.type == "OrderPaid") | .data.amount_cents) | add) - (map(select(.type == "OrderRefunded") | .data.amount_cents) | add)' orders.ndjson)
got=$(evt-query revenue_by_day --format ndjson | jq -s 'map(.revenue_cents) | add')
check "the board's revenue ($got cents) is paid minus refunded in the events" "$got" "$want"
want=$(jq -s '([.[] | select(.type == "OrderPaid" and .data.customer == "cust-8") | .data.amount_cents] | add) - ([.[] | select(.type == "OrderRefunded" and .data.customer == "cust-8") | .data.amount_cents] | add // 0)' orders.ndjson)
check "cust-8's lifetime value is what the events say" "$(evt-query order_summary.customers cust-8 --format json | jq .paid_cents)" "$want"

echo
echo "== 3. a read model is disposable: delete it, rebuild it from the log"
evt-query revenue_by_day --format json > board-before.json
evt-project -q --drop revenue_by_day
echo "  \$ evt-project --drop revenue_by_day; evt-query revenue_by_day"
set +e; evt-query revenue_by_day > /dev/null 2> err.txt; status=$?; set -e
echo "    exit $status: $(sed 's/^evt-query: //' err.txt)"
evt-project -q revenue_by_day.yaml
evt-query revenue_by_day --format json > board-after.json
check "rebuilt board is byte-for-byte the board before" "$(cmp -s board-before.json board-after.json && echo same || echo different)" same

echo
echo "== 4. a new question for an old log: change the spec, --rebuild"
sed -i 's/- inc: {cancellations: 1}/- inc: {cancellations: 1}\n    - add: {cancelled_orders: $subject}/' revenue_by_day.yaml
set +e; evt-project -q revenue_by_day.yaml 2> err.txt; status=$?; set -e
echo "  \$ evt-project revenue_by_day.yaml   (spec changed)"
echo "    exit $status: $(sed -n 1p err.txt | sed 's/^evt-project: //; s/ (from .*)//')"
echo "  \$ evt-project revenue_by_day.yaml --rebuild   (the old board serves until the new one is complete)"
evt-project -q --rebuild revenue_by_day.yaml
evt-query revenue_by_day --format ndjson | jq -c '{day: .key, cancellations, cancelled_orders}' | sed 's/^/    /'
check "the other columns did not change" "$(evt-query revenue_by_day --format ndjson | jq -c 'del(.cancelled_orders)' | jq -s -c .)" "$(jq -c '.[]' board-before.json | jq -s -c .)"

echo
echo "== 5. time travel: what did the board say after the first 100 events of each partition?"
echo "  \$ evt-project revenue_by_day.yaml --to 100 --snapshot first100; evt-query revenue_by_day@first100"
evt-project -q revenue_by_day.yaml --to 100 --snapshot first100
evt-query revenue_by_day@first100 | sed 's/^/    /'
n=$(evt-replay -t orders --by-partition --no-position --format '%p %o\n' | awk '$2 < 100' | wc -l)
paid=$(evt-replay -t orders --by-partition | jq -s '[.[] | select(.evtoffset < 100 and .type == "OrderPaid") | .data.amount_cents] | add')
refunded=$(evt-replay -t orders --by-partition | jq -s '[.[] | select(.evtoffset < 100 and .type == "OrderRefunded") | .data.amount_cents] | add // 0')
check "the snapshot holds the $n events below offset 100 and their revenue" \
    "$(evt-query revenue_by_day@first100 --format ndjson | jq -s 'map(.revenue_cents) | add')" "$((paid - refunded))"

echo
echo "== 6. the read models and where they stand"
evt-query --list --format json | jq -r '.[] | "  \(.name): \(.rows) rows, position \(.position), lag \(.lag)"'
exit "$failed"
