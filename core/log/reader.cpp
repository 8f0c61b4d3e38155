#include "core/log/reader.hpp"

#include "core/stream/stream_index.hpp"

#include <fnmatch.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <queue>

namespace evt::log {

using store::Cursor;

bool type_matches(const std::vector<std::string>& globs, std::string_view type) {
    if (globs.empty()) return true;
    std::string t(type);
    for (const auto& g : globs)
        if (fnmatch(g.c_str(), t.c_str(), 0) == 0) return true;
    return false;
}

namespace {

constexpr std::uint64_t kRecordsPerSnapshot = 65536;

struct Range {
    std::uint32_t partition;
    std::uint64_t next;  // next offset to read
    std::uint64_t end;   // stop before this offset
};

Result<std::uint64_t> resolve(Log& log, store::Txn& txn, const TopicConfig& t, const PartitionInfo& info,
                              const OffsetSpec& s) {
    switch (s.kind) {
    case OffsetSpec::Kind::beginning: return info.start;
    case OffsetSpec::Kind::end: return info.end;
    case OffsetSpec::Kind::offset: return std::clamp(s.n, info.start, info.end);
    case OffsetSpec::Kind::last: return info.end - std::min(s.n, info.count());
    case OffsetSpec::Kind::time: return log.seek_time(txn, t, info.partition, s.time);
    }
    return info.start;
}

class Walker {
public:
    Walker(Log& log, const ReadOptions& o, const RecordFn& fn) : log_(log), o_(o), fn_(fn) {}

    Status setup(store::ReadTxn& txn, const TopicConfig& t) {
        topic_ = t;
        std::vector<std::uint32_t> parts = o_.partitions;
        if (parts.empty())
            for (std::uint32_t p = 0; p < t.partitions; ++p) parts.push_back(p);
        std::uint64_t total = 0;
        for (std::uint32_t p : parts) {
            if (p >= t.partitions)
                return make_error(ErrorKind::usage, "topic '{}' has no partition {} (it has {})", t.name, p,
                                  t.partitions);
            EVT_ASSIGN(PartitionInfo info, log_.partition_info(txn, t, p));
            Range r{p, 0, 0};
            EVT_ASSIGN(r.next, resolve(log_, txn, t, info, o_.from));
            r.end = info.end;
            bounded_ = o_.to.has_value();
            if (o_.to && o_.follow && o_.to->kind == OffsetSpec::Kind::offset) {
                r.end = std::max(r.next, o_.to->n);  // may lie beyond the end: wait for it
            } else if (o_.to && o_.follow && o_.to->kind == OffsetSpec::Kind::time) {
                r.end = kOpen;  // closed by the first event at or after the time
            } else if (o_.to && !merged_last_to()) {
                EVT_ASSIGN(std::uint64_t to, resolve(log_, txn, t, info, *o_.to));
                r.end = std::max(r.next, to);
            }
            total += std::min(r.end, info.end) - std::min(r.next, info.end);
            ranges_.push_back(r);
        }
        if (o_.total) *o_.total = total;
        // -N across merged partitions: the last N of the merged order.
        if (o_.from.kind == OffsetSpec::Kind::last && !o_.by_partition && total > o_.from.n)
            skip_ = total - o_.from.n;
        // --to -N across merged partitions: all but the last N of the merged order.
        if (merged_last_to()) budget_left_ = total > o_.to->n ? total - o_.to->n : 0;
        return {};
    }

    bool merged_last_to() const {
        return o_.to && o_.to->kind == OffsetSpec::Kind::last && !o_.by_partition;
    }

    // Grows each open range to the partition's current end (follow mode).
    Status refresh_ends(store::ReadTxn& txn) {
        if (bounded_) return {};
        for (Range& r : ranges_) {
            EVT_ASSIGN(PartitionInfo info, log_.partition_info(txn, topic_, r.partition));
            r.end = std::max(r.end, info.end);
        }
        return {};
    }

    bool caught_up() const {
        return std::all_of(ranges_.begin(), ranges_.end(), [](const Range& r) { return r.next >= r.end; });
    }
    bool bounded() const { return bounded_; }
    std::uint64_t walked() const { return walked_; }
    bool done() const { return stopped_ || (o_.limit && emitted_ >= o_.limit) || budget_left_ == 0; }

    // One snapshot's worth of records. Returns when the ranges are exhausted,
    // the budget is spent, or the callback stops.
    Status round(store::ReadTxn& txn) {
        std::uint64_t budget = kRecordsPerSnapshot;
        if (o_.by_partition) {
            for (Range& r : ranges_) {
                EVT_TRY(walk_one(txn, r, budget));
                if (done() || budget == 0) break;
            }
            return {};
        }
        return walk_merged(txn, budget);
    }

private:
    // --follow --to @TIME: a partition ends at its first event at or after TIME.
    bool closes(Micros t) const {
        return o_.follow && o_.to && o_.to->kind == OffsetSpec::Kind::time && t >= o_.to->time;
    }
    static Micros rec_time(const MDB_val& v) {
        return v.mv_size >= kRecordHeader ? get_le<std::int64_t>(static_cast<const char*>(v.mv_data) + 12) : 0;
    }

    Status emit(const RecordView& rec) {
        ++walked_;
        if (budget_left_ != kUnbounded) --budget_left_;
        if (skip_) {
            --skip_;
            return {};
        }
        if (!type_matches(o_.types, rec.type)) return {};
        EVT_ASSIGN(bool more, fn_(rec));
        ++emitted_;
        if (!more) stopped_ = true;
        return {};
    }

    Status open_cursor(store::ReadTxn& txn, const Range& r, Cursor& c, MDB_val& k, MDB_val& v, bool& positioned) {
        EVT_ASSIGN(MDB_dbi d, records_dbi(txn, topic_.id, r.partition, false));
        EVT_ASSIGN(c, Cursor::open(txn, d));
        OffsetKey key(r.next);
        k = store::val(key.view());
        EVT_ASSIGN(positioned, c.get(k, v, MDB_SET_RANGE));
        return {};
    }

    Status walk_one(store::ReadTxn& txn, Range& r, std::uint64_t& budget) {
        if (r.next >= r.end) return {};
        Cursor c;
        MDB_val k{}, v{};
        bool ok = false;
        RecordView rec;
        EVT_TRY(open_cursor(txn, r, c, k, v, ok));
        // The hot loop of every replay: raw cursor steps (no Result per
        // record); the checks that cannot change inside it are hoisted.
        rec.partition = r.partition;
        const bool may_close = o_.follow && o_.to && o_.to->kind == OffsetSpec::Kind::time;
        while (ok && budget && !done()) {
            std::uint64_t off = offset_of(k.mv_data);
            if (off >= r.end) break;
            if (may_close && closes(rec_time(v))) {
                r.end = off;
                break;
            }
            if (!decode_record(store::view(v), rec))
                return make_error(ErrorKind::corrupt, "partition {} offset {}: malformed record", r.partition, off);
            rec.offset = off;
            r.next = off + 1;
            --budget;
            EVT_TRY(emit(rec));
            int rc = mdb_cursor_get(c.raw(), &k, &v, MDB_NEXT);
            if (rc == MDB_NOTFOUND) break;
            if (rc) return store::lmdb_error(rc, "reading");
            prefetch_following(v);
        }
        return {};
    }

    Status walk_merged(store::ReadTxn& txn, std::uint64_t& budget) {
        if (ranges_.size() == 1) return walk_one(txn, ranges_[0], budget);
        // Each range's current record sits in `heads`; the heap orders small
        // (time, partition, index) keys.
        struct Key {
            Micros time;
            std::uint32_t partition;
            std::uint32_t index;
            bool operator>(const Key& o) const { return time != o.time ? time > o.time : partition > o.partition; }
        };
        std::priority_queue<Key, std::vector<Key>, std::greater<Key>> heap;
        std::vector<Cursor> cursors(ranges_.size());
        std::vector<RecordView> heads(ranges_.size());
        auto load = [&](std::uint32_t i, MDB_val& k, MDB_val& v, bool ok) -> Status {
            if (!ok) return {};
            std::uint64_t off = offset_of(k.mv_data);
            if (off >= ranges_[i].end) return {};
            if (closes(rec_time(v))) {
                ranges_[i].end = off;
                return {};
            }
            if (!decode_record(store::view(v), heads[i]))
                return make_error(ErrorKind::corrupt, "partition {} offset {}: malformed record", ranges_[i].partition, off);
            heads[i].partition = ranges_[i].partition;
            heads[i].offset = off;
            heap.push(Key{heads[i].time, heads[i].partition, i});
            return {};
        };
        for (std::uint32_t i = 0; i < ranges_.size(); ++i) {
            if (ranges_[i].next >= ranges_[i].end) continue;
            MDB_val k{}, v{};
            bool ok = false;
            EVT_TRY(open_cursor(txn, ranges_[i], cursors[i], k, v, ok));
            EVT_TRY(load(i, k, v, ok));
        }
        while (!heap.empty() && budget && !done()) {
            std::uint32_t i = heap.top().index;
            heap.pop();
            ranges_[i].next = heads[i].offset + 1;
            --budget;
            EVT_TRY(emit(heads[i]));
            MDB_val k, v;
            int rc = mdb_cursor_get(cursors[i].raw(), &k, &v, MDB_NEXT);
            if (rc && rc != MDB_NOTFOUND) return store::lmdb_error(rc, "reading");
            if (rc == 0) prefetch_following(v);
            EVT_TRY(load(i, k, v, rc == 0));
        }
        return {};
    }

    Log& log_;
    const ReadOptions& o_;
    const RecordFn& fn_;
    TopicConfig topic_;
    std::vector<Range> ranges_;
    std::uint64_t skip_ = 0;
    std::uint64_t walked_ = 0;
    static constexpr std::uint64_t kOpen = ~0ull;
    static constexpr std::uint64_t kUnbounded = ~0ull;
    std::uint64_t budget_left_ = kUnbounded;  // records left to walk (--to -N, merged)
    std::uint64_t emitted_ = 0;
    bool stopped_ = false;
    bool bounded_ = false;
};

// Backs off from 1 ms to 20 ms of idle waiting; inotify usually wakes us first.
int idle_wait_ms(int idle_rounds) { return std::min(20, 1 + idle_rounds); }

// Follow mode: flush, release the snapshot, wait for the log to change, take a
// new snapshot. Returns false when the caller asked to stop.
Result<bool> wait_for_more(Log& log, store::ReadTxn& txn, const FollowHooks& hooks,
                           std::unique_ptr<LogWatcher>& watcher, int& idle) {
    if (hooks.idle) EVT_TRY(hooks.idle());
    if (!watcher) watcher = std::make_unique<LogWatcher>(log.path());
    txn.reset();
    if (hooks.stop && hooks.stop()) return false;
    watcher->wait(idle_wait_ms(idle++));
    EVT_TRY(txn.renew());
    return true;
}

}  // namespace

Result<OffsetSpec> parse_offset_spec(std::string_view text, Micros now) {
    OffsetSpec s;
    if (text == "beginning" || text == "earliest") return s;
    if (text == "end" || text == "latest") {
        s.kind = OffsetSpec::Kind::end;
        return s;
    }
    if (!text.empty() && text[0] == '@') {
        EVT_ASSIGN(s.time, parse_time(text.substr(1), now));
        s.kind = OffsetSpec::Kind::time;
        return s;
    }
    bool last = !text.empty() && text[0] == '-';
    std::string_view digits = last ? text.substr(1) : text;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), s.n);
    if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size())
        return make_error(ErrorKind::usage, "invalid position '{}' (beginning, end, N, -N or @TIME)", text);
    s.kind = last ? OffsetSpec::Kind::last : OffsetSpec::Kind::offset;
    return s;
}

LogWatcher::LogWatcher(const std::string& log_dir) {
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ >= 0) inotify_add_watch(fd_, (log_dir + "/data.mdb").c_str(), IN_MODIFY);
}

LogWatcher::~LogWatcher() {
    if (fd_ >= 0) close(fd_);
}

void LogWatcher::wait(int timeout_ms) {
    if (fd_ < 0) {
        usleep(static_cast<useconds_t>(timeout_ms) * 1000);
        return;
    }
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) > 0) {
        char buf[4096];
        while (read(fd_, buf, sizeof buf) > 0) {
        }
    }
}

Status read_topic(Log& log, std::string_view topic, const ReadOptions& o, const RecordFn& fn,
                  const FollowHooks& hooks) {
    Walker w(log, o, fn);
    EVT_ASSIGN(store::ReadTxn txn, log.env().read());
    EVT_ASSIGN(TopicConfig t, log.topic(txn, topic));
    EVT_TRY(w.setup(txn, t));
    std::unique_ptr<LogWatcher> watcher;
    int idle = 0;
    for (;;) {
        std::uint64_t before = w.walked();
        EVT_TRY(w.round(txn));
        if (w.done()) return {};
        bool complete = w.caught_up();
        if (complete && (!o.follow || w.bounded())) return {};
        if (!o.follow && w.walked() == before) return {};  // nothing more to read
        if (complete || w.walked() == before) {  // wait for new events
            EVT_ASSIGN(bool more, wait_for_more(log, txn, hooks, watcher, idle));
            if (!more) return {};
            EVT_TRY(w.refresh_ends(txn));
        } else {
            idle = 0;
            txn.reset();
            EVT_TRY(txn.renew());
        }
    }
}

Status read_stream(Log& log, std::string_view topic, std::string_view subject, const ReadOptions& o,
                   const std::function<Result<bool>(const RecordView&, std::uint64_t)>& fn, const FollowHooks& hooks) {
    EVT_ASSIGN(store::ReadTxn txn, log.env().read());
    EVT_ASSIGN(TopicConfig t, log.topic(txn, topic));
    const std::uint64_t hash = stream::subject_hash(subject);
    std::uint64_t version = 0, emitted = 0;
    bool stop = false;
    std::unique_ptr<LogWatcher> watcher;
    int idle = 0;
    for (;;) {
        auto dbi = streams_dbi(txn, t.id, false);
        if (!dbi.ok() && dbi.error().kind != ErrorKind::not_found) return dbi.error();
        std::uint64_t before = version;
        if (dbi.ok()) {
            EVT_ASSIGN(auto runs, runs_dbi_if_any(txn, t.id));
            EVT_ASSIGN(std::uint32_t format, stored_format(txn));
            EVT_ASSIGN(stream::Heads heads, stream::Heads::open(txn, *dbi, runs, stream::layout_of_format(format)));
            EVT_ASSIGN(stream::Head head, heads.find(subject, hash));
            // Walk the chain back from the head to the first unseen version.
            std::vector<std::pair<std::uint32_t, std::uint64_t>> chain;
            std::uint32_t p = head.last_partition;
            std::uint64_t off = head.last_offset;
            for (std::uint64_t v = head.exists ? head.version : 0; v > version; --v) {
                if (off == kNoOffset) return make_error(ErrorKind::corrupt, "stream '{}' breaks at version {}", subject, v);
                chain.emplace_back(p, off);
                RecordView rec;
                EVT_ASSIGN(bool found, log.record_at(txn, t, p, off, rec));
                if (!found && t.removes()) {  // retention or compaction removed it and all before it
                    chain.pop_back();
                    break;
                }
                if (!found) return make_error(ErrorKind::corrupt, "stream '{}': version {} is missing", subject, v);
                p = rec.link.prev_partition;
                off = rec.link.prev_offset;
            }
            for (auto it = chain.rbegin(); it != chain.rend() && !stop; ++it) {
                RecordView rec;
                EVT_ASSIGN(bool found, log.record_at(txn, t, it->first, it->second, rec));
                (void)found;
                version = rec.link.version;
                if (!type_matches(o.types, rec.type)) continue;
                EVT_ASSIGN(bool more, fn(rec, version));
                stop = !more || (o.limit && ++emitted >= o.limit);
            }
        }
        if (stop || !o.follow) return {};
        if (version > before) idle = 0;
        EVT_ASSIGN(bool more, wait_for_more(log, txn, hooks, watcher, idle));
        if (!more) return {};
    }
}

}  // namespace evt::log
