#include "core/log/verify.hpp"

#include <simdjson.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "core/log/appender.hpp"
#include "core/log/retention.hpp"
#include "core/stream/stream_index.hpp"
#include "core/util/hash.hpp"

namespace evt::log {

namespace {

// What the scan of one partition learned, by offset - start.
struct Part {
    std::uint64_t start = 0, end = 0;  // first present offset, last + 1
    bool any = false;
    std::vector<std::uint64_t> version;  // stream version of each record (0: none)
    std::vector<bool> present, linked, headed, keyed, key_indexed, tomb, tomb_indexed;
    bool has(std::uint64_t off) const { return any && off >= start && off < end && present[off - start]; }
    std::size_t at(std::uint64_t off) const { return static_cast<std::size_t>(off - start); }
};

class Verifier {
public:
    Verifier(Log& log, store::ReadTxn& txn, VerifyReport& r, std::size_t max,
             const std::function<void(std::uint64_t)>& progress)
        : log_(log), txn_(txn), r_(r), max_(max), progress_(progress),
          // (a log with no format stamp yet is written as the current version)
          layout_(stream::layout_of_format(r.format ? r.format : kFormatVersion)) {}

    Status topic(const TopicConfig& t) {
        ++r_.topics;
        parts_.assign(t.partitions, Part{});
        deferred_.clear();
        for (std::uint32_t p = 0; p < t.partitions; ++p) EVT_TRY(partition(t, p));
        for (const auto& d : deferred_) link(t, d.p, d.off, d.link);
        EVT_TRY(streams(t));
        tails(t);
        EVT_TRY(ids(t));
        if (t.compact) EVT_TRY(keys(t));
        return {};
    }

private:
    struct Deferred {
        std::uint32_t p;
        std::uint64_t off;
        StreamLink link;
    };

    void problem(const TopicConfig& t, std::uint32_t p, std::uint64_t off, bool positioned, std::string what) {
        if (r_.problems.size() < max_) r_.problems.push_back(Problem{t.name, p, off, positioned, std::move(what)});
    }

    // Whether a record that is absent may have been removed by the topic's
    // policies (rather than lost).
    bool may_be_removed(const TopicConfig& t, std::uint32_t p, std::uint64_t off) const {
        if (t.compact) return true;
        return t.expires() && p < parts_.size() && (!parts_[p].any || off < parts_[p].start);
    }

    Status partition(const TopicConfig& t, std::uint32_t p) {
        auto dbi = records_dbi(txn_, t.id, p, false);
        if (!dbi.ok()) {
            if (dbi.error().kind != ErrorKind::not_found) return dbi.error();
            problem(t, p, 0, false, fmt::format("partition {} has no database", p));
            return {};
        }
        Part& part = parts_[p];
        EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn_, *dbi));
        MDB_val k, v;
        EVT_ASSIGN(bool any, c.get(k, v, MDB_LAST));
        if (!any) return {};
        if (k.mv_size == 8) part.end = offset_of(k.mv_data) + 1;
        EVT_TRY(c.get(k, v, MDB_FIRST));
        if (k.mv_size == 8) part.start = offset_of(k.mv_data);
        if (part.end < part.start || part.end - part.start > (1ull << 34)) {
            problem(t, p, part.start, true, "the partition's offsets are malformed");
            return {};
        }
        part.any = true;
        std::size_t n = static_cast<std::size_t>(part.end - part.start);
        part.version.assign(n, 0);
        for (auto* b : {&part.present, &part.linked, &part.headed, &part.keyed, &part.key_indexed, &part.tomb,
                        &part.tomb_indexed})
            b->assign(n, false);
        bool first = true;
        std::uint64_t expect = 0;
        Micros last_time = 0;
        for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
            EVT_ASSIGN(bool more, c.get(k, v, op));
            if (!more) break;
            if (k.mv_size != 8) {
                problem(t, p, 0, false, "a key is not an 8-byte offset");
                continue;
            }
            std::uint64_t off = offset_of(k.mv_data);
            if (!first && off != expect && !t.compact)
                problem(t, p, off, true,
                        fmt::format("offsets are not dense: {} follows {} (offsets {}..{} are missing)", off,
                                    expect - 1, expect, off - 1));
            first = false;
            expect = off + 1;
            ++r_.records;
            if (progress_ && (r_.records & 0xffff) == 0) progress_(r_.records);
            auto rec = verify_record(store::view(v));
            if (!rec.ok()) {
                problem(t, p, off, true, rec.error().message);
                // Still a record: its links count, so one bad byte is one finding.
                rec = decode_record(store::view(v));
                if (!rec.ok()) continue;
            }
            std::size_t i = part.at(off);
            part.present[i] = true;
            part.version[i] = rec->link.version;
            if (rec->time < last_time) problem(t, p, off, true, "append time goes backwards");
            last_time = rec->time;
            if (rec->tombstone) {
                if (!t.compact) problem(t, p, off, true, "a tombstone in a topic that is not compacted");
                part.tomb[i] = true;
            }
            if (t.compact && rec->has_key) part.keyed[i] = true;
            if (rec->link.version >= 2) {
                if (rec->link.prev_partition <= p) link(t, p, off, rec->link);
                else deferred_.push_back(Deferred{p, off, rec->link});
            } else if (rec->link.version == 1 && rec->link.prev_offset != kNoOffset) {
                problem(t, p, off, true, "version 1 of a stream links to a predecessor");
            }
        }
        return {};
    }

    void link(const TopicConfig& t, std::uint32_t p, std::uint64_t off, const StreamLink& l) {
        if (l.prev_partition >= t.partitions) {
            problem(t, p, off, true, "stream link names a partition that does not exist");
            return;
        }
        Part& prev = parts_[l.prev_partition];
        if (!prev.has(l.prev_offset)) {
            if (!may_be_removed(t, l.prev_partition, l.prev_offset))
                problem(t, p, off, true,
                        fmt::format("stream link to {}/{} finds no record", l.prev_partition, l.prev_offset));
            return;
        }
        std::size_t i = prev.at(l.prev_offset);
        prev.linked[i] = true;
        if (prev.version[i] + 1 != l.version)
            problem(t, p, off, true, fmt::format("stream version {} links to version {}", l.version, prev.version[i]));
    }

    // Each head must point at a record whose version is the head's.
    Status streams(const TopicConfig& t) {
        auto dbi = streams_dbi(txn_, t.id, false);
        if (!dbi.ok()) return dbi.error().kind == ErrorKind::not_found ? Status() : Status(dbi.error());
        EVT_ASSIGN(auto runs, runs_dbi_if_any(txn_, t.id));
        return stream::each_head(txn_, *dbi, runs, layout_, [&](const stream::Head& h, std::string_view subject) {
            ++r_.streams;
            if (!h.exists) {
                problem(t, 0, 0, false, "a stream head is too short");
                return;
            }
            std::uint32_t p = h.last_partition;
            std::uint64_t off = h.last_offset;
            bool found = p < t.partitions && parts_[p].has(off);
            if (!found && p < t.partitions && may_be_removed(t, p, off)) return;
            if (found) parts_[p].headed[parts_[p].at(off)] = true;
            if (!found || parts_[p].version[parts_[p].at(off)] != h.version)
                problem(t, p, off, true,
                        fmt::format("the head of stream '{}' (version {}) does not match its last record", subject,
                                    h.version));
        });
    }

    // The last record of each stream must be named by a head.
    void tails(const TopicConfig& t) {
        if (t.compact || (t.expires() && t.partitions > 1)) return;
        for (std::uint32_t p = 0; p < t.partitions; ++p) {
            const Part& part = parts_[p];
            for (std::size_t i = 0; i < part.version.size(); ++i)
                if (part.present[i] && part.version[i] && !part.linked[i] && !part.headed[i])
                    problem(t, p, part.start + i, true,
                            fmt::format("the last record of a stream (version {}) has no stream head", part.version[i]));
        }
    }

    // Every id-index entry must name a record with that id and time (its id
    // hash, in format versions 2 and 3). The entries are checked in record
    // order, so the records are read nearly sequentially rather than at random.
    Status ids(const TopicConfig& t) {
        struct Entry {
            std::uint32_t p;
            std::uint64_t off;
            std::uint64_t hash;
            Micros time;
            std::string id;  // (format 4)
        };
        std::vector<Entry> entries;
        bool legacy = layout_ == stream::Layout::legacy;
        if (legacy) {
            auto dbi = ids_dbi(txn_, t.id, false);
            if (!dbi.ok()) return dbi.error().kind == ErrorKind::not_found ? Status() : Status(dbi.error());
            EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn_, *dbi));
            MDB_val k, v;
            for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
                EVT_ASSIGN(bool more, c.get(k, v, op));
                if (!more) break;
                ++r_.ids;
                if (k.mv_size != 8 || v.mv_size != 20) {
                    problem(t, 0, 0, false, "an id-index entry is malformed");
                    continue;
                }
                const char* d = static_cast<const char*>(v.mv_data);
                entries.push_back(Entry{get_le<std::uint32_t>(d + 8), get_le<std::uint64_t>(d + 12),
                                        offset_of(k.mv_data), get_le<std::int64_t>(d), {}});
            }
        } else {
            auto dbi = id_heads_dbi(txn_, t.id, false);
            if (!dbi.ok()) return dbi.error().kind == ErrorKind::not_found ? Status() : Status(dbi.error());
            EVT_ASSIGN(auto runs, id_runs_dbi_if_any(txn_, t.id));
            EVT_TRY(stream::each_head(txn_, *dbi, runs, [&](const stream::Head& h, std::string_view id) {
                ++r_.ids;
                entries.push_back(Entry{h.last_partition, h.last_offset, 0, static_cast<Micros>(h.version), std::string(id)});
            }));
        }
        std::sort(entries.begin(), entries.end(),
                  [](const Entry& a, const Entry& b) { return a.p != b.p ? a.p < b.p : a.off < b.off; });
        store::Cursor rc;
        std::uint32_t open_p = ~0u;
        for (const Entry& e : entries) {
            if (e.p >= t.partitions || !parts_[e.p].has(e.off)) {
                if (e.p >= t.partitions || !may_be_removed(t, e.p, e.off))
                    problem(t, e.p, e.off, true, "an id-index entry names no record");
                continue;
            }
            if (e.p != open_p) {
                EVT_ASSIGN(MDB_dbi rd, records_dbi(txn_, t.id, e.p, false));
                EVT_ASSIGN(rc, store::Cursor::open(txn_, rd));
                open_p = e.p;
            }
            OffsetKey key(e.off);
            MDB_val k = store::val(key.view()), v;
            EVT_ASSIGN(bool found, rc.get(k, v, MDB_SET_KEY));
            RecordView rec;
            if (!found || !decode_record(store::view(v), rec)) continue;
            bool same = rec.time == e.time &&
                        (legacy ? id_hash(stored_event_id(rec.json)) == e.hash : stored_event_id(rec.json) == e.id);
            if (!same) problem(t, e.p, e.off, true, "an id-index entry does not match its record's id or time");
        }
        return {};
    }

    // Compacted topics: the key index names each key's record, every keyed
    // record is its key's latest, and the tombstone index lists the tombstones.
    Status keys(const TopicConfig& t) {
        auto kd = keys_dbi(txn_, t.id, false);
        if (kd.ok()) {
            EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn_, *kd));
            MDB_val k, v;
            for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
                EVT_ASSIGN(bool more, c.get(k, v, op));
                if (!more) break;
                ++r_.keys;
                std::string_view value = store::view(v);
                if (value.size() < 12) {
                    problem(t, 0, 0, false, "a key-index entry is too short");
                    continue;
                }
                std::uint32_t p = get_le<std::uint32_t>(value.data());
                std::uint64_t off = get_le<std::uint64_t>(value.data() + 4);
                if (off == kNoOffset) continue;
                if (p >= t.partitions || !parts_[p].has(off)) {
                    problem(t, p, off, true, fmt::format("the key index names no record for key '{}'", value.substr(12)));
                    continue;
                }
                RecordView rec;
                EVT_ASSIGN(bool found, log_.record_at(txn_, t, p, off, rec));
                if (!found || !rec.has_key || rec.key != value.substr(12)) {
                    problem(t, p, off, true, fmt::format("the key index entry of '{}' names a record of another key",
                                                         value.substr(12)));
                    continue;
                }
                parts_[p].key_indexed[parts_[p].at(off)] = true;
            }
        } else if (kd.error().kind != ErrorKind::not_found) {
            return kd.error();
        }
        for (std::uint32_t p = 0; p < t.partitions; ++p) {
            Part& part = parts_[p];
            auto td = tombstones_dbi(txn_, t.id, p, false);
            if (td.ok()) {
                EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn_, *td));
                MDB_val k, v;
                for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
                    EVT_ASSIGN(bool more, c.get(k, v, op));
                    if (!more) break;
                    std::uint64_t off = k.mv_size == 8 ? offset_of(k.mv_data) : 0;
                    if (part.has(off) && part.tomb[part.at(off)]) part.tomb_indexed[part.at(off)] = true;
                    else if (part.has(off)) problem(t, p, off, true, "the tombstone index names a record that is no tombstone");
                    // an entry of a removed record is harmless: the next clean drops it
                }
            } else if (td.error().kind != ErrorKind::not_found) {
                return td.error();
            }
            for (std::size_t i = 0; i < part.present.size(); ++i) {
                if (!part.present[i]) continue;
                std::uint64_t off = part.start + i;
                if (part.keyed[i] && !part.key_indexed[i] && off + 1 != part.end)
                    problem(t, p, off, true, "a keyed record of a compacted topic is not its key's latest "
                                             "(superseded, or the key index lost it)");
                if (part.tomb[i] && !part.tomb_indexed[i])
                    problem(t, p, off, true, "a tombstone is missing from the tombstone index");
            }
        }
        return {};
    }

    Log& log_;
    store::ReadTxn& txn_;
    VerifyReport& r_;
    std::size_t max_;
    const std::function<void(std::uint64_t)>& progress_;
    stream::Layout layout_;  // of the stream and id indexes, by the log's format
    std::vector<Part> parts_;
    std::vector<Deferred> deferred_;
};

Result<std::vector<TopicConfig>> chosen(Log& log, store::Txn& txn, const std::vector<std::string>& names) {
    std::vector<TopicConfig> topics;
    if (names.empty()) return log.topics(txn);
    for (const auto& n : names) {
        EVT_ASSIGN(TopicConfig t, log.topic(txn, n));
        topics.push_back(std::move(t));
    }
    return topics;
}

}  // namespace

Result<VerifyReport> verify(Log& log, const std::vector<std::string>& names, std::size_t max_problems,
                            const std::function<void(std::uint64_t)>& progress) {
    VerifyReport report;
    EVT_ASSIGN(store::ReadTxn txn, log.env().read());
    {
        auto meta = txn.dbi("meta", false);
        std::string_view v;
        bool found = false;
        if (meta.ok()) {
            EVT_ASSIGN(found, txn.get(*meta, "format", v));
        }
        report.format = found && v.size() == 4 ? get_le<std::uint32_t>(v.data()) : 0;
        if (report.format != 0 && !readable_format(report.format))
            report.problems.push_back(
                Problem{"(log)", 0, 0, false, fmt::format("format version {} (expected {})", report.format, kFormatVersion)});
    }
    EVT_ASSIGN(std::vector<TopicConfig> topics, chosen(log, txn, names));
    Verifier v(log, txn, report, max_problems, progress);
    for (const auto& t : topics) EVT_TRY(v.topic(t));
    return report;
}

namespace {

// Rebuilds the stream heads of one topic from its records.
Status rebuild_heads(Log& log, store::WriteTxn& txn, const TopicConfig& t, RepairReport& rep) {
    struct Latest {
        std::uint64_t version;
        std::uint32_t partition;
        std::uint64_t offset;
    };
    std::unordered_map<std::string, Latest> latest;
    simdjson::dom::parser parser;
    std::vector<std::uint64_t> starts(t.partitions, 0);
    for (std::uint32_t p = 0; p < t.partitions; ++p) {
        EVT_ASSIGN(PartitionInfo info, log.partition_info(txn, t, p));
        starts[p] = info.count() ? info.start : info.end;
        auto dbi = records_dbi(txn, t.id, p, false);
        if (!dbi.ok()) continue;
        EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, *dbi));
        MDB_val k, v;
        for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
            EVT_ASSIGN(bool more, c.get(k, v, op));
            if (!more) break;
            RecordView rec;
            if (!decode_record(store::view(v), rec) || !rec.link.version) continue;
            simdjson::dom::element doc;
            std::string_view subject;
            if (parser.parse(rec.json.data(), rec.json.size()).get(doc) || doc["subject"].get_string().get(subject))
                continue;
            auto [it, fresh] = latest.try_emplace(std::string(subject), Latest{0, 0, 0});
            if (fresh || rec.link.version > it->second.version)
                it->second = Latest{rec.link.version, p, offset_of(k.mv_data)};
        }
    }
    // Heads of streams whose records retention removed stay.
    EVT_ASSIGN(MDB_dbi sd, streams_dbi(txn, t.id, true));
    EVT_ASSIGN(auto runs, runs_dbi_if_any(txn, t.id));
    std::vector<stream::NewHead> heads;
    Status walked = stream::each_head(txn, sd, runs, [&](const stream::Head& h, std::string_view subject) {
        if (latest.count(std::string(subject))) return;
        if (h.last_partition < t.partitions &&
            (t.compact || (t.expires() && h.last_offset < starts[h.last_partition])))
            heads.push_back(stream::NewHead{std::string(subject), h.version, h.last_partition, h.last_offset});
    });
    // (an index too damaged to walk is rebuilt from the records alone)
    if (!walked.ok() && walked.error().kind != ErrorKind::corrupt) return walked;
    for (auto& [s, l] : latest) heads.push_back(stream::NewHead{s, l.version, l.partition, l.offset});
    rep.heads += heads.size();
    return stream::rebuild_index(txn, sd, runs, std::move(heads));
}

// Rebuilds the key and tombstone indexes of a compacted topic: the latest
// record of each key (by partition order, then offset) is indexed.
Status rebuild_keys(store::WriteTxn& txn, const TopicConfig& t, RepairReport& rep) {
    EVT_ASSIGN(MDB_dbi kd, keys_dbi(txn, t.id, true));
    EVT_TRY(txn.drop(kd, false));
    EVT_ASSIGN(store::Cursor keys, store::Cursor::open(txn, kd));
    for (std::uint32_t p = 0; p < t.partitions; ++p) {
        EVT_ASSIGN(MDB_dbi td, tombstones_dbi(txn, t.id, p, true));
        EVT_TRY(txn.drop(td, false));
        auto dbi = records_dbi(txn, t.id, p, false);
        if (!dbi.ok()) continue;
        EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, *dbi));
        MDB_val k, v;
        for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
            EVT_ASSIGN(bool more, c.get(k, v, op));
            if (!more) break;
            RecordView rec;
            if (!decode_record(store::view(v), rec) || !rec.has_key) continue;
            std::uint64_t off = offset_of(k.mv_data);
            std::string key(rec.key);
            EVT_ASSIGN(KeyEntry e, find_key(keys, key));
            if (!e.exists) ++rep.keys;
            e.partition = p;
            e.offset = off;
            EVT_TRY(put_key(keys, key, e));
            if (rec.tombstone) {
                OffsetKey tk(off);
                EVT_TRY(txn.put(td, tk.view(), std::string_view()));
                ++rep.tombstones;
            }
        }
    }
    return {};
}

}  // namespace

Result<RepairReport> repair(Log& log, const std::vector<std::string>& names) {
    RepairReport total;
    std::vector<TopicConfig> topics;
    {
        EVT_ASSIGN(store::ReadTxn txn, log.env().read());
        EVT_ASSIGN(topics, chosen(log, txn, names));
    }
    for (const auto& t : topics) {
        RepairReport rep;
        EVT_TRY(log.write([&](store::WriteTxn& txn) -> Status {
            rep = RepairReport{};
            EVT_TRY(rebuild_heads(log, txn, t, rep));
            if (t.compact) EVT_TRY(rebuild_keys(txn, t, rep));
            EVT_ASSIGN(rep.ids_dropped, drop_stale_ids(log, txn, t, true));
            return {};
        }));
        total.heads += rep.heads;
        total.keys += rep.keys;
        total.tombstones += rep.tombstones;
        total.ids_dropped += rep.ids_dropped;
    }
    return total;
}

}  // namespace evt::log
