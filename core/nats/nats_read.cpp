// Reading a NATS topic: an ordered consumer per partition stream, merged by
// append time (ties by partition) up to each partition's end at the start;
// with --follow, then as they arrive.
#include <deque>
#include <thread>

#include "core/nats/client.hpp"

namespace evt::nats {

// ---- partition state --------------------------------------------------------

Result<StreamState> stream_state(const Settings& s, const Client& c, std::string_view topic, std::uint32_t p) {
    std::string name = stream_name(topic, p);
    jsStreamInfo* si = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus st = js_GetStreamInfo(&si, c.js(), name.c_str(), nullptr, &code);
    if (st != NATS_OK) {
        if (static_cast<int>(code) == JSStreamNotFoundErr)
            return make_error(ErrorKind::not_found, "{}: topic '{}' lost its partition {} (stream {} is gone)",
                              s.location, topic, p, name);
        return nats_error(s, st, fmt::format("reading stream {}", name), code);
    }
    StreamState out;
    out.end = si->State.LastSeq;
    out.start = si->State.FirstSeq ? std::min(si->State.FirstSeq - 1, out.end) : out.end;
    out.msgs = si->State.Msgs;
    out.bytes = si->State.Bytes;
    out.first_time = si->State.Msgs ? si->State.FirstTime / 1000 : 0;
    out.last_time = si->State.Msgs ? si->State.LastTime / 1000 : 0;
    if (si->Cluster && si->Cluster->Leader) out.leader = si->Cluster->Leader;
    jsStreamInfo_Destroy(si);
    return out;
}

namespace {
// The first message at or after offset `off` of partition p: its offset and time, or none.
Result<std::optional<std::pair<std::uint64_t, Micros>>> message_at(const Settings& s, const Client& c,
                                                                  const std::string& stream, const std::string& subj,
                                                                  std::uint64_t off) {
    jsDirectGetMsgOptions dg;
    jsDirectGetMsgOptions_Init(&dg);
    dg.Sequence = off + 1;
    dg.NextBySubject = subj.c_str();
    natsMsg* m = nullptr;
    natsStatus st = js_DirectGetMsg(&m, c.js(), stream.c_str(), nullptr, &dg);
    if (st == NATS_NOT_FOUND) return std::optional<std::pair<std::uint64_t, Micros>>{};
    if (st != NATS_OK) return nats_error(s, st, fmt::format("reading {} at offset {}", stream, off));
    std::pair<std::uint64_t, Micros> r{natsMsg_GetSequence(m) - 1, natsMsg_GetTime(m) / 1000};
    natsMsg_Destroy(m);
    return std::optional(r);
}
}  // namespace

Result<std::uint64_t> offset_for_time(const Settings& s, const Client& c, std::string_view topic, std::uint32_t p,
                                      const StreamState& st, Micros at) {
    std::string stream = stream_name(topic, p);
    std::string subj = partition_subject(topic, p) + ".>";
    // Binary search over offsets: times grow with offsets within a stream.
    // A position with no message (removed) reads as the next one present.
    std::uint64_t lo = st.start, hi = st.end;
    while (lo < hi) {
        std::uint64_t mid = lo + (hi - lo) / 2;
        EVT_ASSIGN(auto m, message_at(s, c, stream, subj, mid));
        if (!m || m->second >= at) hi = mid;
        else lo = m->first + 1;
    }
    return lo;
}

// ---- feeds ------------------------------------------------------------------

Feed::~Feed() {
    if (sub_) {
        natsSubscription_Unsubscribe(sub_);
        natsSubscription_Destroy(sub_);
    }
}

Result<Feed> Feed::open(const Settings& s, const Client& c, std::string_view topic, std::uint32_t p,
                        std::uint64_t from, std::string_view filter) {
    Feed f;
    f.partition = p;
    std::string stream = stream_name(topic, p);
    std::string subj = partition_subject(topic, p) + "." + (filter.empty() ? std::string(">") : std::string(filter));
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = from + 1;
    so.Config.Heartbeat = 1'000'000'000;  // a lost server noticed within ~3 s, and the consumer made again
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus st = js_SubscribeSync(&f.sub_, c.js(), subj.c_str(), nullptr, &so, &code);
    if (st != NATS_OK) {
        f.sub_ = nullptr;
        return nats_error(s, st, fmt::format("reading {}", stream), code);
    }
    natsSubscription_SetPendingLimits(f.sub_, 1 << 20, 256 << 20);
    return f;
}

Result<natsMsg*> Feed::next(const Settings& s, int wait_ms) {
    natsMsg* m = nullptr;
    for (;;) {
        natsStatus st = natsSubscription_NextMsg(&m, sub_, wait_ms);
        if (st == NATS_OK) return m;
        if (st == NATS_TIMEOUT) return static_cast<natsMsg*>(nullptr);
        // The ordered consumer is being made again after a gap or a lost server.
        if (st == NATS_SLOW_CONSUMER || st == NATS_MISMATCH || st == NATS_MISSED_HEARTBEAT) continue;
        return nats_error(s, st, "reading");
    }
}

// ---- the reader -------------------------------------------------------------

namespace {

struct Part {
    Feed feed;
    std::uint64_t next = 0;      // the next offset expected
    std::uint64_t caught = 0;    // the end at the start
    std::uint64_t stop = ~0ull;  // stop before (no follow, or --to)
    struct Held {
        natsMsg* m;
        MsgMeta meta;  // parsed once, when taken off the feed
    };
    std::deque<Held> buf;
    int idle_rounds = 0;
    bool done() const { return next >= stop; }
    bool caught_up() const { return next >= caught; }
    ~Part() {
        for (Held& h : buf) natsMsg_Destroy(h.m);
    }
    Part() = default;
    Part(Part&&) = default;
};

struct Kept {
    std::string json, key, headers;
    log::RecordView rec;
};

class Reader {
public:
    using VersionFn = std::function<Result<bool>(const log::RecordView&, std::uint64_t)>;
    Reader(const Settings& s, const Client& c, const TopicRecord& t, const log::ReadOptions& o, const log::RecordFn& fn,
           const log::FollowHooks& hooks)
        : s_(s), c_(c), t_(t), o_(o), fn_(fn), hooks_(hooks) {}

    // --stream: only the events of one subject (its token), numbered.
    void only_subject(std::string token, const VersionFn& fn) {
        token_ = std::move(token);
        vfn_ = &fn;
    }

    Status run(std::vector<std::uint32_t> chosen) {
        const std::string& topic = t_.config.name;
        if (chosen.empty())
            for (std::uint32_t p = 0; p < t_.config.partitions; ++p) chosen.push_back(p);
        for (std::uint32_t p : chosen)
            if (p >= t_.config.partitions)
                return make_error(ErrorKind::usage, "partition {} is out of range: topic '{}' has {}", p, topic,
                                  t_.config.partitions);
        using K = log::OffsetSpec::Kind;
        std::uint64_t total = 0;
        tail_ = o_.from.kind == K::last && !o_.by_partition ? o_.from.n : 0;
        for (std::uint32_t p : chosen) {
            EVT_ASSIGN(StreamState st, stream_state(s_, c_, topic, p));
            EVT_ASSIGN(std::uint64_t from, position(o_.from, p, st));
            Part pt;
            pt.next = from;
            pt.caught = st.end;
            if (o_.to) {
                EVT_ASSIGN(std::uint64_t to, position(*o_.to, p, st));
                pt.stop = std::max(to, from);
            } else if (!o_.follow) {
                pt.stop = st.end;
            }
            if (pt.stop != ~0ull) total += pt.stop - pt.next;
            if (!pt.done()) {
                EVT_ASSIGN(pt.feed, Feed::open(s_, c_, topic, p, from, token_));
            }
            pt.feed.partition = p;
            parts_.push_back(std::move(pt));
        }
        if (o_.total) *o_.total = total;
        if (o_.by_partition) {
            for (auto& pt : parts_) {
                while (!pt.done() && !(o_.follow && !o_.to && pt.caught_up())) {
                    EVT_TRY(fill(pt, 100));
                    if (stopped()) return {};
                    while (!pt.buf.empty()) {
                        EVT_ASSIGN(bool go, take(pt));
                        if (!go) return {};
                    }
                }
            }
        } else {
            EVT_ASSIGN(bool go, merge());
            if (!go) return {};
        }
        EVT_ASSIGN(bool go, flush_tail());
        if (!go || !o_.follow) return {};
        return follow();
    }

private:
    Result<std::uint64_t> position(const log::OffsetSpec& spec, std::uint32_t p, const StreamState& st) {
        using K = log::OffsetSpec::Kind;
        switch (spec.kind) {
        case K::beginning: return st.start;
        case K::end: return st.end;
        case K::offset: return std::clamp(spec.n, st.start, st.end);
        case K::last: return st.end - std::min(spec.n, st.end - st.start);
        case K::time: return offset_for_time(s_, c_, t_.config.name, p, st, spec.time);
        }
        return st.start;
    }

    bool stopped() const { return hooks_.stop && hooks_.stop(); }

    // Takes what the feed has (waiting up to wait_ms for the first). A
    // partition whose remaining offsets are gone (compaction, retention) is
    // done once the server has nothing at or after them.
    Status fill(Part& pt, int wait_ms) {
        if (pt.done()) return {};
        EVT_ASSIGN(natsMsg * m, pt.feed.next(s_, wait_ms));
        if (!m) {
            if (!o_.follow && ++pt.idle_rounds >= 5) {
                pt.idle_rounds = 0;
                std::string stream = stream_name(t_.config.name, pt.feed.partition);
                std::string subj = partition_subject(t_.config.name, pt.feed.partition) + "." +
                                   (token_.empty() ? std::string(">") : token_);
                EVT_ASSIGN(auto at, message_at(s_, c_, stream, subj, pt.next));
                if (!at || at->first >= pt.stop) pt.next = pt.stop;
            }
            return {};
        }
        pt.idle_rounds = 0;
        hold(pt, m);
        for (int i = 0; i < 511; ++i) {
            EVT_ASSIGN(natsMsg * more, pt.feed.next(s_, 0));
            if (!more) break;
            hold(pt, more);
        }
        return {};
    }

    static void hold(Part& pt, natsMsg* m) {
        Part::Held h{m, {}};
        const char* reply = natsMsg_GetReply(m);
        if (!reply || !parse_meta(reply, h.meta)) h.meta = MsgMeta{};  // stream_seq 0: refused in take
        pt.buf.push_back(h);
    }

    // Hands the front message of pt to the callback (or keeps it for the tail).
    Result<bool> take(Part& pt) {
        Part::Held h = pt.buf.front();
        pt.buf.pop_front();
        std::unique_ptr<natsMsg, void (*)(natsMsg*)> hold(h.m, natsMsg_Destroy);
        log::RecordView rec;
        if (!h.meta.stream_seq || !decoder_.decode(h.m, h.meta, pt.feed.partition, rec, o_.headers))
            return make_error(ErrorKind::invalid, "{}/{}: a message without JetStream metadata", t_.config.name,
                              pt.feed.partition);
        if (rec.offset >= pt.stop) {
            pt.next = pt.stop;
            for (Part::Held& x : pt.buf) natsMsg_Destroy(x.m);
            pt.buf.clear();
            return true;
        }
        if (rec.offset < pt.next) return true;  // a redelivery after the consumer was made again
        pt.next = rec.offset + 1;
        std::uint64_t version = 0;
        if (vfn_) version = ++version_;
        if (!o_.types.empty() && !log::type_matches(o_.types, decoder_.type(rec))) return true;
        if (tail_) {
            Kept k;
            k.json.assign(rec.json);
            k.key.assign(rec.key);
            k.headers.assign(rec.headers);
            k.rec = rec;
            kept_.push_back(std::move(k));
            versions_.push_back(version);
            if (kept_.size() > tail_) {
                kept_.pop_front();
                versions_.pop_front();
            }
            return true;
        }
        return emit(rec, version);
    }

    Result<bool> emit(const log::RecordView& rec, std::uint64_t version) {
        bool go;
        if (vfn_) {
            EVT_ASSIGN(go, (*vfn_)(rec, version));
        } else {
            EVT_ASSIGN(go, fn_(rec));
        }
        if (!go) return false;
        ++emitted_;
        return !(o_.limit && emitted_ >= o_.limit);
    }

    Result<bool> flush_tail() {
        if (!tail_) return true;
        tail_ = 0;
        for (std::size_t i = 0; i < kept_.size(); ++i) {
            Kept& k = kept_[i];
            k.rec.json = k.json;
            k.rec.key = k.key;
            k.rec.headers = k.headers;
            EVT_ASSIGN(bool go, emit(k.rec, versions_[i]));
            if (!go) return false;
        }
        kept_.clear();
        return true;
    }

    bool live(const Part& pt) const { return !pt.done() && !(o_.follow && !o_.to && pt.caught_up()); }

    Result<bool> merge() {
        for (;;) {
            Part* best = nullptr;
            std::int64_t best_ns = 0;
            bool waiting = false;
            for (auto& pt : parts_) {
                if (!live(pt) && pt.buf.empty()) continue;
                if (pt.buf.empty()) {
                    EVT_TRY(fill(pt, 0));
                    if (pt.buf.empty()) {
                        if (live(pt)) waiting = true;
                        continue;
                    }
                }
                std::int64_t ns = pt.buf.front().meta.ns;
                if (!best || ns < best_ns) {
                    best = &pt;
                    best_ns = ns;
                }
            }
            if (waiting) {
                for (auto& pt : parts_)
                    if (pt.buf.empty() && live(pt)) EVT_TRY(fill(pt, 20));
                if (stopped()) return false;
                continue;
            }
            if (!best) return true;
            EVT_ASSIGN(bool go, take(*best));
            if (!go) return false;
        }
    }

    Status follow() {
        bool idle_told = false;
        std::size_t turn = 0;
        while (!stopped()) {
            bool any = false, all_done = true;
            for (auto& pt : parts_) {
                if (pt.done()) continue;
                all_done = false;
                if (pt.buf.empty()) EVT_TRY(fill(pt, 0));
                while (!pt.buf.empty()) {
                    any = true;
                    EVT_ASSIGN(bool go, take(pt));
                    if (!go) return {};
                }
            }
            if (all_done) break;
            if (any) {
                idle_told = false;
                continue;
            }
            if (!idle_told && hooks_.idle) EVT_TRY(hooks_.idle());
            idle_told = true;
            // Nothing anywhere: wait on one partition at a time, briefly.
            Part& pt = parts_[turn++ % parts_.size()];
            if (!pt.done()) EVT_TRY(fill(pt, std::max(1, 20 / static_cast<int>(parts_.size()))));
        }
        return {};
    }

    const Settings& s_;
    const Client& c_;
    const TopicRecord& t_;
    const log::ReadOptions& o_;
    const log::RecordFn& fn_;
    const log::FollowHooks& hooks_;
    std::deque<Part> parts_;
    Decoder decoder_;
    std::uint64_t tail_ = 0;
    std::deque<Kept> kept_;
    std::deque<std::uint64_t> versions_;
    std::uint64_t emitted_ = 0;
    std::string token_;
    const VersionFn* vfn_ = nullptr;
    std::uint64_t version_ = 0;
};

}  // namespace

Status read_topic(const Settings& s, const Client& c, const TopicRecord& t, const log::ReadOptions& o,
                  const log::RecordFn& fn, const log::FollowHooks& hooks) {
    Reader r(s, c, t, o, fn, hooks);
    return r.run(o.partitions);
}

Status read_stream(const Settings& s, const Client& c, const TopicRecord& t, std::string_view subject,
                   const log::ReadOptions& o,
                   const std::function<Result<bool>(const log::RecordView&, std::uint64_t)>& fn,
                   const log::FollowHooks& hooks) {
    // The partitions that hold the subject (one, unless its events had
    // different partition keys); with --follow, all of them.
    std::string token = subject_token(subject);
    std::vector<std::uint32_t> parts;
    for (std::uint32_t p = 0; p < t.config.partitions; ++p) {
        if (o.follow) {
            parts.push_back(p);
            continue;
        }
        std::string subj = partition_subject(t.config.name, p) + "." + token;
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Stream.Info.SubjectsFilter = subj.c_str();
        jsStreamInfo* si = nullptr;
        jsErrCode code = static_cast<jsErrCode>(0);
        std::string stream = stream_name(t.config.name, p);
        natsStatus st = js_GetStreamInfo(&si, c.js(), stream.c_str(), &jo, &code);
        if (st != NATS_OK) return nats_error(s, st, fmt::format("reading stream {}", stream), code);
        bool has = si->State.Subjects && si->State.Subjects->Count > 0;
        jsStreamInfo_Destroy(si);
        if (has) parts.push_back(p);
    }
    if (parts.empty()) return {};
    log::ReadOptions ro = o;
    ro.from = log::OffsetSpec{};  // versions count from the stream's first event
    ro.by_partition = false;
    Reader r(s, c, t, ro, {}, hooks);
    r.only_subject(token, fn);
    return r.run(parts);
}

}  // namespace evt::nats
