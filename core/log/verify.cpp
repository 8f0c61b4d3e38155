#include "core/log/verify.hpp"

#include "core/stream/stream_index.hpp"

namespace evt::log {

namespace {

class Verifier {
public:
    Verifier(Log& log, store::ReadTxn& txn, VerifyReport& r, std::size_t max,
             const std::function<void(std::uint64_t)>& progress)
        : log_(log), txn_(txn), r_(r), max_(max), progress_(progress) {}

    Status topic(const TopicConfig& t) {
        ++r_.topics;
        for (std::uint32_t p = 0; p < t.partitions; ++p) EVT_TRY(partition(t, p));
        return streams(t);
    }

private:
    void problem(const TopicConfig& t, std::uint32_t p, std::uint64_t off, bool positioned, std::string what) {
        if (r_.problems.size() < max_) r_.problems.push_back(Problem{t.name, p, off, positioned, std::move(what)});
    }

    Status partition(const TopicConfig& t, std::uint32_t p) {
        auto dbi = records_dbi(txn_, t.id, p, false);
        if (!dbi.ok()) {
            if (dbi.error().kind != ErrorKind::not_found) return dbi.error();
            problem(t, p, 0, false, fmt::format("partition {} has no database", p));
            return {};
        }
        EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn_, *dbi));
        MDB_val k, v;
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
            if (!first && off != expect)
                problem(t, p, off, true, fmt::format("offsets are not dense: {} follows {}", off, expect - 1));
            first = false;
            expect = off + 1;
            ++r_.records;
            if (progress_ && (r_.records & 0xffff) == 0) progress_(r_.records);
            auto rec = verify_record(store::view(v));
            if (!rec.ok()) {
                problem(t, p, off, true, rec.error().message);
                continue;
            }
            if (rec->time < last_time) problem(t, p, off, true, "append time goes backwards");
            last_time = rec->time;
            EVT_TRY(check_link(t, p, off, rec->link));
        }
        return {};
    }

    Status check_link(const TopicConfig& t, std::uint32_t p, std::uint64_t off, const StreamLink& link) {
        if (link.version == 0) return {};
        if (link.version == 1) {
            if (link.prev_offset != kNoOffset) problem(t, p, off, true, "version 1 of a stream links to a predecessor");
            return {};
        }
        RecordView prev;
        if (link.prev_partition >= t.partitions) {
            problem(t, p, off, true, "stream link names a partition that does not exist");
            return {};
        }
        EVT_ASSIGN(bool found, log_.record_at(txn_, t, link.prev_partition, link.prev_offset, prev));
        if (!found)
            problem(t, p, off, true,
                    fmt::format("stream link to {}/{} finds no record", link.prev_partition, link.prev_offset));
        else if (prev.link.version + 1 != link.version)
            problem(t, p, off, true,
                    fmt::format("stream version {} links to version {}", link.version, prev.link.version));
        return {};
    }

    // Each head must point at a record whose version is the head's.
    Status streams(const TopicConfig& t) {
        auto dbi = streams_dbi(txn_, t.id, false);
        if (!dbi.ok()) return dbi.error().kind == ErrorKind::not_found ? Status() : Status(dbi.error());
        EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn_, *dbi));
        MDB_val k, v;
        for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
            EVT_ASSIGN(bool more, c.get(k, v, op));
            if (!more) break;
            ++r_.streams;
            std::string_view value = store::view(v);
            if (value.size() < 20) {
                problem(t, 0, 0, false, "a stream head is too short");
                continue;
            }
            std::uint64_t version = get_le<std::uint64_t>(value.data());
            std::uint32_t p = get_le<std::uint32_t>(value.data() + 8);
            std::uint64_t off = get_le<std::uint64_t>(value.data() + 12);
            std::string_view subject = value.substr(20);
            RecordView rec;
            bool found = false;
            if (p < t.partitions) {
                EVT_ASSIGN(found, log_.record_at(txn_, t, p, off, rec));
            }
            if (!found || rec.link.version != version)
                problem(t, p, off, true,
                        fmt::format("the head of stream '{}' (version {}) does not match its last record", subject,
                                    version));
        }
        return {};
    }

    Log& log_;
    store::ReadTxn& txn_;
    VerifyReport& r_;
    std::size_t max_;
    const std::function<void(std::uint64_t)>& progress_;
};

}  // namespace

Result<VerifyReport> verify(Log& log, const std::vector<std::string>& names, std::size_t max_problems,
                            const std::function<void(std::uint64_t)>& progress) {
    VerifyReport report;
    EVT_ASSIGN(store::ReadTxn txn, log.env().read());
    std::vector<TopicConfig> topics;
    if (names.empty()) {
        EVT_ASSIGN(topics, log.topics(txn));
    } else {
        for (const auto& n : names) {
            EVT_ASSIGN(TopicConfig t, log.topic(txn, n));
            topics.push_back(std::move(t));
        }
    }
    Verifier v(log, txn, report, max_problems, progress);
    for (const auto& t : topics) EVT_TRY(v.topic(t));
    return report;
}

}  // namespace evt::log
