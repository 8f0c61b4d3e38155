# Shared setup for the log-core CLI tests (append, replay, topic, soak_*).
# Every test gets its own log under $BATS_TEST_TMPDIR; nothing touches ./.evt.

evt_setup() {
  : "${EVT_BIN:?EVT_BIN must point at the bin directory of the build}"
  : "${EVT_SRC:?EVT_SRC must point at the source tree}"
  APPEND="$EVT_BIN/evt-append"
  REPLAY="$EVT_BIN/evt-replay"
  TOPIC="$EVT_BIN/evt-topic"
  GEN="${EVT_GEN:-/work/shared/bench/gen-events.py}"
  if [ ! -f "$GEN" ] && [ -f "$EVT_SRC/bench/gen-events.py" ]; then GEN="$EVT_SRC/bench/gen-events.py"; fi
  export EVT_LOG="$BATS_TEST_TMPDIR/log"
  T="$BATS_TEST_TMPDIR"
  unset NO_COLOR
}

# Number of events in a topic (all partitions).
count_events() {
  "$REPLAY" -t "$1" --no-position "${@:2}" | wc -l
}

# Strip the position attributes a replay adds.
strip_positions() {
  jq -c 'del(.evttopic, .evtpartition, .evtoffset, .evttime, .evtversion)'
}

# Kafka's Java-client default partitioner, written independently of evt:
# (murmur2(utf8(key)) & 0x7fffffff) % n, seed 0x9747b28c.
kafka_partition() {
  python3 - "$1" "$2" <<'EOF'
import sys
def murmur2(data):
    m, r = 0x5bd1e995, 24
    length = len(data)
    h = (0x9747b28c ^ length) & 0xffffffff
    i = 0
    while length - i >= 4:
        k = data[i] | data[i+1] << 8 | data[i+2] << 16 | data[i+3] << 24
        k = (k * m) & 0xffffffff
        k ^= k >> r
        k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff
        h ^= k
        i += 4
    rest = length - i
    if rest == 3: h ^= data[i+2] << 16
    if rest >= 2: h ^= data[i+1] << 8
    if rest >= 1:
        h ^= data[i]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return h
print((murmur2(sys.argv[1].encode()) & 0x7fffffff) % int(sys.argv[2]))
EOF
}

# Writes N lines of an event of exactly the given type, one per line, ids ev-1..ev-N.
events() {
  local n=$1 type=${2:-Tested}
  local i
  for ((i = 1; i <= n; i++)); do
    printf '{"specversion":"1.0","id":"ev-%d","source":"/test","type":"%s","data":{"i":%d}}\n' "$i" "$type" "$i"
  done
}

# Fails the test with a message when $1 != $2 (shows both).
assert_eq() {
  if [ "$1" != "$2" ]; then
    printf 'expected: %s\n     got: %s\n' "$2" "$1" >&2
    return 1
  fi
}
