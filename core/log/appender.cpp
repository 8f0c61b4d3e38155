#include "core/log/appender.hpp"

#include "core/log/retention.hpp"
#include "core/stream/stream_index.hpp"
#include "core/util/hash.hpp"

#include <algorithm>
#include <charconv>
#include <numeric>

namespace evt::log {

using store::Cursor;
using store::WriteTxn;

std::uint64_t id_hash(std::string_view id) noexcept { return hash64(id); }

Result<ExpectVersion> parse_expect_version(std::string_view text) {
    ExpectVersion e;
    if (text == "any") e.kind = ExpectVersion::Kind::any;
    else if (text == "no-stream") e.kind = ExpectVersion::Kind::no_stream;
    else if (text == "exists") e.kind = ExpectVersion::Kind::exists;
    else {
        std::uint64_t n = 0;
        auto r = std::from_chars(text.data(), text.data() + text.size(), n);
        if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size())
            return make_error(ErrorKind::usage, "invalid --expect-version '{}' (any, no-stream, exists or a number)",
                              text);
        e.kind = ExpectVersion::Kind::exact;
        e.version = n;
    }
    return e;
}

Appender::Appender(Log& log, TopicConfig topic, AppendOptions options)
    : log_(log), topic_(std::move(topic)), opt_(std::move(options)),
      rr_(static_cast<std::uint32_t>(now_micros() / 1000)) {}

Status Batch::add(const event::Prepared& e) {
    if (e.key.size() > 0xffff) return Error{ErrorKind::invalid, "the routing key is longer than 65535 bytes"};
    if (e.type.size() > 0xffff) return Error{ErrorKind::invalid, "'type' is longer than 65535 bytes"};
    if (opt_.idempotent && e.id.size() > 0xffff) return Error{ErrorKind::invalid, "'id' is longer than 65535 bytes"};
    if (opt_.expect) {
        if (!e.has_subject) return Error{ErrorKind::invalid, "--expect-version needs events with a 'subject'"};
        if (!items_.empty() && str(items_[0].subject_off, items_[0].subject_len) != e.subject)
            return Error{ErrorKind::invalid, "--expect-version needs all events to have the same 'subject'"};
    }
    auto put = [&](std::string_view s) {
        auto off = static_cast<std::uint32_t>(arena_.size());
        arena_.append(s);
        return off;
    };
    Item it{};
    it.json_off = put(e.json);
    it.json_len = static_cast<std::uint32_t>(e.json.size());
    it.subject_off = put(e.subject);
    it.subject_len = static_cast<std::uint32_t>(e.subject.size());
    it.key_off = put(e.key);
    it.key_len = static_cast<std::uint32_t>(e.key.size());
    it.type_off = put(e.type);
    it.type_len = static_cast<std::uint32_t>(e.type.size());
    it.id_off = put(e.id);
    it.id_len = static_cast<std::uint32_t>(e.id.size());
    it.id_hash = opt_.idempotent ? id_hash(e.id) : 0;
    if (e.has_subject) it.subject_hash = stream::subject_hash(e.subject);
    it.has_key = e.has_key;
    it.has_subject = e.has_subject;
    if (e.has_key) it.key_partition_hash = static_cast<std::uint32_t>(murmur2(e.key) & 0x7fffffff);
    it.payload_crc = payload_crc(e.key, e.type, e.json);
    if (arena_.size() > 0xf0000000u) return Error{ErrorKind::invalid, "batch too large"};
    items_.push_back(it);
    return {};
}

Status Appender::check_expected(WriteTxn& txn, MDB_dbi streams) {
    if (batch_->items_.empty()) return {};
    std::string_view subject = str(batch_->items_[0].subject_off, batch_->items_[0].subject_len);
    EVT_ASSIGN(auto runs, runs_dbi_if_any(txn, topic_.id));
    EVT_ASSIGN(stream::Heads heads, stream::Heads::open(txn, streams, runs));
    EVT_ASSIGN(stream::Head head, heads.find(subject, batch_->items_[0].subject_hash));
    std::uint64_t current = head.version;
    const ExpectVersion& e = *opt_.expect;
    bool ok = e.kind == ExpectVersion::Kind::any || (e.kind == ExpectVersion::Kind::no_stream && current == 0) ||
              (e.kind == ExpectVersion::Kind::exists && current > 0) ||
              (e.kind == ExpectVersion::Kind::exact && current == e.version);
    if (ok) return {};
    std::string want = e.kind == ExpectVersion::Kind::no_stream ? "no stream"
                       : e.kind == ExpectVersion::Kind::exists  ? "an existing stream"
                                                                : fmt::format("version {}", e.version);
    return make_error(ErrorKind::conflict, "stream '{}' is at version {}, expected {}; nothing was written", subject,
                      current, want);
}

namespace {
// Sorts by (hash, index) for entries made in index order: a counting sort on
// the top 16 bits of the (uniform) hash, then insertion sort of the small
// buckets. Much cheaper than a comparison sort of the 48-byte entries.
template <class Entry>
void sort_by_hash(std::vector<Entry>& v) {
    if (v.size() < 64) {
        std::stable_sort(v.begin(), v.end(), [](const Entry& a, const Entry& b) { return a.hash < b.hash; });
        return;
    }
    std::vector<std::uint32_t> start(65537, 0);
    for (const Entry& e : v) ++start[(e.hash >> 48) + 1];
    for (std::size_t i = 1; i < start.size(); ++i) start[i] += start[i - 1];
    std::vector<Entry> out(v.size());
    std::vector<std::uint32_t> next(start.begin(), start.end() - 1);
    for (const Entry& e : v) out[next[e.hash >> 48]++] = e;  // stable: index order kept
    for (std::size_t b = 0; b + 1 < start.size(); ++b) {
        for (std::uint32_t i = start[b] + 1; i < start[b + 1]; ++i) {
            Entry x = out[i];
            std::uint32_t j = i;
            while (j > start[b] && out[j - 1].hash > x.hash) {
                out[j] = out[j - 1];
                --j;
            }
            out[j] = x;
        }
    }
    v.swap(out);
}
}  // namespace

// The id index holds each id's latest record (its head: the append time in
// the version field, partition, offset; stream/stream_index.hpp), so a
// lookup needs no record read unless the id was appended within the window,
// where the record is checked to still be there (retention may have removed
// it: then the id is free again).
Status Appender::mark_duplicates(WriteTxn& txn, Micros now) {
    struct ById {
        std::uint64_t hash;
        std::uint32_t index;
    };
    std::vector<ById> order;
    order.reserve(batch_->items_.size());
    for (std::uint32_t i = 0; i < batch_->items_.size(); ++i) order.push_back({batch_->items_[i].id_hash, i});
    sort_by_hash(order);  // by (hash, index)
    EVT_ASSIGN(MDB_dbi index, id_heads_dbi(txn, topic_.id, true));
    EVT_ASSIGN(MDB_dbi runs, id_runs_dbi(txn, topic_.id, true));
    EVT_ASSIGN(stream::Heads heads, stream::Heads::open(txn, index, runs));
    id_slots_.assign(batch_->items_.size(), 0);
    id_order_.clear();
    std::vector<std::string_view> seen;  // the distinct ids of a group of equal hashes (one, but for collisions)
    std::size_t g = 0;
    while (g < order.size()) {
        std::size_t end = g + 1;
        while (end < order.size() && order[end].hash == order[g].hash) ++end;
        seen.clear();
        for (std::size_t j = g; j < end; ++j) {
            Item& it = batch_->items_[order[j].index];
            std::string_view id = str(it.id_off, it.id_len);
            // a repeat inside the batch: the first occurrence (in input order) wins
            if (std::find(seen.begin(), seen.end(), id) != seen.end()) {
                it.skipped = true;
                continue;
            }
            seen.push_back(id);
            EVT_ASSIGN(stream::Head h, heads.find(id, it.id_hash));
            if (h.exists && now - static_cast<Micros>(h.version) <= opt_.idempotency_window) {
                RecordView r;
                EVT_ASSIGN(bool there, log_.record_at(txn, topic_, h.last_partition, h.last_offset, r));
                if (there && r.time == static_cast<Micros>(h.version)) {
                    it.skipped = true;
                    continue;
                }
            }
            if (!h.exists) heads.claim(h.slot, id);
            id_slots_[order[j].index] = h.slot;
            id_order_.push_back(order[j].index);
        }
        g = end;
    }
    return {};
}

Status Appender::link_streams(WriteTxn& txn, MDB_dbi streams) {
    // Subjects in hash (= slot) order: head lookups and updates walk the index
    // in key order, and a subject's events are adjacent, in input order. The
    // entries carry positions and short subjects inline, so this pass reads
    // batch_->items_ and the arena in order once.
    constexpr std::size_t kInline = 22;
    struct Entry {
        std::uint64_t hash;
        std::uint32_t index;
        std::uint32_t partition;
        std::uint64_t offset;
        std::uint16_t len;
        char text[kInline];  // the subject when len <= kInline
    };
    std::vector<Entry> order;
    order.reserve(batch_->items_.size());
    for (std::uint32_t i = 0; i < batch_->items_.size(); ++i) {
        const Item& it = batch_->items_[i];
        if (!it.has_subject || it.skipped) continue;
        Entry e{it.subject_hash, i, it.pos.partition, it.pos.offset, static_cast<std::uint16_t>(it.subject_len), {}};
        if (it.subject_len > 0xffff) return Error{ErrorKind::invalid, "'subject' is longer than 65535 bytes"};
        if (it.subject_len <= kInline) std::memcpy(e.text, batch_->arena_.data() + it.subject_off, it.subject_len);
        order.push_back(e);
    }
    sort_by_hash(order);
    auto subject_of = [&](const Entry& e) {
        return e.len <= kInline ? std::string_view(e.text, e.len)
                                : str(batch_->items_[e.index].subject_off, batch_->items_[e.index].subject_len);
    };
    links_.assign(batch_->items_.size(), StreamLink{});
    // The heads this batch changes become one run (stream_index.hpp): the
    // index is written only when the runs are folded into it, every kMaxRuns
    // commits, so a commit costs the heads it touches, not the whole index.
    EVT_ASSIGN(MDB_dbi runs, runs_dbi(txn, topic_.id, true));
    EVT_ASSIGN(stream::Heads heads, stream::Heads::open(txn, streams, runs));
    std::vector<std::pair<stream::Head, std::string_view>> changed;
    changed.reserve(order.size());
    std::size_t g = 0;
    while (g < order.size()) {
        std::size_t end = g + 1;
        while (end < order.size() && order[end].hash == order[g].hash) ++end;
        std::string_view subject = subject_of(order[g]);
        // Within a run of equal hashes a different subject (a collision) is
        // moved behind this one and linked in its own turn.
        std::size_t same = end;
        if (end - g > 1) {
            auto mid = std::stable_partition(order.begin() + static_cast<std::ptrdiff_t>(g) + 1,
                                             order.begin() + static_cast<std::ptrdiff_t>(end),
                                             [&](const Entry& e) { return subject_of(e) == subject; });
            same = static_cast<std::size_t>(mid - order.begin());
            subject = subject_of(order[g]);  // entries moved; the first stays
        }
        EVT_ASSIGN(stream::Head head, heads.find(subject, order[g].hash));
        if (!head.exists) heads.claim(head.slot, subject);
        for (std::size_t j = g; j < same; ++j) {
            links_[order[j].index] = StreamLink{head.version + 1, head.last_partition, head.last_offset};
            head.version++;
            head.last_partition = order[j].partition;
            head.last_offset = order[j].offset;
        }
        head.exists = true;
        changed.emplace_back(head, subject);
        g = same;
    }
    std::sort(changed.begin(), changed.end(), [](const auto& a, const auto& b) { return a.first.slot < b.first.slot; });
    return stream::add_run(txn, streams, runs, changed);
}

Status Appender::write_id_index(WriteTxn& txn) {
    // in the order of the lookups, which is slot order unless ids collided
    std::vector<std::pair<stream::Head, std::string_view>> changed;
    changed.reserve(id_order_.size());
    for (std::uint32_t i : id_order_) {
        const Item& it = batch_->items_[i];
        if (it.skipped) continue;
        stream::Head h;
        h.slot = id_slots_[i];
        h.version = static_cast<std::uint64_t>(it.pos.time);
        h.last_partition = it.pos.partition;
        h.last_offset = it.pos.offset;
        h.exists = true;
        changed.emplace_back(h, str(it.id_off, it.id_len));
    }
    auto by_slot = [](const auto& a, const auto& b) { return a.first.slot < b.first.slot; };
    if (!std::is_sorted(changed.begin(), changed.end(), by_slot)) std::sort(changed.begin(), changed.end(), by_slot);
    EVT_ASSIGN(MDB_dbi index, id_heads_dbi(txn, topic_.id, true));
    EVT_ASSIGN(MDB_dbi runs, id_runs_dbi(txn, topic_.id, true));
    return stream::add_run(txn, index, runs, changed);
}

Status Appender::apply(WriteTxn& txn, Micros now) {
    EVT_ASSIGN(auto found, log_.find_topic(txn, topic_.name));
    if (found) {
        topic_ = *found;
    } else if (opt_.create) {
        EVT_ASSIGN(topic_, log_.create_topic(txn, topic_.name, *opt_.create));
    } else {
        return make_error(ErrorKind::not_found, "no such topic '{}'", topic_.name);
    }
    EVT_ASSIGN(MDB_dbi streams, streams_dbi(txn, topic_.id, true));
    for (Item& it : batch_->items_) it.skipped = false;

    if (opt_.expect) EVT_TRY(check_expected(txn, streams));
    if (opt_.idempotent) EVT_TRY(mark_duplicates(txn, now));
    if (opt_.partition && *opt_.partition >= topic_.partitions)
        return make_error(ErrorKind::usage, "topic '{}' has no partition {} (it has {})", topic_.name,
                          *opt_.partition, topic_.partitions);

    struct PartitionState {
        Cursor cursor;
        std::uint64_t next = 0;
        Micros last = 0;
        bool open = false;
    };
    std::vector<PartitionState> parts(topic_.partitions);
    RoundRobin rr = rr_;
    for (Item& it : batch_->items_) {
        if (it.skipped) continue;
        std::uint32_t p = opt_.partition ? *opt_.partition
                          : it.has_key   ? it.key_partition_hash % topic_.partitions
                                         : rr.next(topic_.partitions);
        PartitionState& ps = parts[p];
        if (!ps.open) {
            EVT_ASSIGN(MDB_dbi d, records_dbi(txn, topic_.id, p, true));
            EVT_ASSIGN(ps.cursor, Cursor::open(txn, d));
            MDB_val k, v;
            EVT_ASSIGN(bool any, ps.cursor.get(k, v, MDB_LAST));
            if (any) {
                ps.next = offset_of(k.mv_data) + 1;
                EVT_ASSIGN(RecordView last, decode_record(store::view(v)));
                ps.last = last.time;
            }
            ps.open = true;
        }
        it.pos = Position{p, ps.next++, std::max(now, ps.last)};
        ps.last = it.pos.time;
    }
    EVT_TRY(link_streams(txn, streams));
    for (std::size_t i = 0; i < batch_->items_.size(); ++i) {
        Item& it = batch_->items_[i];
        if (it.skipped) continue;
        const StreamLink& link = links_[i];
        std::string_view key_text = str(it.key_off, it.key_len), type = str(it.type_off, it.type_len),
                         json = str(it.json_off, it.json_len);
        OffsetKey key(it.pos.offset);
        MDB_val v{record_size(key_text, type, json, link), nullptr};
        EVT_TRY(parts[it.pos.partition].cursor.put(store::val(key.view()), v, MDB_APPEND | MDB_RESERVE));
        it.tombstone = topic_.compact && it.has_key && is_tombstone_json(json);
        encode_record(static_cast<char*>(v.mv_data), it.pos.time, it.has_key, key_text, type, json, link,
                      it.payload_crc, it.tombstone);
    }
    if (opt_.idempotent) EVT_TRY(write_id_index(txn));
    if (topic_.removes()) EVT_TRY(clean(txn, now));
    next_rr_ = rr;
    return {};
}

// Compaction of what was written, then retention of each partition written
// to, with a budget of twice what was appended there (so removal keeps up with
// appends) plus a little for leftovers: bounded work, never a pause.
Status Appender::clean(WriteTxn& txn, Micros now) {
    Cleaner c(txn, topic_, now);
    std::vector<std::uint64_t> written(topic_.partitions, 0);
    for (const Item& it : batch_->items_) {
        if (it.skipped) continue;
        ++written[it.pos.partition];
        if (topic_.compact && it.has_key)
            EVT_TRY(c.compacted_write(it.pos.partition, it.pos.offset, str(it.key_off, it.key_len), it.tombstone));
    }
    for (std::uint32_t p = 0; p < topic_.partitions; ++p) {
        if (!written[p]) continue;
        bool more = false;
        EVT_TRY(c.enforce(p, 2 * written[p] + 64, more));
    }
    return {};
}

Status Appender::write(WriteTxn& txn, Batch& batch, Micros now) {
    batch_ = &batch;
    if (batch.items_.empty()) return {};
    return apply(txn, now);
}

CommitResult Appender::committed(Batch& batch, const StoredFn& on_stored) {
    CommitResult r;
    rr_ = next_rr_;
    for (const Item& it : batch.items_) {
        (it.skipped ? r.skipped : r.stored)++;
        if (on_stored && !it.skipped) on_stored(batch.str(it.json_off, it.json_len), it.pos);
    }
    batch.clear();
    return r;
}

Result<CommitResult> Appender::commit(Batch& batch, const StoredFn& on_stored) {
    if (batch.empty()) return CommitResult{};
    Micros now = clock_now();
    EVT_TRY(log_.write([&](WriteTxn& txn) { return write(txn, batch, now); }));
    return committed(batch, on_stored);
}

}  // namespace evt::log
