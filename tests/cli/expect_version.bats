#!/usr/bin/env bats
# evt-append --expect-version (issue 2, Done when 7): optimistic concurrency on
# one subject. Two racing writers: exactly one wins, the other exits 2 naming
# the actual version, and nothing of the loser is stored. Also the exact-number,
# exists and any forms, and the input rules (one subject, events need one).

bats_require_minimum_version 1.5.0
load helpers

setup() { evt_setup; }

# racer_input ROUND WHO K SUBJECT: K events with ids ROUND-WHO-1..K
racer_input() {
  local i
  for ((i = 1; i <= $3; i++)); do
    printf '{"type":"Deposited","id":"%s-%s-%d","subject":"%s","data":{"n":%d}}\n' "$1" "$2" "$i" "$4" "$i"
  done
}

stream_ids() { "$REPLAY" -t "$1" --stream "$2" --no-position | jq -r .id | tr '\n' ' '; }

# race ROUND EXPECT SUBJECT KA KB: runs writers a and b at once; sets WIN, LOSE,
# and checks exactly one won and the loser's message.
race() {
  local round=$1 expect=$2 subject=$3 ka=$4 kb=$5
  racer_input "$round" a "$ka" "$subject" > "in.$round.a"
  racer_input "$round" b "$kb" "$subject" > "in.$round.b"
  mkfifo "go.$round"
  # both processes are started, then released together by the fifo
  ( read -r _ < "go.$round"; exec "$APPEND" -t acct -P 3 --expect-version "$expect" < "in.$round.a" ) 2> "err.$round.a" &
  local pa=$!
  ( read -r _ < "go.$round"; exec "$APPEND" -t acct -P 3 --expect-version "$expect" < "in.$round.b" ) 2> "err.$round.b" &
  local pb=$!
  sleep 0.05
  printf 'go\ngo\n' > "go.$round"
  local sa=0 sb=0
  wait $pa || sa=$?
  wait $pb || sb=$?
  rm -f "go.$round"
  if [ $sa -eq 0 ] && [ $sb -eq 2 ]; then WIN=a LOSE=b
  elif [ $sa -eq 2 ] && [ $sb -eq 0 ]; then WIN=b LOSE=a
  else
    echo "round $round: exit codes a=$sa b=$sb (want one 0 and one 2)" >&2
    cat "err.$round.a" "err.$round.b" >&2
    return 1
  fi
  [ ! -s "err.$round.$WIN" ]
}

@test "two racing writers with --expect-version no-stream / 0: exactly one wins, many rounds" {
  wins_a=0 stored=0
  for round in $(seq 1 15); do
    subject="acct-$round"
    expect=no-stream
    [ $((round % 2)) -eq 0 ] && expect=0
    ka=$((1 + round % 3)) kb=$((1 + (round + 1) % 3))
    race "$round" "$expect" "$subject" "$ka" "$kb"
    [ "$WIN" = a ] && wins_a=$((wins_a + 1))
    k_win=$ka; [ "$WIN" = b ] && k_win=$kb
    stored=$((stored + k_win))
    # the loser names the actual version: the winner's events
    if [ "$expect" = no-stream ]; then want_exp="no stream"; else want_exp="version 0"; fi
    assert_eq "$(cat "err.$round.$LOSE")" \
      "evt-append: error: stream '$subject' is at version $k_win, expected $want_exp; nothing was written"
    # exactly the winner's events are stored, in order; nothing of the loser
    assert_eq "$(stream_ids acct "$subject")" "$(seq -s ' ' 1 "$k_win" | sed "s/[0-9]\+/$round-$WIN-&/g") "
  done
  # nothing of any loser anywhere in the topic: exactly the winners' events
  total=$("$REPLAY" -t acct --no-position | wc -l)
  assert_eq "$total" "$stored"
  for round in $(seq 1 15); do
    # one writer per subject
    assert_eq "$("$REPLAY" -t acct --stream "acct-$round" --no-position | jq -r '.id | split("-")[1]' | sort -u | wc -l)" 1
  done
  echo "# no-stream races: a won $wins_a of 15, b won $((15 - wins_a)); $total events stored" >&3
}

@test "racing writers on one subject with --expect-version N: the stream grows only by winners, many rounds" {
  subject=acct-42
  version=0
  for round in $(seq 1 25); do
    ka=$((1 + round % 2)) kb=$((1 + (round * 7) % 3))
    race "$round" "$version" "$subject" "$ka" "$kb"
    k_win=$ka; [ "$WIN" = b ] && k_win=$kb
    assert_eq "$(cat "err.$round.$LOSE")" \
      "evt-append: error: stream '$subject' is at version $((version + k_win)), expected version $version; nothing was written"
    version=$((version + k_win))
    # evtversion of the last event is the version
    assert_eq "$("$REPLAY" -t acct --stream "$subject" | jq -s 'length, (last | .evtversion)' | tr '\n' ' ')" "$version $version "
    # this round's events are the winner's, all of them, after the earlier rounds
    assert_eq "$("$REPLAY" -t acct --stream "$subject" --no-position | jq -r .id | grep "^$round-" | tr '\n' ' ')" \
      "$(seq -s ' ' 1 "$k_win" | sed "s/[0-9]\+/$round-$WIN-&/g") "
  done
  # the whole stream: one winner per round, in round order, evtversion 1..N
  assert_eq "$("$REPLAY" -t acct --stream "$subject" --no-position | jq -r '.id | split("-")[0]' | uniq | tr '\n' ' ')" "$(seq -s ' ' 1 25) "
  assert_eq "$("$REPLAY" -t acct --stream "$subject" | jq -r .evtversion | tr '\n' ' ')" "$(seq -s ' ' 1 "$version") "
}

@test "--expect-version N: the exact number wins, any other number exits 2 with the actual version" {
  printf '{"type":"A","subject":"s"}\n{"type":"B","subject":"s"}\n' | "$APPEND" -t t --expect-version 0
  for wrong in 0 1 3 100; do
    run --separate-stderr "$APPEND" -t t --expect-version "$wrong" < <(echo '{"type":"X","subject":"s"}')
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    assert_eq "$stderr" "evt-append: error: stream 's' is at version 2, expected version $wrong; nothing was written"
  done
  run --separate-stderr "$APPEND" -t t --expect-version 2 < <(echo '{"type":"C","subject":"s"}')
  [ "$status" -eq 0 ]
  assert_eq "$("$REPLAY" -t t --stream s --no-position | jq -r .type | tr -d '\n')" "ABC"
}

@test "--expect-version no-stream fails once the subject has events; other subjects are independent" {
  echo '{"type":"A","subject":"s1"}' | "$APPEND" -t t -P 2 --expect-version no-stream
  run --separate-stderr "$APPEND" -t t --expect-version no-stream < <(echo '{"type":"B","subject":"s1"}')
  [ "$status" -eq 2 ]
  assert_eq "$stderr" "evt-append: error: stream 's1' is at version 1, expected no stream; nothing was written"
  run --separate-stderr "$APPEND" -t t --expect-version no-stream < <(echo '{"type":"B","subject":"s2"}')
  [ "$status" -eq 0 ]
  assert_eq "$(count_events t)" 2
}

@test "--expect-version exists: fails on a new subject, succeeds on an existing one" {
  echo '{"type":"A","subject":"s1"}' | "$APPEND" -t t
  run --separate-stderr "$APPEND" -t t --expect-version exists < <(echo '{"type":"B","subject":"s2"}')
  [ "$status" -eq 2 ]
  assert_eq "$stderr" "evt-append: error: stream 's2' is at version 0, expected an existing stream; nothing was written"
  run --separate-stderr "$APPEND" -t t --expect-version exists < <(echo '{"type":"B","subject":"s1"}')
  [ "$status" -eq 0 ]
  assert_eq "$("$REPLAY" -t t --stream s1 --no-position | jq -r .type | tr -d '\n')" "AB"
  assert_eq "$("$REPLAY" -t t --stream s2 | wc -l)" 0
}

@test "--expect-version any: always appends, on new and existing subjects; racing 'any' writers both win" {
  echo '{"type":"A","subject":"s1"}' | "$APPEND" -t t --expect-version any
  echo '{"type":"B","subject":"s1"}' | "$APPEND" -t t --expect-version any
  assert_eq "$("$REPLAY" -t t --stream s1 | jq -r .evtversion | tr '\n' ' ')" "1 2 "
  racer_input r a 3 s2 > a.in
  racer_input r b 3 s2 > b.in
  "$APPEND" -t t --expect-version any < a.in &
  pa=$!
  "$APPEND" -t t --expect-version any < b.in &
  pb=$!
  wait $pa
  wait $pb
  ids=$(stream_ids t s2)
  assert_eq "$(echo "$ids" | tr ' ' '\n' | grep -c .)" 6
  # each writer's events stay together and in order (each input is one transaction)
  [[ "$ids" == "r-a-1 r-a-2 r-a-3 r-b-1 r-b-2 r-b-3 " || "$ids" == "r-b-1 r-b-2 r-b-3 r-a-1 r-a-2 r-a-3 " ]]
}

@test "--expect-version with several events checks once, before the first; all are written" {
  run --separate-stderr "$APPEND" -t t --expect-version no-stream < <(racer_input x a 5 s)
  [ "$status" -eq 0 ]
  assert_eq "$("$REPLAY" -t t --stream s | jq -r .evtversion | tr '\n' ' ')" "1 2 3 4 5 "
  run --separate-stderr "$APPEND" -t t --expect-version 5 < <(racer_input y a 2 s)
  [ "$status" -eq 0 ]
  assert_eq "$("$REPLAY" -t t --stream s | wc -l)" 7
}

@test "--expect-version needs one subject on every event; a bad line stores nothing" {
  run --separate-stderr "$APPEND" -t t --expect-version 0 < <(printf '{"type":"A","subject":"s1"}\n{"type":"B","subject":"s2"}\n')
  [ "$status" -eq 65 ]
  assert_eq "$stderr" "evt-append: error: line 2: --expect-version needs all events to have the same 'subject' (--atomic: nothing was stored)"
  run --separate-stderr "$APPEND" -t t --expect-version 0 < <(printf '{"type":"A"}\n')
  [ "$status" -eq 65 ]
  assert_eq "$stderr" "evt-append: error: line 1: --expect-version needs events with a 'subject' (--atomic: nothing was stored)"
  run --separate-stderr "$APPEND" -t t --expect-version 0 < <(printf '{"type":"A","subject":"s1"}\n{bad\n')
  [ "$status" -eq 65 ]
  [[ "$stderr" == "evt-append: error: line 2: malformed JSON: "*"(--atomic: nothing was stored)" ]]
  assert_eq "$(count_events t 2>/dev/null || echo 0)" 0
  assert_eq "$("$REPLAY" -t t --stream s1 2>/dev/null | wc -l)" 0
}

@test "a bad --expect-version value is a usage error (64)" {
  for v in bogus -1 1.5; do
    run --separate-stderr "$APPEND" -t t --expect-version "$v" < <(echo '{"type":"A","subject":"s"}')
    [ "$status" -eq 64 ] || { echo "value '$v' exited $status" >&2; return 1; }
  done
  run --separate-stderr "$APPEND" -t t --expect-version bogus < <(echo '{"type":"A","subject":"s"}')
  assert_eq "${stderr_lines[0]}" "evt-append: error: invalid --expect-version 'bogus' (any, no-stream, exists or a number)"
  assert_eq "$(count_events t 2>/dev/null || echo 0)" 0
}

@test "an explicitly empty --expect-version is refused, not silently ignored" {
  # a script's unset variable (--expect-version "$V") must not turn the check off
  echo '{"type":"A","subject":"s"}' | "$APPEND" -t t
  run --separate-stderr "$APPEND" -t t --expect-version "" < <(echo '{"type":"B","subject":"s"}')
  [ "$status" -eq 64 ]
  assert_eq "$(count_events t)" 1
}
