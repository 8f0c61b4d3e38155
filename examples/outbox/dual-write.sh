#!/usr/bin/env bash
# The dual-write bug (issue 8 lab, part 1). An order service writes the order
# to its database, then appends OrderPlaced to the log: two writes, no shared
# transaction. The service is killed after the 5th order's database commit,
# before its append (here, while it waits on a slow log/broker call): the order
# exists, its event never will. Exits 0 when the loss was shown.
#
# Usage: examples/outbox/dual-write.sh   (EVT_BIN=/path/to/bin to choose the build)
# Standard output is deterministic; tests/cli/lab_outbox.bats compares it with
# expected-output.txt.
. "$(dirname "$0")/common.sh"

echo "== the dual write: INSERT INTO orders, then evt-append OrderPlaced"
# The service: order i is committed to the database, then, 0.4 s later (the
# call to the log is slow), its event is appended.
start_service '
for i in $(seq 1 10); do
  sqlite3 -cmd ".timeout 5000" shop.db "INSERT INTO orders VALUES ('"'"'order-$i'"'"', '"'"'customer-$i'"'"', $((i * 1000)))"
  sleep 0.4
  printf "{\"specversion\":\"1.0\",\"id\":\"order-%d-placed\",\"source\":\"/shop\",\"type\":\"OrderPlaced\",\"subject\":\"order-%d\",\"data\":{\"total_cents\":%d}}\n" "$i" "$i" "$((i * 1000))" |
    evt-append -t orders
done'
crash_service_after 5
echo "  the service was killed (SIGKILL) after committing order 5 to its database"

in_db=$(orders_in_db)
in_log=$(evt-replay -t orders --no-position 2>/dev/null | wc -l)
echo "  orders in the database:      $in_db"
echo "  OrderPlaced events in the log: $in_log"
sqlite3 shop.db 'SELECT id FROM orders ORDER BY rowid' > db.ids
evt-replay -t orders --no-position 2>/dev/null | jq -r .subject > log.ids || true
lost=$( (grep -vxF -f log.ids db.ids || true) | tr '\n' ' ' | sed 's/ $//')
if [ -n "$lost" ]; then
    echo "  LOST: $lost is in the database, and no consumer will ever hear of it"
    echo "  (retrying the append after a restart cannot help: nothing records that it is owed)"
    exit 0
fi
echo "  nothing was lost this time (the kill missed the window between the two writes)"
exit 1
