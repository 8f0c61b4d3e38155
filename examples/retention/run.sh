#!/usr/bin/env bash
# Retention as a design tool (issue 9): the same stream of price changes goes
# into three topics - a 7-day buffer (--retention 7d), a table (--compact) and
# a system of record (no retention) - over 14 simulated days (EVT_NOW moves
# the clock), and each is replayed to see what it can still answer.
# See README.md.
#
# Usage: examples/retention/run.sh        (EVT_BIN=/path/to/bin to choose the build)
# Standard output is deterministic (fixed clock, no timings) and is compared
# with expected-output.txt by tests/cli/lab_retention.bats. Exits 1 if a topic
# does not hold what its policy promises.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
needs=(evt-append evt-replay evt-topic evt-check jq awk)
. "$here/../lab-common.sh"
failed=0
expect() {  # expect WHAT GOT WANT
    if [ "$2" = "$3" ]; then echo "$1: $2"
    else echo "$1: $2 (WRONG: the policy promises $3)"; failed=1; fi
}

T0=1893456000  # 2030-01-01T00:00:00Z; day d, half h is T0 + d*86400 + h*43200
at() { echo "$(( T0 + $1 * 86400 + $2 * 43200 ))000000"; }

echo "== 1. Three topics, three policies"
evt-topic create prices-7d --retention 7d 2>/dev/null
evt-topic create prices-table --compact --tombstone-retention 1d 2>/dev/null
evt-topic create prices-all 2>/dev/null
for t in prices-7d prices-table prices-all; do
    evt-topic describe "$t" | sed -n 2p | sed "s/^/  $t: /"
done

echo "== 2. 14 days of price changes: 5 SKUs, twice a day; sku-5 delisted on day 10"
for d in $(seq 0 13); do
    for h in 0 1; do
        awk -v d="$d" -v h="$h" 'BEGIN {
            for (s = 1; s <= 5; s++) {
                if (s == 5 && (d > 10 || (d == 10 && h == 1))) continue
                if (s == 5 && d == 10 && h == 0) {
                    printf "{\"id\":\"sku-5-delisted\",\"source\":\"/pricing\",\"type\":\"ProductDelisted\",\"partitionkey\":\"sku-5\",\"subject\":\"sku-5\",\"data\":null,\"evttombstone\":true}\n"
                    continue
                }
                cents = 1000 * s + 10 * d + h
                printf "{\"id\":\"p-%d-%d-%d\",\"source\":\"/pricing\",\"type\":\"PriceChanged\",\"partitionkey\":\"sku-%d\",\"subject\":\"sku-%d\",\"data\":{\"cents\":%d,\"day\":%d}}\n", s, d, h, s, s, cents, d
            } }' > batch.ndjson
        for t in prices-7d prices-table prices-all; do EVT_NOW=$(at "$d" "$h") evt-append -t "$t" batch.ndjson; done
        cat batch.ndjson >> all.ndjson
    done
done
echo "  appended $(wc -l < all.ndjson) events to each topic"
# what is due at the end of day 13 (appends remove only a bounded amount per commit)
EVT_NOW=$(at 14 0) evt-check --gc > /dev/null 2>&1

echo "== 3. What each topic holds now (day 14)"
for t in prices-all prices-7d prices-table; do
    evt-replay -t "$t" --no-position > "$t.out"
    first=$(head -1 "$t.out" | jq -r '.data.day // "-"')
    echo "  $t: $(wc -l < "$t.out") events, oldest from day $first; $(evt-topic describe "$t" --format json | jq -r '.partition_detail[0] | "offsets \(.start)..\(.end - 1)"')"
done

echo "== 4. Questions"
echo "  Q1: what did sku-1 cost on day 2?"
for t in prices-all prices-7d prices-table; do
    a=$(jq -r 'select(.partitionkey == "sku-1" and .data.day == 2) | .data.cents' "$t.out" | tail -1)
    echo "    $t: ${a:-cannot tell (gone)}"
done
echo "  Q2: the current price list"
jq -r '"    \(.partitionkey) \(.data.cents)"' prices-table.out
expect "    SKUs in the table" "$(wc -l < prices-table.out)" 4
expect "    sku-5 in the table (delisted, tombstone expired)" "$(grep -c '"sku-5"' prices-table.out || true)" 0
echo "  Q3: how many price changes in the last 7 days?"
expect "    prices-7d" "$(jq -r 'select(.type == "PriceChanged")' prices-7d.out | jq -s length)" \
    "$(jq -r 'select(.type == "PriceChanged" and .data.day >= 7)' all.ndjson | jq -s length)"
expect "  Q4: prices-all holds every event" "$(wc -l < prices-all.out)" "$(wc -l < all.ndjson)"

echo "== 5. evt-check"
evt-check | sed 's/^/  /'
exit "$failed"
