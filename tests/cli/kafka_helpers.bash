# A Kafka cluster for the Kafka CLI tests: librdkafka's mock cluster
# (tests/tools/kafka_mock.cpp) on 127.0.0.1, started per test and stopped in
# teardown, also when the test failed. With EVT_TEST_KAFKA=host:port the same
# tests run against that broker instead (topics are then made with evt-topic).
#
#   kafka_start [--brokers N]   start it; sets BS (host:port,...) and KLOG (kafka://BS)
#   ktopic NAME PARTITIONS      create a topic
#   kmock CMD...                a command for the mock (errors, down, up): waits for its "ok"
#   kafka_stop                  stop it

kafka_start() {
  if [ -n "${EVT_TEST_KAFKA:-}" ]; then
    BS=$EVT_TEST_KAFKA
    KLOG="kafka://$BS"
    KREAL=1
    return 0
  fi
  KREAL=
  mkfifo "$BATS_TEST_TMPDIR/kmock.in"
  "$EVT_BIN/kafka_mock" "$@" < "$BATS_TEST_TMPDIR/kmock.in" > "$BATS_TEST_TMPDIR/kmock.out" \
    2> "$BATS_TEST_TMPDIR/kmock.err" 3>&- &
  KMOCK_PID=$!
  exec {KMOCK_FD}> "$BATS_TEST_TMPDIR/kmock.in"
  local i
  for i in $(seq 100); do
    [ -s "$BATS_TEST_TMPDIR/kmock.out" ] && break
    sleep 0.05
  done
  BS=$(head -1 "$BATS_TEST_TMPDIR/kmock.out")
  [ -n "$BS" ] || { cat "$BATS_TEST_TMPDIR/kmock.err" >&2; return 1; }
  KLOG="kafka://$BS"
  KMOCK_ACKS=0
}

kmock() {
  [ -z "$KREAL" ] || skip "needs librdkafka's mock cluster"
  echo "$*" >&"$KMOCK_FD"
  KMOCK_ACKS=$((KMOCK_ACKS + 1))
  local i
  for i in $(seq 200); do
    [ "$(tail -n +2 "$BATS_TEST_TMPDIR/kmock.out" | wc -l)" -ge "$KMOCK_ACKS" ] && break
    sleep 0.025
  done
  [ "$(tail -n 1 "$BATS_TEST_TMPDIR/kmock.out")" = ok ] || { echo "kafka_mock: $* failed" >&2; return 1; }
}

ktopic() {
  if [ -n "$KREAL" ]; then
    "$EVT_BIN/evt-topic" -L "$KLOG" create "$1" --partitions "$2"
  else
    kmock topic "$1" "$2"
  fi
}

kafka_stop() {
  if [ -n "${KMOCK_PID:-}" ]; then
    kill "$KMOCK_PID" 2>/dev/null || true
    wait "$KMOCK_PID" 2>/dev/null || true
    KMOCK_PID=
  fi
  if [ -n "${KMOCK_FD:-}" ]; then
    exec {KMOCK_FD}>&-
    KMOCK_FD=
  fi
}
