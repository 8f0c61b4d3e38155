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

Status check_and_record(store::WriteTxn& txn, MDB_dbi dbi, const std::vector<KeyRef>& keys, Micros now,
                        Micros window, std::vector<bool>& seen) {
    seen.assign(keys.size(), false);
    std::vector<std::uint32_t> order(keys.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return keys[a].hash < keys[b].hash; });
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, dbi));
    std::string value;
    for (std::uint32_t i : order) {
        const KeyRef& k = keys[i];
        for (std::uint64_t slot = k.hash;; ++slot) {
            MDB_val mk = store::val(&slot, 8), mv;
            EVT_ASSIGN(bool found, c.get(mk, mv, MDB_SET_KEY));
            std::string_view v = store::view(mv);
            bool mine = found && v.size() >= 8 && v.substr(8) == k.key;
            if (found && v.size() < 8) return Error{ErrorKind::corrupt, "dedup store entry is too short"};
            if (mine && (window == 0 || now - get_le<std::int64_t>(v.data()) <= window)) {
                seen[i] = true;
                break;
            }
            if (!found || mine) {  // record it: a new slot, or an expired entry of this key
                value.resize(8 + k.key.size());
                put_le<std::int64_t>(value.data(), now);
                std::memcpy(value.data() + 8, k.key.data(), k.key.size());
                MDB_val nv = store::val(value);
                EVT_TRY(c.put(store::val(&slot, 8), nv, 0));
                break;
            }
            if (slot - k.hash > 1024) return Error{ErrorKind::corrupt, "dedup store: too many colliding keys"};
        }
    }
    return {};
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
