#!/usr/bin/env bats
# The event-shapes lab (examples/event-shapes): run.sh prints exactly
# expected-output.txt — the notification consumer ships to the address the
# customer service knows now and stalls while that service is down; the
# state-transfer consumer ships to the address in the event at once.

bats_require_minimum_version 1.5.0
load helpers

setup() { evt_setup; }

@test "examples/event-shapes/run.sh prints exactly expected-output.txt" {
  run --separate-stderr env EVT_BIN="$EVT_BIN" "$EVT_SRC/examples/event-shapes/run.sh"
  [ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
  diff <(printf '%s\n' "$output") "$EVT_SRC/examples/event-shapes/expected-output.txt"
  # the two labels of o-1 differ: one address at the time of the fact, one now
  grep -qx '  label for o-1: Alice, 9 New Street, York' <<< "$output"
  grep -qx '  label for o-1: Alice, 1 Old Road, Leeds' <<< "$output"
  ! pgrep -u "$(id -u)" -f -- 'evt-consume -t orders-(notified|carried)' > /dev/null
  [ ! -e "$EVT_LOG" ]
}

@test "the notification consumer really depends on the customer service: without it, o-2 is not shipped" {
  export CUSTOMER_SERVICE="$T/cs"
  mkdir -p "$CUSTOMER_SERVICE"
  echo '{"name":"Bob","address":"4 Mill Lane, Hull"}' > "$CUSTOMER_SERVICE/c-2.json"
  printf '{"type":"OrderPlaced","subject":"o-2","data":{"orderId":"o-2","customerId":"c-2"}}\n' |
    "$APPEND" -t orders-notified
  run --separate-stderr "$EVT_SRC/examples/event-shapes/ship-from-notification.sh" < <("$REPLAY" -t orders-notified)
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"customer service unavailable"* ]]
  touch "$CUSTOMER_SERVICE/UP"
  run --separate-stderr "$EVT_SRC/examples/event-shapes/ship-from-notification.sh" < <("$REPLAY" -t orders-notified)
  [ "$status" -eq 0 ]
  assert_eq "$output" "  label for o-2: Bob, 4 Mill Lane, Hull"
}
