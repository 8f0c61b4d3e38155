# Shared by the labs' run.sh (sourced after setting `here` to the lab's
# directory, and `needs` to the commands the lab runs, evt tools first;
# default: evt-consume jq): finds the evt tools ($EVT_BIN, else the build
# directory, else $PATH), checks every command in `needs`, makes a private log
# in a temporary directory and removes it at the end, stopping the background
# processes listed in `pids`.
root=$(cd "$here/../.." && pwd)
[ -n "${needs+x}" ] || needs=(evt-consume jq)
for bin in "${EVT_BIN:-}" "$root/build/bin"; do
  if [ -n "$bin" ] && [ -x "$bin/${needs[0]}" ]; then
    PATH="$bin:$PATH"
    break
  fi
done
for t in "${needs[@]}"; do
  command -v "$t" > /dev/null || { echo "run.sh: error: $t not found (build evt, or set EVT_BIN)" >&2; exit 69; }
done

work=$(mktemp -d)
export EVT_LOG="$work/log"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

say() { printf '%s\n' "$*"; }
cmd() { printf '$ %s\n' "$*"; }

# wait_for CONDITION...: polls (10 s at most).
wait_for() {
  local i
  for i in $(seq 1 200); do
    if "$@"; then return 0; fi
    sleep 0.05
  done
  echo "run.sh: timed out waiting for: $*" >&2
  return 1
}
