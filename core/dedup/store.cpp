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

// Sorting (hash, index) pairs keeps the hashes contiguous (a comparator that
// looks the hash up through the index missed the cache on every step) and the
// index breaks ties, so equal hashes stay in input order.
std::vector<std::uint32_t> slot_order(const std::vector<KeyRef>& keys) {
    std::vector<std::pair<std::uint64_t, std::uint32_t>> pairs(keys.size());
    for (std::uint32_t i = 0; i < keys.size(); ++i) pairs[i] = {keys[i].hash, i};
    std::sort(pairs.begin(), pairs.end());
    std::vector<std::uint32_t> order(keys.size());
    for (std::size_t i = 0; i < pairs.size(); ++i) order[i] = pairs[i].second;
    return order;
}

void mark_repeats_in(const std::vector<KeyRef>& keys, const std::vector<std::uint32_t>& order, std::vector<bool>& seen) {
    for (std::size_t a = 0; a < order.size(); ++a)
        for (std::size_t b = a + 1; b < order.size() && keys[order[b]].hash == keys[order[a]].hash; ++b)
            if (keys[order[b]].key == keys[order[a]].key) seen[order[b]] = true;
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
             std::vector<bool>& seen, Probed* probed) {
    seen.assign(keys.size(), false);
    Probed local;
    Probed& pr = probed ? *probed : local;
    pr.order = slot_order(keys);
    pr.slot.assign(keys.size(), 0);
    pr.snapshot = mdb_txn_id(txn.raw());
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, dbi));
    const KeyRef* prev = nullptr;
    for (std::uint32_t i : pr.order) {
        if (prev && prev->hash == keys[i].hash && prev->key == keys[i].key) {
            seen[i] = true;  // earlier in this batch
            continue;
        }
        // an equal key further back in the run of equal hashes
        prev = &keys[i];
        EVT_ASSIGN(Probe p, probe(c, keys[i], now, window));
        seen[i] = p.fresh;
        pr.slot[i] = p.slot;
    }
    mark_repeats_in(keys, pr.order, seen);  // a run of equal hashes may interleave different keys: settle exactly
    return {};
}

void mark_repeats(const std::vector<KeyRef>& keys, std::vector<bool>& seen) {
    mark_repeats_in(keys, slot_order(keys), seen);  // equal hashes adjacent, in input order
}

Status record(store::WriteTxn& txn, MDB_dbi dbi, const std::vector<KeyRef>& keys, const std::vector<bool>& seen,
              Micros now, Micros window, const Probed* probed) {
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, dbi));
    // The slots check() found still hold when no other transaction committed
    // since its snapshot (this one comes right after it): then each key needs
    // only its put, not another probe. Keys are put in slot order; a key whose
    // probe chain reaches a slot filled earlier in this batch (a collision)
    // is probed again.
    const bool cached = probed && probed->order.size() == keys.size() && mdb_txn_id(txn.raw()) == probed->snapshot + 1;
    std::vector<std::uint32_t> order = cached ? std::vector<std::uint32_t>() : slot_order(keys);
    const std::vector<std::uint32_t>& walk = cached ? probed->order : order;
    std::string value;
    bool any_put = false;
    std::uint64_t last_put = 0;
    for (std::uint32_t i : walk) {
        if (seen[i]) continue;
        std::uint64_t slot;
        if (cached && !(any_put && last_put >= keys[i].hash)) {
            slot = probed->slot[i];
        } else {
            EVT_ASSIGN(Probe p, probe(c, keys[i], now, window));
            if (p.fresh) continue;  // recorded meanwhile (another process, or a repeat)
            slot = p.slot;
        }
        value.resize(8 + keys[i].key.size());
        put_le<std::int64_t>(value.data(), now);
        std::memcpy(value.data() + 8, keys[i].key.data(), keys[i].key.size());
        MDB_val nv = store::val(value);
        EVT_TRY(c.put(store::val(&slot, 8), nv, 0));
        any_put = true;
        last_put = std::max(last_put, slot);
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
