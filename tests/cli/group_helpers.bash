# Shared setup for the consumer-group CLI tests (consume, commit, group,
# soak_groups, lab_consumer_groups). Loads helpers.bash; every test gets its
# own log under $BATS_TEST_TMPDIR and stops every member it started.

load helpers

group_setup() {
  evt_setup
  CONSUME="$EVT_BIN/evt-consume"
  COMMIT="$EVT_BIN/evt-commit"
  GROUP="$EVT_BIN/evt-group"
  MEMBERS=()
}

# kill_children PID: SIGKILL the children of PID (an --exec handler still running).
kill_children() {
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill -KILL "$c" 2>/dev/null || true; done
}

# Stops (SIGTERM, then SIGKILL) and reaps every member started with start_member,
# and the --exec handlers they were running.
group_teardown() {
  local pid
  for pid in "${MEMBERS[@]}"; do kill_children "$pid"; kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${MEMBERS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  MEMBERS=()
}

# start_member OUT ARGS...: runs evt-consume ARGS in the background, stdout to
# OUT, stderr to OUT.err; its pid is in $LAST_MEMBER and in MEMBERS.
start_member() {
  local out=$1
  shift
  "$CONSUME" "$@" > "$out" 2> "$out.err" &
  LAST_MEMBER=$!
  MEMBERS+=("$LAST_MEMBER")
}

# stop_member PID: SIGTERM (a clean leave) and wait; fails unless it exits 0.
stop_member() {
  kill -TERM "$1"
  local rc=0
  wait "$1" || rc=$?
  local keep=() pid
  for pid in "${MEMBERS[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
  MEMBERS=("${keep[@]}")
  [ "$rc" -eq 0 ] || { echo "member $1 exited $rc" >&2; return 1; }
}

# kill9_member PID: SIGKILL and reap it (an unreaped child is a zombie, alive
# for the group until the session timeout).
kill9_member() {
  local handlers
  handlers=$(ps -o pid= --ppid "$1" 2>/dev/null || true)
  kill -KILL "$1"
  # shellcheck disable=SC2086
  [ -z "$handlers" ] || kill -KILL $handlers 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local keep=() pid
  for pid in "${MEMBERS[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
  MEMBERS=("${keep[@]}")
}

# wait_until SECONDS CMD...: polls CMD every 50 ms until it succeeds; fails
# after SECONDS.
wait_until() {
  local limit=$1
  shift
  local deadline=$(( $(date +%s%N) + limit * 1000000000 ))
  until "$@"; do
    [ "$(date +%s%N)" -lt "$deadline" ] || { echo "timed out after ${limit}s waiting for: $*" >&2; return 1; }
    sleep 0.05
  done
}

# lines_at_least FILE N
lines_at_least() { [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ]; }

# keyed_events N [FIRST]: N events order-FIRST.. with subject and id o-I.
keyed_events() {
  local first=${2:-1}
  seq "$first" $((first + $1 - 1)) | awk \
    '{ printf "{\"specversion\":\"1.0\",\"id\":\"o-%d\",\"source\":\"/test\",\"type\":\"OrderPlaced\",\"subject\":\"order-%d\",\"data\":{\"i\":%d}}\n", $1, $1, $1 }'
}

# owners GROUP: "PARTITION OWNER" per partition ("null" when none).
owners() {
  "$GROUP" describe "$1" --format json | jq -r '.partitions[] | "\(.partition) \(.member)"'
}

# live_members GROUP: how many live members describe shows.
live_members() {
  "$GROUP" describe "$1" --format json | jq '.members | length'
}

# has_members GROUP N: true when GROUP has exactly N live members and every
# partition is owned (log mode).
owned_by_n() {
  local j
  j=$("$GROUP" describe "$1" --format json) || return 1
  [ "$(jq '.members | length' <<<"$j")" -eq "$2" ] &&
    [ "$(jq '[.partitions[] | select(.member == null)] | length' <<<"$j")" -eq 0 ] &&
    [ "$(jq '[.partitions[].member] | unique | length' <<<"$j")" -eq "$2" ]
}

# committed GROUP: the committed offsets, space-separated, "null" for none.
committed() {
  "$GROUP" describe "$1" --format json | jq -r '[.partitions[].committed | tostring] | join(" ")'
}

# positions FILE: "PARTITION OFFSET" per event line.
positions() { jq -r '"\(.evtpartition) \(.evtoffset)"' "$1"; }
