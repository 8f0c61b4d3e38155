#!/usr/bin/env bash
# pg_start.sh DIR: start a throwaway PostgreSQL server for tests and benches.
#
# initdb in DIR/data, listening on 127.0.0.1 only, on a free port, with a Unix
# socket in DIR (nothing in /var/run). Run as root (CI), the server runs as the
# `postgres` user (runuser), which owns DIR. Prints the connection URL
# (postgresql://postgres@127.0.0.1:PORT/postgres) on stdout and writes it to
# DIR/url. Stop it with tests/tools/pg_stop.sh DIR (also after a failed test).
# The server is tuned for throwaway data (fsync stays on: the relay's
# durability is what the tests are about).
set -euo pipefail
dir=${1:?usage: pg_start.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

bindir=""
for d in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then bindir=$d; break; fi
done
[ -n "$bindir" ] || { echo "pg_start.sh: no PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 69; }

as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "pg_start.sh: running as root but there is no 'postgres' user" >&2; exit 69; }
    chown postgres: "$dir"
    as_pg=(runuser -u postgres --)
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

if [ -f "$dir/data/PG_VERSION" ] && [ -f "$dir/url" ]; then
    url=$(cat "$dir/url")
    port=${url##*:}
    port=${port%%/*}
    if "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        echo "$url"  # already running
        exit 0
    fi
    "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=50 -c shared_buffers=128MB" \
        start >/dev/null 2>&1 || { tail -20 "$dir/server.log" >&2; exit 69; }
    echo "$url"
    exit 0
fi
"${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 69; }
for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=50 -c shared_buffers=128MB" \
        start >/dev/null 2>&1; then
        url="postgresql://postgres@127.0.0.1:$port/postgres"
        echo "$url" > "$dir/url"
        echo "$bindir" > "$dir/bindir"
        echo "$url"
        exit 0
    fi
    sleep 0.2
done
echo "pg_start.sh: the server did not start; see $dir/server.log:" >&2
tail -20 "$dir/server.log" >&2 || true
exit 69
