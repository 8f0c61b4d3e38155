#!/usr/bin/env bats
# Event sourcing (issue 6, Done when 4): an aggregate's history and version are
# observable through `evt-replay --stream` and `evt-append --expect-version`,
# and the read model carries the version it reflects. Two writers race on one
# aggregate: each reads the version, decides, and appends expecting it; the
# loser gets exit 2 with the actual version, re-reads and retries.

bats_require_minimum_version 1.5.0
load helpers

setup() {
  evt_setup
  PROJECT="$EVT_BIN/evt-project"
  QUERY="$EVT_BIN/evt-query"
  FX="$EVT_SRC/tests/fixtures/project"
}

# version SUBJECT: the aggregate's current version, from its stream
version() {
  local v
  v=$("$REPLAY" -t accounts --stream "$1" | tail -n 1 | jq -r '.evtversion // 0')
  echo "${v:-0}"
}

# writer NAME ROUND: read the version, say it is ready, wait for the start
# signal, append one event expecting it; on a conflict (exit 2) read again
# and retry
writer() {
  local name=$1 round=$2 v rc tries=0
  v=$(version acct-1)
  touch "ready.$name.$round"
  while [ ! -e "go.$round" ]; do sleep 0.005; done
  while :; do
    tries=$((tries + 1))
    rc=0
    printf '{"type":"Deposited","subject":"acct-1","data":{"amount":%d,"writer":"%s","round":%d}}\n' \
      "$round" "$name" "$round" | "$APPEND" -t accounts --expect-version "$v" 2>> "err.$name" || rc=$?
    if [ "$rc" -eq 0 ]; then echo "$tries" > "tries.$name.$round"; return 0; fi
    [ "$rc" -eq 2 ] || return "$rc"
    v=$(version acct-1)
  done
}

@test "two racing writers with --expect-version: every event lands once, versions are dense, the model shows the version" {
  printf '{"type":"Deposited","subject":"acct-1","data":{"amount":100,"writer":"init"}}\n' |
    "$APPEND" -t accounts --expect-version no-stream
  conflicts=0
  for round in $(seq 1 10); do
    writer a "$round" &
    pa=$!
    writer b "$round" &
    pb=$!
    # both have read the version: release them together
    while [ ! -e "ready.a.$round" ] || [ ! -e "ready.b.$round" ]; do sleep 0.01; done
    touch "go.$round"
    wait "$pa"
    wait "$pb"
    # both read the same version before the signal: exactly one needed a retry
    ta=$(cat "tries.a.$round") tb=$(cat "tries.b.$round")
    [ $((ta + tb)) -ge 3 ]
    conflicts=$((conflicts + ta + tb - 2))
  done
  echo "conflicts (exit 2, then retried): $conflicts" >&3
  [ "$conflicts" -ge 10 ]
  # each conflict told the loser the actual version
  [ "$(cat err.a err.b | grep -c "stream 'acct-1' is at version [0-9]*, expected version [0-9]*; nothing was written")" -eq "$conflicts" ]
  # the history: 21 events, versions 1..21 in order, none lost, none twice
  "$REPLAY" -t accounts --stream acct-1 > history.ndjson
  [ "$(wc -l < history.ndjson)" -eq 21 ]
  [ "$(jq -r .evtversion history.ndjson | tr '\n' ' ')" = "$(seq 1 21 | tr '\n' ' ')" ]
  [ "$(jq -r '.data.writer' history.ndjson | grep -c '^a$')" -eq 10 ]
  [ "$(jq -r '.data.writer' history.ndjson | grep -c '^b$')" -eq 10 ]
  # a stale writer is refused with the actual version, and nothing is written
  run bash -c "printf '{\"type\":\"Withdrawn\",\"subject\":\"acct-1\",\"data\":{\"amount\":1}}\n' | '$APPEND' -t accounts --expect-version 20"
  [ "$status" -eq 2 ]
  [[ "$output" == *"stream 'acct-1' is at version 21, expected version 20"* ]]
  [ "$(version acct-1)" -eq 21 ]
  # the read model: the balance folded from the history, at the stream's version
  "$PROJECT" -q "$FX/accounts.yaml"
  row=$("$QUERY" accounts acct-1 --format json)
  [ "$(jq .version <<<"$row")" -eq 21 ]
  [ "$(jq .balance <<<"$row")" -eq $((100 + 2 * 55)) ]
  [ "$(jq .balance <<<"$row")" -eq "$(jq -s 'map(.data.amount) | add' history.ndjson)" ]
}
