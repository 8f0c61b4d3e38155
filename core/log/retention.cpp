#include "core/log/retention.hpp"

#include <simdjson.h>

#include <cstring>
#include <limits>

#include "core/util/hash.hpp"

namespace evt::log {

using store::Cursor;
using store::WriteTxn;

namespace {
constexpr std::size_t kKeyFixed = 12;          // u32 partition, u64 offset, then the key
constexpr std::uint64_t kGcBudget = 20000;     // records removed per gc transaction
}  // namespace

bool is_tombstone_json(std::string_view json) {
    if (json.find("\"evttombstone\":true") == std::string_view::npos) return false;
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(json.data(), json.size()).get(doc)) return false;
    bool marker = false;
    simdjson::dom::element data;
    if (doc["evttombstone"].get_bool().get(marker) || !marker) return false;
    if (doc["data"].get(data)) return false;
    return data.is_null();
}

void CleanStats::add(const CleanStats& o) {
    expired += o.expired;
    trimmed += o.trimmed;
    compacted += o.compacted;
    tombstones += o.tombstones;
    stale_ids += o.stale_ids;
}

Result<KeyEntry> find_key(Cursor& keys, std::string_view key) {
    const std::uint64_t hash = hash64(key);
    for (std::uint64_t slot = hash;; ++slot) {
        OffsetKey k(slot);
        MDB_val kv = store::val(k.view()), v;
        EVT_ASSIGN(bool found, keys.get(kv, v, MDB_SET_KEY));
        KeyEntry e;
        e.slot = slot;
        if (!found) return e;
        std::string_view value = store::view(v);
        if (value.size() < kKeyFixed) return Error{ErrorKind::corrupt, "key index entry is too short"};
        if (value.substr(kKeyFixed) == key) {
            e.exists = true;
            e.partition = get_le<std::uint32_t>(value.data());
            e.offset = get_le<std::uint64_t>(value.data() + 4);
            return e;
        }
        if (slot - hash > 1024) return Error{ErrorKind::corrupt, "key index: too many colliding keys"};
    }
}

Status put_key(Cursor& keys, std::string_view key, const KeyEntry& e) {
    OffsetKey k(e.slot);
    MDB_val v{kKeyFixed + key.size(), nullptr};
    EVT_TRY(keys.put(store::val(k.view()), v, MDB_RESERVE));
    char* d = static_cast<char*>(v.mv_data);
    put_le<std::uint32_t>(d, e.partition);
    put_le<std::uint64_t>(d + 4, e.offset);
    std::memcpy(d + kKeyFixed, key.data(), key.size());
    return {};
}

Result<Cursor*> Cleaner::records(std::uint32_t p) {
    auto it = cursors_.find(p);
    if (it != cursors_.end()) return &it->second;
    EVT_ASSIGN(MDB_dbi d, records_dbi(txn_, t_.id, p, false));
    EVT_ASSIGN(Cursor c, Cursor::open(txn_, d));
    return &cursors_.emplace(p, std::move(c)).first->second;
}

Status Cleaner::remove(std::uint32_t p, Cursor& c, std::uint64_t offset, const RecordView& rec) {
    if (t_.compact) {
        if (rec.has_key) {
            if (!keys_open_) {
                EVT_ASSIGN(MDB_dbi kd, keys_dbi(txn_, t_.id, true));
                EVT_ASSIGN(keys_, Cursor::open(txn_, kd));
                keys_open_ = true;
            }
            std::string key(rec.key);
            EVT_ASSIGN(KeyEntry e, find_key(keys_, key));
            if (e.exists && e.partition == p && e.offset == offset) {
                e.offset = kNoOffset;
                EVT_TRY(put_key(keys_, key, e));
            }
        }
        if (rec.tombstone) {
            EVT_ASSIGN(MDB_dbi td, tombstones_dbi(txn_, t_.id, p, true));
            OffsetKey k(offset);
            EVT_TRY(txn_.del(td, k.view()));
        }
    }
    return c.del();
}

Status Cleaner::compacted_write(std::uint32_t p, std::uint64_t offset, std::string_view key, bool tombstone) {
    if (!keys_open_) {
        EVT_ASSIGN(MDB_dbi kd, keys_dbi(txn_, t_.id, true));
        EVT_ASSIGN(keys_, Cursor::open(txn_, kd));
        keys_open_ = true;
    }
    EVT_ASSIGN(KeyEntry e, find_key(keys_, key));
    if (e.exists && e.offset != kNoOffset && !(e.partition == p && e.offset == offset) &&
        e.partition < t_.partitions) {
        EVT_ASSIGN(Cursor * c, records(e.partition));
        OffsetKey old(e.offset);
        MDB_val k = store::val(old.view()), v;
        EVT_ASSIGN(bool found, c->get(k, v, MDB_SET_KEY));
        if (found) {
            RecordView rec;
            if (!decode_record(store::view(v), rec))
                return make_error(ErrorKind::corrupt, "'{}' partition {} offset {}: malformed record", t_.name,
                                  e.partition, e.offset);
            // A partition's last record stays (it holds the end offset); that
            // happens only when partitions were added and the key moved.
            MDB_val k2, v2;
            EVT_ASSIGN(bool later, c->get(k2, v2, MDB_NEXT));
            if (later) {
                EVT_ASSIGN(found, c->get(k, v, MDB_SET_KEY));
                if (rec.tombstone) {
                    EVT_ASSIGN(MDB_dbi td, tombstones_dbi(txn_, t_.id, e.partition, true));
                    EVT_TRY(txn_.del(td, old.view()));
                }
                EVT_TRY(c->del());
                ++stats.compacted;
            }
        }
    }
    e.partition = p;
    e.offset = offset;
    EVT_TRY(put_key(keys_, key, e));
    if (tombstone) {
        EVT_ASSIGN(MDB_dbi td, tombstones_dbi(txn_, t_.id, p, true));
        OffsetKey k(offset);
        EVT_TRY(txn_.put(td, k.view(), std::string_view()));
    }
    return {};
}

Status Cleaner::enforce(std::uint32_t p, std::uint64_t budget, bool& more) {
    EVT_ASSIGN(MDB_dbi d, records_dbi(txn_, t_.id, p, false));
    EVT_ASSIGN(Cursor * c, records(p));
    MDB_val k, v;
    EVT_ASSIGN(bool any, c->get(k, v, MDB_LAST));
    if (!any) return {};
    const std::uint64_t last = offset_of(k.mv_data);
    auto malformed = [&](std::uint64_t off) {
        return make_error(ErrorKind::corrupt, "'{}' partition {} offset {}: malformed record", t_.name, p, off);
    };
    if (t_.expires()) {
        const Micros cutoff = t_.retention ? now_ - t_.retention : std::numeric_limits<Micros>::min();
        // From the first record on; after a delete the cursor stands on the
        // next record and MDB_NEXT returns it.
        for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
            EVT_ASSIGN(any, c->get(k, v, op));
            if (!any) break;
            std::uint64_t off = offset_of(k.mv_data);
            if (off == last) break;
            RecordView rec;
            if (!decode_record(store::view(v), rec)) return malformed(off);
            bool expired = t_.retention && rec.time < cutoff;
            bool over = false;
            if (!expired && t_.retention_bytes) {
                MDB_stat st;
                if (int rc = mdb_stat(txn_.raw(), d, &st)) return store::lmdb_error(rc, "reading a partition's size");
                over = static_cast<std::uint64_t>(st.ms_psize) *
                           (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) >
                       t_.retention_bytes;
            }
            if (!expired && !over) break;
            if (budget == 0) {
                more = true;
                return {};
            }
            if (t_.compact) EVT_TRY(remove(p, *c, off, rec));
            else EVT_TRY(c->del());
            --budget;
            ++(expired ? stats.expired : stats.trimmed);
        }
    }
    if (t_.compact) {
        EVT_ASSIGN(MDB_dbi td, tombstones_dbi(txn_, t_.id, p, true));
        EVT_ASSIGN(Cursor tc, Cursor::open(txn_, td));
        for (;;) {
            EVT_ASSIGN(any, tc.get(k, v, MDB_FIRST));
            if (!any) break;
            std::uint64_t off = offset_of(k.mv_data);
            if (off == last) break;
            OffsetKey key(off);
            MDB_val rk = store::val(key.view()), rv;
            EVT_ASSIGN(bool found, c->get(rk, rv, MDB_SET_KEY));
            if (!found) {  // already gone (retention): forget it
                EVT_TRY(tc.del());
                continue;
            }
            RecordView rec;
            if (!decode_record(store::view(rv), rec)) return malformed(off);
            if (rec.time > now_ - t_.tombstone_retention) break;
            if (budget == 0) {
                more = true;
                return {};
            }
            EVT_TRY(remove(p, *c, off, rec));
            --budget;
            ++stats.tombstones;
        }
    }
    return {};
}

namespace {

// A full compaction pass over one partition: every keyed record must be its
// key's latest; the key index is corrected where it missed a record.
Status compact_all(WriteTxn& txn, const TopicConfig& t, std::uint32_t p, CleanStats& stats) {
    EVT_ASSIGN(MDB_dbi d, records_dbi(txn, t.id, p, false));
    EVT_ASSIGN(MDB_dbi kd, keys_dbi(txn, t.id, true));
    EVT_ASSIGN(MDB_dbi td, tombstones_dbi(txn, t.id, p, true));
    EVT_ASSIGN(Cursor c, Cursor::open(txn, d));
    EVT_ASSIGN(Cursor other, Cursor::open(txn, d));
    EVT_ASSIGN(Cursor keys, Cursor::open(txn, kd));
    MDB_val k, v;
    EVT_ASSIGN(bool any, c.get(k, v, MDB_LAST));
    if (!any) return {};
    const std::uint64_t last = offset_of(k.mv_data);
    auto drop = [&](Cursor& cur, std::uint64_t off, const RecordView& rec) -> Status {
        if (rec.tombstone) {
            OffsetKey tk(off);
            EVT_TRY(txn.del(td, tk.view()));
        }
        ++stats.compacted;
        return cur.del();
    };
    MDB_cursor_op op = MDB_FIRST;
    for (;;) {
        EVT_ASSIGN(bool more, c.get(k, v, op));
        if (!more) break;
        op = MDB_NEXT;
        std::uint64_t off = offset_of(k.mv_data);
        RecordView rec;
        if (!decode_record(store::view(v), rec))
            return make_error(ErrorKind::corrupt, "'{}' partition {} offset {}: malformed record", t.name, p, off);
        if (!rec.has_key) continue;
        std::string key(rec.key);
        EVT_ASSIGN(KeyEntry e, find_key(keys, key));
        if (e.exists && e.partition == p && e.offset == off) continue;
        if (e.exists && e.offset != kNoOffset && e.partition == p && e.offset > off) {
            if (off == last) continue;
            EVT_TRY(drop(c, off, rec));  // superseded (MDB_NEXT after a delete gives the next record)
            continue;
        }
        // The index missed this record (or points at an older one): it is the latest.
        if (e.exists && e.offset != kNoOffset && e.partition == p && e.offset < off) {
            OffsetKey ok(e.offset);
            MDB_val k2 = store::val(ok.view()), v2;
            EVT_ASSIGN(bool found, other.get(k2, v2, MDB_SET_KEY));
            RecordView old;
            if (found && decode_record(store::view(v2), old)) EVT_TRY(drop(other, e.offset, old));
        }
        e.partition = p;
        e.offset = off;
        EVT_TRY(put_key(keys, key, e));
        if (rec.tombstone) {
            OffsetKey tk(off);
            EVT_TRY(txn.put(td, tk.view(), std::string_view()));
        }
    }
    return {};
}

}  // namespace

std::string stored_event_id(std::string_view json) {
    // The common shape first: {"specversion":"1.0","id":"..." with no escapes in the id.
    constexpr std::string_view kHead = R"({"specversion":"1.0","id":")";
    if (json.substr(0, kHead.size()) == kHead) {
        auto end = json.find('"', kHead.size());
        if (end != std::string_view::npos) {
            std::string_view id = json.substr(kHead.size(), end - kHead.size());
            if (id.find('\\') == std::string_view::npos) return std::string(id);
        }
    }
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view id;
    if (parser.parse(json.data(), json.size()).get(doc) || doc["id"].get_string().get(id)) return {};
    return std::string(id);
}

void LatestIds::add(std::string_view json, Micros time, std::uint32_t partition, std::uint64_t offset) {
    std::string id = stored_event_id(json);
    if (id.empty() || id.size() > 0xffff) return;
    stream::NewHead n{id, static_cast<std::uint64_t>(time), partition, offset};
    auto [it, fresh] = latest_.try_emplace(std::move(id), n);
    if (!fresh && n.version >= it->second.version) it->second = std::move(n);
}

std::vector<stream::NewHead> LatestIds::take() {
    std::vector<stream::NewHead> out;
    out.reserve(latest_.size());
    for (auto& [id, n] : latest_) out.push_back(std::move(n));
    latest_.clear();
    return out;
}

Result<std::uint64_t> drop_stale_ids(Log& log, WriteTxn& txn, const TopicConfig& t, bool check_ids) {
    auto index = id_heads_dbi(txn, t.id, false);
    if (!index.ok()) return index.error().kind == ErrorKind::not_found ? Result<std::uint64_t>(0) : index.error();
    EVT_ASSIGN(auto runs, id_runs_dbi_if_any(txn, t.id));
    std::vector<stream::NewHead> keep;
    std::uint64_t dropped = 0;
    Status record_error;
    Status walked = stream::each_head(txn, *index, runs, [&](const stream::Head& h, std::string_view id) {
        if (!record_error.ok()) return;
        RecordView rec;
        bool found = false;
        if (h.last_partition < t.partitions) {
            auto f = log.record_at(txn, t, h.last_partition, h.last_offset, rec);
            if (!f.ok()) {
                record_error = f.error();
                return;
            }
            found = *f;
        }
        if (found && (!check_ids || (rec.time == static_cast<Micros>(h.version) && stored_event_id(rec.json) == id)))
            keep.push_back(stream::NewHead{std::string(id), h.version, h.last_partition, h.last_offset});
        else
            ++dropped;
    });
    EVT_TRY(record_error);
    if (!walked.ok()) {
        // A corrupt block: with check_ids (evt-check --repair) the index is
        // rebuilt from the ids of every record of the topic, the latest of each.
        if (walked.error().kind != ErrorKind::corrupt || !check_ids) return walked.error();
        LatestIds latest;
        for (std::uint32_t p = 0; p < t.partitions; ++p) {
            auto dbi = records_dbi(txn, t.id, p, false);
            if (!dbi.ok()) continue;
            EVT_ASSIGN(Cursor c, Cursor::open(txn, *dbi));
            MDB_val k, v;
            for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
                EVT_ASSIGN(bool more, c.get(k, v, op));
                if (!more) break;
                RecordView rec;
                if (decode_record(store::view(v), rec)) latest.add(rec.json, rec.time, p, offset_of(k.mv_data));
            }
        }
        keep = latest.take();
        dropped = 0;
    } else if (dropped == 0) {
        return dropped;
    }
    EVT_TRY(stream::rebuild_index(txn, *index, runs, std::move(keep)));
    return dropped;
}

Result<CleanStats> collect_garbage(Log& log, const std::vector<std::string>& names, Micros now) {
    CleanStats total;
    std::vector<std::string> topics = names;
    if (topics.empty()) {
        EVT_ASSIGN(store::ReadTxn txn, log.env().read());
        EVT_ASSIGN(auto all, log.topics(txn));
        for (auto& t : all) topics.push_back(t.name);
    } else {
        EVT_ASSIGN(store::ReadTxn txn, log.env().read());
        for (const auto& n : names) EVT_TRY(log.topic(txn, n));
    }
    for (const auto& name : topics) {
        TopicConfig t;
        {
            EVT_ASSIGN(store::ReadTxn txn, log.env().read());
            EVT_ASSIGN(t, log.topic(txn, name));
        }
        for (std::uint32_t p = 0; p < t.partitions && t.removes(); ++p) {
            for (bool more = true; more;) {
                CleanStats s;
                EVT_TRY(log.write([&](WriteTxn& txn) -> Status {
                    more = false;
                    Cleaner c(txn, t, now);
                    EVT_TRY(c.enforce(p, kGcBudget, more));
                    s = c.stats;
                    return {};
                }));
                total.add(s);
            }
            if (t.compact) {
                CleanStats s;
                EVT_TRY(log.write([&](WriteTxn& txn) -> Status {
                    s = CleanStats{};
                    return compact_all(txn, t, p, s);
                }));
                total.add(s);
            }
        }
        EVT_TRY(log.write([&](WriteTxn& txn) -> Status {
            EVT_ASSIGN(std::uint64_t n, drop_stale_ids(log, txn, t, false));
            total.stale_ids += n;
            return {};
        }));
    }
    return total;
}

}  // namespace evt::log
