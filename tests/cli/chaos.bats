#!/usr/bin/env bats
# evt-chaos (issue 5, Done when 1; SPEC.md section 7; man/evt-chaos.1): the same
# --seed gives the same bytes, different seeds differ, every probability 0 is
# the identity, and the --report matches what was done: the output is rebuilt
# from the input and the report alone with the semantics of the man page (a
# line held back by k comes out after input line i+k; a copy --dup-delay K
# lines after its original; ties in input order) and must be equal byte for
# byte. Also --delay/--jitter timing (generous bounds) and the exit codes.
#
# The tests named "regression:" pin defects found while writing these tests
# (fixed in 6f59592): -1, too large seeds and NaN probabilities accepted, a
# large --dup-delay overflowing, output held back while the input pauses.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  # replay.py INPUT REPORT: the output that INPUT must give under REPORT, by the
  # man page's rules; checks the summary's counts against the action lines.
  export REBUILD="$BATS_FILE_TMPDIR/rebuild.py"
  cat > "$REBUILD" <<'EOF'
import json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
if lines and lines[-1] == b"":
    lines.pop()
drop, hold, dup, summary = set(), {}, {}, None
for raw in open(sys.argv[2]):
    a = json.loads(raw)
    if "summary" in a:
        summary = a["summary"]
        continue
    i = a["line"]
    assert 1 <= i <= len(lines), a
    if a["action"] == "drop":
        assert set(a) == {"action", "line"}, a
        drop.add(i)
    elif a["action"] == "reorder":
        assert set(a) == {"action", "line", "by"} and a["by"] >= 1, a
        hold[i] = a["by"]
    elif a["action"] == "dup":
        assert set(a) == {"action", "line", "after"}, a
        dup[i] = a["after"]
    else:
        raise SystemExit("unknown action %r" % a)
assert summary is not None, "no summary line"
assert not (drop & set(hold)) and not (drop & set(dup)), "a dropped line was also reordered or duplicated"
want = {"in": len(lines), "dropped": len(drop), "duplicated": len(dup), "reordered": len(hold),
        "out": len(lines) - len(drop) + len(dup)}
for k, v in want.items():
    assert summary[k] == v, "summary %s = %s, the report says %s" % (k, summary[k], v)
# slots: line i on time is 2i; "after input line j" is 2j+1; ties in scheduling order
out, seq = [], 0
for i in range(1, len(lines) + 1):
    if i in drop:
        continue
    rel = 2 * (i + hold[i]) + 1 if i in hold else 2 * i
    out.append((rel, seq, i)); seq += 1
    if i in dup:
        k = dup[i]
        out.append((rel if k == 0 else 2 * (rel // 2 + k) + 1, seq, i)); seq += 1
out.sort()
sys.stdout.buffer.write(b"".join(lines[i - 1] + b"\n" for _, _, i in out))
EOF
  # props.py OUTPUT REPORT N: the properties of issue 5 checked one by one on
  # lines "L<i>" (i = 1..N), independently of rebuild.py's ordering rules.
  export PROPS="$BATS_FILE_TMPDIR/props.py"
  cat > "$PROPS" <<'EOF'
import collections, json, sys
out = open(sys.argv[1]).read().split()
n = int(sys.argv[3])
acts = [json.loads(l) for l in open(sys.argv[2])]
summary = acts.pop()["summary"]
drop = {a["line"] for a in acts if a["action"] == "drop"}
dup = {a["line"] for a in acts if a["action"] == "dup"}
hold = {a["line"]: a["by"] for a in acts if a["action"] == "reorder"}
count = collections.Counter(int(x[1:]) for x in out)
assert len(out) == n - len(drop) + len(dup) == summary["out"], (len(out), summary)
for i in range(1, n + 1):
    want = 0 if i in drop else 2 if i in dup else 1
    assert count[i] == want, "line %d appears %d times, want %d" % (i, count[i], want)
first = {}
for pos, x in enumerate(out):
    first.setdefault(int(x[1:]), pos)
checked = 0
for i, k in hold.items():
    j = i + k
    on_time = lambda m: m <= n and m not in drop and m not in hold
    if on_time(j):  # comes out after line i+k
        assert first[i] > first[j], "line %d held by %d is before line %d" % (i, k, j)
        checked += 1
    if on_time(j + 1) and i not in dup:  # ... and before line i+k+1
        assert first[i] < first[j + 1], "line %d held by %d is after line %d" % (i, k, j + 1)
print(checked)
EOF
}

setup() {
  evt_setup
  CHAOS="$EVT_BIN/evt-chaos"
}

# N lines "L1".."LN".
numbered() { seq 1 "$1" | sed 's/^/L/'; }

@test "every probability 0 is the identity, byte for byte, on 10000 events" {
  python3 "$GEN" -n 10000 -s 1 -o in 2>/dev/null
  "$CHAOS" < in > out
  cmp in out
  "$CHAOS" --dup 0 --reorder 0 --window 5 --drop 0 --dup-delay 3 --seed 9 in > out
  cmp in out
  run --separate-stderr "$CHAOS" --seed 3 --report in
  [ "$status" -eq 0 ]
  assert_eq "$stderr" '{"summary":{"in":10000,"out":10000,"dropped":0,"duplicated":0,"reordered":0,"seed":3}}'
  # lines are opaque: empty lines, CRs, no JSON at all
  printf 'a\r\n\n  b c\n{"x":\n' > odd
  "$CHAOS" odd | cmp odd -
  # a last line without a newline gets one
  assert_eq "$(printf 'a\nb' | "$CHAOS" | od -An -c | tr -d ' ')" 'a\nb\n'
}

@test "Done when 1: --dup 0.1 --reorder 0.2 --window 5 --seed 7 gives the same bytes twice" {
  python3 "$GEN" -n 10000 -s 2 -o in 2>/dev/null
  "$CHAOS" --dup 0.1 --reorder 0.2 --window 5 --seed 7 --report-file r1 < in > o1
  "$CHAOS" --dup 0.1 --reorder 0.2 --window 5 --seed 7 --report-file r2 < in > o2
  cmp o1 o2
  cmp r1 r2
  ! cmp -s in o1
  # reading from a file, or through a slow pipe, changes nothing
  "$CHAOS" --dup 0.1 --reorder 0.2 --window 5 --seed 7 in > o3
  cmp o1 o3
  python3 -c 'import sys, time
for l in open(sys.argv[1], "rb"):
    sys.stdout.buffer.write(l)
    if l[-3:-2] == b"0": sys.stdout.flush(); time.sleep(0.0002)' in | "$CHAOS" --dup 0.1 --reorder 0.2 --window 5 --seed 7 > o4
  cmp o1 o4
}

@test "different seeds give different outputs; the default seed is 0" {
  numbered 2000 > in
  "$CHAOS" --dup 0.1 --reorder 0.2 --window 5 --seed 7 in > a
  "$CHAOS" --dup 0.1 --reorder 0.2 --window 5 --seed 8 in > b
  ! cmp -s a b
  "$CHAOS" --dup 0.1 --reorder 0.2 --window 5 in > c
  "$CHAOS" --dup 0.1 --reorder 0.2 --window 5 --seed 0 in > d
  cmp c d
  ! cmp -s a c
}

@test "the report matches the output: rebuilt from input + report, byte for byte (several settings)" {
  numbered 5000 > in
  local args
  for args in "--dup 0.1 --reorder 0.2 --window 5 --seed 7" \
              "--dup 0.3 --dup-delay 4 --seed 1" \
              "--reorder 0.5 --window 3 --seed 2" \
              "--reorder 1 --window 7 --seed 3" \
              "--drop 0.2 --seed 4" \
              "--dup 0.2 --dup-delay 2 --reorder 0.3 --window 4 --drop 0.1 --seed 5" \
              "--dup 1 --reorder 1 --window 1 --seed 6"; do
    "$CHAOS" $args --report-file report < in > out
    python3 "$REBUILD" in report > want || { echo "$args: inconsistent report" >&2; return 1; }
    cmp want out || { echo "$args: the output is not what the report says" >&2; return 1; }
  done
  # and on real events
  python3 "$GEN" -n 5000 -s 4 -o ev 2>/dev/null
  "$CHAOS" --dup 0.1 --reorder 0.2 --window 5 --seed 7 --report-file report ev > out
  python3 "$REBUILD" ev report | cmp - out
}

@test "report properties: out = in - dropped + duplicated; dups twice, drops missing; held lines after line i+by" {
  numbered 5000 > in
  run --separate-stderr "$CHAOS" --dup 0.1 --reorder 0.2 --window 5 --drop 0.05 --seed 7 --report in
  [ "$status" -eq 0 ]
  printf '%s\n' "$output" > out
  printf '%s\n' "$stderr" > report
  # every report line is one of the documented shapes, the summary last
  ! grep -Ev '^\{"action":"(drop","line":[0-9]+|dup","line":[0-9]+,"after":[0-9]+|reorder","line":[0-9]+,"by":[1-5])\}$' <(head -n -1 report)
  tail -n 1 report | grep -Eq '^\{"summary":\{"in":5000,"out":[0-9]+,"dropped":[0-9]+,"duplicated":[0-9]+,"reordered":[0-9]+,"seed":7\}\}$'
  [ "$(grep -c '"drop"' report)" -gt 100 ]
  [ "$(grep -c '"dup"' report)" -gt 300 ]
  [ "$(grep -c '"reorder"' report)" -gt 700 ]
  checked=$(python3 "$PROPS" out report 5000)
  [ "$checked" -gt 400 ]
}

@test "a held-back line comes out right after line i+k; --dup-delay K puts the copy K lines later" {
  numbered 20 > in
  run --separate-stderr "$CHAOS" --reorder 0.2 --window 5 --seed 7 --report in
  # seed 7 holds line 1 back by 5 and line 6 by 2: 1 after 6, which itself is late
  assert_eq "$(head -n 2 <<<"$stderr")" "$(printf '%s\n' '{"action":"reorder","line":1,"by":5}' '{"action":"reorder","line":6,"by":2}')"
  assert_eq "$(head -n 9 <<<"$output" | tr '\n' ' ')" "L2 L3 L4 L5 L1 L7 L8 L6 L9 "
  run --separate-stderr "$CHAOS" --dup 0.3 --dup-delay 3 --seed 7 --report in
  assert_eq "$(grep -c '"after":3' <<<"$stderr")" 5
  assert_eq "$(sed -n '1p' <<<"$stderr")" '{"action":"dup","line":8,"after":3}'
  # the copy of L8 comes after L11 (8 + 3)
  assert_eq "$(sed -n '8,13p' <<<"$output" | tr '\n' ' ')" "L8 L9 L10 L11 L8 L12 "
  # --dup-delay 0: the copy right after the original
  run --separate-stderr "$CHAOS" --dup 1 in
  assert_eq "$(head -n 4 <<<"$output" | tr '\n' ' ')" "L1 L1 L2 L2 "
  # --reorder 1 --window 1: every line one late, so pairs swap... in a chain
  run --separate-stderr "$CHAOS" --reorder 1 --window 1 < <(numbered 4)
  assert_eq "$(tr '\n' ' ' <<<"$output")" "L1 L2 L3 L4 "
}

@test "one probability does not change the others' choices (four draws per line)" {
  numbered 3000 > in
  "$CHAOS" --drop 0.1 --seed 11 --report-file r1 in > /dev/null
  "$CHAOS" --drop 0.1 --dup 0.3 --reorder 0.2 --window 3 --seed 11 --report-file r2 in > /dev/null
  assert_eq "$(grep '"drop"' r2)" "$(grep '"drop"' r1)"
  "$CHAOS" --dup 0.3 --seed 11 --report-file r3 in > /dev/null
  # the same lines are duplicated, except those that --drop lost first
  jq -r 'select(.action == "drop") | .line' r1 > dropped
  assert_eq "$(jq -r 'select(.action == "dup") | .line' r2)" \
    "$(jq -r 'select(.action == "dup") | .line' r3 | grep -vxFf dropped)"
  "$CHAOS" --reorder 0.2 --window 3 --seed 11 --report-file r4 in > /dev/null
  assert_eq "$(jq -c 'select(.action == "reorder")' r2)" \
    "$(jq -c 'select(.action == "reorder")' r4 | grep -vFf <(sed 's/.*/"line":&,/' dropped))"
}

@test "--report-file writes the report there and nothing on stderr; --report uses stderr" {
  numbered 100 > in
  run --separate-stderr "$CHAOS" --dup 0.2 --seed 1 --report-file rep in
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  run --separate-stderr "$CHAOS" --dup 0.2 --seed 1 --report in
  assert_eq "$stderr" "$(cat rep)"
  # no report asked: stderr stays empty
  run --separate-stderr "$CHAOS" --dup 0.2 --seed 1 in
  [ -z "$stderr" ]
  # the report file is truncated, not appended to
  "$CHAOS" --seed 1 --report-file rep in > /dev/null
  assert_eq "$(wc -l < rep)" 1
}

@test "several FILEs are one input, '-' is stdin" {
  printf 'x\n' > f1
  printf 'y\n' > f2
  assert_eq "$(printf 'z\n' | "$CHAOS" f1 - f2 | tr '\n' ' ')" "x z y "
  run --separate-stderr "$CHAOS" --dup 1 --report f1 f2
  assert_eq "$(tr '\n' ' ' <<<"$output")" "x x y y "
  assert_eq "${stderr##*$'\n'}" '{"summary":{"in":2,"out":4,"dropped":0,"duplicated":2,"reordered":0,"seed":0}}'
}

@test "--delay waits before each line and lets each out at once (20 x 50ms in 1..6 s)" {
  numbered 20 > in
  local start end
  start=$(date +%s%N)
  "$CHAOS" --delay 50ms in > out
  end=$(date +%s%N)
  cmp in out
  local ms=$(( (end - start) / 1000000 ))
  [ "$ms" -ge 1000 ] || { echo "took $ms ms, want >= 1000" >&2; return 1; }
  [ "$ms" -lt 6000 ] || { echo "took $ms ms, want < 6000" >&2; return 1; }
  # paced: the first line arrives long before the last
  "$CHAOS" --delay 200ms < <(numbered 5) | while read -r l; do date +%s%N; done > times
  local first last
  first=$(head -n 1 times); last=$(tail -n 1 times)
  [ $(( (last - first) / 1000000 )) -ge 700 ] || { echo "lines came in a burst: $(tr '\n' ' ' < times)" >&2; return 1; }
}

@test "--jitter varies the delay within +-DUR; the output stays the same" {
  numbered 20 > in
  local start ms
  start=$(date +%s%N)
  "$CHAOS" --delay 50ms --jitter 50ms --dup 0.2 --seed 3 in > out
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  # 20..24 lines of 0..100ms each
  [ "$ms" -lt 8000 ] || { echo "took $ms ms" >&2; return 1; }
  "$CHAOS" --dup 0.2 --seed 3 in | cmp - out
  # jitter alone: sleeps of 0..30ms (the negative half is no sleep)
  start=$(date +%s%N)
  "$CHAOS" --jitter 30ms in > out
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  cmp in out
  [ "$ms" -lt 5000 ] || { echo "took $ms ms" >&2; return 1; }
}

@test "usage errors exit 64 with 'evt-chaos: error:' and a pointer to --help" {
  local args
  for args in "--dup 2" "--dup -0.1" "--reorder 1.5" "--drop x" "--window 0" "--window 1048577" \
              "--delay soon" "--jitter 5q" "--seed abc" "--dup-delay x" "--report-file" "--no-such-flag"; do
    run --separate-stderr bash -c "\"\$1\" $args < /dev/null" _ "$CHAOS"
    [ "$status" -eq 64 ] || { echo "$args: exit $status ($stderr)" >&2; return 1; }
    [[ "$stderr" == "evt-chaos: error: "* ]] || { echo "$args: $stderr" >&2; return 1; }
    [[ "$stderr" == *"Try 'evt-chaos --help'"* ]] || { echo "$args: $stderr" >&2; return 1; }
    [ -z "$output" ]
  done
  run --separate-stderr "$CHAOS" --dup 2
  assert_eq "${stderr%%$'\n'*}" "evt-chaos: error: --dup: '2' is not a probability between 0 and 1"
}

@test "regression: --seed refuses -1 and values over 2^64-1; probabilities refuse nan (exit 64)" {
  local args
  for args in "--seed -1" "--seed 18446744073709551616" "--dup-delay -1" "--dup nan" "--reorder nan" "--drop nan"; do
    run --separate-stderr bash -c "\"\$1\" $args < /dev/null" _ "$CHAOS"
    [ "$status" -eq 64 ] || { echo "$args: exit $status" >&2; return 1; }
  done
}

@test "regression: a copy due after the end of the input comes at the end, however large --dup-delay is" {
  assert_eq "$(seq 5 | "$CHAOS" --dup 1 --dup-delay 1000 | tr '\n' ' ')" "1 2 3 4 5 1 2 3 4 5 "
  # 2 * (line + K) + 1 overflows 64 bits: the copies come right after their originals
  assert_eq "$(seq 5 | "$CHAOS" --dup 1 --dup-delay 9223372036854775807 | tr '\n' ' ')" "1 2 3 4 5 1 2 3 4 5 "
}

@test "regression: a line is passed on before the input ends (a live pipeline is not held up)" {
  mkfifo fifo
  ( echo L1; sleep 3; echo L2 ) > fifo &
  local producer=$!
  "$CHAOS" < fifo > out &
  local chaos=$!
  local waited=0
  while [ ! -s out ] && [ "$waited" -lt 25 ]; do sleep 0.1; waited=$((waited + 1)); done
  local early; early=$(cat out)
  wait "$producer"
  wait "$chaos"
  assert_eq "$early" L1
}

@test "a missing FILE exits 66; a full stdout or an unwritable --report-file exits 74" {
  run --separate-stderr "$CHAOS" nope
  [ "$status" -eq 66 ]
  assert_eq "$stderr" "evt-chaos: error: nope: No such file or directory"
  run --separate-stderr bash -c 'seq 100000 | "$1" > /dev/full' _ "$CHAOS"
  [ "$status" -eq 74 ]
  [[ "$stderr" == "evt-chaos: error: write error"* ]]
  run --separate-stderr "$CHAOS" --report-file no/such/dir/r < <(numbered 3)
  [ "$status" -eq 74 ]
  assert_eq "$stderr" "evt-chaos: error: cannot write --report-file 'no/such/dir/r'"
  [ -z "$output" ]
}
