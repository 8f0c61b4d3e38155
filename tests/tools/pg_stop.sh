#!/usr/bin/env bash
# pg_stop.sh [--keep] DIR: stop the server tests/tools/pg_start.sh DIR started
# (fast shutdown, then immediate), and remove DIR unless --keep (then
# pg_start.sh DIR starts it again). Safe to call when it never started.
set -uo pipefail
keep=0
if [ "${1:-}" = --keep ]; then keep=1; shift; fi
dir=${1:?usage: pg_stop.sh [--keep] DIR}
[ -d "$dir" ] || exit 0
if [ -f "$dir/data/postmaster.pid" ] && [ -f "$dir/bindir" ]; then
    bindir=$(cat "$dir/bindir")
    as_pg=()
    [ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
    "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 20 stop >/dev/null 2>&1 ||
        "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
fi
[ "$keep" -eq 1 ] || rm -rf "$dir"
exit 0
