#!/usr/bin/env bats
# evt-replay: the round trip of issue 2 (Done when 2), ranges (--from/--to with
# beginning, end, N, -N, @TIME), --partition, --stream with evtversion, --type
# globs, -n, merge by append time vs --by-partition, --format tokens, --rate,
# --follow.

bats_require_minimum_version 1.5.0
load helpers

# One shared, read-only log: 20000 generated events in topic "orders" (3 partitions,
# keyed by subject). Tests that write use their own $EVT_LOG.
setup_file() {
  export SHARED="$BATS_FILE_TMPDIR/shared"
  export EVENTS="$BATS_FILE_TMPDIR/events.ndjson"
  python3 "${EVT_GEN:-/work/shared/bench/gen-events.py}" -n 20000 -s 7 -o "$EVENTS" 2>/dev/null
  "$EVT_BIN/evt-append" -L "$SHARED" -t orders -P 3 < "$EVENTS"
}

setup() { evt_setup; }

# a follower left behind by a failing test is stopped
teardown() { if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null || true; fi; }

R() { "$REPLAY" -L "$SHARED" -t orders "$@"; }

# --------------------------------------------------------------- round trip

@test "round trip: replay | append -t copy, then replay copy --no-position equals the first replay, in order" {
  [ "$(wc -l < "$EVENTS")" -eq 20000 ]
  "$APPEND" -t orders -P 3 < "$EVENTS"
  "$REPLAY" -t orders > first.ndjson
  [ "$(wc -l < first.ndjson)" -eq 20000 ]
  "$REPLAY" -t orders | "$APPEND" -t copy
  "$REPLAY" -t copy --no-position > copy.ndjson
  "$REPLAY" -t orders --no-position > first-np.ndjson
  # event for event, byte for byte, in the same order
  cmp first-np.ndjson copy.ndjson
  # --no-position is exactly the replay with the position attributes removed
  strip_positions < first.ndjson > first-stripped.ndjson
  cmp first-np.ndjson first-stripped.ndjson
  # the copy got fresh positions of its own
  assert_eq "$("$REPLAY" -t copy --from -1 | jq -c '[.evttopic, .evtpartition, .evtoffset]')" '["copy",0,19999]'
}

@test "round trip into 3 partitions: every partition of the copy equals the original's partition" {
  "$APPEND" -t orders -P 3 < "$EVENTS"
  "$REPLAY" -t orders | "$APPEND" -t copy -P 3
  for p in 0 1 2; do
    "$REPLAY" -t orders -p $p --no-position > a.$p
    "$REPLAY" -t copy -p $p --no-position > b.$p
    [ -s a.$p ]
    cmp a.$p b.$p
  done
  # the partitions together are the whole topic
  assert_eq "$(cat a.0 a.1 a.2 | wc -l)" 20000
}

@test "stored events are the input events, byte for byte, and each partition is the input's order" {
  # partition of each input line by its subject (Kafka's murmur2), then compare in input order
  jq -r .subject "$EVENTS" | kafka_partition - 3 | cut -d' ' -f2 > parts
  for p in 0 1 2; do
    paste -d' ' parts "$EVENTS" | awk -v p=$p '$1 == p { sub(/^[0-9]+ /, ""); print }' > want.$p
    R -p $p --no-position > got.$p
    cmp want.$p got.$p
  done
  assert_eq "$(cat got.0 got.1 got.2 | sort | md5sum)" "$(sort "$EVENTS" | md5sum)"
}

@test "offsets are dense per partition and --by-partition reads partition by partition" {
  R --by-partition --format '%p %o\n' > po
  for p in 0 1 2; do
    n=$(awk -v p=$p '$1 == p' po | wc -l)
    [ "$n" -gt 0 ]
    assert_eq "$(awk -v p=$p '$1 == p { print $2 }' po | md5sum)" "$(seq 0 $((n - 1)) | md5sum)"
  done
  # partitions come one after the other: 0s, then 1s, then 2s
  assert_eq "$(cut -d' ' -f1 po | uniq | tr '\n' ' ')" "0 1 2 "
  # and --by-partition is the concatenation of the single-partition replays
  assert_eq "$(R --by-partition --no-position | md5sum)" "$( (R -p 0 --no-position; R -p 1 --no-position; R -p 2 --no-position) | md5sum)"
}

@test "the default merge is by append time: evttime never goes backwards, offsets rise per partition" {
  # three appends a few ms apart so the partitions interleave in time
  for i in 1 2 3; do
    for j in 1 2 3 4; do printf '{"type":"A","id":"%d-%d","subject":"s%d"}\n' $i $j $j; done | "$APPEND" -t t -P 3
    sleep 0.02
  done
  "$REPLAY" -t t | jq -r '"\(.evttime) \(.evtpartition) \(.evtoffset)"' > m
  assert_eq "$(wc -l < m)" 12
  assert_eq "$(cut -d' ' -f1 m)" "$(cut -d' ' -f1 m | sort)"
  for p in 0 1 2; do
    offs=$(awk -v p=$p '$2 == p { print $3 }' m)
    assert_eq "$offs" "$(echo "$offs" | sort -n)"
  done
  # merged order differs from partition order here (the append batches interleave)
  [ "$("$REPLAY" -t t --format '%p\n' | tr -d '\n')" != "$("$REPLAY" -t t --by-partition --format '%p\n' | tr -d '\n')" ]
  # batch 1 (ids 1-*) comes entirely before batch 2 in the merge
  assert_eq "$("$REPLAY" -t t --no-position | jq -r '.id[0:1]' | tr -d '\n')" "111122223333"
}

# ----------------------------------------------------------- --from and --to

@test "--from N --to M on one partition is the offsets N..M-1; beginning is the default" {
  assert_eq "$(R -p 1 --from 5 --to 8 --format '%o ')" "5 6 7 "
  assert_eq "$(R -p 1 --from beginning -n 3 --format '%o ')" "0 1 2 "
  assert_eq "$(R --from beginning --no-position | md5sum)" "$(R --no-position | md5sum)"
  # an offset past the end is empty, not an error
  run --separate-stderr "$REPLAY" -L "$SHARED" -t orders -p 1 --from 999999
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  # --to before --from is empty
  assert_eq "$(R -p 1 --from 8 --to 5 | wc -l)" 0
}

@test "--from N applies to every partition" {
  R --from 6000 --format '%p %o\n' > out
  for p in 0 1 2; do
    end=$(R -p $p --from -1 --format '%o')
    want=$((end - 6000 + 1))
    [ "$want" -gt 0 ]
    assert_eq "$(awk -v p=$p '$1 == p' out | wc -l)" "$want"
    assert_eq "$(awk -v p=$p '$1 == p { print $2; exit }' out)" 6000
  done
}

@test "--from end prints nothing and exits 0" {
  run --separate-stderr "$REPLAY" -L "$SHARED" -t orders --from end
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "--from -N on one partition is its last N events" {
  n=$(R -p 2 --format '%o\n' | wc -l)
  assert_eq "$(R -p 2 --from -3 --format '%o ')" "$((n - 3)) $((n - 2)) $((n - 1)) "
  assert_eq "$(R -p 2 --from -100000 | wc -l)" "$n"
}

@test "--from -N merged is the last N of the merged replay; with --by-partition the last N of each" {
  R --no-position > all
  assert_eq "$(R --from -7 --no-position)" "$(tail -n 7 all)"
  R --by-partition --from -2 --format '%p %o\n' > bp
  assert_eq "$(wc -l < bp)" 6
  for p in 0 1 2; do
    n=$(R -p $p --format '%o\n' | wc -l)
    assert_eq "$(awk -v p=$p '$1 == p { print $2 }' bp | tr '\n' ' ')" "$((n - 2)) $((n - 1)) "
  done
}

@test "--to -N is the complement of --from -N: together they are the whole replay" {
  R --no-position > all
  R --to -7 --no-position > head
  R --from -7 --no-position > tail
  assert_eq "$(wc -l < head)" 19993
  assert_eq "$(cat head tail | md5sum)" "$(md5sum < all)"
  R --by-partition --no-position > allbp
  R --by-partition --to -2 --no-position > headbp
  assert_eq "$(wc -l < headbp)" 19994
}

@test "--from @TIME starts at the first event appended at or after TIME; --to @TIME stops before it" {
  events 3 A | "$APPEND" -t t -P 2
  sleep 1.9
  mid=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  sleep 0.1
  events 2 B | "$APPEND" -t t
  assert_eq "$("$REPLAY" -t t --from "@$mid" --no-position | jq -r .type | tr -d '\n')" "BB"
  assert_eq "$("$REPLAY" -t t --to "@$mid" --no-position | jq -r .type | tr -d '\n')" "AAA"
  assert_eq "$("$REPLAY" -t t --from @2000-01-01T00:00:00Z | wc -l)" 5
  assert_eq "$("$REPLAY" -t t --from @2999-01-01T00:00:00Z | wc -l)" 0
  # at exactly an event's append time, that event is included
  first_b=$("$REPLAY" -t t --type B -n 1 | jq -r .evttime)
  assert_eq "$("$REPLAY" -t t --from "@$first_b" --no-position | jq -r .type | tr -d '\n')" "BB"
  # a duration ago
  assert_eq "$("$REPLAY" -t t --from @-1h | wc -l)" 5
  # A is 2 s old, B is fresh: 1.5 s ago lies between them
  assert_eq "$("$REPLAY" -t t --from @-1500ms --no-position | jq -r .type | tr -d '\n')" "BB"
}

@test "bad --from/--to specs are usage errors (64)" {
  for spec in xyz @yesterday 1.5 -; do
    run --separate-stderr "$REPLAY" -L "$SHARED" -t orders --from "$spec"
    [ "$status" -eq 64 ] || { echo "spec '$spec' exited $status" >&2; return 1; }
    [[ "${stderr_lines[0]}" == "evt-replay: error: "* ]]
    assert_eq "${stderr_lines[-1]}" "Try 'evt-replay --help' for more information."
  done
  run --separate-stderr "$REPLAY" -L "$SHARED" -t orders --from xyz
  assert_eq "${stderr_lines[0]}" "evt-replay: error: invalid position 'xyz' (beginning, end, N, -N or @TIME)"
  run --separate-stderr "$REPLAY" -L "$SHARED" -t orders --from @garbage
  assert_eq "${stderr_lines[0]}" "evt-replay: error: invalid time 'garbage' (expected RFC 3339 such as 2026-11-01T12:00:00Z, or -15m)"
}

# ------------------------------------------------- selection and formatting

@test "--partition selects partitions (repeatable); a missing partition is a usage error" {
  R -p 0 -p 2 --format '%p\n' | sort -u > ps
  assert_eq "$(cat ps | tr '\n' ' ')" "0 2 "
  assert_eq "$(R -p 0 -p 2 | wc -l)" "$(( $(R -p 0 | wc -l) + $(R -p 2 | wc -l) ))"
  run --separate-stderr "$REPLAY" -L "$SHARED" -t orders -p 3
  [ "$status" -eq 64 ]
  assert_eq "${stderr_lines[0]}" "evt-replay: error: topic 'orders' has no partition 3 (it has 3)"
}

@test "--stream SUBJECT: exactly that subject's events, in input order, with evtversion 1..N" {
  for s in order-144 order-1750 order-7; do
    jq -c --arg s "$s" 'select(.subject == $s)' "$EVENTS" > want
    [ -s want ]
    R --stream "$s" > got
    assert_eq "$(strip_positions < got)" "$(cat want)"
    n=$(wc -l < want)
    assert_eq "$(jq -r .evtversion got | tr '\n' ' ')" "$(seq -s ' ' 1 "$n") "
    # positions are real: replaying that offset gives the same event
    line=$(sed -n 2p got)
    p=$(echo "$line" | jq .evtpartition)
    o=$(echo "$line" | jq .evtoffset)
    assert_eq "$(R -p "$p" --from "$o" -n 1 --no-position)" "$(echo "$line" | strip_positions)"
  done
  run --separate-stderr "$REPLAY" -L "$SHARED" -t orders --stream no-such-subject
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "--stream with --type and -n" {
  s=order-144
  jq -c --arg s "$s" 'select(.subject == $s and (.type | startswith("Payment")))' "$EVENTS" > want
  [ -s want ]
  assert_eq "$(R --stream $s --type 'Payment*' | strip_positions)" "$(cat want)"
  assert_eq "$(R --stream $s -n 2 | jq -r .evtversion | tr '\n' ' ')" "1 2 "
}

@test "--type GLOB keeps the matching types; several --type are OR-ed" {
  count() { jq -r .type "$EVENTS" | grep -c -E "$1"; }
  assert_eq "$(R --type 'Payment*' | wc -l)" "$(count '^Payment')"
  assert_eq "$(R --type 'Payment*' --format '%s\n' | jq -r .type | sort -u | tr '\n' ' ')" \
    "PaymentAuthorized PaymentCaptured PaymentFailed PaymentRefunded "
  assert_eq "$(R --type 'Payment*' --type 'Order?laced' | wc -l)" "$(count '^(Payment|OrderPlaced$)')"
  assert_eq "$(R --type OrderPlaced | wc -l)" "$(count '^OrderPlaced$')"
  assert_eq "$(R --type 'NoSuch*' | wc -l)" 0
  # order is kept: the filtered replay is the full replay filtered
  assert_eq "$(R --type '*Shipped' --no-position | md5sum)" "$(R --no-position | jq -c 'select(.type == "OrderShipped")' | md5sum)"
}

@test "--type GLOB understands bracket expressions like a shell glob" {
  assert_eq "$(R --type '[IO]*' | wc -l)" "$(jq -r .type "$EVENTS" | grep -c '^[IO]')"
  assert_eq "$(R --type 'Order[SD]*' --format '%s\n' | jq -r .type | sort -u | tr '\n' ' ')" "OrderDelivered OrderShipped "
  # a glob that starts with '[' and ends with ']' is still a glob (not an option list)
  assert_eq "$(R --type '[I]nvoicePai[d]' | wc -l)" "$(jq -r .type "$EVENTS" | grep -c '^InvoicePaid$')"
  assert_eq "$(R --type '[OP]*[dD]' | wc -l)" "$(jq -r .type "$EVENTS" | grep -c '^[OP].*[dD]$')"
  # '[OrderPlaced]' is one character from that set: no type is a single character
  assert_eq "$(R --type '[OrderPlaced]' | wc -l)" 0
}

@test "-n COUNT stops after COUNT events (after filtering)" {
  assert_eq "$(R -n 5 --no-position)" "$(R --no-position | head -n 5)"
  assert_eq "$(R -n 4 --type 'Invoice*' --no-position)" "$(R --type 'Invoice*' --no-position | head -n 4)"
  assert_eq "$(R -n 3 -p 1 --from 10 --format '%o ')" "10 11 12 "
}

@test "--format tokens: %t %p %o %k %s %T and escapes" {
  printf '{"type":"A","id":"1","subject":"order-9","data":{"x":1}}\n{"type":"B","id":"2"}\n' | "$APPEND" -t fmt -P 2
  "$REPLAY" -t fmt --by-partition > json
  "$REPLAY" -t fmt --by-partition --format '%t|%p|%o|%k|%T\t%s\n' > text
  assert_eq "$(wc -l < text)" 2
  for i in 1 2; do
    j=$(sed -n ${i}p json)
    IFS='|' read -r t p o k rest < <(sed -n ${i}p text)
    assert_eq "$t" fmt
    assert_eq "$p" "$(echo "$j" | jq .evtpartition)"
    assert_eq "$o" "$(echo "$j" | jq .evtoffset)"
    assert_eq "$k" "$(echo "$j" | jq -r '.subject // ""')"
    ts=${rest%%$'\t'*}
    s=${rest#*$'\t'}
    assert_eq "$s" "$(echo "$j" | strip_positions)"
    # %T is the append time in ms since the epoch: the same instant as evttime
    evttime=$(echo "$j" | jq -r .evttime)
    assert_eq "$(python3 -c 'import datetime,sys; print(int(datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()*1000))' "$evttime")" "$ts"
  done
  # literal text and %% pass through; no newline unless asked for
  assert_eq "$("$REPLAY" -t fmt -n 1 --format 'x%%y')" "x%y"
  run --separate-stderr "$REPLAY" -t fmt --format '%z'
  [ "$status" -eq 64 ]
  [[ "${stderr_lines[0]}" == "evt-replay: error: unknown format token '%z'"* ]]
}

@test "an empty topic replays as nothing, exit 0" {
  "$TOPIC" create empty --partitions 2 2>/dev/null
  run --separate-stderr "$REPLAY" -t empty
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  [ -z "$stderr" ]
}

# ------------------------------------------------------------ --rate, --follow

@test "--rate 50/s paces the output (40 events take about 0.8 s)" {
  events 40 | "$APPEND" -t t
  start=$(date +%s%N)
  n=$("$REPLAY" -t t --rate 50/s | wc -l)
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "# --rate 50/s, 40 events: ${ms} ms" >&3
  assert_eq "$n" 40
  [ "$ms" -ge 600 ]
  [ "$ms" -le 4000 ]
  # a bad rate is a usage error
  run --separate-stderr "$REPLAY" -t t --rate fast
  [ "$status" -eq 64 ]
  assert_eq "${stderr_lines[0]}" "evt-replay: error: invalid rate 'fast' (expected e.g. 100/s, 30/m)"
}

wait_for_lines() {  # wait_for_lines FILE N [TIMEOUT_S]
  local file=$1 n=$2 deadline=$(( $(date +%s) + ${3:-10} ))
  while [ "$(wc -l < "$file")" -lt "$n" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "timed out: $(wc -l < "$file") of $n lines in $file" >&2; return 1; }
    sleep 0.02
  done
}

@test "--follow prints what exists, then an event appended later, and keeps running" {
  events 2 | "$APPEND" -t t -P 2
  "$REPLAY" -t t --follow > follow.out 2> follow.err &
  pid=$!
  wait_for_lines follow.out 2
  sleep 0.2
  kill -0 $pid  # still following
  assert_eq "$(wc -l < follow.out)" 2
  printf '{"type":"Late","id":"late-1"}\n' | "$APPEND" -t t
  wait_for_lines follow.out 3
  kill -0 $pid
  kill $pid
  wait $pid || true
  assert_eq "$(sed -n 3p follow.out | jq -r '"\(.id) \(.evttopic)"')" "late-1 t"
  [ ! -s follow.err ]
}

@test "--follow --from end with filters: only new matching events; -n ends the follow" {
  events 3 | "$APPEND" -t t
  "$REPLAY" -t t --follow --from end --type 'Keep*' -n 2 > follow.out &
  pid=$!
  sleep 0.3
  { echo '{"type":"Drop","id":"d1"}'; echo '{"type":"KeepA","id":"k1"}'; } | "$APPEND" -t t
  sleep 0.1
  { echo '{"type":"KeepB","id":"k2"}'; echo '{"type":"KeepC","id":"k3"}'; } | "$APPEND" -t t
  # -n 2: it exits on its own once it has printed two events
  for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
  if kill -0 $pid 2>/dev/null; then kill $pid; echo "follower did not stop after -n 2" >&2; return 1; fi
  wait $pid
  assert_eq "$(jq -r .id follow.out | tr '\n' ' ')" "k1 k2 "
}

@test "--follow of a stream sees new events of that subject with the next evtversion" {
  printf '{"type":"A","subject":"acct-1"}\n{"type":"A","subject":"acct-2"}\n' | "$APPEND" -t t -P 2
  "$REPLAY" -t t --stream acct-1 --follow > follow.out &
  pid=$!
  wait_for_lines follow.out 1
  printf '{"type":"B","subject":"acct-2"}\n{"type":"C","subject":"acct-1"}\n' | "$APPEND" -t t
  wait_for_lines follow.out 2
  sleep 0.1
  kill $pid
  wait $pid || true
  assert_eq "$(jq -r '"\(.type)\(.evtversion)"' follow.out | tr '\n' ' ')" "A1 C2 "
}

@test "--follow --to N stops once offset N-1 was printed, even when N is beyond the end at start" {
  events 1 | "$APPEND" -t t
  # --to already reached at start: prints and exits
  run --separate-stderr timeout 5 "$REPLAY" -t t --follow --to 1 --format '%o\n'
  [ "$status" -eq 0 ] || { echo "--follow --to 1 exited $status (124: still following after 5 s)" >&2; return 1; }
  assert_eq "$output" "0"
  # --to beyond the end: waits for offsets 1 and 2, then exits
  timeout 10 "$REPLAY" -t t --follow --to 3 --format '%o\n' > follow.out &
  pid=$!
  sleep 0.3
  events 5 | "$APPEND" -t t
  st=0
  wait $pid || st=$?
  [ "$st" -eq 0 ] || { echo "--follow --to 3 exited $st (124: still following after 10 s)" >&2; return 1; }
  assert_eq "$(tr '\n' ' ' < follow.out)" "0 1 2 "
}

@test "a reader that stops early (head) ends the replay quietly" {
  run --separate-stderr bash -c "'$REPLAY' -L '$SHARED' -t orders | head -n 1"
  [ "$status" -eq 0 ]
  assert_eq "${#lines[@]}" 1
  [ -z "$stderr" ]
  run --separate-stderr bash -c "'$REPLAY' -L '$SHARED' -t orders --follow | head -n 2"
  [ "$status" -eq 0 ]
  assert_eq "${#lines[@]}" 2
  [ -z "$stderr" ]
}

@test "a stream spans partitions: routed by partitionkey, and after alter moves its key" {
  printf '{"type":"X","subject":"m","partitionkey":"k1"}\n{"type":"Y","subject":"m","partitionkey":"k2"}\n{"type":"Z","subject":"m","partitionkey":"k3"}\n' |
    "$APPEND" -t t -P 7
  [ "$("$REPLAY" -t t --stream m --format '%p\n' | sort -u | wc -l)" -gt 1 ]
  assert_eq "$("$REPLAY" -t t --stream m | jq -r '"\(.type)\(.evtversion)"' | tr -d '\n')" "X1Y2Z3"
  # order-1 is on partition 0 of 2 and on partition 4 of 7 (Kafka's murmur2)
  printf '{"type":"A","subject":"order-1"}\n{"type":"B","subject":"order-1"}\n' | "$APPEND" -t u -P 2
  "$TOPIC" alter u --partitions 7 2>/dev/null
  printf '{"type":"C","subject":"order-1"}\n' | "$APPEND" -t u --expect-version 2
  assert_eq "$("$REPLAY" -t u --stream order-1 | jq -r '"\(.type)\(.evtversion)@\(.evtpartition)"' | tr '\n' ' ')" "A1@0 B2@0 C3@4 "
}

@test "--from @TIME finds every batch boundary (time seek over many events in every partition)" {
  for b in 1 2 3 4 5 6; do
    seq 1 700 | awk -v b=$b '{ printf "{\"type\":\"T\",\"id\":\"%d-%d\",\"subject\":\"s%d\"}\n", b, $1, $1 % 17 }' | "$APPEND" -t t -P 3
    sleep 0.03
  done
  for b in 2 3 4 5 6; do
    # the append time (ms) of the first event of batch b in the merged replay
    first=$("$REPLAY" -t t --format '%T %s\n' | awk -v b="\"$b-" 'index($0, "\"id\":" b) { print $1; exit }')
    [ -n "$first" ]
    at=$(python3 -c 'import datetime,sys; print(datetime.datetime.fromtimestamp(int(sys.argv[1]) / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")' "$first")
    want=$(( (7 - b) * 700 ))
    assert_eq "$("$REPLAY" -t t --from "@$at" | wc -l)" "$want" || { echo "batch $b at $at" >&2; return 1; }
    assert_eq "$("$REPLAY" -t t --to "@$at" | wc -l)" "$(( (b - 1) * 700 ))"
    assert_eq "$("$REPLAY" -t t --from "@$at" --no-position | jq -r '.id | split("-")[0]' | sort -u | head -1)" "$b"
  done
}
