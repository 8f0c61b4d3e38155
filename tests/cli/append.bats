#!/usr/bin/env bats
# evt-append: filling attributes, partition choice, --echo, and the bad-input
# matrix of issue 2 (Done when 4): every kind of bad line gives
# "evt-append: error: line N: ..." and exit 65, with prefix atomicity by default,
# all-or-nothing with --atomic, and every good line stored with --skip-bad.
# Also --require-id, --sync, --idempotent, unknown topics, log format version.

bats_require_minimum_version 1.5.0
load helpers

setup() { evt_setup; }

# ---------------------------------------------------------------- happy path

@test "fills specversion, a UUIDv7 id, source /evt and the append time; keeps everything given" {
  before=$(date +%s%3N)
  printf '{"type":"OrderPlaced","subject":"order-1","data":{"n":1,"s":"x\\u00e9"}}\n' | "$APPEND" -t t
  after=$(date +%s%3N)
  ev=$("$REPLAY" -t t --no-position)
  assert_eq "$(echo "$ev" | jq -r .specversion)" "1.0"
  assert_eq "$(echo "$ev" | jq -r .source)" "/evt"
  assert_eq "$(echo "$ev" | jq -r .type)" "OrderPlaced"
  assert_eq "$(echo "$ev" | jq -r .subject)" "order-1"
  assert_eq "$(echo "$ev" | jq -c .data)" '{"n":1,"s":"xé"}'
  id=$(echo "$ev" | jq -r .id)
  [[ "$id" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]
  # the UUIDv7 timestamp (first 48 bits, ms) is the append time
  id_ms=$((16#${id:0:8}${id:9:4}))
  [ "$id_ms" -ge "$before" ]
  [ "$id_ms" -le "$after" ]
  time=$(echo "$ev" | jq -r .time)
  [[ "$time" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$ ]]
  t_ms=$(python3 -c 'import datetime,sys; print(int(datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()*1000))' "$time")
  [ "$t_ms" -ge "$before" ]
  [ "$t_ms" -le "$after" ]
  # no position attributes leak into a --no-position replay
  assert_eq "$(echo "$ev" | jq -c '[keys[] | select(startswith("evt"))]')" '[]'
}

@test "given id, source, time and extensions are kept as they were" {
  in='{"specversion":"1.0","id":"my-id","source":"/shop","type":"A","time":"2020-01-02T03:04:05.678Z","myext":"v","datacontenttype":"application/json","data":[1,2]}'
  echo "$in" | "$APPEND" -t t --source /ignored
  assert_eq "$("$REPLAY" -t t --no-position | jq -cS .)" "$(echo "$in" | jq -cS .)"
}

@test "--source fills only events without a source" {
  printf '{"type":"A"}\n{"type":"B","source":"/own"}\n' | "$APPEND" -t t --source urn:test:src
  assert_eq "$("$REPLAY" -t t --no-position | jq -r .source | tr '\n' ' ')" "urn:test:src /own "
}

@test "ids filled in one run are all distinct and increase" {
  events 500 | jq -c 'del(.id)' | "$APPEND" -t t
  ids=$("$REPLAY" -t t --no-position | jq -r .id)
  assert_eq "$(echo "$ids" | sort -u | wc -l)" 500
  assert_eq "$(echo "$ids" | sort)" "$ids"
}

@test "--echo prints exactly the stored events with their positions, and nothing on stderr" {
  run --separate-stderr "$APPEND" -t t -P 2 --echo < <(events 4)
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  assert_eq "${#lines[@]}" 4
  assert_eq "$(echo "$output" | jq -c '[.evttopic, .evtpartition, .evtoffset, .id]' | sort)" \
    "$("$REPLAY" -t t | jq -c '[.evttopic, .evtpartition, .evtoffset, .id]' | sort)"
  # the echoed event is the stored one, attribute for attribute
  assert_eq "$(echo "$output" | jq -cS . | sort)" "$("$REPLAY" -t t | jq -cS . | sort)"
  assert_eq "$(echo "$output" | jq -r '.evttime | test("^[0-9-]{10}T[0-9:]{8}\\.[0-9]{3}Z$")' | sort -u)" "true"
}

@test "without --echo stdout stays empty" {
  run --separate-stderr "$APPEND" -t t < <(events 3)
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  [ -z "$stderr" ]
}

@test "position attributes on input are stripped, or kept with --keep-position" {
  events 2 | "$APPEND" -t a
  "$REPLAY" -t a | "$APPEND" -t b
  assert_eq "$("$REPLAY" -t b --no-position | jq -c '[keys[] | select(startswith("evt"))]' | sort -u)" '[]'
  # a --stream replay adds evtversion: also stripped; other evt* extensions are data and stay
  printf '{"type":"A","subject":"s","evtfoo":"x"}\n' | "$APPEND" -t d
  "$REPLAY" -t d --stream s | "$APPEND" -t e
  assert_eq "$("$REPLAY" -t e --no-position | jq -c '[keys[] | select(startswith("evt"))]')" '["evtfoo"]'
  "$REPLAY" -t a | "$APPEND" -t c --keep-position
  assert_eq "$("$REPLAY" -t c --no-position | jq -c '[.evttopic, .evtoffset]')" "$(printf '["a",0]\n["a",1]')"
}

@test "keyed events land on the partition of 'evt-topic partition-of KEY -P 3'" {
  for i in $(seq 1 40); do
    printf '{"type":"A","id":"e%d","partitionkey":"customer-%d"}\n' "$i" "$((i % 13))"
  done | "$APPEND" -t t -P 3
  "$REPLAY" -t t --format '%k %p\n' | sort -u > got
  [ "$(wc -l < got)" -eq 13 ]
  cut -d' ' -f1 got | kafka_partition - 3 > want
  assert_eq "$(cat got)" "$(cat want)"
  # and evt-topic partition-of says the same
  while read -r key part; do
    assert_eq "$part" "$("$TOPIC" partition-of "$key" -P 3)" || { echo "key $key" >&2; return 1; }
  done < got
  # not everything on one partition: the keys really are spread
  [ "$("$REPLAY" -t t --format '%p\n' | sort -u | wc -l)" -eq 3 ]
}

@test "the key is partitionkey, else subject; one key always lands on one partition" {
  # foobar -> 0, abc -> 4, 21 -> 3, a-little-bit-long-string -> 1 with 7 partitions (Kafka's vectors)
  {
    echo '{"type":"A","id":"1","subject":"abc"}'
    echo '{"type":"A","id":"2","partitionkey":"21","subject":"abc"}'
    echo '{"type":"A","id":"3","partitionkey":"a-little-bit-long-string"}'
    echo '{"type":"A","id":"4","subject":"foobar"}'
    echo '{"type":"A","id":"5","subject":"abc"}'
  } | "$APPEND" -t t -P 7
  assert_eq "$("$REPLAY" -t t --format '%s\n' --by-partition | jq -r .id | tr '\n' ' ')" "4 3 2 1 5 "
  assert_eq "$("$REPLAY" -t t --by-partition --format '%p:%k ' )" "0:foobar 1:a-little-bit-long-string 3:21 4:abc 4:abc "
}

@test "--partition P overrides the key" {
  printf '{"type":"A","partitionkey":"foobar"}\n{"type":"A","subject":"abc"}\n{"type":"A"}\n' |
    "$APPEND" -t t -P 3 --partition 2
  assert_eq "$("$REPLAY" -t t --format '%p\n' | sort | uniq -c | awk '{print $1, $2}')" "3 2"
  run --separate-stderr "$APPEND" -t t --partition 3 < <(events 1)
  [ "$status" -eq 64 ]
  assert_eq "${stderr_lines[0]}" "evt-append: error: topic 't' has no partition 3 (it has 3)"
  assert_eq "$(count_events t)" 3
}

@test "--key data.customer_id routes by a field of data (with or without the leading dot)" {
  for c in c-1 c-2 c-3 c-4 c-5 c-6 c-7 c-8; do
    printf '{"type":"A","subject":"ignored-%s","data":{"customer_id":"%s"}}\n' "$c" "$c"
  done > in.ndjson
  "$APPEND" -t t -P 3 --key data.customer_id < in.ndjson
  "$APPEND" -t u -P 3 --key .data.customer_id < in.ndjson
  jq -r .data.customer_id in.ndjson | kafka_partition - 3 | sort > want
  for topic in t u; do
    "$REPLAY" -t $topic | jq -r '"\(.data.customer_id) \(.evtpartition)"' | sort > got
    assert_eq "$(cat got)" "$(cat want)"
  done
  [ "$(cut -d' ' -f2 want | sort -u | wc -l)" -gt 1 ]
  # the stored key (%k) is the routing key, not the subject
  assert_eq "$("$REPLAY" -t t --format '%k\n' | sort | tr '\n' ' ')" "c-1 c-2 c-3 c-4 c-5 c-6 c-7 c-8 "
}

@test "unkeyed events are spread round-robin over the partitions" {
  events 9 | "$APPEND" -t t -P 3
  assert_eq "$("$REPLAY" -t t --format '%p\n' | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" "3 3 3 "
}

@test "input from files, '-' as stdin, in order; errors name the file" {
  events 2 > a.ndjson
  events 3 B > b.ndjson
  events 1 C | "$APPEND" -t t a.ndjson - b.ndjson
  assert_eq "$("$REPLAY" -t t --no-position | jq -r .type | tr '\n' ' ')" "Tested Tested C B B B "
  printf '{"type":"A"}\n{oops\n' > bad.ndjson
  run --separate-stderr "$APPEND" -t u a.ndjson bad.ndjson
  [ "$status" -eq 65 ]
  [[ "$stderr" == "evt-append: error: bad.ndjson: line 2: malformed JSON: "*" (3 events before it stored)" ]]
  assert_eq "$(count_events u)" 3
  run --separate-stderr "$APPEND" -t u "$T/missing.ndjson"
  [ "$status" -eq 66 ]
  [[ "$stderr" == "evt-append: error: "*missing.ndjson* ]]
}

# ---------------------------------------------------------- bad input matrix
#
# Input: lines 1-2 good (g1, g2), line 3 bad, lines 4-5 good (g4, g5).
# check_bad_line MSG    with the bad line's bytes in $T/bad.line (no newline).
# MSG ending in '*' is a prefix (for messages that quote the JSON parser).

make_input() {
  {
    printf '{"type":"A","id":"g1"}\n{"type":"A","id":"g2"}\n'
    cat "$T/bad.line"
    printf '\n{"type":"A","id":"g4"}\n{"type":"A","id":"g5"}\n'
  } > "$T/input.ndjson"
}

msg_matches() {  # msg_matches TEXT MSG-OR-PREFIX* SUFFIX
  local text=$1 msg=$2 suffix=$3
  if [[ "$msg" == *'*' ]]; then
    [[ "$text" == "${msg%\*}"*"$suffix" ]]
  else
    [ "$text" = "$msg$suffix" ]
  fi || { printf 'message: %s\n   want: %s%s\n' "$text" "$msg" "$suffix" >&2; return 1; }
}

stored_ids() { "$REPLAY" -t "$1" --no-position | jq -r .id | tr '\n' ' '; }

check_bad_line() {  # check_bad_line MSG [evt-append options...]
  local msg=$1
  shift
  local opts=("$@")
  make_input
  # default: prefix atomicity
  run --separate-stderr "$APPEND" "${opts[@]}" -t prefix < "$T/input.ndjson"
  [ "$status" -eq 65 ]
  [ -z "$output" ]
  msg_matches "$stderr" "evt-append: error: line 3: $msg" " (2 events before it stored)"
  assert_eq "$(stored_ids prefix)" "g1 g2 "
  # --atomic: nothing
  run --separate-stderr "$APPEND" "${opts[@]}" -t atomic --atomic < "$T/input.ndjson"
  [ "$status" -eq 65 ]
  msg_matches "$stderr" "evt-append: error: line 3: $msg" " (--atomic: nothing was stored)"
  assert_eq "$(count_events atomic 2>/dev/null || echo 0)" 0
  # --skip-bad: every good line, the bad one reported on stderr
  run --separate-stderr "$APPEND" "${opts[@]}" -t skip --skip-bad < "$T/input.ndjson"
  [ "$status" -eq 65 ]
  assert_eq "${#stderr_lines[@]}" 2
  msg_matches "${stderr_lines[0]}" "evt-append: error: line 3: $msg" ""
  [[ "${stderr_lines[1]}" == "evt-append: warning: rejected 1 bad line"*"; stored 4" ]]
  assert_eq "$(stored_ids skip)" "g1 g2 g4 g5 "
  # --skip-bad --rejects FILE: NDJSON with the line number and the reason
  run --separate-stderr "$APPEND" "${opts[@]}" -t rej --skip-bad --rejects "$T/rejects.ndjson" < "$T/input.ndjson"
  [ "$status" -eq 65 ]
  assert_eq "${#stderr_lines[@]}" 1
  [[ "${stderr_lines[0]}" == "evt-append: warning: rejected 1 bad line"*"; stored 4" ]]
  assert_eq "$(stored_ids rej)" "g1 g2 g4 g5 "
  assert_eq "$(wc -l < "$T/rejects.ndjson")" 1
  assert_eq "$(jq -c '[.line, .input]' "$T/rejects.ndjson")" '[3,"-"]'
  msg_matches "$(jq -r .reason "$T/rejects.ndjson")" "$msg" ""
}

@test "bad line: malformed JSON" {
  printf '{"type":"A",' > "$T/bad.line"
  check_bad_line "malformed JSON: *"
  [[ "$(jq -r .text "$T/rejects.ndjson")" == '{"type":"A",' ]]
}

@test "bad line: a non-object (array, string, number, null, boolean)" {
  printf '[{"type":"A"}]' > "$T/bad.line"
  check_bad_line "not a JSON object (got an array)"
  for v in '"text":a string' '42:a number' 'null:null' 'true:a boolean'; do
    rm -rf "$EVT_LOG"
    printf '%s' "${v%%:*}" > "$T/bad.line"
    check_bad_line "not a JSON object (got ${v#*:})"
  done
}

@test "bad line: missing type, and an empty type" {
  printf '{"specversion":"1.0","id":"x","source":"/s"}' > "$T/bad.line"
  check_bad_line "'type' is missing"
  rm -rf "$EVT_LOG"
  printf '{"type":""}' > "$T/bad.line"
  check_bad_line "'type' must be a non-empty string"
}

@test "bad line: a wrong specversion" {
  printf '{"type":"A","specversion":"0.3"}' > "$T/bad.line"
  check_bad_line "'specversion' is \"0.3\", only \"1.0\" is supported"
}

@test "bad line: invalid UTF-8, with its column" {
  printf '{"type":"A","x":"\xc3\x28"}' > "$T/bad.line"
  check_bad_line "invalid UTF-8 at column 18"
  # the rejects file stays valid UTF-8 JSON
  jq -e . "$T/rejects.ndjson" >/dev/null
}

@test "bad line: a lone surrogate escape" {
  printf '{"type":"A","x":"\\ud800"}' > "$T/bad.line"
  check_bad_line "malformed JSON: *"
}

@test "bad line: a NUL byte, with its column" {
  printf '{"type":"A","x":"a\x00b"}' > "$T/bad.line"
  check_bad_line "NUL byte at column 19"
}

@test "bad line: a line over --max-bytes; the limit itself is accepted" {
  line='{"type":"A","id":"big","x":"aaaaaaaaaaaaaaaaaaaaaaaa"}'
  assert_eq "${#line}" 54
  printf '%s' "$line" > "$T/bad.line"
  make_input
  run --separate-stderr "$APPEND" -t t --max-bytes 53 < "$T/input.ndjson"
  [ "$status" -eq 65 ]
  assert_eq "$stderr" "evt-append: error: line 3: event of 54 bytes is over --max-bytes (53) (2 events before it stored)"
  assert_eq "$(stored_ids t)" "g1 g2 "
  run --separate-stderr "$APPEND" -t u --max-bytes 54 < "$T/input.ndjson"
  [ "$status" -eq 0 ]
  assert_eq "$(stored_ids u)" "g1 g2 big g4 g5 "
  # sizes are parsed with units
  run --separate-stderr "$APPEND" -t v --max-bytes 1KiB < "$T/input.ndjson"
  [ "$status" -eq 0 ]
  run --separate-stderr "$APPEND" -t v --max-bytes lots < "$T/input.ndjson"
  [ "$status" -eq 64 ]
}

@test "bad line: a line over --max-bytes in every mode" {
  printf '{"type":"A","x":"%s"}' "$(head -c 2000 /dev/zero | tr '\0' a)" > "$T/bad.line"
  check_bad_line "event of 2019 bytes is over --max-bytes (1024)" --max-bytes 1KiB
}

@test "bad line: an empty line" {
  : > "$T/bad.line"
  check_bad_line "empty line"
}

@test "bad line: a 100 MB line is refused without being held in memory, and the lines after it still count" {
  # 100 MiB of 'a' inside a string: streamed to a file, never through a shell variable.
  python3 - "$T/bad.line" <<'EOF'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b'{"type":"A","x":"')
    chunk = b"a" * (1 << 20)
    for _ in range(100):
        f.write(chunk)
    f.write(b'"}')
EOF
  assert_eq "$(stat -c %s "$T/bad.line")" 104857619
  check_bad_line "event of 104857619 bytes is over --max-bytes (1048576)"
  rm -f "$T/bad.line"
  # peak memory stays far below the line's size (it is not buffered whole)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$T/rss" "$APPEND" -t mem --skip-bad < "$T/input.ndjson" 2>/dev/null || true
    rss_kb=$(tail -1 "$T/rss")
    echo "# peak RSS with a 100 MB line: ${rss_kb} KiB" >&3
    [ "$rss_kb" -lt 51200 ]
  fi
  rm -f "$T/input.ndjson"
}

@test "bad line: a truncated last line (no newline, JSON cut off)" {
  printf '{"type":"A","id":"g1"}\n{"type":"A","id":"g2"}\n{"type":"A","id":"g3"' > "$T/in.ndjson"
  run --separate-stderr "$APPEND" -t t < "$T/in.ndjson"
  [ "$status" -eq 65 ]
  [[ "$stderr" == "evt-append: error: line 3: malformed JSON: "*" (2 events before it stored)" ]]
  assert_eq "$(stored_ids t)" "g1 g2 "
  # a complete last line without a newline is fine
  printf '{"type":"A","id":"g1"}\n{"type":"A","id":"g2"}' | "$APPEND" -t u
  assert_eq "$(stored_ids u)" "g1 g2 "
}

@test "--skip-bad reports every bad line, with line numbers, in input order" {
  {
    echo '{"type":"A","id":"1"}'
    echo '{bad'
    echo '{"type":"A","id":"3"}'
    echo ''
    echo '{"id":"5"}'
    echo '{"type":"A","id":"6"}'
    echo '[]'
  } > in.ndjson
  run --separate-stderr "$APPEND" -t t --skip-bad < in.ndjson
  [ "$status" -eq 65 ]
  assert_eq "${#stderr_lines[@]}" 5
  [[ "${stderr_lines[0]}" == "evt-append: error: line 2: malformed JSON: "* ]]
  assert_eq "${stderr_lines[1]}" "evt-append: error: line 4: empty line"
  assert_eq "${stderr_lines[2]}" "evt-append: error: line 5: 'type' is missing"
  assert_eq "${stderr_lines[3]}" "evt-append: error: line 7: not a JSON object (got an array)"
  [[ "${stderr_lines[4]}" == "evt-append: warning: rejected 4 bad lines (--skip-bad); stored 3" ]]
  assert_eq "$(stored_ids t)" "1 3 6 "
  "$APPEND" -t u --skip-bad --rejects rej.ndjson < in.ndjson || true
  assert_eq "$(jq -c .line rej.ndjson | tr '\n' ' ')" "2 4 5 7 "
  assert_eq "$(jq -r .text rej.ndjson | sed -n 3p)" '{"id":"5"}'
}

@test "--skip-bad with only good lines exits 0 and writes an empty rejects file" {
  run --separate-stderr "$APPEND" -t t --skip-bad --rejects rej.ndjson < <(events 3)
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  [ -f rej.ndjson ]
  [ ! -s rej.ndjson ]
  assert_eq "$(count_events t)" 3
}

@test "--atomic and --skip-bad exclude each other (usage, 64)" {
  run --separate-stderr "$APPEND" -t t --atomic --skip-bad < <(events 1)
  [ "$status" -eq 64 ]
  [[ "${stderr_lines[0]}" == "evt-append: error: "* ]]
  assert_eq "${stderr_lines[-1]}" "Try 'evt-append --help' for more information."
}

@test "--atomic with good input stores everything in one go" {
  run --separate-stderr "$APPEND" -t t --atomic -P 2 < <(events 1000)
  [ "$status" -eq 0 ]
  assert_eq "$(count_events t)" 1000
}

@test "--atomic with a bad line far into a large input stores nothing" {
  { events 50000; echo '{"no":"type"}'; events 10; } > in.ndjson
  run --separate-stderr "$APPEND" -t t --atomic < in.ndjson
  [ "$status" -eq 65 ]
  assert_eq "$stderr" "evt-append: error: line 50001: 'type' is missing (--atomic: nothing was stored)"
  assert_eq "$(count_events t 2>/dev/null || echo 0)" 0
  # and the default mode stores exactly the 50000 before it
  run --separate-stderr "$APPEND" -t u < in.ndjson
  [ "$status" -eq 65 ]
  assert_eq "$stderr" "evt-append: error: line 50001: 'type' is missing (50000 events before it stored)"
  assert_eq "$(count_events u)" 50000
  assert_eq "$("$REPLAY" -t u --from -1 --no-position | jq -r .id)" "ev-50000"
}

# --------------------------------------------------------------- the options

@test "--require-id rejects an event without an id" {
  printf '{"type":"A","id":"a"}\n{"type":"A"}\n{"type":"A","id":"c"}\n' > in.ndjson
  run --separate-stderr "$APPEND" -t t --require-id < in.ndjson
  [ "$status" -eq 65 ]
  assert_eq "$stderr" "evt-append: error: line 2: 'id' is missing (--require-id) (1 event before it stored)"
  assert_eq "$(stored_ids t)" "a "
  run --separate-stderr "$APPEND" -t u < in.ndjson
  [ "$status" -eq 0 ]
  assert_eq "$(count_events u)" 3
}

@test "--sync each and --sync none store everything; a bad value is a usage error" {
  for mode in each batch none; do
    run --separate-stderr "$APPEND" -t "s-$mode" -P 2 --sync "$mode" < <(events 50)
    [ "$status" -eq 0 ]
    assert_eq "$(count_events "s-$mode")" 50
  done
  run --separate-stderr "$APPEND" -t x --sync sometimes < <(events 1)
  [ "$status" -eq 64 ]
  [[ "${stderr_lines[0]}" == "evt-append: error: --sync: "* ]]
}

@test "--idempotent: the same input twice is stored once; stderr says how many were skipped" {
  events 50 > in.ndjson
  run --separate-stderr "$APPEND" -t t -P 3 --idempotent < in.ndjson
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  run --separate-stderr "$APPEND" -t t --idempotent < in.ndjson
  [ "$status" -eq 0 ]
  [[ "$stderr" == "evt-append: warning: skipped 50 duplicate event"*" (--idempotent)" ]]
  assert_eq "$(count_events t)" 50
  assert_eq "$("$REPLAY" -t t --no-position | jq -r .id | sort -u | wc -l)" 50
  # overlapping input: only the new ones are stored
  { events 60 | tail -20; } | "$APPEND" -t t --idempotent 2>"$T/err"
  [[ "$(cat "$T/err")" == "evt-append: warning: skipped 10 duplicate event"* ]]
  assert_eq "$(count_events t)" 60
  # without --idempotent the same ids are stored again
  "$APPEND" -t t < in.ndjson
  assert_eq "$(count_events t)" 110
}

@test "--idempotent drops duplicates inside one input too" {
  { events 5; events 5; events 7 | tail -2; } | "$APPEND" -t t --idempotent 2>"$T/err"
  [[ "$(cat "$T/err")" == "evt-append: warning: skipped 5 duplicate event"* ]]
  assert_eq "$(stored_ids t)" "ev-1 ev-2 ev-3 ev-4 ev-5 ev-6 ev-7 "
}

@test "--idempotent=WINDOW: an id older than the window is no longer a duplicate; ids are per topic" {
  events 1 > one.ndjson
  "$APPEND" -t t --idempotent=1500ms < one.ndjson
  "$APPEND" -t t --idempotent=1500ms < one.ndjson 2>/dev/null
  assert_eq "$(count_events t)" 1
  sleep 1.7
  "$APPEND" -t t --idempotent=1500ms < one.ndjson
  assert_eq "$(count_events t)" 2
  "$APPEND" -t other --idempotent < one.ndjson
  assert_eq "$(count_events other)" 1
  run --separate-stderr "$APPEND" -t t --idempotent=soon < one.ndjson
  [ "$status" -eq 64 ]
}

@test "replay of an unknown topic exits 66 and says so" {
  events 1 | "$APPEND" -t known
  run --separate-stderr "$REPLAY" -t unknown
  [ "$status" -eq 66 ]
  [ -z "$output" ]
  assert_eq "$stderr" "evt-replay: error: no such topic 'unknown'"
}

@test "replay of a log that does not exist exits 66 and creates nothing" {
  run --separate-stderr "$REPLAY" -L "$T/nothing-here" -t t
  [ "$status" -eq 66 ]
  [[ "$stderr" == "evt-replay: error: "* ]]
  [ ! -e "$T/nothing-here" ]
}

@test "a log with an unknown format version is refused (65) by every tool, and left untouched" {
  events 3 | "$APPEND" -t t
  assert_eq "$(get_log_format "$EVT_LOG")" 4
  set_log_format "$EVT_LOG" 5
  want="'$EVT_LOG': unknown log format version 5 (this evt reads versions 2 to 4)"
  run --separate-stderr "$REPLAY" -t t
  [ "$status" -eq 65 ]
  [ -z "$output" ]
  assert_eq "$stderr" "evt-replay: error: $want"
  run --separate-stderr "$APPEND" -t t < <(events 1)
  [ "$status" -eq 65 ]
  assert_eq "$stderr" "evt-append: error: $want"
  run --separate-stderr "$TOPIC" describe t
  [ "$status" -eq 65 ]
  assert_eq "$stderr" "evt-topic: error: $want"
  run --separate-stderr "$TOPIC" create other
  [ "$status" -eq 65 ]
  assert_eq "$(get_log_format "$EVT_LOG")" 5
  # back to 4: the events are all there, nothing was appended meanwhile
  set_log_format "$EVT_LOG" 4
  assert_eq "$(count_events t)" 3
  assert_eq "$("$TOPIC" list)" "t"
}

# old_log VERSION: the log "orders" written by an older evt (tests/fixtures/logs):
# 60 events, order-k's events are n = k, k+6, ..., 54+k (versions 1..10).
old_log() {  # old_log VERSION [SUFFIX]
  rm -rf "$EVT_LOG"
  mkdir -m 700 "$EVT_LOG"
  gzip -dc "$EVT_SRC/tests/fixtures/logs/v$1-orders${2:-}.mdb.gz" > "$EVT_LOG/data.mdb"
}

@test "logs of format versions 2 and 3 are read as they are, and converted to 4 by their first writer" {
  for v in 2 3; do
    old_log $v
    assert_eq "$(get_log_format "$EVT_LOG")" $v
    assert_eq "$("$REPLAY" -t orders --stream order-1 | jq -r '"\(.evtversion):\(.data.n)"' | tr '\n' ' ')" \
      "1:1 2:7 3:13 4:19 5:25 6:31 7:37 8:43 9:49 10:55 "
    run --separate-stderr "$EVT_BIN/evt-check"
    [ "$status" -eq 0 ]
    assert_eq "$output" "checked 1 topic, 60 records, 6 streams (format $v): ok"
    assert_eq "$(get_log_format "$EVT_LOG")" $v  # readers leave it as it is
    # the first writer converts the stream heads: versions and links go on
    printf '{"specversion":"1.0","id":"new-1","source":"/shop","type":"Paid","subject":"order-1","data":{"n":60}}\n' |
      "$APPEND" -t orders --expect-version 10
    assert_eq "$(get_log_format "$EVT_LOG")" 4
    assert_eq "$("$REPLAY" -t orders --stream order-1 | jq -r '"\(.evtversion):\(.data.n)"' | tr '\n' ' ')" \
      "1:1 2:7 3:13 4:19 5:25 6:31 7:37 8:43 9:49 10:55 11:60 "
    run --separate-stderr "$APPEND" -t orders --expect-version 9 < <(printf '{"id":"new-2","source":"/s","type":"Paid","subject":"order-2"}\n')
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"stream 'order-2' is at version 10, expected version 9"* ]]
    for k in 0 2 3 4 5; do
      assert_eq "$("$REPLAY" -t orders --stream order-$k | jq -r .data.n | tr '\n' ' ')" \
        "$(seq $k 6 59 | tr '\n' ' ')"
    done
    run --separate-stderr "$EVT_BIN/evt-check"
    [ "$status" -eq 0 ]
    assert_eq "$output" "checked 1 topic, 61 records, 6 streams (format 4): ok"
  done
}

@test "a version-3 id index is read by evt-check and converted by the first writer: the ids stay known" {
  old_log 3 -idempotent
  assert_eq "$("$EVT_BIN/evt-check" --format json | jq -c '[.format, .records, .ids, .ok]')" "[3,60,60,true]"
  # three ids the old log has, two new ones
  for n in 7 30 59 60 61; do
    printf '{"specversion":"1.0","id":"order-event-%03d","source":"/shop","type":"Placed","subject":"order-%d","data":{"n":%d}}\n' $n $((n % 6)) $n
  done > again.ndjson
  # The fixture's ids were appended on the day it was made: a window that
  # reaches back to it (the default 24h made this test fail a day later).
  run --separate-stderr "$APPEND" -t orders --idempotent=36500d < again.ndjson
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"skipped 3 duplicate events"* ]]
  assert_eq "$(get_log_format "$EVT_LOG")" 4
  assert_eq "$(count_events orders)" 62
  assert_eq "$("$EVT_BIN/evt-check" --format json | jq -c '[.format, .records, .ids, .ok]')" "[4,62,62,true]"
  # and the new ones are known from now on
  run --separate-stderr "$APPEND" -t orders --idempotent=36500d < again.ndjson
  [[ "$stderr" == *"skipped 5 duplicate events"* ]]
  assert_eq "$(count_events orders)" 62
}

@test "--idempotent: an id over 65535 bytes is a bad line (65), though without --idempotent it is stored" {
  python3 -c 'import json; print(json.dumps({"id": "ok-1", "source": "/s", "type": "T"})); print(json.dumps({"id": "x" * 70000, "source": "/s", "type": "T"}))' > long-id.ndjson
  run --separate-stderr "$APPEND" -t t --idempotent --max-bytes 1MiB < long-id.ndjson
  [ "$status" -eq 65 ]
  assert_eq "$stderr" "evt-append: error: line 2: 'id' is longer than 65535 bytes (1 event before it stored)"
  assert_eq "$(count_events t)" 1
  "$APPEND" -t u --max-bytes 1MiB < long-id.ndjson
  assert_eq "$(count_events u)" 2
}

@test "four writers racing to open a version-3 log: one converts it, all append, every stream stays dense" {
  old_log 3
  for w in 1 2 3 4; do
    seq 1 20 | awk -v w=$w '{ printf "{\"id\":\"w%d-%d\",\"source\":\"/s\",\"type\":\"T\",\"subject\":\"order-%d\"}\n", w, $1, $1 % 6 }' > in-$w
  done
  for w in 1 2 3 4; do "$APPEND" -t orders < in-$w & done
  wait
  assert_eq "$(get_log_format "$EVT_LOG")" 4
  run --separate-stderr "$EVT_BIN/evt-check"
  [ "$status" -eq 0 ]
  assert_eq "$output" "checked 1 topic, 140 records, 6 streams (format 4): ok"
  # order-k had 10 events; the writers added 80 over the six subjects (14 or 13 each)
  for k in 0 1 2 3 4 5; do
    n=$(( 10 + 4 * $(seq 1 20 | awk -v k=$k '$1 % 6 == k' | wc -l) ))
    assert_eq "$("$REPLAY" -t orders --stream order-$k | jq -r .evtversion | tr '\n' ' ')" "$(seq 1 $n | tr '\n' ' ')"
  done
}

@test "an unknown flag is a usage error (64) with a hint" {
  run --separate-stderr "$APPEND" -t t --no-such-flag
  [ "$status" -eq 64 ]
  [[ "${stderr_lines[0]}" == "evt-append: error: "* ]]
  assert_eq "${stderr_lines[-1]}" "Try 'evt-append --help' for more information."
  run --separate-stderr "$APPEND" < <(events 1)
  [ "$status" -eq 64 ]
}

@test "an event larger than 1MiB is stored and replayed whole with a larger --max-bytes" {
  python3 -c 'import json; print(json.dumps({"type":"Big","id":"big","data":{"blob":"x"*3000000}}, separators=(",",":")))' > big.ndjson
  run --separate-stderr "$APPEND" -t t < big.ndjson
  [ "$status" -eq 65 ]
  run --separate-stderr "$APPEND" -t t --max-bytes 4MiB < big.ndjson
  [ "$status" -eq 0 ]
  "$REPLAY" -t t --no-position > got.ndjson
  assert_eq "$(jq -c .data got.ndjson | md5sum)" "$(jq -c .data big.ndjson | md5sum)"
  assert_eq "$(jq -r .id got.ndjson)" "big"
}

@test "--rejects without --skip-bad is not silently ignored" {
  printf '{"type":"A"}\n{bad\n{"type":"B"}\n' > in.ndjson
  run --separate-stderr "$APPEND" -t t --rejects rej.ndjson < in.ndjson
  # either a usage error that stores nothing, or it implies --skip-bad and writes the reject
  if [ "$status" -eq 64 ]; then
    assert_eq "$(count_events t 2>/dev/null || echo 0)" 0
  else
    [ "$status" -eq 65 ]
    assert_eq "$(jq -c .line rej.ndjson)" 2
  fi
}

@test "a failed --atomic append to a new topic leaves no trace, not even the topic" {
  printf '{"type":"A"}\n{bad\n' | "$APPEND" -t fresh --atomic 2>/dev/null || true
  events 1 | "$APPEND" -t other
  assert_eq "$("$TOPIC" list)" "other"
  run --separate-stderr "$REPLAY" -t fresh
  [ "$status" -eq 66 ]
}

@test "--catalog: an unknown type or a missing required field stops the append at its line (65)" {
  local cat="$EVT_SRC/tests/fixtures/lint/good.yaml"
  printf '%s\n' '{"type":"OrderPlaced","data":{"orderId":"o1","placedAt":"2026-11-01T00:00:00Z"}}' \
    '{"type":"ChargeCard","data":{}}' '{"type":"OrderPlaced","data":{"orderId":"o3"}}' > in.ndjson
  run --separate-stderr "$APPEND" -t t --catalog "$cat" < in.ndjson
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"line 2: type 'ChargeCard' is not in the catalog"* ]]
  assert_eq "$("$REPLAY" -t t --no-position | jq -r .data.orderId)" o1
  run --separate-stderr "$APPEND" -t s --catalog "$cat" --skip-bad --rejects rej.ndjson < in.ndjson
  [ "$status" -eq 65 ]
  assert_eq "$(jq -c '[.line, .reason]' rej.ndjson | tr '\n' ' ')" \
    "[2,\"type 'ChargeCard' is not in the catalog\"] [3,\"data lacks the required field 'placedAt' of 'OrderPlaced'\"] "
  assert_eq "$(count_events s)" 1
}

@test "--catalog: a missing catalog is 66 and a broken one 65, with nothing stored" {
  events 3 > in.ndjson
  run --separate-stderr "$APPEND" -t t --catalog nowhere.yaml < in.ndjson
  [ "$status" -eq 66 ]
  run --separate-stderr "$APPEND" -t t --catalog "$EVT_SRC/tests/fixtures/lint/broken.yaml" < in.ndjson
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"broken.yaml:"*":"*": "* ]]
  run --separate-stderr "$REPLAY" -t t
  [ "$status" -eq 66 ]
}

@test "--catalog: an AsyncAPI document is a catalog too (message names are the types)" {
  local doc="$EVT_SRC/tests/fixtures/lint/asyncapi/streetlights-kafka-3.yml"
  run --separate-stderr "$APPEND" -t t --catalog "$doc" <<< '{"type":"lightMeasured","data":{"id":1,"lumens":3}}'
  [ "$status" -eq 0 ]
  run --separate-stderr "$APPEND" -t t --catalog "$doc" <<< '{"type":"LightMeasured"}'
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"type 'LightMeasured' is not in the catalog"* ]]
  assert_eq "$(count_events t)" 1
}
