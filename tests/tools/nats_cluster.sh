#!/usr/bin/env bash
# A NATS JetStream cluster for tests and benchmarks: Debian's nats-server on
# 127.0.0.1, free ports, its files under DIR. Nodes are n1..nN.
#
#   nats_cluster.sh start DIR [N]   start N nodes (default 3), wait for a meta
#                                   leader; prints the client URL list
#                                   (nats://127.0.0.1:P1,127.0.0.1:P2,...),
#                                   also kept in DIR/url
#   nats_cluster.sh kill DIR NODE   kill -9 one node (n2, or its number)
#   nats_cluster.sh stop-node DIR NODE    stop one node (SIGTERM, waited for)
#   nats_cluster.sh restart DIR NODE      start a stopped or killed node again, and wait
#                                   until every running node is current (/healthz: its
#                                   streams caught up with their leaders)
#   nats_cluster.sh stop DIR        stop every node (also those not running)
#   nats_cluster.sh pids DIR        the running nodes' pids
#   nats_cluster.sh leader DIR STREAM     the node leading STREAM (n1...), as a
#                                   running node's /jsz reports it; exit 1 if none
set -euo pipefail

die() { echo "nats_cluster: $*" >&2; exit 1; }
free_ports() {  # N free TCP ports on 127.0.0.1, distinct
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}
node_name() { case "$1" in n*) echo "$1" ;; *) echo "n$1" ;; esac; }
alive() { [ -f "$1/$2.pid" ] && kill -0 "$(cat "$1/$2.pid")" 2>/dev/null; }
start_node() {  # DIR NODE
  local dir=$1 n=$2
  alive "$dir" "$n" && return 0
  nats-server -c "$dir/$n.conf" >> "$dir/$n.log" 2>&1 &
  echo $! > "$dir/$n.pid"
}
wait_ready() {  # DIR NODE: the client port answers and the node sees a meta leader
  local dir=$1 n=$2 i
  local mon; mon=$(cat "$dir/$n.mon")
  for i in $(seq 200); do
    if python3 - "$mon" <<'PY' 2>/dev/null; then return 0; fi
import json, sys, urllib.request
j = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/jsz", timeout=1))
sys.exit(0 if j.get("meta_cluster", {}).get("leader") else 1)
PY
    alive "$dir" "$n" || die "$n exited: $(tail -3 "$dir/$n.log")"
    sleep 0.05
  done
  die "$n: no JetStream meta leader after 10 s: $(tail -3 "$dir/$n.log")"
}

wait_current() {  # DIR NODE: /healthz says ok (its streams caught up with their leaders), 30 s at most
  local dir=$1 n=$2 i mon
  mon=$(cat "$dir/$n.mon")
  for i in $(seq 300); do
    python3 - "$mon" <<'PY' 2>/dev/null && return 0
import json, sys, urllib.request
j = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1))
sys.exit(0 if j.get("status") == "ok" else 1)
PY
    alive "$dir" "$n" || die "$n exited: $(tail -3 "$dir/$n.log")"
    sleep 0.1
  done
  die "$n: not current after 30 s (/healthz)"
}

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: nats_cluster.sh start|kill|stop-node|restart|stop|pids|leader DIR [N|NODE|STREAM]"
case "$cmd" in
start)
  n=${3:-3}
  command -v nats-server >/dev/null || die "nats-server is not installed (apt-get install nats-server)"
  mkdir -p "$dir"
  read -r -a ports <<< "$(free_ports $((3 * n)))"
  routes=()
  for i in $(seq "$n"); do routes+=("nats-route://127.0.0.1:${ports[$((n + i - 1))]}"); done
  urls=()
  for i in $(seq "$n"); do
    client=${ports[$((i - 1))]} route=${ports[$((n + i - 1))]} mon=${ports[$((2 * n + i - 1))]}
    mkdir -p "$dir/n$i.store"
    cluster=""
    if [ "$n" -gt 1 ]; then
      cluster="cluster { name: evt, listen: 127.0.0.1:$route, routes: [$(IFS=,; echo "${routes[*]}")] }"
    fi
    cat > "$dir/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$client
http: 127.0.0.1:$mon
jetstream { store_dir: "$dir/n$i.store", max_mem: 64M, max_file: 4G }
$cluster
CONF
    echo "$mon" > "$dir/n$i.mon"
    urls+=("127.0.0.1:$client")
  done
  echo "nats://$(IFS=,; echo "${urls[*]}")" > "$dir/url"
  for i in $(seq "$n"); do start_node "$dir" "n$i"; done
  for i in $(seq "$n"); do wait_ready "$dir" "n$i"; done
  cat "$dir/url"
  ;;
kill)
  node=$(node_name "${3:?NODE}")
  if alive "$dir" "$node"; then kill -9 "$(cat "$dir/$node.pid")"; fi
  wait "$(cat "$dir/$node.pid")" 2>/dev/null || true
  while alive "$dir" "$node"; do sleep 0.02; done
  ;;
stop-node)
  node=$(node_name "${3:?NODE}")
  if alive "$dir" "$node"; then kill "$(cat "$dir/$node.pid")"; fi
  while alive "$dir" "$node"; do sleep 0.02; done
  ;;
restart)
  node=$(node_name "${3:?NODE}")
  start_node "$dir" "$node"
  wait_ready "$dir" "$node"
  for f in "$dir"/n*.pid; do  # every running node current: the cluster whole again
    n=$(basename "$f" .pid)
    alive "$dir" "$n" && wait_current "$dir" "$n"
  done
  ;;
stop)
  for f in "$dir"/n*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
  done
  for f in "$dir"/n*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
  done
  ;;
pids)
  for f in "$dir"/n*.pid; do
    n=$(basename "$f" .pid)
    alive "$dir" "$n" && echo "$n $(cat "$f")"
  done
  true
  ;;
leader)
  stream=${3:-}
  [ -n "$stream" ] || die "usage: nats_cluster.sh leader DIR STREAM"
  for f in "$dir"/n*.pid; do
    n=$(basename "$f" .pid)
    alive "$dir" "$n" || continue
    python3 - "$(cat "$dir/$n.mon")" "$stream" <<'PY' 2>/dev/null && exit 0
import json, sys, urllib.request
j = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/jsz?streams=true", timeout=2))
for a in j.get("account_details") or []:
    for s in a.get("stream_detail") or []:
        if s.get("name") == sys.argv[2] and (s.get("cluster") or {}).get("leader"):
            print(s["cluster"]["leader"]); sys.exit(0)
sys.exit(1)
PY
  done
  exit 1
  ;;
*) die "unknown command '$cmd'" ;;
esac
