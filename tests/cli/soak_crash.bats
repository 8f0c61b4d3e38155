#!/usr/bin/env bats
# Crash safety (issue 2, Done when 5): evt-append is killed with SIGKILL at
# random points while it appends ~200k events to a 3-partition topic. After
# every kill the log reads back cleanly, evt-check verifies it (CRC, offsets),
# offsets are dense, and each partition holds an exact prefix of what that
# partition gets in a complete reference run. Rerunning the same input with
# --idempotent then completes it with every event stored exactly once.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  export INPUT="$BATS_FILE_TMPDIR/input.ndjson"
  export REF="$BATS_FILE_TMPDIR/ref"
  python3 "${EVT_GEN:-/work/shared/bench/gen-events.py}" -n 200000 -s 11 -o "$INPUT" 2>/dev/null
  local start=$(date +%s%N)
  "$EVT_BIN/evt-append" -L "$REF/log" --idempotent -t t -P 3 < "$INPUT"
  export REF_MS=$(( ($(date +%s%N) - start) / 1000000 ))
  for p in 0 1 2; do
    "$EVT_BIN/evt-replay" -L "$REF/log" -t t -p $p --no-position > "$REF/p$p"
  done
  jq -r .id "$INPUT" | sort > "$REF/ids"
  # a producer that writes CHUNK lines, then pauses MS ms (so evt-append commits often)
  export FEED="$BATS_FILE_TMPDIR/feed.py"
  cat > "$FEED" <<'EOF'
import sys, time
chunk, pause = int(sys.argv[2]), float(sys.argv[3]) / 1000
out = sys.stdout.buffer
try:
    with open(sys.argv[1], "rb") as f:
        lines = f.readlines()
    for i in range(0, len(lines), chunk):
        out.write(b"".join(lines[i:i + chunk]))
        out.flush()
        time.sleep(pause)
except BrokenPipeError:
    pass
EOF
}

setup() { evt_setup; }

# verify_prefix LOG: every partition is a prefix of the reference, offsets dense.
# Prints the number of events per partition ("n0 n1 n2").
verify_prefix() {
  local log=$1 p n counts=""
  # killed before its first commit: no topic yet (or no log at all) is the empty prefix
  if ! "$TOPIC" -L "$log" list 2>/dev/null | grep -qx t; then
    if [ -e "$log" ] && { [ -e "$EVT_SRC/tools/evt-check.cpp" ] || [ -x "$EVT_BIN/evt-check" ]; }; then
      "$EVT_BIN/evt-check" -L "$log" >"$T/check.out" 2>&1 || { echo "evt-check failed on $log (no topic):" >&2; cat "$T/check.out" >&2; return 1; }
    fi
    echo "0 0 0"
    return 0
  fi
  for p in 0 1 2; do
    "$REPLAY" -L "$log" -t t -p $p --no-position > "$T/got" || { echo "replay of partition $p failed" >&2; return 1; }
    n=$(wc -l < "$T/got")
    head -n "$n" "$REF/p$p" | cmp -s - "$T/got" || { echo "partition $p ($n events) is not a prefix of the reference" >&2; return 1; }
    "$REPLAY" -L "$log" -t t -p $p --format '%o\n' > "$T/offs"
    if [ "$n" -gt 0 ]; then
      seq 0 $((n - 1)) | cmp -s - "$T/offs" || { echo "partition $p: offsets are not 0..$((n - 1))" >&2; return 1; }
    else
      [ ! -s "$T/offs" ] || { echo "partition $p: offsets listed for an empty partition" >&2; return 1; }
    fi
    counts="$counts$n "
  done
  # the integrity checker (CRCs, dense offsets, append times, stream links), once it exists
  if [ -e "$EVT_SRC/tools/evt-check.cpp" ] || [ -x "$EVT_BIN/evt-check" ]; then
    "$EVT_BIN/evt-check" -L "$log" >"$T/check.out" 2>&1 || { echo "evt-check failed on $log:" >&2; cat "$T/check.out" >&2; return 1; }
  fi
  echo "${counts% }"
}

# verify_complete LOG: every partition equals the reference; every id once.
verify_complete() {
  local log=$1 p
  for p in 0 1 2; do
    "$REPLAY" -L "$log" -t t -p $p --no-position | cmp -s - "$REF/p$p" || { echo "partition $p differs from the reference after completion" >&2; return 1; }
  done
  "$REPLAY" -L "$log" -t t --no-position | jq -r .id | sort > "$T/ids"
  cmp -s "$T/ids" "$REF/ids" || { echo "ids differ: $(wc -l < "$T/ids") stored, $(sort -u "$T/ids" | wc -l) unique" >&2; return 1; }
}

# kill_at MS LOG [paced]: starts the append (from the file, or through a pipe from
# a producer that writes 2000 lines every 15 ms, about 1.5 s for the input), SIGKILLs evt-append after MS ms
# and prints its exit status.
kill_at() {
  if [ "${3:-}" = paced ]; then
    python3 "$FEED" "$INPUT" 2000 15 2>/dev/null | "$APPEND" -L "$2" --idempotent -t t -P 3 2>/dev/null &
  else
    "$APPEND" -L "$2" --idempotent -t t -P 3 < "$INPUT" 2>/dev/null &
  fi
  local pid=$! st=0  # $! of a pipeline is its last command: evt-append
  sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"
  kill -9 $pid 2>/dev/null || true
  wait $pid || st=$?
  echo $st
}

total_of() { echo $(( $(echo "$1" | tr ' ' '+') )); }

@test "the reference run is complete: 200000 events, all ids once" {
  assert_eq "$(wc -l < "$INPUT")" 200000
  assert_eq "$(cat "$REF"/p0 "$REF"/p1 "$REF"/p2 | wc -l)" 200000
  assert_eq "$(sort -u "$REF/ids" | wc -l)" 200000
  echo "# reference append of 200000 events from a file: ${REF_MS} ms" >&3
}

@test "SIGKILL at random points (file input): each partition is an exact prefix, offsets dense; --idempotent rerun completes exactly once" {
  # kill somewhere in 10 ms .. the reference run's duration (at most 1.5 s)
  local max=$REF_MS
  [ "$max" -gt 1500 ] && max=1500
  [ "$max" -lt 100 ] && max=100
  RANDOM=$$
  kills=0 iter=0 completions=0 summary=""
  while [ "$kills" -lt 20 ] && [ "$iter" -lt 40 ]; do
    iter=$((iter + 1))
    log="$T/log-$iter"
    delay=$((10 + RANDOM % (max - 9)))
    st=$(kill_at "$delay" "$log")
    counts=$(verify_prefix "$log")
    total=$(total_of "$counts")
    if [ "$st" -eq 137 ]; then
      kills=$((kills + 1))
    else
      assert_eq "$st" 0
      assert_eq "$total" 200000
    fi
    summary="$summary ${delay}ms:$total"
    # every 4th crash: restart with the same input and --idempotent; it completes, nothing twice
    if [ $((iter % 4)) -eq 0 ]; then
      run --separate-stderr "$APPEND" -L "$log" --idempotent -t t -P 3 < "$INPUT"
      [ "$status" -eq 0 ] || { echo "rerun after kill at ${delay} ms exited $status: $stderr" >&2; return 1; }
      if [ "$total" -gt 0 ]; then
        [[ "$stderr" == "evt-append: warning: skipped $total duplicate event"* ]] || { echo "rerun said: '$stderr' (want $total skipped)" >&2; return 1; }
      fi
      verify_complete "$log"
      completions=$((completions + 1))
    fi
    rm -rf "$log"
  done
  echo "# file input: $iter runs, $kills SIGKILLs while running, $completions completed by a rerun; delay:stored =$summary" >&3
  [ "$kills" -ge 20 ]
}

@test "SIGKILL at random points (paced pipe input, many commits): prefixes on a fresh log each time" {
  RANDOM=$(( $$ + 7 ))
  kills=0 midway=0 iter=0 summary=""
  while [ "$kills" -lt 12 ] && [ "$iter" -lt 30 ]; do
    iter=$((iter + 1))
    log="$T/log-$iter"
    delay=$((300 + RANDOM % 1300))
    st=$(kill_at "$delay" "$log" paced)
    counts=$(verify_prefix "$log")
    total=$(total_of "$counts")
    [ "$st" -eq 137 ] && kills=$((kills + 1))
    if [ "$total" -gt 0 ] && [ "$total" -lt 200000 ]; then midway=$((midway + 1)); fi
    summary="$summary ${delay}ms:$total"
    rm -rf "$log"
  done
  echo "# paced input: $iter runs, $kills SIGKILLs, $midway left a partial log; delay:stored =$summary" >&3
  [ "$kills" -ge 12 ]
  [ "$midway" -ge 6 ]
}

@test "crash, restart, crash again on one log (paced input): the prefix only grows; a last rerun completes it exactly once" {
  RANDOM=$(( $$ + 1 ))
  log="$T/log"
  prev=0 kills=0 partial=0 trail=""
  # kills before the producer could have fed everything, so no run completes on its own
  for iter in $(seq 1 10); do
    delay=$((150 + RANDOM % 1000))
    st=$(kill_at "$delay" "$log" paced)
    [ "$st" -eq 137 ] && kills=$((kills + 1))
    counts=$(verify_prefix "$log")
    total=$(total_of "$counts")
    [ "$total" -ge "$prev" ] || { echo "the log shrank from $prev to $total events" >&2; return 1; }
    # no event twice, even across restarts
    assert_eq "$("$REPLAY" -L "$log" -t t --no-position | jq -r .id | sort -u | wc -l)" "$total"
    prev=$total
    trail="$trail $total"
    if [ "$total" -gt 0 ] && [ "$total" -lt 200000 ]; then partial=$((partial + 1)); fi
  done
  echo "# chained crashes on one log ($kills kills): stored after each =$trail" >&3
  [ "$kills" -ge 8 ]
  [ "$partial" -ge 3 ]
  run --separate-stderr "$APPEND" -L "$log" --idempotent -t t -P 3 < "$INPUT"
  [ "$status" -eq 0 ]
  verify_complete "$log"
}

@test "SIGKILL during --atomic: all or nothing, never a part" {
  # how long one --atomic run takes here; kills land in 10 ms .. 90% of that
  local start=$(date +%s%N)
  "$APPEND" -L "$T/timing" --atomic -t t -P 3 < "$INPUT"
  local max=$(( ($(date +%s%N) - start) / 1000000 * 9 / 10 ))
  rm -rf "$T/timing"
  [ "$max" -gt 2000 ] && max=2000
  [ "$max" -lt 100 ] && max=100
  RANDOM=$(( $$ + 3 ))
  kills=0 trail=""
  for iter in $(seq 1 6); do
    log="$T/log-$iter"
    "$APPEND" -L "$log" --atomic -t t -P 3 < "$INPUT" 2>/dev/null &
    pid=$! st=0
    delay=$((10 + RANDOM % (max - 9)))
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill -9 $pid 2>/dev/null || true
    wait $pid || st=$?
    [ "$st" -eq 137 ] && kills=$((kills + 1))
    n=$("$REPLAY" -L "$log" -t t --no-position 2>/dev/null | wc -l)
    [ "$n" -eq 0 ] || [ "$n" -eq 200000 ] || { echo "kill at ${delay} ms left $n of 200000 events after --atomic" >&2; return 1; }
    [ "$n" -eq 0 ] || verify_complete "$log"
    trail="$trail ${delay}ms:$n"
    rm -rf "$log"
  done
  echo "# --atomic kills ($kills while running): delay:stored =$trail" >&3
  [ "$kills" -ge 3 ]
}
