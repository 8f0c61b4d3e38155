#!/usr/bin/env bash
# The saga and idempotency clinic (issue 5): a payment counter that is not
# idempotent, fed through evt-chaos, gets the total wrong; the same pipeline
# through evt-dedup --store gets it right; a crash/restart loop ending in
# evt-dedup --store --to-topic gets it right again. See README.md.
#
# Usage: examples/idempotency-clinic/run.sh        (EVT_BIN=/path/to/bin to choose the build)
# Standard output is deterministic (fixed seeds, no timings) and is compared
# with expected-output.txt by tests/cli/lab_idempotency.bats; progress notes
# that depend on timing go to standard error. Exits 1 if a "right" total is
# wrong.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${EVT_BIN:-}" ]; then PATH="$EVT_BIN:$PATH"
elif [ -x "$here/../../build/bin/evt-dedup" ]; then PATH="$here/../../build/bin:$PATH"; fi
for t in evt-append evt-replay evt-chaos evt-dedup jq awk setsid; do
    command -v "$t" >/dev/null || { echo "run.sh: error: $t not found (build evt, or set EVT_BIN)" >&2; exit 69; }
done
work=$(mktemp -d)
export EVT_LOG=$work/log
pg=""
cleanup() {
    if [ -n "$pg" ]; then kill -9 -- "-$pg" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
note() { printf '  (%s)\n' "$*" >&2; }
failed=0
verdict() {  # verdict WHAT GOT WANT
    if [ "$2" = "$3" ]; then echo "  $1: $2 cents, right"
    else echo "  $1: $2 cents, WRONG by $(( $2 - $3 ))"; return 1; fi
}
# The consumer that is not idempotent: it adds up every payment it is given.
naive_sum() { jq -n '[inputs | .data.amount_cents] | add // 0'; }
# The chaos of at-least-once delivery, the same every run.
CHAOS=(evt-chaos --dup 0.15 --reorder 0.1 --window 4 --seed 42)

echo "== 1. 400 payments, each a PaymentCaptured fact with its own id"
awk 'BEGIN { for (i = 1; i <= 400; i++)
    printf "{\"specversion\":\"1.0\",\"id\":\"pay-%04d\",\"source\":\"/payments\",\"type\":\"PaymentCaptured\",\"subject\":\"order-%d\",\"data\":{\"amount_cents\":%d,\"currency\":\"EUR\"}}\n",
        i, 1000 + i % 97, 100 + (i * 7919) % 9900 }' > payments.ndjson
truth=$(naive_sum < payments.ndjson)
echo "  $(wc -l < payments.ndjson) payments; the true total is $truth cents"

echo
echo "== 2. at-least-once delivery into a counter that is not idempotent"
echo "  \$ ${CHAOS[*]} --report-file report.ndjson < payments.ndjson | jq (sum)"
"${CHAOS[@]}" --report-file report.ndjson < payments.ndjson > delivered.ndjson
jq -r '.summary | "  evt-chaos delivered \(.out) lines for \(.in) payments: \(.duplicated) duplicated, \(.reordered) reordered"' < <(tail -n 1 report.ndjson)
wrong=$(naive_sum < delivered.ndjson)
verdict "naive total" "$wrong" "$truth" && { echo "  (the chaos did nothing?)"; failed=1; } || true
dup_cents=$(jq -r 'select(.action == "dup") | .line' report.ndjson |
    awk 'NR == FNR { d[$1] = 1; next } FNR in d' - payments.ndjson | naive_sum)
echo "  the report explains it: the duplicated payments add up to $dup_cents cents"
[ $(( truth + dup_cents )) -eq "$wrong" ] || { echo "  the report does not explain the difference"; failed=1; }

echo
echo "== 3. the same delivery into an idempotent consumer: evt-dedup --store payments first"
echo "  \$ ${CHAOS[*]} < payments.ndjson | evt-dedup --store payments | jq (sum)"
right=$("${CHAOS[@]}" < payments.ndjson | evt-dedup --store payments | naive_sum)
verdict "deduplicated total" "$right" "$truth" || failed=1
echo "  a redelivery of everything (another seed) after a restart adds:"
again=$(evt-chaos --dup 0.15 --reorder 0.1 --window 4 --seed 43 < payments.ndjson | evt-dedup --store payments | naive_sum)
echo "  $again cents: the store in the log remembers what was counted"
[ "$again" -eq 0 ] || failed=1

echo
echo "== 4. crash and restart: the pipeline is SIGKILLed mid-stream 4 times, then run to the end"
echo "  \$ evt-replay -t payments | ${CHAOS[*]} | evt-dedup --store ledger --to-topic ledger"
evt-append -t payments < payments.ndjson
kill_after=(- 0.9 1.3 1.7 2.1)  # seconds; evt-chaos takes ~0.6 s to start, a run ~3 s
for i in 1 2 3 4; do
    # --delay paces the stream (5 ms a line or more), so the kill falls mid-stream
    setsid bash -c 'echo $$ > pgid; evt-replay -t payments --no-position |
        evt-chaos --dup 0.15 --reorder 0.1 --window 4 --seed "$1" --delay 5ms |
        evt-dedup --store ledger --to-topic ledger' _ "$((41 + i))" > /dev/null 2>&1 &
    job=$!
    for _ in $(seq 1 100); do [ -s pgid ] && break; sleep 0.01; done
    pg=$(cat pgid); rm -f pgid
    sleep "${kill_after[$i]}"
    kill -9 -- "-$pg" 2>/dev/null || true
    { wait "$job"; } 2>/dev/null || true
    pg=""
    note "after kill $i the ledger holds $(evt-replay -t ledger --no-position 2>/dev/null | wc -l) payments"
done
evt-replay -t payments --no-position | "${CHAOS[@]}" | evt-dedup --store ledger --to-topic ledger
echo "  the ledger topic holds $(evt-replay -t ledger --no-position | wc -l) payments, $(evt-replay -t ledger | jq -r .id | sort -u | wc -l) distinct"
ledger=$(evt-replay -t ledger --no-position | naive_sum)
verdict "ledger total" "$ledger" "$truth" || failed=1

echo
if [ "$failed" -eq 0 ]; then echo "all right totals are right"; else echo "a right total is wrong"; fi
exit "$failed"
