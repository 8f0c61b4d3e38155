#!/usr/bin/env bash
# The transactional outbox (issue 8 lab, part 2). The same order service
# writes the order and an outbox row in ONE database transaction; evt-outbox
# relays the outbox to the log. The relay is killed (SIGKILL) at random
# instants and restarted, over and over, while orders are placed, and the
# service is killed after its 20th order, exactly as in dual-write.sh. At the
# end every order has exactly one OrderPlaced event in the log, in order.
# Exits 1 if an event is lost or duplicated.
#
# Usage: examples/outbox/outbox.sh   (EVT_BIN=/path/to/bin to choose the build)
# Standard output is deterministic; kill counts and timings go to stderr.
. "$(dirname "$0")/common.sh"

echo "== the outbox: INSERT INTO orders + INSERT INTO outbox in one transaction; evt-outbox relays"
evt-outbox init --db sqlite:shop.db 2> /dev/null
echo "  \$ evt-outbox init --db sqlite:shop.db      (the outbox table, see schemas/outbox.md)"
start_service '
for i in $(seq 1 40); do
  sqlite3 -cmd ".timeout 5000" shop.db "BEGIN IMMEDIATE;
    INSERT INTO orders VALUES ('"'"'order-$i'"'"', '"'"'customer-$i'"'"', $((i * 1000)));
    INSERT INTO outbox (aggregatetype, aggregateid, type, payload)
      VALUES ('"'"'order'"'"', '"'"'order-$i'"'"', '"'"'OrderPlaced'"'"', json_object('"'"'total_cents'"'"', $((i * 1000))));
    COMMIT;"
  sleep 0.1
done'

# The relay, killed at random instants while orders flow (in the background,
# until the service is gone).
relay_chaos() {
    local kills=0 relay
    while [ ! -e service.gone ]; do
        evt-outbox --db sqlite:shop.db -t orders --follow --poll 50ms --batch 3 2>> relay.err &
        relay=$!
        sleep "$(printf '0.%03d' $((50 + RANDOM % 250)))"
        kill -9 "$relay"
        wait "$relay" 2>/dev/null || true
        kills=$((kills + 1))
    done
    echo "$kills" > kills
}
relay_chaos &
chaos=$!
crash_service_after 20
touch service.gone
wait "$chaos"
kills=$(cat kills)
note "the relay was killed $kills times while orders were placed"
echo "  the relay was killed (SIGKILL) at random instants, again and again, while orders were placed"
echo "  the service was killed (SIGKILL) after committing order 20, as in dual-write.sh"
echo "  \$ evt-outbox --db sqlite:shop.db -t orders     (restarted once more: it relays what is left)"
evt-outbox --db sqlite:shop.db -t orders 2> relay-final.err
note "$(cat relay-final.err)"

in_db=$(orders_in_db)
evt-replay -t orders --no-position > events.ndjson
echo "  orders in the database:        $in_db"
echo "  OrderPlaced events in the log: $(wc -l < events.ndjson)"
sqlite3 shop.db 'SELECT id FROM orders ORDER BY rowid' > db.ids
jq -r .subject events.ndjson > log.ids
lost=$( (grep -vxF -f log.ids db.ids || true) | wc -l)
dups=$(sort log.ids | uniq -d | wc -l)
echo "  lost: $lost, duplicated: $dups"
# the events are in the order the orders were committed
if cmp -s db.ids log.ids; then echo "  in commit order: yes"; else echo "  in commit order: NO"; fi
[ "$lost" -eq 0 ] && [ "$dups" -eq 0 ] && [ "$in_db" -eq "$(wc -l < events.ndjson)" ] && cmp -s db.ids log.ids
