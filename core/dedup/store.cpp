#include "core/dedup/store.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/log/log.hpp"
#include "core/log/record.hpp"
#include "core/util/hash.hpp"

namespace evt::dedup {

using log::get_le;
using log::put_le;

Status check_store_name(std::string_view name) {
    auto s = log::check_topic_name(name);
    if (!s.ok()) return make_error(ErrorKind::usage, "invalid store name '{}' (letters, digits, '.', '_', '-')", name);
    return {};
}

std::string store_db(std::string_view name) { return fmt::format("d:{}", name); }

namespace {

std::vector<std::uint32_t> slot_order(const std::vector<KeyRef>& keys) {
    std::vector<std::uint32_t> order(keys.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return keys[a].hash < keys[b].hash; });
    return order;
}

// Finds a key's entry: found (and fresh within the window), or the slot to
// record it in.
struct Probe {
    bool fresh = false;
    std::uint64_t slot = 0;
};

Result<Probe> probe(store::Cursor& c, const KeyRef& k, Micros now, Micros window) {
    for (std::uint64_t slot = k.hash;; ++slot) {
        MDB_val mk = store::val(&slot, 8), mv;
        EVT_ASSIGN(bool found, c.get(mk, mv, MDB_SET_KEY));
        if (!found) return Probe{false, slot};
        std::string_view v = store::view(mv);
        if (v.size() < 8) return Error{ErrorKind::corrupt, "dedup store entry is too short"};
        if (v.substr(8) == k.key)
            return Probe{window == 0 || now - get_le<std::int64_t>(v.data()) <= window, slot};
        if (slot - k.hash > 1024) return Error{ErrorKind::corrupt, "dedup store: too many colliding keys"};
    }
}

}  // namespace

Status check(store::Txn& txn, MDB_dbi dbi, const std::vector<KeyRef>& keys, Micros now, Micros window,
             std::vector<bool>& seen) {
    seen.assign(keys.size(), false);
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, dbi));
    const KeyRef* prev = nullptr;
    for (std::uint32_t i : slot_order(keys)) {
        if (prev && prev->hash == keys[i].hash && prev->key == keys[i].key) {
            seen[i] = true;  // earlier in this batch
            continue;
        }
        // an equal key further back in the run of equal hashes
        prev = &keys[i];
        EVT_ASSIGN(Probe p, probe(c, keys[i], now, window));
        seen[i] = p.fresh;
    }
    mark_repeats(keys, seen);  // a run of equal hashes may interleave different keys: settle exactly
    return {};
}

void mark_repeats(const std::vector<KeyRef>& keys, std::vector<bool>& seen) {
    std::vector<std::uint32_t> order = slot_order(keys);  // equal hashes adjacent, in input order
    for (std::size_t a = 0; a < order.size(); ++a)
        for (std::size_t b = a + 1; b < order.size() && keys[order[b]].hash == keys[order[a]].hash; ++b)
            if (keys[order[b]].key == keys[order[a]].key) seen[order[b]] = true;
}

Status record(store::WriteTxn& txn, MDB_dbi dbi, const std::vector<KeyRef>& keys, const std::vector<bool>& seen,
              Micros now, Micros window) {
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, dbi));
    std::string value;
    for (std::uint32_t i : slot_order(keys)) {
        if (seen[i]) continue;
        EVT_ASSIGN(Probe p, probe(c, keys[i], now, window));
        if (p.fresh) continue;  // recorded meanwhile (another process, or a repeat)
        value.resize(8 + keys[i].key.size());
        put_le<std::int64_t>(value.data(), now);
        std::memcpy(value.data() + 8, keys[i].key.data(), keys[i].key.size());
        MDB_val nv = store::val(value);
        std::uint64_t slot = p.slot;
        EVT_TRY(c.put(store::val(&slot, 8), nv, 0));
    }
    return {};
}

Status check_and_record(store::WriteTxn& txn, MDB_dbi dbi, const std::vector<KeyRef>& keys, Micros now,
                        Micros window, std::vector<bool>& seen) {
    EVT_TRY(check(txn, dbi, keys, now, window, seen));
    return record(txn, dbi, keys, seen, now, window);
}

Result<std::uint64_t> expire(store::WriteTxn& txn, MDB_dbi dbi, Micros now, Micros window) {
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, dbi));
    std::uint64_t n = 0;
    MDB_val k, v;
    for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
        EVT_ASSIGN(bool more, c.get(k, v, op));
        if (!more) break;
        if (v.mv_size < 8 || now - get_le<std::int64_t>(static_cast<const char*>(v.mv_data)) <= window) continue;
        // Keep an expired entry that a displaced key (a hash collision) probes
        // through, so that key stays reachable.
        std::uint64_t slot = log::offset_of(k.mv_data);
        MDB_val nk = store::val(&(++slot), 8), nv;
        EVT_ASSIGN(store::Cursor probe, store::Cursor::open(txn, dbi));
        EVT_ASSIGN(bool next, probe.get(nk, nv, MDB_SET_KEY));
        if (next && nv.mv_size >= 8 &&
            hash64(std::string_view(static_cast<const char*>(nv.mv_data) + 8, nv.mv_size - 8)) != slot)
            continue;
        int rc = mdb_cursor_del(c.raw(), 0);
        if (rc) return store::lmdb_error(rc, "expiring dedup keys");
        ++n;
    }
    return n;
}

}  // namespace evt::dedup
