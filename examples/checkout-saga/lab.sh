# Shared by happy-path.sh, failed-payment.sh and choreography/run.sh (sourced):
# a fresh log in a temporary directory, the topics, the participant services
# as evt-consume --exec pipelines, and helpers that print what happened.
# EVT_BIN=/path/to/bin picks the build; else ../../build/bin, else PATH.
set -euo pipefail
lab=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -n "${EVT_BIN:-}" ]; then PATH="$EVT_BIN:$PATH"
elif [ -x "$lab/../../build/bin/evt-saga" ]; then PATH="$lab/../../build/bin:$PATH"; fi
for t in evt-append evt-replay evt-consume evt-topic evt-saga jq; do
    command -v "$t" >/dev/null || { echo "lab: error: $t not found (build evt, or set EVT_BIN)" >&2; exit 69; }
done
work=$(mktemp -d)
export EVT_LOG=$work/log
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

TOPICS=(orders order-commands inventory-commands inventory-events payment-commands payment-events
        shipping-commands shipping-events)

make_topics() {
    local t
    for t in "${TOPICS[@]}"; do evt-topic create "$t" --partitions 1 >/dev/null 2>&1; done
}

# participant GROUP TOPIC SCRIPT: a service consuming TOPIC, one event per run of SCRIPT.
participant() {
    evt-consume -t "$2" -g "$1" --follow --exec "$3" 2>>"$work/$1.log" >/dev/null &
    pids+=($!)
}

# The four services of the orchestrated saga.
start_services() {
    participant inventory inventory-commands "$lab/services/inventory.sh"
    participant payment payment-commands "$lab/services/payment.sh"
    participant shipping shipping-commands "$lab/services/shipping.sh"
    participant order-service order-commands "$lab/services/orders.sh"
}

# place_order ID JSON-DATA
place_order() {
    jq -cn --arg id "$1" --argjson data "$2" '{type: "OrderPlaced", source: "/shop", subject: $id, data: $data}' |
        evt-append -t orders 2>/dev/null
}

# wait_for TOPIC SUBJECT TYPE: until that event is in the log (at most 30 s).
wait_for() {
    local i
    for i in $(seq 1 300); do
        if evt-replay -t "$1" --stream "$2" --type "$3" --no-position | grep -q .; then return 0; fi
        sleep 0.1
    done
    echo "lab: error: no $3 for $2 on $1 after 30 s" >&2
    return 1
}

# The order's events on each topic, in order (subject = the order id).
show_topics() {
    local t types
    for t in "${TOPICS[@]}"; do
        types=$(evt-replay -t "$t" --stream "$1" --no-position | jq -r .type | paste -sd' ' -)
        [ -z "$types" ] || printf '  %-19s %s\n' "$t" "$types"
    done
}

# The saga instance's own stream: its state events, in order.
show_saga() {
    evt-saga status "$lab/checkout.saga.yaml" "$1" --format json |
        jq -r '.[] | "  \(.version). \(.type)" + (if .data.step then " \(.data.step)" else "" end)
               + (if .data.reason then " (\(.data.reason): \(.data.reply // "timeout"))" else "" end)
               + (if .data.status then " (\(.data.status))" else "" end)'
}

show_status() {
    evt-saga status "$lab/checkout.saga.yaml" --format json | jq -r '.[] | "  \(.id): \(.status)"'
}
