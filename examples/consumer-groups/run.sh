#!/usr/bin/env bash
# The consumer-groups lab: three partitions and two consumers in a group (who
# gets which message, and why), a second group getting everything (pub-sub),
# a member leaving (rebalance), then the same events as a work queue with three
# workers (each event to exactly one of them).
#
# usage: examples/consumer-groups/run.sh      (compare with expected-output.txt)
# The tools come from $EVT_BIN, else the build directory, else $PATH. The lab
# uses a log of its own in a temporary directory and removes it at the end.
# Standard output is the same on every run; what changes from run to run (which
# worker of the queue took which event) goes to standard error, marked '#'.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lab-common.sh"

# members_owning GROUP N: true when N live members own every partition.
members_owning() {
  local j
  j=$(evt-group describe "$1" --format json 2> /dev/null) || return 1
  [ "$(jq '.members | length' <<< "$j")" -eq "$2" ] &&
    [ "$(jq '[.partitions[] | select(.member == null)] | length' <<< "$j")" -eq 0 ] &&
    [ "$(jq '[.partitions[].member] | unique | length' <<< "$j")" -eq "$2" ]
}

# lines_total N FILE...: true when the files hold N lines together.
lines_total() {
  local n=$1
  shift
  [ "$(cat "$@" | wc -l)" -ge "$n" ]
}

# lag_zero GROUP: true when the group has committed everything.
lag_zero() { [ "$(evt-group describe "$1" --format json | jq '[.partitions[].lag] | add')" = 0 ]; }

# orders FIRST LAST: OrderPlaced events for order-FIRST..order-LAST, keyed by subject.
orders() {
  local i
  for i in $(seq "$1" "$2"); do
    printf '{"specversion":"1.0","id":"ord-%d","source":"/shop","type":"OrderPlaced","subject":"order-%d","data":{"total":%d}}\n' \
      "$i" "$i" $((i % 7 * 10 + 5))
  done
}

# member_table GROUP: the describe table, with members named "member 1, 2..."
# in the order of their ids (the order the assignment uses).
member_table() {
  evt-group describe "$1" --format json | jq -r '
    (.members | map(.id)) as $ids
    | ["PARTITION", "OWNER", "COMMITTED", "LOG END", "LAG"],
      (.partitions[] | .member as $m | [.partition, (if $m then "member \(($ids | index($m)) + 1)" else "-" end),
                        (.committed // "-"), .log_end, .lag])
    | map(tostring) | "  " + (.[0] | .[0:9] | (. + "          ")[0:11]) + (.[1] + "            ")[0:12]
      + (.[2] + "           ")[0:11] + (.[3] + "         ")[0:9] + .[4]'
}

# label_of GROUP PID: "member N" for the member process PID.
label_of() {
  evt-group describe "$1" --format json |
    jq -r --arg pid "$2" '(.members | map(.pid | tostring) | index($pid)) as $i | "member \($i + 1)"'
}

# got FILE: what a member printed, as "p/offset order-N", in partition and offset order.
got() { jq -r '"p\(.evtpartition)/\(.evtoffset) \(.subject)"' "$1" | sort -t/ -k1,1 -k2,2n; }

say "== 1. A topic with three partitions =="
say
cmd "evt-topic create orders --partitions 3"
evt-topic create orders --partitions 3 2> /dev/null
say
say "Where an order lands is decided by its key (here the subject): the same"
say "murmur2 hash as Kafka's Java client, modulo 3. Keys never move:"
for p in 0 1 2; do
  printf '  partition %d: %s\n' "$p" \
    "$(orders 1 12 | jq -r .subject | while read -r k; do
         [ "$(evt-topic partition-of "$k" --partitions 3)" = "$p" ] && printf '%s ' "$k"
       done | sed 's/ $//')"
done
say

say "== 2. Log mode (pub-sub): group 'billing' with two members =="
say
cmd "evt-consume -t orders -g billing --follow > a.out &"
evt-consume -t orders -g billing --follow > a.out 2> a.err &
pids+=($!)
a=$!
wait_for members_owning billing 1
cmd "evt-consume -t orders -g billing --follow > b.out &"
evt-consume -t orders -g billing --follow > b.out 2> b.err &
pids+=($!)
b=$!
wait_for members_owning billing 2
cmd "evt-append -t orders < orders.ndjson      # 12 orders, while both members run"
orders 1 12 | evt-append -t orders
wait_for lines_total 12 a.out b.out
wait_for lag_zero billing
cmd "evt-group describe billing"
member_table billing
say
for pid in $(printf '%s\n' "$a" "$b" | while read -r p; do printf '%s %s\n' "$(label_of billing "$p")" "$p"; done |
  sort | awk '{ print $3 }'); do
  out=$([ "$pid" = "$a" ] && echo a.out || echo b.out)
  say "$(label_of billing "$pid") got $(wc -l < "$out") events:"
  got "$out" | sed 's/^/  /'
done
say
say "Why: inside a group each partition belongs to exactly one live member."
say "With --assign range (the default), the members sorted by id split the"
say "partitions into contiguous ranges; the first gets the extra one: 3"
say "partitions over 2 members is 2 + 1. A member reads its partitions in"
say "offset order, so the orders of one key stay in order."
say "Together the two members printed each event $(cat a.out b.out | jq -r .id | sort | uniq -c |
  awk '{ print $1 }' | sort -u | tr '\n' ' ' | sed 's/ $//') time(s)."
say

say "== 3. Pub-sub: a second group gets every event again =="
say
cmd "evt-consume -t orders -g audit | wc -l"
evt-consume -t orders -g audit | wc -l | sed 's/^ *//'
say
say "Every group has its own committed offsets: 'audit' read all 12 from the"
say "start although 'billing' had already consumed them. Nothing is removed"
say "from a log when it is read."
say

say "== 4. A member leaves: rebalance =="
say
second=$(printf '%s\n' "$a" "$b" | while read -r p; do printf '%s %s\n' "$(label_of billing "$p")" "$p"; done |
  sort | awk 'NR == 2 { print $3 }')
first=$([ "$second" = "$a" ] && echo "$b" || echo "$a")
first_out=$([ "$first" = "$a" ] && echo a.out || echo b.out)
cmd "kill -TERM <member 2>      # a clean leave: it commits and lets go"
kill -TERM "$second"
wait "$second"
wait_for members_owning billing 1
cmd "evt-group describe billing"
member_table billing
before=$(wc -l < "$first_out")
cmd "evt-append -t orders < more.ndjson      # 3 more orders"
orders 13 15 | evt-append -t orders
wait_for lines_total $((before + 3)) "$first_out"
wait_for lag_zero billing
say "member 1 got the new ones, whatever their partition:"
tail -n 3 "$first_out" | jq -r '"  p\(.evtpartition)/\(.evtoffset) \(.subject)"' | sort -t/ -k1,1 -k2,2n
kill -TERM "$first"
wait "$first"
pids=()
say

say "== 5. Queue mode (point-to-point): group 'shipping' with three workers =="
say
cat > worker.sh << 'EOF'
#!/bin/sh
# worker.sh N: one event on stdin; "ships" it and notes who did.
subject=$(jq -r .subject)
sleep 0.05
echo "$subject" >> "worker-$1.got"
EOF
chmod +x worker.sh
for n in 1 2 3; do
  cmd "evt-consume -t orders -g shipping --mode queue --follow --batch 1 --exec './worker.sh $n' &"
  evt-consume -t orders -g shipping --mode queue --follow --batch 1 --exec "./worker.sh $n" 2> "worker-$n.err" &
  pids+=($!)
done
wait_for bash -c '[ "$(evt-group describe shipping --format json 2> /dev/null | jq .queue.acked)" = 15 ]'
cmd "evt-group describe shipping"
evt-group describe shipping --format json |
  jq -r '"  members: \(.members | length)  acked: \(.queue.acked)  redelivered: \(.queue.redelivered)  dead-lettered: \(.queue.dead_lettered)  lag: \([.partitions[].lag] | add)"'
say
say "Each of the 15 events went to exactly one worker:"
cat worker-*.got | sort -V | uniq -c | awk '{ printf "  %s handled %d time(s)\n", $2, $1 }'
busy=0
for n in 1 2 3; do [ ! -s "worker-$n.got" ] || busy=$((busy + 1)); done
say "Workers that got work: $busy of 3."
for n in 1 2 3; do
  echo "# this run, worker $n took: $(sort -V "worker-$n.got" 2> /dev/null | tr '\n' ' ')" >&2
done
say
say "Why: in a queue the members share every partition and each event is"
say "leased to whichever worker asks first; who takes which event changes from"
say "run to run (see the '#' lines on standard error) and order is not"
say "promised. A log-mode group gives every partition to one member, in"
say "order; a queue spreads single events. Pub-sub: every group gets"
say "everything. Point-to-point: every event to one worker."
for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
pids=()
say

say "== 6. Acks, redelivery and the dead-letter topic =="
say
cat > handler.sh << 'EOF'
#!/bin/sh
# handler.sh: one job on stdin; job-3 is a poison message that always fails.
event=$(cat)
subject=$(printf '%s' "$event" | jq -r .subject)
delivery=$(printf '%s' "$event" | jq -r '.evtdelivery // 1')
if [ "$subject" = job-3 ]; then
  echo "  $subject delivery $delivery: failed" >> handled.txt
  exit 1
fi
echo "  $subject delivery $delivery: done" >> handled.txt
EOF
chmod +x handler.sh
for i in 1 2 3 4 5; do
  printf '{"specversion":"1.0","id":"job-%d","source":"/jobs","type":"ReportRequested","subject":"job-%d"}\n' "$i" "$i"
done | evt-append -t jobs
cmd "evt-consume -t jobs -g workers --mode queue --max-deliveries 3 --exec ./handler.sh"
evt-consume -t jobs -g workers --mode queue --max-deliveries 3 --exec ./handler.sh 2> handler.err
sort -V handled.txt
say
say "A handler's exit 0 is the ack; anything else releases the event and it is"
say "delivered again with a higher evtdelivery. After --max-deliveries it stops"
say "blocking the queue and moves to the dead-letter topic, with the reason:"
cmd "evt-replay -t jobs.dlq | jq -c '{subject, evtdlqtopic, evtdlqoffset, evtdlqreason}'"
evt-replay -t jobs.dlq | jq -c '{subject, evtdlqtopic, evtdlqoffset, evtdlqreason}' | sed 's/^/  /'
cmd "evt-group describe workers"
evt-group describe workers --format json |
  jq -r '"  acked: \(.queue.acked)  redelivered: \(.queue.redelivered)  dead-lettered: \(.queue.dead_lettered)"'
