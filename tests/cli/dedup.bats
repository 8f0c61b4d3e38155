#!/usr/bin/env bats
# evt-dedup (issue 5; SPEC.md section 7; man/evt-dedup.1): the three modes
# (memory, --store, --store --to-topic), key paths, the window, --only-dups,
# --stats, --on-missing-key, bad input with its line number (Done when 5), the
# store surviving restarts (Done when 4), and the exit codes. Each test runs on
# a fresh log in $BATS_TEST_TMPDIR.
#
# The tests named "regression:" pin defects found while writing these tests
# (all fixed in 6f59592): colliding multi-path keys, memory-mode output held
# back in a live pipeline, --to-topic errors without a line number and losing
# the batch before a bad event, --stats silent on failure, kafka:// taken for
# a directory, and `evt-dedup --store S | evt-append -t T` on one log
# deadlocking (output written while holding the log's writer lock).

bats_require_minimum_version 1.5.0
load helpers

setup() {
  evt_setup
  DEDUP="$EVT_BIN/evt-dedup"
}

# Lines {"id":"ID"} for each argument.
ids() {
  local i
  for i in "$@"; do printf '{"id":"%s"}\n' "$i"; done
}

@test "memory: the first line of each id is kept, in input order and byte for byte" {
  printf '%s\n' '{"id":"a","n":1}' '{"id":"b","n":2}' '{"id":"a","n":3}' '{"n":4, "id" : "c"}' '{"id":"b"}' > in
  run --separate-stderr "$DEDUP" in
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  assert_eq "$output" "$(printf '%s\n' '{"id":"a","n":1}' '{"id":"b","n":2}' '{"n":4, "id" : "c"}')"
  # stdin and '-' are the same input
  assert_eq "$("$DEDUP" < in)" "$output"
  assert_eq "$("$DEDUP" - < in)" "$output"
}

@test "memory: 20000 generated events with 5% duplicates give what mawk '!seen[\$8]++' gives" {
  python3 "$GEN" -n 20000 -s 5 --dup-fraction 0.05 -o in 2>/dev/null
  mawk -F'"' '!seen[$8]++' in > want
  "$DEDUP" in > got
  cmp want got
  assert_eq "$(wc -l < got)" 19000
}

@test "several FILEs are one input; a line number names its file" {
  ids a b > f1
  ids b c > f2
  run --separate-stderr "$DEDUP" f1 f2
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(ids a b c)"
  printf 'oops\n' >> f2
  run --separate-stderr "$DEDUP" f1 f2
  [ "$status" -eq 65 ]
  [[ "$stderr" == "evt-dedup: error: f2: line 3: malformed JSON"* ]]
}

@test "--key: dotted paths, \$. paths and JSON Pointers name the same value" {
  printf '%s\n' '{"data":{"o":"x"},"n":1}' '{"data":{"o":"y"},"n":2}' '{"data":{"o":"x"},"n":3}' > in
  want=$(sed -n '1,2p' in)
  for k in data.o .data.o '$.data.o' /data/o; do
    run --separate-stderr "$DEDUP" -k "$k" in
    [ "$status" -eq 0 ] || { echo "-k $k exited $status: $stderr" >&2; return 1; }
    assert_eq "$output" "$want"
  done
}

@test "--key source,id is the CloudEvents identity; -k source -k id is the same key" {
  printf '%s\n' '{"source":"/a","id":"1"}' '{"source":"/b","id":"1"}' '{"source":"/a","id":"1"}' '{"source":"/a","id":"2"}' > in
  want=$(printf '%s\n' '{"source":"/a","id":"1"}' '{"source":"/b","id":"1"}' '{"source":"/a","id":"2"}')
  assert_eq "$("$DEDUP" -k source,id in)" "$want"
  assert_eq "$("$DEDUP" -k source -k id in)" "$want"
  # by id alone the second line is a duplicate
  assert_eq "$("$DEDUP" in | wc -l)" 2
}

@test "--key: a string counts as its text, other values as their compact JSON" {
  printf '%s\n' '{"id":1}' '{"id":"1"}' '{"id":1.0}' '{"id":{"a":1}}' '{"id": { "a" : 1 }}' '{"id":true}' '{"id":null}' '{"id":null}' > in
  run --separate-stderr "$DEDUP" in
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(printf '%s\n' '{"id":1}' '{"id":1.0}' '{"id":{"a":1}}' '{"id":true}' '{"id":null}')"
}

@test "regression: --key a,b: two different pairs of values are never the same key" {
  # joined with U+001F (as before 6f59592), ("x<US>", "y") and ("x", "<US>y") collided
  printf '%s\n' '{"a":"x\u001f","b":"y"}' '{"a":"x","b":"\u001fy"}' > in
  run --separate-stderr "$DEDUP" -k a,b in
  [ "$status" -eq 0 ]
  assert_eq "$(printf '%s\n' "$output" | wc -l)" 2
}

@test "--only-dups prints every later occurrence; with the default it partitions the input" {
  python3 "$GEN" -n 5000 -s 9 --dup-fraction 0.1 -o in 2>/dev/null
  "$DEDUP" in > uniq
  "$DEDUP" --only-dups in > dups
  assert_eq "$(wc -l < uniq)" 4500
  assert_eq "$(wc -l < dups)" 500
  mawk -F'"' 'seen[$8]++' in > want
  cmp want dups
  sort in > a
  cat uniq dups | sort > b
  cmp a b
}

@test "--stats: one line of counts on stderr, nothing else" {
  printf '%s\n' '{"id":"a"}' '{"id":"b"}' '{"id":"a"}' '{"x":1}' '{"id":"c"}' > in
  run --separate-stderr "$DEDUP" --stats --on-missing-key drop < in
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(ids a b c)"
  assert_eq "$stderr" "$(printf '%s\n' 'evt-dedup: warning: line 4: no key; dropped' \
    'evt-dedup: stats: 5 lines, 3 unique, 1 duplicates, 1 without a key, 3 written')"
  run --separate-stderr "$DEDUP" --stats --only-dups --on-missing-key pass < in
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(printf '%s\n' '{"id":"a"}' '{"x":1}')"
  assert_eq "${stderr##*$'\n'}" 'evt-dedup: stats: 5 lines, 3 unique, 1 duplicates, 1 without a key, 2 written'
  run --separate-stderr "$DEDUP" --stats < /dev/null
  [ "$status" -eq 0 ]
  assert_eq "$stderr" 'evt-dedup: stats: 0 lines, 0 unique, 0 duplicates, 0 without a key, 0 written'
}

@test "a line that is not JSON: exit 65, 'line N' named, every line before it printed" {
  printf '%s\n' '{"id":"a"}' '{"id":"b"}' '{"id":"a"}' 'not json' '{"id":"c"}' > in
  run --separate-stderr "$DEDUP" < in
  [ "$status" -eq 65 ]
  assert_eq "$output" "$(ids a b)"
  [[ "$stderr" == "evt-dedup: error: line 4: malformed JSON"* ]]
  [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
  # not an object, an empty line, invalid UTF-8, trailing garbage
  for bad in '[1,2]' '' $'{"id":"\xff"}' '{"id":"x"} tail' '"str"'; do
    run --separate-stderr "$DEDUP" < <(ids a; printf '%s\n' "$bad"; ids b)
    [ "$status" -eq 65 ] || { echo "'$bad': exit $status" >&2; return 1; }
    assert_eq "$output" "$(ids a)"
    [[ "$stderr" == "evt-dedup: error: line 2: "* ]] || { echo "'$bad': $stderr" >&2; return 1; }
  done
  run --separate-stderr "$DEDUP" < <(printf '[1]\n')
  assert_eq "$stderr" "evt-dedup: error: line 1: not a JSON object"
}

@test "a missing key with the default --on-missing-key fail: exit 65 with its line number" {
  printf '%s\n' '{"id":"a"}' '{"type":"NoId"}' '{"id":"b"}' > in
  run --separate-stderr "$DEDUP" < in
  [ "$status" -eq 65 ]
  assert_eq "$output" "$(ids a)"
  assert_eq "$stderr" "evt-dedup: error: line 2: the key (id) is missing (--on-missing-key fail)"
  run --separate-stderr "$DEDUP" --on-missing-key fail -k source,id < in
  [ "$status" -eq 65 ]
  assert_eq "$stderr" "evt-dedup: error: line 1: the key (source,id) is missing (--on-missing-key fail)"
  assert_eq "$output" ""
  # the store mode says the same; a named FILE is named
  run --separate-stderr "$DEDUP" --store s < in
  [ "$status" -eq 65 ]
  assert_eq "$output" "$(ids a)"
  assert_eq "$stderr" "evt-dedup: error: line 2: the key (id) is missing (--on-missing-key fail)"
  run --separate-stderr "$DEDUP" in
  assert_eq "$stderr" "evt-dedup: error: in: line 2: the key (id) is missing (--on-missing-key fail)"
}

@test "--on-missing-key pass and drop: the line goes through or not, with a warning for the first ten" {
  { ids a; printf '{"n":%d}\n' $(seq 1 12); ids a b; } > in
  run --separate-stderr "$DEDUP" --on-missing-key pass < in
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(ids a; printf '{"n":%d}\n' $(seq 1 12); ids b)"
  assert_eq "$(printf '%s\n' "$stderr" | wc -l)" 10
  assert_eq "${stderr%%$'\n'*}" "evt-dedup: warning: line 2: no key; passed on"
  assert_eq "${stderr##*$'\n'}" "evt-dedup: warning: line 11: no key; passed on"
  run --separate-stderr "$DEDUP" --on-missing-key drop < in
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(ids a b)"
  assert_eq "${stderr%%$'\n'*}" "evt-dedup: warning: line 2: no key; dropped"
  # a missing key is not a duplicate of another missing key
  run --separate-stderr "$DEDUP" --on-missing-key pass --store s in
  [ "$status" -eq 0 ]
  assert_eq "$(printf '%s\n' "$output" | grep -c '"n"')" 12
}

@test "usage errors exit 64 with 'evt-dedup: error:' and a pointer to --help" {
  local args
  for args in "--on-missing-key maybe" "--window soon" "--window" "-k ''" "-k a..b" "--to-topic out" \
              "--store bad/name" "--store" "--no-such-flag"; do
    run --separate-stderr bash -c "\"\$1\" $args < /dev/null" _ "$DEDUP"
    [ "$status" -eq 64 ] || { echo "$args: exit $status ($stderr)" >&2; return 1; }
    [[ "$stderr" == "evt-dedup: error: "* ]] || { echo "$args: $stderr" >&2; return 1; }
    [[ "$stderr" == *"Try 'evt-dedup --help'"* ]] || { echo "$args: $stderr" >&2; return 1; }
    [ -z "$output" ]
  done
  rm -rf "$EVT_LOG"
  run --separate-stderr "$DEDUP" --to-topic out < /dev/null
  assert_eq "${stderr%%$'\n'*}" "evt-dedup: error: --to-topic needs --store"
  [ ! -e "$EVT_LOG" ]
}

@test "a missing FILE exits 66; a full stdout exits 74" {
  run --separate-stderr "$DEDUP" nope.ndjson
  [ "$status" -eq 66 ]
  assert_eq "$stderr" "evt-dedup: error: nope.ndjson: No such file or directory"
  ids a b > in
  run --separate-stderr bash -c '"$1" in > /dev/full' _ "$DEDUP"
  [ "$status" -eq 74 ]
  [[ "$stderr" == "evt-dedup: error: write error"* ]]
}

# The window tests: the clock is read when a line is handled, so each input
# starts with a pause that lets evt-dedup start and wait for its first line.
@test "memory: the window forgets a key after DUR (300ms)" {
  # a, a (dup), then 800ms later: a (expired: unique again), a (dup), b
  run --separate-stderr "$DEDUP" --window 300ms --stats < <(sleep 0.5; ids a a; sleep 0.8; ids a a b)
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(ids a a b)"
  assert_eq "$stderr" "evt-dedup: stats: 5 lines, 3 unique, 2 duplicates, 0 without a key, 3 written"
  # without --window the key is never forgotten
  run --separate-stderr "$DEDUP" < <(sleep 0.5; ids a; sleep 0.8; ids a)
  assert_eq "$output" "$(ids a)"
}

@test "memory: the window (1s) counts from the first sighting, not the last" {
  # sightings at 0, ~0.6 s (dup) and ~1.3 s: 0.7 s after the last, 1.3 s after the first
  run --separate-stderr "$DEDUP" --window 1s < <(sleep 0.5; ids a; sleep 0.6; ids a; sleep 0.7; ids a)
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(ids a a)"
}

@test "--store survives restarts: a second run prints nothing, a third only what is new" {
  ids a b a c > in
  run --separate-stderr "$DEDUP" --store s --stats in
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(ids a b c)"
  assert_eq "$stderr" "evt-dedup: stats: 4 lines, 3 unique, 1 duplicates, 0 without a key, 3 written"
  [ -f "$EVT_LOG/data.mdb" ]
  run --separate-stderr "$DEDUP" --store s --stats in
  [ "$status" -eq 0 ]
  assert_eq "$output" ""
  assert_eq "$stderr" "evt-dedup: stats: 4 lines, 0 unique, 4 duplicates, 0 without a key, 0 written"
  run --separate-stderr "$DEDUP" --store s < <(ids c d a e d)
  assert_eq "$output" "$(ids d e)"
  # --only-dups against the store
  run --separate-stderr "$DEDUP" --store s --only-dups < <(ids a f f)
  assert_eq "$output" "$(ids a f)"
  # another store name, and another log, know nothing of these keys
  assert_eq "$("$DEDUP" --store other in)" "$(ids a b c)"
  assert_eq "$("$DEDUP" -L "$T/log2" --store s in)" "$(ids a b c)"
  [ -f "$T/log2/data.mdb" ]
}

@test "--store: 20000 generated events across four runs give what one mawk pass gives" {
  python3 "$GEN" -n 20000 -s 6 --dup-fraction 0.2 -o in 2>/dev/null
  mawk -F'"' '!seen[$8]++' in > want
  : > got
  for part in 1 2 3 4; do
    sed -n "$(( (part - 1) * 5000 + 1 )),$(( part * 5000 ))p" in | "$DEDUP" --store s >> got
  done
  cmp want got
}

@test "--store: a bad line stops the run; the lines before it are printed and their keys kept" {
  { ids a b; echo 'nope'; ids c; } > in
  run --separate-stderr "$DEDUP" --store s < in
  [ "$status" -eq 65 ]
  assert_eq "$output" "$(ids a b)"
  [[ "$stderr" == "evt-dedup: error: line 3: malformed JSON"* ]]
  run --separate-stderr "$DEDUP" --store s < <(ids a b c)
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(ids c)"
}

@test "--store: when the output cannot be written the keys are not committed (exit 74)" {
  ids a b > in
  run --separate-stderr bash -c '"$1" --store s in > /dev/full' _ "$DEDUP"
  [ "$status" -eq 74 ]
  [[ "$stderr" == "evt-dedup: error: write error"* ]]
  # nothing was lost: the next run prints both
  assert_eq "$("$DEDUP" --store s in)" "$(ids a b)"
}

@test "--store: the window applies across restarts (500ms)" {
  run "$DEDUP" --store w --window 500ms < <(ids a b)
  assert_eq "$output" "$(ids a b)"
  run "$DEDUP" --store w --window 500ms < <(ids a)
  assert_eq "$output" ""
  sleep 1
  run "$DEDUP" --store w --window 500ms < <(ids a b a)
  assert_eq "$output" "$(ids a b)"
  # re-recorded just now: a run without a window still knows them
  run "$DEDUP" --store w < <(ids a b c)
  assert_eq "$output" "$(ids c)"
}

@test "regression: memory: a line is passed on before the input ends (a live pipeline is not held up)" {
  mkfifo fifo
  ( ids a; sleep 3; ids b ) > fifo &
  local producer=$!
  "$DEDUP" < fifo > out &
  local dedup=$!
  local waited=0
  while [ ! -s out ] && [ "$waited" -lt 25 ]; do sleep 0.1; waited=$((waited + 1)); done
  local early; early=$(cat out)
  wait "$producer"
  wait "$dedup"
  assert_eq "$early" "$(ids a)"
}

@test "--store does not hold a live pipeline up: a line is out before the input ends" {
  mkfifo fifo
  ( ids a; sleep 3; ids b ) > fifo &
  local producer=$!
  "$DEDUP" --store s < fifo > out &
  local dedup=$!
  local waited=0
  while [ ! -s out ] && [ "$waited" -lt 25 ]; do sleep 0.1; waited=$((waited + 1)); done
  assert_eq "$(cat out)" "$(ids a)"
  wait "$producer"
  wait "$dedup"
  assert_eq "$(cat out)" "$(ids a b)"
}

@test "--to-topic: unique events appended in the store's transaction; nothing printed; a rerun appends nothing" {
  python3 "$GEN" -n 3000 -s 7 --dup-fraction 0.1 -o in 2>/dev/null
  mawk -F'"' '!seen[$8]++' in > want
  run --separate-stderr "$DEDUP" --store s --to-topic uniq --stats in
  [ "$status" -eq 0 ]
  assert_eq "$output" ""
  assert_eq "$stderr" "evt-dedup: stats: 3000 lines, 2700 unique, 300 duplicates, 0 without a key, 2700 written"
  "$REPLAY" -t uniq --no-position > got
  cmp want got
  run --separate-stderr "$DEDUP" --store s --to-topic uniq in
  [ "$status" -eq 0 ]
  assert_eq "$(count_events uniq)" 2700
  "$EVT_BIN/evt-check" > /dev/null
}

@test "--to-topic takes evt-replay output (positions are dropped) and fills what is missing" {
  events 5 > in
  "$APPEND" -t src < in
  "$REPLAY" -t src | "$DEDUP" --store s --to-topic copy
  "$REPLAY" -t src --no-position > want
  "$REPLAY" -t copy --no-position | jq -c 'del(.time)' > got
  jq -c 'del(.time)' want | cmp - got
  # the copy has its own positions
  assert_eq "$("$REPLAY" -t copy | jq -r '"\(.evttopic) \(.evtoffset)"' | tr '\n' ' ')" "copy 0 copy 1 copy 2 copy 3 copy 4 "
}

@test "regression: --to-topic: an event evt-append would reject is reported with its line number" {
  printf '%s\n' '{"id":"g1","type":"T"}' '{"id":"g2"}' '{"id":"g3","type":"T"}' > in
  run --separate-stderr "$DEDUP" --store s --to-topic out in
  [ "$status" -eq 65 ]
  [[ "$stderr" == "evt-dedup: error: in: line 2: 'type' is missing"* ]] || { echo "stderr: $stderr" >&2; return 1; }
}

@test "regression: --to-topic: the events before a bad one are appended (as in the other modes)" {
  printf '%s\n' '{"id":"g1","type":"T"}' '{"id":"g2"}' '{"id":"g3","type":"T"}' > in
  run --separate-stderr "$DEDUP" --store s --to-topic out in
  [ "$status" -eq 65 ]
  assert_eq "$("$REPLAY" -t out --no-position | jq -r .id)" "g1"
}

@test "regression: --stats reports what was done when the run stops at bad input" {
  { ids a b a; echo 'bad'; } > in
  run --separate-stderr "$DEDUP" --stats < in
  [ "$status" -eq 65 ]
  assert_eq "${stderr%%$'\n'*}" "evt-dedup: stats: 4 lines, 2 unique, 1 duplicates, 0 without a key, 2 written"
  [[ "${stderr#*$'\n'}" == "evt-dedup: error: line 4: malformed JSON"* ]]
}

@test "regression: --log kafka://... is refused (exit 69) as by the other tools, not made a directory" {
  run --separate-stderr "$DEDUP" -L kafka://127.0.0.1:9 --store s < <(ids a)
  [ ! -e kafka: ] || { rm -rf kafka:; echo "evt-dedup created ./kafka:/127.0.0.1:9 as a log" >&2; return 1; }
  [ "$status" -eq 69 ]
}

@test "regression: evt-dedup --store S | evt-append -t T on the same log finishes (no deadlock)" {
  # evt-dedup wrote its output while it held the log's write transaction;
  # evt-append, waiting for that transaction, stopped reading the pipe.
  python3 "$GEN" -n 50000 -s 3 -o in 2>/dev/null
  run timeout 30 bash -c '"$1" --store s < in | "$2" -t out' _ "$DEDUP" "$APPEND"
  [ "$status" -ne 124 ] || { echo "the pipeline hung (killed after 30 s)" >&2; return 1; }
  [ "$status" -eq 0 ]
  assert_eq "$(count_events out)" 50000
}

@test "with the store in another log, evt-dedup --store | evt-append works too" {
  python3 "$GEN" -n 50000 -s 3 -o in 2>/dev/null
  run timeout 30 bash -c '"$1" -L state --store s < in | "$2" -t out' _ "$DEDUP" "$APPEND"
  [ "$status" -eq 0 ]
  assert_eq "$(count_events out)" 50000
}
