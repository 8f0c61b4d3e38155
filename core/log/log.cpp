#include "core/log/log.hpp"

#include "core/log/retention.hpp"
#include "core/stream/stream_index.hpp"

#include <algorithm>
#include <cstdlib>
#include <charconv>

namespace evt::log {

using store::Cursor;
using store::Txn;
using store::WriteTxn;

namespace {

constexpr const char* kMetaDb = "meta";
constexpr const char* kTopicsDb = "topics";
constexpr std::size_t kTopicValue = 44;

std::string encode_topic(const TopicConfig& t) {
    std::string v(kTopicValue, '\0');
    put_le<std::uint32_t>(v.data(), t.id);
    put_le<std::uint32_t>(v.data() + 4, t.partitions);
    put_le<std::int64_t>(v.data() + 8, t.created);
    put_le<std::int64_t>(v.data() + 16, t.retention);
    put_le<std::uint64_t>(v.data() + 24, t.retention_bytes);
    put_le<std::uint32_t>(v.data() + 32, t.compact ? 1u : 0u);
    put_le<std::int64_t>(v.data() + 36, t.tombstone_retention);
    return v;
}

Result<TopicConfig> decode_topic(std::string_view name, std::string_view v) {
    if (v.size() < kTopicValue) return make_error(ErrorKind::corrupt, "topic '{}': short configuration", name);
    TopicConfig t;
    t.name = std::string(name);
    t.id = get_le<std::uint32_t>(v.data());
    t.partitions = get_le<std::uint32_t>(v.data() + 4);
    t.created = get_le<std::int64_t>(v.data() + 8);
    t.retention = get_le<std::int64_t>(v.data() + 16);
    t.retention_bytes = get_le<std::uint64_t>(v.data() + 24);
    t.compact = (get_le<std::uint32_t>(v.data() + 32) & 1) != 0;
    t.tombstone_retention = get_le<std::int64_t>(v.data() + 36);
    if (t.partitions == 0 || t.partitions > kMaxPartitions)
        return make_error(ErrorKind::corrupt, "topic '{}': {} partitions", name, t.partitions);
    return t;
}

Status created(const Result<MDB_dbi>& d) {
    if (!d.ok()) return d.error();
    return {};
}

}  // namespace

std::string records_db(std::uint32_t topic_id, std::uint32_t partition) {
    return fmt::format("r:{}:{}", topic_id, partition);
}
std::string streams_db(std::uint32_t topic_id) { return fmt::format("s:{}", topic_id); }
std::string runs_db(std::uint32_t topic_id) { return fmt::format("h:{}", topic_id); }
std::string ids_db(std::uint32_t topic_id) { return fmt::format("i:{}", topic_id); }
std::string id_heads_db(std::uint32_t topic_id) { return fmt::format("e:{}", topic_id); }
std::string id_runs_db(std::uint32_t topic_id) { return fmt::format("f:{}", topic_id); }
std::string keys_db(std::uint32_t topic_id) { return fmt::format("k:{}", topic_id); }
std::string tombstones_db(std::uint32_t topic_id, std::uint32_t partition) {
    return fmt::format("t:{}:{}", topic_id, partition);
}

Micros clock_now() {
    static const Micros fixed = [] {
        const char* s = std::getenv("EVT_NOW");
        if (!s || !*s) return Micros(0);
        std::string_view text(s);
        Micros v = 0;
        auto r = std::from_chars(text.data(), text.data() + text.size(), v);
        if (r.ec == std::errc() && r.ptr == text.data() + text.size()) return v;
        auto t = parse_time(text, now_micros());
        return t.ok() ? *t : Micros(0);
    }();
    return fixed ? fixed : now_micros();
}

Result<MDB_dbi> records_dbi(Txn& txn, std::uint32_t topic_id, std::uint32_t partition, bool create) {
    return txn.dbi(records_db(topic_id, partition), create, MDB_INTEGERKEY);
}
Result<MDB_dbi> streams_dbi(Txn& txn, std::uint32_t topic_id, bool create) {
    return txn.dbi(streams_db(topic_id), create, MDB_INTEGERKEY);
}
Result<MDB_dbi> runs_dbi(Txn& txn, std::uint32_t topic_id, bool create) {
    return txn.dbi(runs_db(topic_id), create, MDB_INTEGERKEY);
}
namespace {
// A database that may not exist: nullopt when it does not.
Result<std::optional<MDB_dbi>> if_any(Result<MDB_dbi> d) {
    if (d.ok()) return std::optional<MDB_dbi>(*d);
    if (d.error().kind == ErrorKind::not_found) return std::optional<MDB_dbi>();
    return d.error();
}
}  // namespace
Result<std::optional<MDB_dbi>> runs_dbi_if_any(Txn& txn, std::uint32_t topic_id) {
    return if_any(runs_dbi(txn, topic_id, false));
}
Result<MDB_dbi> ids_dbi(Txn& txn, std::uint32_t topic_id, bool create) {
    return txn.dbi(ids_db(topic_id), create, MDB_INTEGERKEY | MDB_DUPSORT | MDB_DUPFIXED);
}
Result<MDB_dbi> id_heads_dbi(Txn& txn, std::uint32_t topic_id, bool create) {
    return txn.dbi(id_heads_db(topic_id), create, MDB_INTEGERKEY);
}
Result<MDB_dbi> id_runs_dbi(Txn& txn, std::uint32_t topic_id, bool create) {
    return txn.dbi(id_runs_db(topic_id), create, MDB_INTEGERKEY);
}
Result<std::optional<MDB_dbi>> id_runs_dbi_if_any(Txn& txn, std::uint32_t topic_id) {
    return if_any(id_runs_dbi(txn, topic_id, false));
}
Result<MDB_dbi> keys_dbi(Txn& txn, std::uint32_t topic_id, bool create) {
    return txn.dbi(keys_db(topic_id), create, MDB_INTEGERKEY);
}
Result<MDB_dbi> tombstones_dbi(Txn& txn, std::uint32_t topic_id, std::uint32_t partition, bool create) {
    return txn.dbi(tombstones_db(topic_id, partition), create, MDB_INTEGERKEY);
}

Status check_topic_name(std::string_view name) {
    if (name.empty()) return Error{ErrorKind::usage, "a topic name cannot be empty"};
    if (name.size() > 249) return make_error(ErrorKind::usage, "topic name '{}' is longer than 249 characters", name);
    if (name == "." || name == "..") return make_error(ErrorKind::usage, "'{}' is not a valid topic name", name);
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '-';
        if (!ok)
            return make_error(ErrorKind::usage,
                              "topic name '{}' may only contain letters, digits, '.', '_' and '-'", name);
    }
    return {};
}

Result<std::unique_ptr<Log>> Log::open(const std::string& path, Access access) {
    if (path.find("://") != std::string::npos)
        return make_error(ErrorKind::unavailable, "'{}': this build of evt has no backend for that URL; use a log directory",
                          path);
    std::unique_ptr<Log> log(new Log());
    log->path_ = path;
    EVT_ASSIGN(store::Env * env,
               store::Env::open_new(path, access == Access::write ? store::Env::Mode::write : store::Env::Mode::read));
    log->env_.reset(env);
    EVT_TRY(log->check_format(access == Access::write));
    return log;
}

Status Log::check_format(bool stamp) {
    {
        EVT_ASSIGN(auto txn, env_->read());
        auto dbi = txn.dbi(kMetaDb, false);
        if (dbi.ok()) {
            std::string_view v;
            EVT_ASSIGN(bool found, txn.get(*dbi, "format", v));
            if (found) {
                std::uint32_t version = v.size() == 4 ? get_le<std::uint32_t>(v.data()) : 0;
                if (!readable_format(version))
                    return make_error(ErrorKind::corrupt,
                                      "'{}': unknown log format version {} (this evt reads versions {} to {})",
                                      path_, version, kFormatVersionOldest, kFormatVersion);
                if (version == kFormatVersion) return {};
            }
        } else if (dbi.error().kind != ErrorKind::not_found) {
            return dbi.error();
        }
    }
    if (!stamp) return {};
    // A new log gets the version. An older log is converted by its first
    // writer, in the transaction that stamps it: an evt that reads only the
    // older version must not see what this writer adds (version 3 added the
    // stream-head runs, 4 the blocks of stream heads).
    return write([&](WriteTxn& txn) -> Status {
        EVT_ASSIGN(MDB_dbi meta, txn.dbi(kMetaDb, true));
        std::string_view existing;
        EVT_ASSIGN(bool found, txn.get(meta, "format", existing));
        // (another process may have stamped it meanwhile)
        std::uint32_t version = found && existing.size() == 4 ? get_le<std::uint32_t>(existing.data()) : 0;
        if (found && (version == kFormatVersion || !readable_format(version))) return {};
        if (found && stream::layout_of_format(version) == stream::Layout::legacy) {
            EVT_ASSIGN(std::vector<TopicConfig> all, topics(txn));
            for (const TopicConfig& t : all) {
                auto index = streams_dbi(txn, t.id, false);
                if (!index.ok() && index.error().kind != ErrorKind::not_found) return index.error();
                if (index.ok()) {
                    EVT_ASSIGN(auto runs, runs_dbi_if_any(txn, t.id));
                    EVT_TRY(stream::upgrade_index(txn, *index, runs));
                }
                EVT_TRY(upgrade_ids(txn, t));
            }
        }
        char v[4];
        put_le<std::uint32_t>(v, kFormatVersion);
        EVT_TRY(txn.put(meta, "format", std::string_view(v, 4)));
        if (found) return {};
        return txn.put(meta, "next_topic_id", std::string_view("\1\0\0\0", 4));
    });
}

// Format 4 keeps one head per event id (its latest record) in blocks, e:/f:
// (schemas/STORAGE.md section 7); versions 2 and 3 kept every appended
// event's (id hash, time, partition, offset) in i:. The ids are read from the
// records; entries whose record is gone are stale and left out.
Status Log::upgrade_ids(WriteTxn& txn, const TopicConfig& t) {
    auto old = ids_dbi(txn, t.id, false);
    if (!old.ok()) return old.error().kind == ErrorKind::not_found ? Status() : Status(old.error());
    LatestIds latest;
    {
        EVT_ASSIGN(Cursor c, Cursor::open(txn, *old));
        MDB_val k, v;
        for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
            EVT_ASSIGN(bool more, c.get(k, v, op));
            if (!more) break;
            if (v.mv_size != 20) continue;
            const char* d = static_cast<const char*>(v.mv_data);
            std::uint32_t p = get_le<std::uint32_t>(d + 8);
            std::uint64_t off = get_le<std::uint64_t>(d + 12);
            RecordView rec;
            bool found = false;
            if (p < t.partitions) {
                EVT_ASSIGN(found, record_at(txn, t, p, off, rec));
            }
            if (found) latest.add(rec.json, rec.time, p, off);
        }
    }
    std::vector<stream::NewHead> heads = latest.take();
    EVT_ASSIGN(MDB_dbi index, id_heads_dbi(txn, t.id, true));
    EVT_ASSIGN(auto runs, id_runs_dbi_if_any(txn, t.id));
    EVT_TRY(stream::rebuild_index(txn, index, runs, std::move(heads)));
    EVT_TRY(txn.drop(*old, true));
    env_->dbi_cache().erase(ids_db(t.id));
    return {};
}

Result<std::uint32_t> stored_format(Txn& txn) {
    auto meta = txn.dbi(kMetaDb, false);
    if (!meta.ok()) return meta.error().kind == ErrorKind::not_found ? Result<std::uint32_t>(kFormatVersion) : meta.error();
    std::string_view v;
    EVT_ASSIGN(bool found, txn.get(*meta, "format", v));
    if (!found || v.size() != 4) return kFormatVersion;
    return get_le<std::uint32_t>(v.data());
}

Status Log::write(const std::function<Status(WriteTxn&)>& fn) {
    for (int attempt = 0;; ++attempt) {
        EVT_ASSIGN(WriteTxn txn, env_->write());
        Status s = fn(txn);
        if (s.ok()) s = txn.commit();
        if (s.ok()) return s;
        txn.abort();
        if (!store::is_map_full(s.error()) || attempt >= 16) return s;
        EVT_TRY(env_->grow());
    }
}

Result<std::optional<TopicConfig>> Log::find_topic(Txn& txn, std::string_view name) {
    auto dbi = txn.dbi(kTopicsDb, false);
    if (!dbi.ok()) {
        if (dbi.error().kind == ErrorKind::not_found) return std::optional<TopicConfig>();
        return dbi.error();
    }
    std::string_view v;
    EVT_ASSIGN(bool found, txn.get(*dbi, name, v));
    if (!found) return std::optional<TopicConfig>();
    EVT_ASSIGN(TopicConfig t, decode_topic(name, v));
    return std::optional<TopicConfig>(std::move(t));
}

Result<TopicConfig> Log::topic(Txn& txn, std::string_view name) {
    EVT_ASSIGN(auto t, find_topic(txn, name));
    if (!t) return make_error(ErrorKind::not_found, "no such topic '{}'", name);
    return *t;
}

Result<std::vector<TopicConfig>> Log::topics(Txn& txn) {
    std::vector<TopicConfig> out;
    auto dbi = txn.dbi(kTopicsDb, false);
    if (!dbi.ok()) {
        if (dbi.error().kind == ErrorKind::not_found) return out;
        return dbi.error();
    }
    EVT_ASSIGN(Cursor c, Cursor::open(txn, *dbi));
    MDB_val k, v;
    for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
        EVT_ASSIGN(bool more, c.get(k, v, op));
        if (!more) break;
        EVT_ASSIGN(TopicConfig t, decode_topic(store::view(k), store::view(v)));
        out.push_back(std::move(t));
    }
    return out;
}

Status Log::write_topic(WriteTxn& txn, const TopicConfig& t) {
    EVT_ASSIGN(MDB_dbi topics, txn.dbi(kTopicsDb, true));
    return txn.put(topics, t.name, encode_topic(t));
}

Result<TopicConfig> Log::create_topic(WriteTxn& txn, std::string_view name, const TopicOptions& o) {
    EVT_TRY(check_topic_name(name));
    if (o.partitions == 0 || o.partitions > kMaxPartitions)
        return make_error(ErrorKind::usage, "--partitions must be between 1 and {}", kMaxPartitions);
    EVT_ASSIGN(auto existing, find_topic(txn, name));
    if (existing) return make_error(ErrorKind::conflict, "topic '{}' already exists", name);
    EVT_ASSIGN(MDB_dbi meta, txn.dbi(kMetaDb, true));
    std::string_view idv;
    EVT_ASSIGN(bool found, txn.get(meta, "next_topic_id", idv));
    std::uint32_t id = found && idv.size() == 4 ? get_le<std::uint32_t>(idv.data()) : 1;
    char next[4];
    put_le<std::uint32_t>(next, id + 1);
    EVT_TRY(txn.put(meta, "next_topic_id", std::string_view(next, 4)));
    if (o.retention < 0 || o.tombstone_retention < 0)
        return Error{ErrorKind::usage, "a retention cannot be negative"};
    TopicConfig t{std::string(name), id, o.partitions, clock_now(), o.retention, o.retention_bytes, o.compact,
                  o.tombstone_retention};
    for (std::uint32_t p = 0; p < t.partitions; ++p) EVT_TRY(created(records_dbi(txn, id, p, true)));
    if (t.compact) {
        EVT_TRY(created(keys_dbi(txn, id, true)));
        for (std::uint32_t p = 0; p < t.partitions; ++p) EVT_TRY(created(tombstones_dbi(txn, id, p, true)));
    }
    EVT_TRY(created(streams_dbi(txn, id, true)));
    EVT_TRY(created(id_heads_dbi(txn, id, true)));
    EVT_TRY(write_topic(txn, t));
    return t;
}

Result<TopicConfig> Log::create_topic(std::string_view name, const TopicOptions& o) {
    EVT_TRY(check_topic_name(name));
    TopicConfig t;
    Status s = write([&](WriteTxn& txn) -> Status {
        EVT_ASSIGN(t, create_topic(txn, name, o));
        return {};
    });
    if (!s.ok()) return s.error();
    return t;
}

Result<TopicConfig> Log::ensure_topic(std::string_view name, const TopicOptions& o) {
    {
        EVT_ASSIGN(auto txn, env_->read());
        EVT_ASSIGN(auto t, find_topic(txn, name));
        if (t) return *t;
    }
    auto created = create_topic(name, o);
    if (!created.ok() && created.error().kind == ErrorKind::conflict) {  // lost a race: fine
        EVT_ASSIGN(auto txn, env_->read());
        return topic(txn, name);
    }
    return created;
}

Result<TopicConfig> Log::alter_partitions(std::string_view name, std::uint32_t partitions) {
    TopicConfig t;
    Status s = write([&](WriteTxn& txn) -> Status {
        EVT_ASSIGN(t, topic(txn, name));
        if (partitions < t.partitions)
            return make_error(ErrorKind::usage, "topic '{}' has {} partitions; partitions can only be added", name,
                              t.partitions);
        if (partitions == t.partitions)
            return make_error(ErrorKind::usage, "topic '{}' already has {} partitions", name, t.partitions);
        if (partitions > kMaxPartitions)
            return make_error(ErrorKind::usage, "--partitions must be between 1 and {}", kMaxPartitions);
        for (std::uint32_t p = t.partitions; p < partitions; ++p) {
            EVT_TRY(created(records_dbi(txn, t.id, p, true)));
            if (t.compact) EVT_TRY(created(tombstones_dbi(txn, t.id, p, true)));
        }
        t.partitions = partitions;
        return write_topic(txn, t);
    });
    if (!s.ok()) return s.error();
    return t;
}

Status Log::delete_topic(std::string_view name) {
    return write([&](WriteTxn& txn) -> Status {
        EVT_ASSIGN(TopicConfig t, topic(txn, name));
        auto drop = [&](const std::string& db, unsigned flags) -> Status {
            auto d = txn.dbi(db, false, flags);
            if (!d.ok()) return d.error().kind == ErrorKind::not_found ? Status() : Status(d.error());
            Status s = txn.drop(*d, true);
            env_->dbi_cache().erase(db);
            return s;
        };
        for (std::uint32_t p = 0; p < t.partitions; ++p) {
            EVT_TRY(drop(records_db(t.id, p), MDB_INTEGERKEY));
            EVT_TRY(drop(tombstones_db(t.id, p), MDB_INTEGERKEY));
        }
        EVT_TRY(drop(keys_db(t.id), MDB_INTEGERKEY));
        EVT_TRY(drop(streams_db(t.id), MDB_INTEGERKEY));
        EVT_TRY(drop(runs_db(t.id), MDB_INTEGERKEY));
        EVT_TRY(drop(ids_db(t.id), MDB_INTEGERKEY | MDB_DUPSORT | MDB_DUPFIXED));
        EVT_TRY(drop(id_heads_db(t.id), MDB_INTEGERKEY));
        EVT_TRY(drop(id_runs_db(t.id), MDB_INTEGERKEY));
        EVT_ASSIGN(MDB_dbi topics, txn.dbi(kTopicsDb, true));
        return txn.del(topics, name);
    });
}

Result<PartitionInfo> Log::partition_info(Txn& txn, const TopicConfig& t, std::uint32_t p, bool with_bytes) {
    PartitionInfo info;
    info.partition = p;
    auto dbi = records_dbi(txn, t.id, p, false);
    if (!dbi.ok()) return dbi.error().kind == ErrorKind::not_found ? Result<PartitionInfo>(info) : dbi.error();
    EVT_ASSIGN(Cursor c, Cursor::open(txn, *dbi));
    MDB_val k, v;
    EVT_ASSIGN(bool any, c.get(k, v, MDB_FIRST));
    if (!any) {
        // No records: start and end are 0. Retention and compaction never
        // remove a partition's last record, so a partition that had records
        // always keeps its end offset (schemas/STORAGE.md section 5).
        return info;
    }
    info.start = offset_of(k.mv_data);
    EVT_ASSIGN(RecordView first, decode_record(store::view(v)));
    info.first_time = first.time;
    EVT_TRY(c.get(k, v, MDB_LAST));
    info.end = offset_of(k.mv_data) + 1;
    EVT_ASSIGN(RecordView last, decode_record(store::view(v)));
    info.last_time = last.time;
    if (with_bytes) {
        MDB_stat st;
        if (mdb_stat(txn.raw(), *dbi, &st) == 0) {
            info.bytes = static_cast<std::uint64_t>(st.ms_psize) *
                         (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages);
            info.records = st.ms_entries;
        }
    }
    return info;
}

Result<bool> Log::record_at(Txn& txn, const TopicConfig& t, std::uint32_t p, std::uint64_t offset, RecordView& out) {
    auto dbi = records_dbi(txn, t.id, p, false);
    if (!dbi.ok()) return dbi.error().kind == ErrorKind::not_found ? Result<bool>(false) : dbi.error();
    OffsetKey key(offset);
    std::string_view v;
    EVT_ASSIGN(bool found, txn.get(*dbi, key.view(), v));
    if (!found) return false;
    EVT_ASSIGN(out, decode_record(v));
    out.partition = p;
    out.offset = offset;
    return true;
}

Result<bool> Log::record_from(Txn& txn, const TopicConfig& t, std::uint32_t p, std::uint64_t offset,
                              RecordView& out) {
    auto dbi = records_dbi(txn, t.id, p, false);
    if (!dbi.ok()) return dbi.error().kind == ErrorKind::not_found ? Result<bool>(false) : dbi.error();
    EVT_ASSIGN(Cursor c, Cursor::open(txn, *dbi));
    OffsetKey key(offset);
    MDB_val k = store::val(key.view()), v;
    EVT_ASSIGN(bool found, c.get(k, v, MDB_SET_RANGE));
    if (!found) return false;
    EVT_ASSIGN(out, decode_record(store::view(v)));
    out.partition = p;
    out.offset = offset_of(k.mv_data);
    return true;
}

Result<std::uint64_t> Log::seek_time(Txn& txn, const TopicConfig& t, std::uint32_t p, Micros at) {
    EVT_ASSIGN(PartitionInfo info, partition_info(txn, t, p));
    std::uint64_t lo = info.start, hi = info.end;  // answer in [lo, hi]
    while (lo < hi) {
        std::uint64_t mid = lo + (hi - lo) / 2;
        RecordView r;
        // Compacted topics have gaps: the first record at or after mid stands for it.
        EVT_ASSIGN(bool found, record_from(txn, t, p, mid, r));
        if (!found || r.offset >= hi) {
            hi = mid;
            continue;
        }
        if (r.time < at) lo = r.offset + 1;
        else hi = mid;
    }
    return lo;
}

}  // namespace evt::log
