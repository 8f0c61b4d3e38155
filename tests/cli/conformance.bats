#!/usr/bin/env bats
# Conformance: every built evt program keeps the contract of SPEC.md section 2
# and STYLE.md practice 8 (--help, --version, unknown flag exits 64, a write to
# /dev/full exits 74, a man page whose SYNOPSIS is the usage). The programs are
# found by globbing $EVT_BIN, so a tool added later is walked without touching
# this file. Each test walks all of them and reports every tool that fails,
# not only the first.

bats_require_minimum_version 1.5.0

# The exit codes of SPEC.md section 2: every man page's EXIT STATUS lists them.
EXIT_CODES=(0 1 2 64 65 66 69 70 74 75)
# The sections every man page has, in the order of man-pages(7).
SECTIONS=(NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES "SEE ALSO")

setup() {
  : "${EVT_BIN:?EVT_BIN must point at the bin directory of the build}"
  : "${EVT_SRC:?EVT_SRC must point at the source tree}"
  export EVT_LOG="$BATS_TEST_TMPDIR/log"
  export MANWIDTH=80 MANPAGER=cat PAGER=cat
  unset NO_COLOR
  cd "$BATS_TEST_TMPDIR"
  exec </dev/null  # a tool that wrongly reads stdin gets EOF instead of hanging on a terminal
  TOOLS=()
  local f
  for f in "$EVT_BIN/evt" "$EVT_BIN"/evt-*; do
    if [ -f "$f" ] && [ -x "$f" ]; then TOOLS+=("$f"); fi
  done
  VERSION=$(sed -n 's/^project(evt VERSION \([0-9][0-9.]*\).*/\1/p' "$EVT_SRC/CMakeLists.txt")
  FAILURES=()
}

# Records a failure of one tool; the test goes on with the others.
failed() { FAILURES+=("$1: $2"); }

# Ends the test: fails it, listing every failure, if there was one.
no_failures() {
  if [ "${#FAILURES[@]}" -ne 0 ]; then
    printf '%s\n' "${FAILURES[@]}" >&2
    return 1
  fi
}

# The usage lines of a --help text, without "Usage: " and the indentation of
# continuation lines.
usage_lines() {
  awk '/^Usage: / { sub(/^Usage: /, ""); print; in_usage = 1; next }
       in_usage && /^       [^ ]/ { sub(/^       /, ""); print; next }
       { in_usage = 0 }' <<<"$1"
}

# The text lines of a section of a roff page, roff requests (lines starting
# with '.') left out.
roff_section() {
  awk -v want="$2" '
    /^\.SH/ { name = $0; sub(/^\.SH[ \t]+/, "", name); gsub(/"/, "", name); in_section = (name == want); next }
    in_section && !/^\./ { print }' "$1"
}

# A rendered section of a man page (the lines between its heading and the next).
rendered_section() {
  awk -v want="$2" '/^[A-Z]/ { in_section = ($0 == want); next } in_section { print }' <<<"$1"
}

@test "the walk covers evt and every evt-* tool that evt --list names" {
  [ -x "$EVT_BIN/evt" ]
  [ -n "$VERSION" ]
  local names=() t
  for t in "${TOOLS[@]}"; do
    [ "$t" = "$EVT_BIN/evt" ] || names+=("$(basename "$t")")
  done
  # the tools of SPEC.md section 1 that exist from the first release
  for t in evt-append evt-replay evt-topic; do
    [[ " ${names[*]} " == *" $t "* ]] || failed "$t" "not found in $EVT_BIN"
  done
  run --separate-stderr "$EVT_BIN/evt" --list
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf '%s\n' "${names[@]#evt-}" | sort)" ] ||
    failed evt "--list printed '$output', the glob found '${names[*]}'"
  no_failures
}

@test "--help exits 0, prints Usage: NAME on stdout, nothing on stderr, and leaves no log" {
  local t name
  for t in "${TOOLS[@]}"; do
    name=$(basename "$t")
    run --separate-stderr "$t" --help
    [ "$status" -eq 0 ] || failed "$name" "--help exited $status"
    [ -z "$stderr" ] || failed "$name" "--help wrote to stderr: $stderr"
    grep -q "^Usage: $name " <<<"$output" || failed "$name" "--help has no 'Usage: $name ...' line"
    if [ -e "$EVT_LOG" ] || [ -e .evt ]; then
      failed "$name" "--help created a log"
      rm -rf "$EVT_LOG" .evt
    fi
  done
  no_failures
}

@test "--version exits 0 and prints NAME VERSION on stdout" {
  local t name
  for t in "${TOOLS[@]}"; do
    name=$(basename "$t")
    run --separate-stderr "$t" --version
    [ "$status" -eq 0 ] || failed "$name" "--version exited $status"
    [ "$output" = "$name $VERSION" ] || failed "$name" "--version printed '$output', not '$name $VERSION'"
    [ -z "$stderr" ] || failed "$name" "--version wrote to stderr: $stderr"
  done
  no_failures
}

@test "an unknown flag exits 64 with 'NAME: error:' and a pointer to --help on stderr" {
  local t name
  for t in "${TOOLS[@]}"; do
    name=$(basename "$t")
    run --separate-stderr "$t" --no-such-flag
    [ "$status" -eq 64 ] || failed "$name" "--no-such-flag exited $status"
    [[ "$stderr" == "$name: error: "* ]] || failed "$name" "stderr does not start with '$name: error:': $stderr"
    [[ "$stderr" == *"Try '$name --help'"* ]] || failed "$name" "stderr has no \"Try '$name --help'\": $stderr"
    [ -z "$output" ] || failed "$name" "--no-such-flag wrote to stdout: $output"
  done
  no_failures
}

@test "--help into a full disk exits 74 with a write error" {
  [ -w /dev/full ]
  local t name
  for t in "${TOOLS[@]}"; do
    name=$(basename "$t")
    run --separate-stderr bash -c '"$1" --help > /dev/full' _ "$t"
    [ "$status" -eq 74 ] || failed "$name" "--help > /dev/full exited $status"
    [[ "$stderr" == "$name: error: "*"write error"* ]] || failed "$name" "no '$name: error: ... write error': $stderr"
  done
  no_failures
}

@test "every tool has man/NAME.1, and man -l renders it without warnings" {
  local t name page
  for t in "${TOOLS[@]}"; do
    name=$(basename "$t")
    page="$EVT_SRC/man/$name.1"
    if [ ! -f "$page" ]; then
      failed "$name" "no man page $page"
      continue
    fi
    run --separate-stderr man --warnings -l "$page"
    [ "$status" -eq 0 ] || failed "$name" "man -l exited $status"
    [ -z "$stderr" ] || failed "$name" "man -l warned: $stderr"
    [[ "${lines[0]}" == "${name^^}(1) "* ]] || failed "$name" "the page is not headed ${name^^}(1): ${lines[0]}"
  done
  no_failures
}

@test "every man page has the required sections and a NAME line for its tool" {
  local t name page s
  for t in "${TOOLS[@]}"; do
    name=$(basename "$t")
    page="$EVT_SRC/man/$name.1"
    if [ ! -f "$page" ]; then
      failed "$name" "no man page $page"
      continue
    fi
    for s in "${SECTIONS[@]}"; do
      grep -Eq "^\.SH +\"?$s\"? *$" "$page" || failed "$name" "man page has no $s section"
    done
    [[ "$(roff_section "$page" NAME)" == "$name \\- "* ]] || failed "$name" "NAME does not start with '$name \\-'"
  done
  no_failures
}

@test "every man page's SYNOPSIS is exactly the usage lines of --help" {
  local t name page usage synopsis
  for t in "${TOOLS[@]}"; do
    name=$(basename "$t")
    page="$EVT_SRC/man/$name.1"
    if [ ! -f "$page" ]; then
      failed "$name" "no man page $page"
      continue
    fi
    run --separate-stderr "$t" --help
    usage=$(usage_lines "$output")
    synopsis=$(roff_section "$page" SYNOPSIS)
    [ -n "$usage" ] || failed "$name" "--help has no usage lines"
    [ "$synopsis" = "$usage" ] ||
      failed "$name" "$(printf 'SYNOPSIS and --help differ:\n--- man\n%s\n--- help\n%s' "$synopsis" "$usage")"
  done
  no_failures
}

@test "every subcommand's --help exits 0 and its usage is a SYNOPSIS line" {
  local t name page sub subs usage line synopsis
  for t in "${TOOLS[@]}"; do
    name=$(basename "$t")
    page="$EVT_SRC/man/$name.1"
    run --separate-stderr "$t" --help
    subs=$(awk '/^Subcommands:/ { on = 1; next } on && /^  [^ ]/ { print $1; next } on && /^$/ { on = 0 }' <<<"$output")
    [ -f "$page" ] || { [ -z "$subs" ] || failed "$name" "no man page $page"; continue; }
    synopsis=$(roff_section "$page" SYNOPSIS)
    for sub in $subs; do
      run --separate-stderr "$t" "$sub" --help
      [ "$status" -eq 0 ] || failed "$name" "$sub --help exited $status"
      [ -z "$stderr" ] || failed "$name" "$sub --help wrote to stderr: $stderr"
      usage=$(usage_lines "$output")
      [ -n "$usage" ] || failed "$name" "$sub --help has no usage line"
      while IFS= read -r line; do
        [ -z "$line" ] || grep -qxF -- "$line" <<<"$synopsis" ||
          failed "$name" "'$sub' usage is not in the SYNOPSIS: $line"
      done <<<"$usage"
    done
  done
  no_failures
}

@test "every man page's EXIT STATUS lists each exit code of SPEC.md" {
  local t name page text section code
  for t in "${TOOLS[@]}"; do
    name=$(basename "$t")
    page="$EVT_SRC/man/$name.1"
    if [ ! -f "$page" ]; then
      failed "$name" "no man page $page"
      continue
    fi
    text=$(man -l "$page")
    section=$(rendered_section "$text" "EXIT STATUS")
    [ -n "$section" ] || failed "$name" "no EXIT STATUS section"
    for code in "${EXIT_CODES[@]}"; do
      grep -Eq "^ +$code( |$)" <<<"$section" || failed "$name" "EXIT STATUS does not list $code"
    done
  done
  no_failures
}

@test "evt TOOL ARGS runs evt-TOOL with ARGS, and evt help TOOL shows its page" {
  local t name short
  for t in "${TOOLS[@]}"; do
    name=$(basename "$t")
    [ "$name" != evt ] || continue
    short=${name#evt-}
    run --separate-stderr "$EVT_BIN/evt" "$short" --version
    [ "$status" -eq 0 ] || failed "$name" "evt $short --version exited $status"
    [ "$output" = "$name $VERSION" ] || failed "$name" "evt $short --version printed '$output'"
    run --separate-stderr "$EVT_BIN/evt" "$short" --no-such-flag
    [ "$status" -eq 64 ] || failed "$name" "evt $short --no-such-flag exited $status"
    [[ "$stderr" == "$name: error: "* ]] || failed "$name" "evt $short --no-such-flag: $stderr"
    if [ -f "$EVT_SRC/man/$name.1" ]; then
      run --separate-stderr "$EVT_BIN/evt" help "$short"
      [ "$status" -eq 0 ] || failed "$name" "evt help $short exited $status"
      [[ "${lines[0]}" == "${name^^}(1) "* ]] || failed "$name" "evt help $short did not show ${name^^}(1)"
    fi
  done
  no_failures
}

@test "evt without a tool, or with one that does not exist, exits 64" {
  run --separate-stderr "$EVT_BIN/evt"
  [ "$status" -eq 64 ]
  [[ "$stderr" == "evt: error: "* ]]
  [[ "$stderr" == *"Try 'evt --help'"* ]]
  run --separate-stderr "$EVT_BIN/evt" no-such-tool
  [ "$status" -eq 64 ]
  [[ "$stderr" == "evt: error: "*"no-such-tool"* ]]
  [ -z "$output" ]
}

# What each tool that takes -L needs besides it to reach its log.
log_args() {
  case "$1" in
    evt-append | evt-replay) echo "-t x" ;;
    evt-consume) echo "-t x -g g" ;;
    evt-commit) echo "-g g" ;;
    evt-dedup) echo "--store s" ;;
    evt-topic) echo "list" ;;
    evt-group) echo "describe g" ;;
    evt-project) echo "$EVT_SRC/tests/fixtures/project/order_summary.yaml" ;;
    evt-query) echo "orders" ;;
    evt-saga) echo "run $EVT_SRC/examples/checkout-saga/checkout.saga.yaml" ;;
    evt-outbox) echo "--db sqlite:$BATS_TEST_TMPDIR/ob.db -t x" ;;
    evt-check) echo "" ;;
    *) echo "UNKNOWN" ;;
  esac
}

@test "-L kafka://: every tool that takes a log works through the backend or exits 69 in one line naming what is missing" {
  local f name args start
  local ev='{"type":"A","evttopic":"x","evtpartition":0,"evtoffset":0}'
  for f in "${TOOLS[@]}"; do
    name=${f##*/}
    if ! "$f" --help | grep -q -- '-L,--log'; then
      # a tool without a log never offers -L (evt-lint, evt-chaos, the dispatcher)
      case "$name" in evt | evt-lint | evt-chaos) continue ;; *) failed "$name" "offers no -L" ;; esac
      continue
    fi
    args=$(log_args "$name")
    [ "$args" != UNKNOWN ] || { failed "$name" "no arguments known for it in log_args"; continue; }
    start=$SECONDS
    # an unreachable cluster: a refusal or "no answer", never a hang, never a directory named kafka:
    run --separate-stderr timeout 30 "$f" -L kafka://127.0.0.1:1 -X evt.timeout=2s $args <<< "$ev"
    [ "$status" -eq 69 ] || failed "$name" "exit $status, not 69: $stderr"
    [ "$(wc -l <<< "$stderr")" -eq 1 ] || failed "$name" "more than one line: $stderr"
    [[ "$stderr" == "$name: error: "*kafka://127.0.0.1:1* || "$stderr" == "$name: error: "*"needs the embedded log; "* ]] ||
      failed "$name" "says neither the location nor what it needs: $stderr"
    [ $((SECONDS - start)) -le 8 ] || failed "$name" "took $((SECONDS - start)) s"
    [ ! -e kafka: ] || { rm -rf kafka:; failed "$name" "made a directory kafka:"; }
  done
  # the dispatcher passes -L through
  run --separate-stderr timeout 30 "$EVT_BIN/evt" replay -L kafka://127.0.0.1:1 -X evt.timeout=2s -t x
  [ "$status" -eq 69 ] || failed evt "evt replay -L kafka://: exit $status"
  no_failures
}
