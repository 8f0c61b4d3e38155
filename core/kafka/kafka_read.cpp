// Reading a Kafka topic for evt-replay: assign + watermarks, per-partition
// queues merged by record timestamp (ties by partition) until every partition
// reached the end it had at the start; with --follow, then arrival order.
#include <deque>

#include "core/kafka/client.hpp"

namespace evt::kafka {

namespace {

struct Msg {
    rd_kafka_message_t* m;
    std::int64_t ts;  // the record's timestamp, read once: the merge compares it for every record it passes
    explicit Msg(rd_kafka_message_t* x) : m(x), ts(rd_kafka_message_timestamp(x, nullptr)) {}
    Msg(Msg&& o) noexcept : m(std::exchange(o.m, nullptr)), ts(o.ts) {}
    Msg& operator=(Msg&& o) noexcept {
        std::swap(m, o.m);
        std::swap(ts, o.ts);
        return *this;
    }
    ~Msg() {
        if (m) rd_kafka_message_destroy(m);
    }
};

struct Part {
    std::uint32_t p = 0;
    rd_kafka_queue_t* q = nullptr;
    std::uint64_t next = 0;      // the next offset expected
    std::uint64_t caught = 0;    // the end at the start: merged order holds up to here
    std::uint64_t stop = ~0ull;  // stop before (no follow, or --to)
    std::deque<Msg> buf;
    bool done() const { return next >= stop; }
    bool caught_up() const { return next >= caught; }
};

// A record kept for --from -N of a merged read (printed once the tail is known).
struct Kept {
    std::string json, key, headers;
    log::RecordView rec;
};

class Reader {
public:
    Reader(const Settings& s, std::string topic, const log::ReadOptions& o, const log::RecordFn& fn,
           const log::FollowHooks& hooks)
        : s_(s), topic_(std::move(topic)), o_(o), fn_(fn), hooks_(hooks) {}
    ~Reader() {
        for (auto& p : parts_)
            if (p.q) rd_kafka_queue_destroy(p.q);
        parts_.clear();
        if (h_.rk) {
            rd_kafka_assign(h_.rk, nullptr);
            rd_kafka_consumer_close(h_.rk);
        }
    }

    Status run() {
        EVT_ASSIGN(h_, make_handle(s_, RD_KAFKA_CONSUMER,
                                   {{"fetch.wait.max.ms", "50"}, {"fetch.error.backoff.ms", "50"}},
                                   {{"group.id", "evt-replay"},
                                    {"enable.auto.commit", "false"},
                                    {"enable.auto.offset.store", "false"},
                                    {"enable.partition.eof", "true"}}));
        rd_kafka_poll_set_consumer(h_.rk);
        EVT_ASSIGN(TopicMeta meta, find_topic(s_, h_.rk, topic_));
        std::vector<std::uint32_t> chosen = o_.partitions;
        if (chosen.empty())
            for (std::uint32_t p = 0; p < meta.partitions; ++p) chosen.push_back(p);
        for (std::uint32_t p : chosen)
            if (p >= meta.partitions)
                return make_error(ErrorKind::usage, "partition {} is out of range: topic '{}' has {}", p, topic_,
                                  meta.partitions);
        std::vector<Watermarks> marks;
        for (std::uint32_t p : chosen) {
            EVT_ASSIGN(Watermarks w, watermarks(s_, h_.rk, topic_, p));
            marks.push_back(w);
        }
        EVT_ASSIGN(auto starts, position(o_.from, chosen, marks, true));
        std::vector<std::uint64_t> stops;
        if (o_.to) {
            EVT_ASSIGN(stops, position(*o_.to, chosen, marks, false));
        }
        using K = log::OffsetSpec::Kind;
        tail_ = o_.from.kind == K::last && !o_.by_partition ? o_.from.n : 0;
        rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(static_cast<int>(chosen.size()));
        std::uint64_t total = 0;
        for (std::size_t i = 0; i < chosen.size(); ++i) {
            Part pt;
            pt.p = chosen[i];
            pt.next = starts[i];
            pt.caught = marks[i].high;
            if (o_.to) pt.stop = std::max(stops[i], starts[i]);
            else if (!o_.follow) pt.stop = marks[i].high;
            if (pt.stop != ~0ull) total += pt.stop - pt.next;
            rd_kafka_topic_partition_list_add(l, topic_.c_str(), static_cast<std::int32_t>(pt.p))->offset =
                static_cast<std::int64_t>(pt.next);
            parts_.push_back(std::move(pt));
        }
        if (o_.total) *o_.total = total;
        // Each partition's own queue, taken out of the consumer queue before
        // fetching starts, so no message goes past it.
        for (auto& pt : parts_) {
            pt.q = rd_kafka_queue_get_partition(h_.rk, topic_.c_str(), static_cast<std::int32_t>(pt.p));
            rd_kafka_queue_forward(pt.q, nullptr);
        }
        rd_kafka_resp_err_t err = rd_kafka_assign(h_.rk, l);
        rd_kafka_topic_partition_list_destroy(l);
        if (err) return kafka_error(s_, err, "assigning partitions");
        if (o_.by_partition) {
            for (auto& pt : parts_) {
                while (!pt.done() && !(o_.follow && !o_.to && pt.caught_up())) {
                    EVT_ASSIGN(bool go, step_one(pt));
                    if (!go) return {};
                }
            }
        } else {
            EVT_ASSIGN(bool go, merge());
            if (!go) return {};
        }
        EVT_ASSIGN(bool go, flush_tail());
        if (!go) return {};
        if (!o_.follow) return {};
        return follow();
    }

private:
    // Where a spec puts each partition.
    Result<std::vector<std::uint64_t>> position(const log::OffsetSpec& spec, const std::vector<std::uint32_t>& chosen,
                                                const std::vector<Watermarks>& marks, bool from) {
        using K = log::OffsetSpec::Kind;
        std::vector<std::uint64_t> out;
        if (spec.kind == K::time) return offsets_for_time(s_, h_.rk, topic_, chosen, spec.time, marks);
        for (const Watermarks& w : marks) {
            switch (spec.kind) {
            case K::beginning: out.push_back(w.low); break;
            case K::end: out.push_back(w.high); break;
            case K::offset: out.push_back(std::clamp(spec.n, w.low, w.high)); break;
            case K::last: out.push_back(w.high - std::min(spec.n, w.high - w.low)); break;
            case K::time: break;
            }
        }
        (void)from;
        return out;
    }

    // Fills pt's buffer (waiting up to wait_ms); records errors.
    Status fill(Part& pt, int wait_ms) {
        rd_kafka_message_t* ms[512];
        ssize_t n = rd_kafka_consume_batch_queue(pt.q, wait_ms, ms, 512);
        if (n < 0) return kafka_error(s_, rd_kafka_last_error(), "fetching");
        for (ssize_t i = 0; i < n; ++i) {
            Msg m(ms[i]);
            if (m.m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                // Kept in order behind the messages before it: deliver() takes it.
                pt.buf.push_back(std::move(m));
                continue;
            }
            if (m.m->err) {
                if (m.m->err == RD_KAFKA_RESP_ERR__TRANSPORT || m.m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) continue;
                return kafka_error(s_, m.m->err, fmt::format("fetching {}/{}", topic_, pt.p),
                                   rd_kafka_message_errstr(m.m));
            }
            pt.buf.push_back(std::move(m));
        }
        return poll_errors();
    }

    Status poll_errors() {
        if (rd_kafka_message_t* m = rd_kafka_consumer_poll(h_.rk, 0)) {
            Msg hold(m);
            if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && m->err != RD_KAFKA_RESP_ERR__TRANSPORT &&
                m->err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
                return kafka_error(s_, m->err, "fetching", rd_kafka_message_errstr(m));
        }
        return {};
    }

    // Hands one message to the callback (or keeps it for the tail).
    Result<bool> deliver(Part& pt, Msg m) {
        std::uint64_t off = static_cast<std::uint64_t>(m.m->offset);
        if (m.m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            // The end as the broker sees it (a compacted topic ends past its last record).
            pt.next = std::max(pt.next, off);
            return true;
        }
        if (off >= pt.stop) {
            pt.next = pt.stop;
            pt.buf.clear();
            return true;
        }
        pt.next = off + 1;
        log::RecordView rec;
        EVT_TRY(decoder_.decode(topic_, m.m, rec, o_.headers));
        if (!o_.types.empty() && !log::type_matches(o_.types, decoder_.type(rec))) return true;
        if (tail_) {
            Kept k;
            k.json.assign(rec.json);
            k.key.assign(rec.key);
            k.headers.assign(rec.headers);
            k.rec = rec;
            kept_.push_back(std::move(k));
            if (kept_.size() > tail_) kept_.pop_front();
            return true;
        }
        return emit(rec);
    }

    Result<bool> emit(const log::RecordView& rec) {
        EVT_ASSIGN(bool go, fn_(rec));
        if (!go) return false;
        ++emitted_;
        return !(o_.limit && emitted_ >= o_.limit);
    }

    Result<bool> flush_tail() {
        if (!tail_) return true;
        tail_ = 0;
        for (Kept& k : kept_) {
            k.rec.json = k.json;
            k.rec.key = k.key;
            k.rec.headers = k.headers;
            EVT_ASSIGN(bool go, emit(k.rec));
            if (!go) return false;
        }
        kept_.clear();
        return true;
    }

    bool stopped() const { return hooks_.stop && hooks_.stop(); }

    // One partition alone (--by-partition).
    Result<bool> step_one(Part& pt) {
        if (pt.buf.empty()) {
            EVT_TRY(fill(pt, 100));
            if (stopped()) return false;
            return true;
        }
        Msg m = std::move(pt.buf.front());
        pt.buf.pop_front();
        return deliver(pt, std::move(m));
    }

    // The k-way merge up to each partition's end at the start.
    Result<bool> merge() {
        for (;;) {
            Part* best = nullptr;
            bool waiting = false;
            for (auto& pt : parts_) {
                if (pt.done() || (o_.follow && !o_.to && pt.caught_up() && pt.buf.empty())) continue;
                if (pt.buf.empty()) {
                    EVT_TRY(fill(pt, 0));
                    if (pt.buf.empty()) {
                        if (!pt.done() && !(o_.follow && !o_.to && pt.caught_up())) waiting = true;
                        continue;
                    }
                }
                if (!best) {
                    best = &pt;
                    continue;
                }
                if (pt.buf.front().ts < best->buf.front().ts) best = &pt;
            }
            if (waiting) {
                // Some partition has events still to come: wait for them before choosing.
                for (auto& pt : parts_)
                    if (pt.buf.empty() && !pt.done() && !(o_.follow && !o_.to && pt.caught_up())) {
                        EVT_TRY(fill(pt, 20));
                    }
                if (stopped()) return false;
                continue;
            }
            if (!best) return true;
            Msg m = std::move(best->buf.front());
            best->buf.pop_front();
            EVT_ASSIGN(bool go, deliver(*best, std::move(m)));
            if (!go) return false;
        }
    }

    // After the catch-up: every partition's queue into one, arrival order.
    Status follow() {
        rd_kafka_queue_t* all = rd_kafka_queue_get_consumer(h_.rk);
        for (auto& pt : parts_) {
            for (auto& m : pt.buf) {
                EVT_ASSIGN(bool go, deliver(pt, std::move(m)));
                if (!go) {
                    rd_kafka_queue_destroy(all);
                    return {};
                }
            }
            pt.buf.clear();
            rd_kafka_queue_forward(pt.q, all);
        }
        std::map<std::uint32_t, Part*> by_p;
        for (auto& pt : parts_) by_p[pt.p] = &pt;
        Status result;
        bool idle_told = false;
        while (!stopped()) {
            bool all_done = true;
            for (auto& pt : parts_) all_done = all_done && pt.done();
            if (all_done) break;
            rd_kafka_message_t* raw = rd_kafka_consume_queue(all, idle_told ? 100 : 0);
            if (!raw) {
                if (!idle_told && hooks_.idle) {
                    result = hooks_.idle();
                    if (!result.ok()) break;
                }
                idle_told = true;
                continue;
            }
            idle_told = false;
            Msg m(raw);
            if (m.m->err) {
                if (m.m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF || m.m->err == RD_KAFKA_RESP_ERR__TRANSPORT ||
                    m.m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
                    continue;
                result = kafka_error(s_, m.m->err, "fetching", rd_kafka_message_errstr(m.m));
                break;
            }
            auto it = by_p.find(static_cast<std::uint32_t>(m.m->partition));
            if (it == by_p.end()) continue;
            auto go = deliver(*it->second, std::move(m));
            if (!go.ok()) {
                result = go.error();
                break;
            }
            if (!*go) break;
        }
        for (auto& pt : parts_) rd_kafka_queue_forward(pt.q, nullptr);
        rd_kafka_queue_destroy(all);
        return result;
    }

    const Settings& s_;
    std::string topic_;
    const log::ReadOptions& o_;
    const log::RecordFn& fn_;
    const log::FollowHooks& hooks_;
    Handle h_;
    std::deque<Part> parts_;
    RecordDecoder decoder_;
    std::uint64_t tail_ = 0;
    std::deque<Kept> kept_;
    std::uint64_t emitted_ = 0;
};

}  // namespace

Status read_topic(const Settings& s, std::string_view topic, const log::ReadOptions& o, const log::RecordFn& fn,
                  const log::FollowHooks& hooks) {
    Reader r(s, std::string(topic), o, fn, hooks);
    return r.run();
}

}  // namespace evt::kafka
