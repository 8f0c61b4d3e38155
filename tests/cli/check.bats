#!/usr/bin/env bats
# evt-check (issue 9): a clean log checks clean; each planted corruption (a
# flipped byte in a record, a removed stream-index entry, an offset gap, a
# removed key-index entry) is found and named by topic/partition/offset;
# --repair rebuilds indexes; --gc; --backup; --compact-file; exit codes.

bats_require_minimum_version 1.5.0
load helpers

setup() {
  evt_setup
  CHECK="$EVT_BIN/evt-check"
}

# 60 events over 6 subjects into a 3-partition topic "orders" (topic id 1).
orders() {
  "$TOPIC" create orders --partitions 3 2>/dev/null
  seq 0 59 | awk '{ printf "{\"specversion\":\"1.0\",\"id\":\"order-event-%03d\",\"source\":\"/shop\",\"type\":\"Placed\",\"subject\":\"order-%d\",\"data\":{\"n\":%d}}\n", $1, $1 % 6, $1 }' \
    | "$APPEND" -t orders
}

# lmdb_edit LOG DB OP [KEY]: through liblmdb (ctypes).
#   del KEY     delete the u64 key KEY
#   delfirstkey delete the first entry; print its value's u32 at 0 and u64 at 4
#               (a key index entry's partition and offset)
#   drophead    take the first head out of the first stream-index segment (a block,
#               schemas/STORAGE.md section 6, decoded and re-encoded here); print its
#               partition and offset
#   breakhead   make the first stream-index segment claim 1000 heads it does not hold
lmdb_edit() {
  python3 - "$@" <<'PY'
import ctypes, ctypes.util, struct, sys
path, db, op = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3]
lib = ctypes.CDLL(ctypes.util.find_library("lmdb") or "liblmdb.so.0")
class Val(ctypes.Structure):
    _fields_ = [("mv_size", ctypes.c_size_t), ("mv_data", ctypes.c_void_p)]
def ok(rc, what):
    if rc != 0:
        sys.exit("%s: %d" % (what, rc))
env, txn, dbi, cur = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_uint(), ctypes.c_void_p()
ok(lib.mdb_env_create(ctypes.byref(env)), "env_create")
ok(lib.mdb_env_set_maxdbs(env, 4096), "set_maxdbs")
ok(lib.mdb_env_open(env, path, 0, 0o600), "env_open")
ok(lib.mdb_txn_begin(env, None, 0, ctypes.byref(txn)), "txn_begin")
MDB_INTEGERKEY = 0x08
ok(lib.mdb_dbi_open(txn, db, MDB_INTEGERKEY, ctypes.byref(dbi)), "dbi_open")
if op == "del":
    kb = struct.pack("<Q", int(sys.argv[4]))
    kbuf = ctypes.create_string_buffer(kb, 8)
    k = Val(8, ctypes.cast(kbuf, ctypes.c_void_p))
    ok(lib.mdb_del(txn, dbi, ctypes.byref(k), None), "del")
elif op == "delfirstkey":
    ok(lib.mdb_cursor_open(txn, dbi, ctypes.byref(cur)), "cursor_open")
    k, v = Val(), Val()
    ok(lib.mdb_cursor_get(cur, ctypes.byref(k), ctypes.byref(v), 0), "first")
    val = ctypes.string_at(v.mv_data, v.mv_size)
    print(struct.unpack("<I", val[0:4])[0], struct.unpack("<Q", val[4:12])[0])
    ok(lib.mdb_cursor_del(cur, 0), "cursor_del")
    lib.mdb_cursor_close(cur)
elif op == "breakhead":
    kbuf = ctypes.create_string_buffer(struct.pack("<Q", 0), 8)
    vbuf = ctypes.create_string_buffer(struct.pack("<II", 1000, 0), 8)
    k, nv = Val(8, ctypes.cast(kbuf, ctypes.c_void_p)), Val(8, ctypes.cast(vbuf, ctypes.c_void_p))
    ok(lib.mdb_put(txn, dbi, ctypes.byref(k), ctypes.byref(nv), 0), "put segment 0")
elif op == "drophead":
    kbuf = ctypes.create_string_buffer(struct.pack("<Q", 0), 8)
    k, v = Val(8, ctypes.cast(kbuf, ctypes.c_void_p)), Val()
    ok(lib.mdb_get(txn, dbi, ctypes.byref(k), ctypes.byref(v)), "get segment 0")
    val = ctypes.string_at(v.mv_data, v.mv_size)
    n = struct.unpack_from("<I", val, 0)[0]
    heads = []
    for i in range(n):
        slot = struct.unpack_from("<Q", val, 8 + 8 * i)[0]
        at = struct.unpack_from("<I", val, 8 + 8 * n + 4 * i)[0]
        version, offset, partition, length = struct.unpack_from("<QQIH", val, at)
        heads.append((slot, version, offset, partition, val[at + 22:at + 22 + length]))
    print(heads[0][3], heads[0][2])
    heads = heads[1:]
    n = len(heads)
    slots, positions, records = b"", b"", b""
    for slot, version, offset, partition, subject in heads:
        slots += struct.pack("<Q", slot)
        positions += struct.pack("<I", 8 + 12 * n + len(records))
        records += struct.pack("<QQIH", version, offset, partition, len(subject)) + subject
    out = struct.pack("<II", n, 0) + slots + positions + records
    obuf = ctypes.create_string_buffer(out, len(out))
    nv = Val(len(out), ctypes.cast(obuf, ctypes.c_void_p))
    ok(lib.mdb_put(txn, dbi, ctypes.byref(k), ctypes.byref(nv), 0), "put segment 0")
ok(lib.mdb_txn_commit(txn), "commit")
lib.mdb_env_close(env)
PY
}

@test "a clean log checks clean (0) and the summary counts what it read" {
  orders
  run --separate-stderr "$CHECK"
  [ "$status" -eq 0 ]
  assert_eq "$output" "checked 1 topic, 60 records, 6 streams (format 4): ok"
  run --separate-stderr "$CHECK" --format json
  [ "$status" -eq 0 ]
  assert_eq "$(jq -c '[.ok, .format, .records, .streams, (.problems | length)]' <<<"$output")" "[true,4,60,6,0]"
}

@test "a flipped byte in a record's bytes on disk is found (1) and named topic/partition/offset" {
  orders
  where=$("$REPLAY" -t orders | jq -r 'select(.id == "order-event-031") | "\(.evtpartition)/\(.evtoffset)"')
  [ -n "$where" ]
  # flip one byte of that event's JSON in data.mdb itself
  at=$(grep -obUa 'order-event-031' "$EVT_LOG/data.mdb" | head -1 | cut -d: -f1)
  [ -n "$at" ]
  printf 'X' | dd of="$EVT_LOG/data.mdb" bs=1 seek=$((at + 3)) conv=notrunc status=none
  run --separate-stderr "$CHECK"
  [ "$status" -eq 1 ]
  [[ "$output" == *"orders/$where: CRC mismatch"* ]]
  [[ "${lines[-1]}" == "checked 1 topic, 60 records, 6 streams (format 4): 1 problems" ]]
  run --separate-stderr "$CHECK" --format json
  [ "$status" -eq 1 ]
  assert_eq "$(jq -r '.problems[0] | "\(.topic)/\(.partition)/\(.offset)"' <<<"$output")" "orders/$where"
}

@test "an offset gap is found at the offset after it" {
  orders
  lmdb_edit "$EVT_LOG" r:1:0 del 4
  run --separate-stderr "$CHECK"
  [ "$status" -eq 1 ]
  [[ "$output" == *"orders/0/5: offsets are not dense: 5 follows 3 (offsets 4..4 are missing)"* ]]
}

@test "a removed stream-index entry is found at the stream's last record; --repair rebuilds it" {
  orders
  # the heads of the last commits are in runs (h:1); --repair folds them into s:1
  "$CHECK" --repair 2> /dev/null
  lmdb_edit "$EVT_LOG" s:1 drophead > edited.txt  # (a file, not <(...): the edit must be committed first)
  read -r p off < edited.txt
  run --separate-stderr "$CHECK"
  [ "$status" -eq 1 ] || { echo "p=$p off=$off status=$status: $output $stderr" >&2; return 1; }
  [[ "$output" == *"orders/$p/$off: the last record of a stream (version 10) has no stream head"* ]]
  run --separate-stderr "$CHECK" --repair
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"repaired: 6 stream heads"* ]]
  # the records were not touched, and the streams read whole again
  assert_eq "$(count_events orders)" 60
  assert_eq "$("$REPLAY" -t orders --stream order-1 | wc -l)" 10
}

@test "a corrupt block of stream heads stops readers and writers (65) with a hint; --repair rebuilds it" {
  orders
  "$CHECK" --repair 2> /dev/null
  lmdb_edit "$EVT_LOG" s:1 breakhead
  hint="stream index: a block of stream heads is corrupt (evt-check --repair rebuilds it from the records)"
  run --separate-stderr "$CHECK"
  [ "$status" -eq 65 ]
  assert_eq "$stderr" "evt-check: error: $hint"
  run --separate-stderr "$REPLAY" -t orders --stream order-1
  [ "$status" -eq 65 ]
  assert_eq "$stderr" "evt-replay: error: $hint"
  run --separate-stderr "$APPEND" -t orders < <(printf '{"id":"late","source":"/s","type":"T","subject":"order-1"}\n')
  [ "$status" -eq 65 ]
  assert_eq "$stderr" "evt-append: error: $hint"
  # nothing was stored; the records are intact and the repair restores every stream
  assert_eq "$(count_events orders)" 60
  run --separate-stderr "$CHECK" --repair
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"repaired: 6 stream heads"* ]]
  assert_eq "$("$CHECK")" "checked 1 topic, 60 records, 6 streams (format 4): ok"
  for k in 0 1 2 3 4 5; do
    assert_eq "$("$REPLAY" -t orders --stream order-$k | jq -r .evtversion | tr '\n' ' ')" "1 2 3 4 5 6 7 8 9 10 "
  done
}

@test "a compacted topic's gaps are no problem; a removed key-index entry is" {
  "$TOPIC" create prices --compact 2>/dev/null
  seq 0 29 | awk '{ printf "{\"id\":\"p%d\",\"source\":\"/s\",\"type\":\"Price\",\"partitionkey\":\"sku-%d\",\"data\":{\"p\":%d}}\n", $1, $1 % 5, $1 }' \
    | "$APPEND" -t prices
  run --separate-stderr "$CHECK" -t prices
  [ "$status" -eq 0 ]
  [[ "$output" == *"5 records"*": ok" ]]
  lmdb_edit "$EVT_LOG" k:1 delfirstkey > edited.txt
  read -r p off < edited.txt
  run --separate-stderr "$CHECK" -t prices
  if [ "$off" -eq 29 ]; then  # the partition's last record is exempt; pick again
    lmdb_edit "$EVT_LOG" k:1 delfirstkey > edited.txt
    read -r p off < edited.txt
    run --separate-stderr "$CHECK" -t prices
  fi
  [ "$status" -eq 1 ]
  [[ "$output" == *"prices/0/$off: a keyed record of a compacted topic is not its key's latest"* ]]
  run --separate-stderr "$CHECK" --repair -t prices
  [ "$status" -eq 0 ]
}

@test "--gc removes what retention says is due (EVT_NOW moves the clock) and the log checks clean" {
  "$TOPIC" create clicks --retention 1h 2>/dev/null
  EVT_NOW=2030-01-01T00:00:00Z "$APPEND" -t clicks < <(events 300)
  EVT_NOW=2030-01-01T02:00:00Z "$APPEND" -t clicks < <(events 1)
  # the append removed what its budget allowed (2 x 1 + 64)
  assert_eq "$("$TOPIC" describe clicks --format json | jq '.partition_detail[0].start')" 66
  run --separate-stderr env EVT_NOW=2030-01-01T02:00:00Z "$CHECK" --gc
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"gc: removed 234 expired"* ]]
  assert_eq "$("$TOPIC" describe clicks --format json | jq -c '.partition_detail[0] | [.start, .end, .events]')" "[300,301,1]"
}

@test "--backup DIR writes a copy that is a log and verifies clean; an existing non-empty DIR is refused (64)" {
  orders
  run --separate-stderr "$CHECK" --backup "$T/bk"
  [ "$status" -eq 0 ]
  assert_eq "$output" "backup $T/bk: checked 1 topic, 60 records, 6 streams (format 4): ok"
  assert_eq "$(EVT_LOG="$T/bk" count_events orders)" 60
  run --separate-stderr "$CHECK" --backup "$T/bk"
  [ "$status" -eq 64 ]
  [[ "$stderr" == *"exists and is not empty"* ]]
  run --separate-stderr "$CHECK" --backup "$T/bk2" --gc
  [ "$status" -eq 64 ]
}

@test "--compact-file gives freed pages back; it refuses (75) while another process has the log open" {
  "$TOPIC" create big 2>/dev/null
  python3 "$GEN" -n 20000 -s 3 | "$APPEND" -t big
  orders
  "$TOPIC" delete big 2>/dev/null
  before=$(stat -c %s "$EVT_LOG/data.mdb")
  # a follower keeps the log open
  "$REPLAY" -t orders -f > follow.out &
  pid=$!
  sleep 0.5
  run --separate-stderr "$CHECK" --compact-file
  [ "$status" -eq 75 ]
  [[ "$stderr" == *"needs it to itself"* ]]
  assert_eq "$(stat -c %s "$EVT_LOG/data.mdb")" "$before"
  kill "$pid"; wait "$pid" || true
  run --separate-stderr "$CHECK" --compact-file
  [ "$status" -eq 0 ]
  after=$(stat -c %s "$EVT_LOG/data.mdb")
  [ "$after" -lt $((before / 4)) ]
  assert_eq "$(count_events orders)" 60
  # the log goes on working: appends and a check after the swap
  events 5 | "$APPEND" -t orders
  assert_eq "$(count_events orders)" 65
  run "$CHECK"
  [ "$status" -eq 0 ]
}

@test "no log is 66; a bad flag is 64" {
  run --separate-stderr "$CHECK" -L "$T/none"
  [ "$status" -eq 66 ]
  run --separate-stderr "$CHECK" --bogus
  [ "$status" -eq 64 ]
  orders
  run --separate-stderr "$CHECK" -t nosuch
  [ "$status" -eq 66 ]
}
