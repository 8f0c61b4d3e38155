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
  cd "$T"
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
# kafka_partition KEY N prints one partition; kafka_partition - N reads keys,
# one per line, on stdin and prints "KEY PARTITION" per line.
kafka_partition() {
  python3 -c "$(cat <<'EOF'
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
n = int(sys.argv[2])
if sys.argv[1] == "-":
    for key in sys.stdin.read().splitlines():
        print(key, (murmur2(key.encode()) & 0x7fffffff) % n)
else:
    print((murmur2(sys.argv[1].encode()) & 0x7fffffff) % n)
EOF
)" "$1" "$2"
}

# Writes N lines of an event of exactly the given type, one per line, ids ev-1..ev-N.
events() {
  seq 1 "$1" | awk -v type="${2:-Tested}" \
    '{ printf "{\"specversion\":\"1.0\",\"id\":\"ev-%d\",\"source\":\"/test\",\"type\":\"%s\",\"data\":{\"i\":%d}}\n", $1, type, $1 }'
}

# Fails the test with a message when $1 != $2 (shows both).
assert_eq() {
  if [ "$1" != "$2" ]; then
    printf 'expected: %s\n     got: %s\n' "$2" "$1" >&2
    return 1
  fi
}

# Writes the u32 VALUE (little-endian) to the "format" key of the "meta" named
# database of the LMDB environment DIR, through liblmdb itself (ctypes), so no
# lmdb-utils are needed.
set_log_format() {
  python3 - "$1" "$2" <<'PY'
import ctypes, ctypes.util, struct, sys
path, value = sys.argv[1].encode(), int(sys.argv[2])
name = ctypes.util.find_library("lmdb") or "liblmdb.so.0"
lib = ctypes.CDLL(name)
class Val(ctypes.Structure):
    _fields_ = [("mv_size", ctypes.c_size_t), ("mv_data", ctypes.c_void_p)]
def ok(rc, what):
    if rc != 0:
        lib.mdb_strerror.restype = ctypes.c_char_p
        sys.exit("%s: %s" % (what, lib.mdb_strerror(rc).decode()))
env, txn, dbi = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_uint()
ok(lib.mdb_env_create(ctypes.byref(env)), "env_create")
ok(lib.mdb_env_set_maxdbs(env, 4096), "set_maxdbs")
ok(lib.mdb_env_open(env, path, 0, 0o600), "env_open")
ok(lib.mdb_txn_begin(env, None, 0, ctypes.byref(txn)), "txn_begin")
ok(lib.mdb_dbi_open(txn, b"meta", 0, ctypes.byref(dbi)), "dbi_open meta")
kb, vb = b"format", struct.pack("<I", value)
kbuf, vbuf = ctypes.create_string_buffer(kb, len(kb)), ctypes.create_string_buffer(vb, len(vb))
k, v = Val(len(kb), ctypes.cast(kbuf, ctypes.c_void_p)), Val(len(vb), ctypes.cast(vbuf, ctypes.c_void_p))
ok(lib.mdb_put(txn, dbi, ctypes.byref(k), ctypes.byref(v), 0), "put")
ok(lib.mdb_txn_commit(txn), "commit")
lib.mdb_env_close(env)
PY
}

# Prints the u32 stored under meta/format.
get_log_format() {
  python3 - "$1" <<'PY'
import ctypes, ctypes.util, struct, sys
lib = ctypes.CDLL(ctypes.util.find_library("lmdb") or "liblmdb.so.0")
class Val(ctypes.Structure):
    _fields_ = [("mv_size", ctypes.c_size_t), ("mv_data", ctypes.c_void_p)]
env, txn, dbi = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_uint()
MDB_RDONLY = 0x20000
assert lib.mdb_env_create(ctypes.byref(env)) == 0
assert lib.mdb_env_set_maxdbs(env, 4096) == 0
assert lib.mdb_env_open(env, sys.argv[1].encode(), MDB_RDONLY, 0o600) == 0
assert lib.mdb_txn_begin(env, None, MDB_RDONLY, ctypes.byref(txn)) == 0
assert lib.mdb_dbi_open(txn, b"meta", 0, ctypes.byref(dbi)) == 0
kb = b"format"
kbuf = ctypes.create_string_buffer(kb, len(kb))
k, v = Val(len(kb), ctypes.cast(kbuf, ctypes.c_void_p)), Val()
assert lib.mdb_get(txn, dbi, ctypes.byref(k), ctypes.byref(v)) == 0
print(struct.unpack("<I", ctypes.string_at(v.mv_data, v.mv_size))[0])
lib.mdb_txn_abort(txn)
lib.mdb_env_close(env)
PY
}
