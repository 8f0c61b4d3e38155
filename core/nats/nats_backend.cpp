// The NATS backend: topics and the producer (reads in nats_read.cpp, groups
// in nats_group.cpp).
#include "core/nats/nats_backend.hpp"

#include <condition_variable>
#include <mutex>
#include <algorithm>
#include <optional>
#include <thread>

#include "core/nats/client.hpp"
#include "core/nats/flat.hpp"
#include "core/route/partitioner.hpp"

namespace evt::nats {

namespace {

// ---- the producer ----------------------------------------------------------------

class NatsProducer final : public backend::Producer {
public:
    NatsProducer(const Settings& s, TopicRecord t, log::AppendOptions o, backend::Sync sync)
        : s_(s), topic_(std::move(t)), opt_(std::move(o)), sync_(sync),
          rr_(static_cast<std::uint32_t>(now_micros() / 1000)) {
        for (std::uint32_t p = 0; p < topic_.config.partitions; ++p) {
            prefixes_.push_back(partition_subject(topic_.config.name, p) + ".");
            streams_.push_back(stream_name(topic_.config.name, p));
        }
    }
    ~NatsProducer() override {
        // Acks still to come refer to pending_: close the connection first.
        client_ = Client();
        for (std::uint64_t i = pending_.begin(); i < pending_.end(); ++i)
            if (pending_[i].msg) natsMsg_Destroy(pending_[i].msg);
    }

    Status init() {
        Client::AsyncAcks acks;
        acks.handler = &NatsProducer::on_ack;
        acks.closure = this;
        acks.max_pending = kWindow;
        EVT_ASSIGN(client_, Client::connect(s_, &acks));
        if (opt_.idempotent) EVT_TRY(set_window());
        return {};
    }

    std::unique_ptr<log::Batch> new_batch() override { return std::make_unique<log::Batch>(opt_); }
    backend::BatchLimits limits() const override { return {4096, 2u << 20}; }

    Result<log::CommitResult> commit(log::Batch& batch, const log::Appender::StoredFn& on_stored) override {
        if (opt_.expect) return commit_expected(batch, on_stored);
        log::CommitResult r;
        std::optional<Error> failure;
        for (std::size_t i = 0; i < batch.size() && !failure; ++i) {
            log::Batch::EventView ev = batch.event(i);
            auto p = partition_of(ev);
            if (!p.ok()) {
                failure = p.error();
                break;
            }
            // While earlier events are being sent again, later ones wait:
            // they would only fail the same way, and could overtake them.
            while (resending() && !failed_) reap(r, on_stored, 50);
            if (failed_) break;
            if (Status st = publish(ev, *p, nullptr); !st.ok()) {
                failure = st.error();
                break;
            }
            if (sync_ == backend::Sync::each) {
                if (Status w = wait_all(); !w.ok()) failure = w.error();
            }
            if ((i & 255) == 255 || sync_ == backend::Sync::each) {
                reap(r, on_stored);
                if (failed_) break;
            }
        }
        batch.clear();
        reap(r, on_stored);
        if (!failure && !failed_) return r;
        Status waited = wait_all();
        reap(r, on_stored);
        if (!failure && !waited.ok()) failure = waited.error();
        if (!failure) failure = first_failure();
        return failed_report(*failure);
    }

    std::vector<std::string> notes() const override {
        if (!resent_) return {};
        return {fmt::format("{} publish{} sent again after the cluster lost a server or a leader ({}; each stored once)",
                            resent_, resent_ == 1 ? " was" : "es were",
                            opt_.idempotent ? "their message ids let the server drop a second copy"
                                            : "no server had taken them")};
    }

    Result<log::CommitResult> finish(const log::Appender::StoredFn& on_stored) override {
        log::CommitResult r;
        for (;;) {
            Status waited = wait_all();
            reap(r, on_stored);
            if (failed_) return failed_report(first_failure());
            if (!waited.ok()) return failed_report(waited.error());
            if (pending_.empty()) return r;
        }
    }

private:
    static constexpr std::int64_t kWindow = 4096;  // publishes in flight

    struct Slot {
        natsMsg* msg = nullptr;  // ours again once acknowledged (libnats hands it back)
        std::uint32_t partition = 0;
        bool done = false;
        bool duplicate = false;
        std::uint64_t seq = 0;
        natsStatus err = NATS_OK;
        int code = 0;
        std::string text;
        int attempts = 1;
        bool extended = false;  // its time to resend renewed once, the stream having a leader again
        std::int64_t first_ms = 0;  // when first sent (the resend budget runs from here)
    };

    static std::int64_t now_ms() { return now_micros() / 1000; }

    // A failed publish that is safe and worth sending again: no server took
    // it (no responders), or, with --idempotent (a message id, so a resend of
    // one that was stored after all is a duplicate the server drops), its ack
    // did not come or the cluster was between leaders. Within evt.timeout of
    // its first send; past that it is the failure reported.
    bool resendable(const Slot& sl) const { return now_ms() - sl.first_ms < s_.timeout_ms() && safe_to_resend(sl); }
    bool safe_to_resend(const Slot& sl) const {
        if (sl.err == NATS_NO_RESPONDERS) return true;
        if (!opt_.idempotent) return false;
        return sl.err == NATS_TIMEOUT || sl.err == NATS_CONNECTION_CLOSED || sl.err == NATS_CONNECTION_DISCONNECTED ||
               sl.code == JSClusterNotAvailErr || sl.code == JSStreamOfflineErr;
    }
    // The wait for one ack: with --idempotent short, so that a publish lost
    // with a dying leader is sent again to the next one within the timeout.
    std::int64_t ack_wait_ms() const {
        if (!opt_.idempotent) return s_.timeout_ms();
        return std::clamp<std::int64_t>(s_.timeout_ms() / 4, 1000, 2000);
    }
    bool resending() {
        std::lock_guard lock(m_);
        return resending_ > 0;
    }

    static void on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
        auto* self = static_cast<NatsProducer*>(closure);
        std::lock_guard lock(self->m_);
        std::optional<std::uint64_t> at = self->by_msg_.take(msg);
        if (!at) {
            natsMsg_Destroy(msg);
            return;
        }
        Slot& sl = self->pending_[*at];
        if (sl.attempts > 1 && pa) --self->resending_;
        sl.msg = msg;
        sl.done = true;
        if (pa) {
            sl.seq = pa->Sequence;
            sl.duplicate = pa->Duplicate;
        } else if (pae) {
            sl.err = pae->Err == NATS_OK ? NATS_ERR : pae->Err;
            sl.code = static_cast<int>(pae->ErrCode);
            if (pae->ErrText) sl.text = pae->ErrText;
        } else {
            sl.err = NATS_ERR;
        }
        self->cv_.notify_all();
    }

    Result<std::uint32_t> partition_of(const log::Batch::EventView& ev) {
        const std::uint32_t n = topic_.config.partitions;
        if (opt_.partition) {
            if (*opt_.partition >= n)
                return make_error(ErrorKind::usage, "partition {} is out of range: topic '{}' has {}", *opt_.partition,
                                  topic_.config.name, n);
            return *opt_.partition;
        }
        if (ev.has_key) return ev.key_partition_hash % n;
        // --idempotent: an unkeyed event goes where its id sends it, so that a
        // rerun meets the duplicate window of the same stream.
        if (opt_.idempotent) return static_cast<std::uint32_t>(murmur2(ev.id) & 0x7fffffff) % n;
        return rr_.next(n);
    }

    Result<natsMsg*> make_msg(const log::Batch::EventView& ev, std::uint32_t p) {
        subject_.assign(prefixes_[p]);
        subject_ += subject_token(ev.subject);
        natsMsg* m = nullptr;
        natsStatus st = natsMsg_Create(&m, subject_.c_str(), nullptr, ev.json.data(), static_cast<int>(ev.json.size()));
        if (st == NATS_OK && opt_.expect)
            st = natsMsgHeader_Set(m, "Nats-Expected-Last-Subject-Sequence", expect_seq_.c_str());
        // The key travels as a header only when the subject token does not
        // already say it (a key other than the event's subject).
        if (st == NATS_OK && ev.has_key && (ev.subject.empty() || ev.key != ev.subject)) {
            key_.assign(ev.key);
            st = natsMsgHeader_Set(m, "Evt-Key", key_.c_str());
        }
        if (st != NATS_OK) {
            if (m) natsMsg_Destroy(m);
            return make_error(ErrorKind::invalid, "an event NATS cannot carry: {}", natsStatus_GetText(st));
        }
        return m;
    }

    // Queues one publish; ex: the expected last subject sequence, if any.
    Status publish(const log::Batch::EventView& ev, std::uint32_t p, const jsPubOptions* ex) {
        EVT_ASSIGN(natsMsg * m, make_msg(ev, p));
        jsPubOptions po;
        jsPubOptions_Init(&po);
        if (ex) po = *ex;
        po.MaxWait = ack_wait_ms();
        id_.assign(ev.id);
        if (opt_.idempotent && !ev.id.empty()) po.MsgId = id_.c_str();
        // nats-server 2.9 checks an expected subject sequence against what it
        // has stored, not against publishes still in its RAFT log (two racing
        // writers expecting the same sequence can both pass, seen here), and
        // not at all for 0. So the event that follows sequence S of a subject
        // also gets the message id "evt-v.<subject>.S": the second writer
        // racing for the same S gets a duplicate back, a conflict.
        if (opt_.expect) {
            first_id_ = fmt::format("evt-v.{}.{}", subject_, last_seq_);
            po.MsgId = first_id_.c_str();
        }
        {
            std::lock_guard lock(m_);
            std::uint64_t at = pending_.push_back();
            pending_[at].partition = p;
            pending_[at].first_ms = now_ms();
            by_msg_.insert(m, at);
        }
        natsMsg* handed = m;
        // A full window makes the call wait up to StallWait (the timeout) and
        // then time out: once is a slow cluster, twice one that does not answer.
        for (int stalls = 0;; ++stalls) {
            natsStatus st = js_PublishMsgAsync(client_.js(), &handed, &po);
            if (st == NATS_OK) return {};
            if (st == NATS_TIMEOUT && stalls == 0) continue;
            std::string text = nats_GetLastError(nullptr) ? nats_GetLastError(nullptr) : "";
            {
                std::lock_guard lock(m_);
                by_msg_.take(m);
                pending_.pop_back();
            }
            if (handed) natsMsg_Destroy(handed);
            return nats_error(s_, st, "publishing", static_cast<jsErrCode>(0), text);
        }
    }

    // Waits for every publish in flight (at most the timeout past the last ack).
    Status wait_all() {
        std::unique_lock lock(m_);
        auto all_done = [&] {
            for (std::uint64_t i = pending_.end(); i > pending_.begin(); --i)
                if (!pending_[i - 1].done) return false;
            return true;
        };
        while (!all_done()) {
            std::size_t before = by_msg_.size();
            if (cv_.wait_for(lock, std::chrono::microseconds(s_.timeout) + std::chrono::seconds(1), all_done)) break;
            if (by_msg_.size() == before)
                return make_error(ErrorKind::busy, "{}: {} publishes not acknowledged within {}", s_.location,
                                  by_msg_.size(), format_duration(s_.timeout));
        }
        return {};
    }

    // Takes acknowledged publishes from the front, in input order; sends
    // failed ones again while they may (waiting up to wait_ms first when
    // there is nothing to take).
    void reap(log::CommitResult& r, const log::Appender::StoredFn& on_stored, int wait_ms = 0) {
        std::vector<Slot>& ready = ready_;
        ready.clear();
        bool resend = false;
        std::optional<std::uint32_t> probe;
        {
            std::unique_lock lock(m_);
            if (wait_ms && (pending_.empty() || !pending_.front().done))
                cv_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                             [&] { return !pending_.empty() && pending_.front().done; });
            while (!pending_.empty() && pending_.front().done && !failed_) {
                if (pending_.front().err != NATS_OK && resendable(pending_.front())) {
                    resend = true;
                    break;
                }
                // Out of time, but the stream may have its leader again (an
                // election that ended just now): asked once per slot.
                if (pending_.front().err != NATS_OK && safe_to_resend(pending_.front()) &&
                    !pending_.front().extended) {
                    probe = pending_.front().partition;
                    break;
                }
                if (pending_.front().err != NATS_OK) {
                    failed_ = true;
                    first_err_ = pending_.front();
                    first_err_.msg = nullptr;
                    break;
                }
                ready.push_back(std::move(pending_.front()));
                pending_.pop_front();
            }
        }
        for (Slot& sl : ready) {
            if (sl.duplicate) {
                ++r.skipped;
            } else {
                ++r.stored;
                ++acked_;
                if (on_stored) {
                    log::Position pos;
                    pos.partition = sl.partition;
                    pos.offset = sl.seq - 1;
                    pos.time = now_micros();
                    on_stored(std::string_view(natsMsg_GetData(sl.msg),
                                               static_cast<std::size_t>(natsMsg_GetDataLength(sl.msg))),
                              pos);
                }
            }
            natsMsg_Destroy(sl.msg);
        }
        if (probe) {
            bool led = has_leader(*probe);
            std::lock_guard lock(m_);
            for (std::uint64_t i = pending_.begin(); i < pending_.end(); ++i) {
                Slot& sl = pending_[i];
                if (sl.partition != *probe || !sl.done || sl.err == NATS_OK) continue;
                sl.extended = true;
                if (led) sl.first_ms = now_ms();
            }
            resend = led;
        }
        if (resend) send_again();
    }

    // Whether partition p's stream has a leader now (asked with a short wait).
    bool has_leader(std::uint32_t p) const {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = 2000;
        jsStreamInfo* si = nullptr;
        jsErrCode code = static_cast<jsErrCode>(0);
        if (js_GetStreamInfo(&si, client_.js(), streams_[p].c_str(), &jo, &code) != NATS_OK) return false;
        bool led = !si->Cluster || (si->Cluster->Leader && *si->Cluster->Leader);
        jsStreamInfo_Destroy(si);
        return led;
    }

    // Sends every failed, resendable publish again, in input order, at most
    // every 100 ms (a cluster between leaders answers at once, and no
    // faster than that is any use).
    void send_again() {
        std::int64_t since = now_ms() - last_resend_ms_;
        if (since < 100) std::this_thread::sleep_for(std::chrono::milliseconds(100 - since));
        last_resend_ms_ = now_ms();
        std::vector<std::pair<std::uint64_t, natsMsg*>> again;
        {
            std::lock_guard lock(m_);
            for (std::uint64_t i = pending_.begin(); i < pending_.end(); ++i) {
                Slot& sl = pending_[i];
                if (!sl.done || sl.err == NATS_OK || !resendable(sl)) continue;
                if (sl.attempts++ == 1) ++resending_;
                ++resent_;
                sl.done = false;
                sl.err = NATS_OK;
                sl.code = 0;
                sl.text.clear();
                by_msg_.insert(sl.msg, i);
                again.emplace_back(i, std::exchange(sl.msg, nullptr));
            }
        }
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = ack_wait_ms();  // the message keeps its Nats-Msg-Id header
        for (auto [i, m] : again) {
            natsMsg* handed = m;
            natsStatus st = js_PublishMsgAsync(client_.js(), &handed, &po);
            if (st == NATS_OK) continue;
            std::lock_guard lock(m_);
            by_msg_.take(m);
            Slot& sl = pending_[i];
            sl.msg = handed ? handed : m;
            sl.done = true;
            sl.err = st;
        }
    }

    Error first_failure() const {
        Error e = nats_error(s_, first_err_.err, fmt::format("publishing to {}", streams_[first_err_.partition]),
                             static_cast<jsErrCode>(first_err_.code), first_err_.text);
        if (first_err_.err == NATS_TIMEOUT || first_err_.err == NATS_NO_RESPONDERS)
            return quorum_or(e, first_err_.partition);
        return e;
    }

    // A timeout or no answer: asks the stream whether it has a leader, so
    // that a lost quorum is said as such (unavailable, 69).
    Error quorum_or(const Error& e, std::uint32_t p) const {
        auto c = Client::connect(s_);
        if (!c.ok()) return c.error();
        jsStreamInfo* si = nullptr;
        jsErrCode code = static_cast<jsErrCode>(0);
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = 2000;
        natsStatus st = js_GetStreamInfo(&si, c->js(), streams_[p].c_str(), &jo, &code);
        std::string why;
        if (st != NATS_OK) {
            why = fmt::format("stream {} has no leader: its replicas lost their quorum ({})", streams_[p],
                              static_cast<int>(code) ? fmt::format("JetStream error {}", static_cast<int>(code))
                                                     : std::string(natsStatus_GetText(st)));
        } else {
            if (si->Cluster && (!si->Cluster->Leader || !*si->Cluster->Leader))
                why = fmt::format("stream {} has no leader: its replicas lost their quorum", streams_[p]);
            jsStreamInfo_Destroy(si);
        }
        if (why.empty()) return e;
        return make_error(ErrorKind::unavailable, "{}: {}", s_.location, why);
    }

    Error failed_report(const Error& e) const {
        std::uint64_t after = 0;
        for (std::uint64_t i = pending_.begin(); i < pending_.end(); ++i)
            if (pending_[i].done && pending_[i].err == NATS_OK && !pending_[i].duplicate) ++after;
        std::string tail = after ? fmt::format(", and {} after them were acknowledged out of order (a rerun with "
                                               "--idempotent skips them)",
                                               after)
                                 : std::string();
        return make_error(e.kind, "{} ({} events acknowledged by the cluster in input order{}; the rest not stored)",
                          e.message, acked_, tail);
    }

    // --expect-version: the subject's version checked by the server through
    // the expected last subject sequence; each event waits for its ack, the
    // next expects the sequence the last one got.
    Result<log::CommitResult> commit_expected(log::Batch& batch, const log::Appender::StoredFn& on_stored) {
        log::CommitResult r;
        for (std::size_t i = 0; i < batch.size(); ++i) {
            log::Batch::EventView ev = batch.event(i);
            EVT_ASSIGN(std::uint32_t p, partition_of(ev));
            if (!chain_) {
                EVT_TRY(check_version(ev, p));
                chain_ = true;
            } else if (p != chain_partition_) {
                return make_error(ErrorKind::invalid, "--expect-version on NATS needs the subject's events in one "
                                                      "partition (give them one partitionkey)");
            }
            // The header itself (libnats leaves a sequence of 0 out, and 0 is
            // "the subject has no messages yet").
            expect_seq_ = std::to_string(last_seq_);
            EVT_TRY(publish(ev, p, nullptr));
            EVT_TRY(wait_all());
            Slot front;
            {
                std::lock_guard lock(m_);
                front = pending_.front();
            }
            if ((front.err != NATS_OK && front.code == JSStreamWrongLastSequenceErr) ||
                (front.err == NATS_OK && front.duplicate)) {
                std::lock_guard lock(m_);
                natsMsg_Destroy(pending_.front().msg);
                pending_.pop_front();
                if (acked_ == 0)
                    return make_error(ErrorKind::conflict,
                                      "expected version {} of '{}', but another writer appended to it first: nothing "
                                      "stored",
                                      version_text(), ev.subject);
                return make_error(ErrorKind::conflict,
                                  "'{}' changed under this append after {} of its events were stored (another writer)",
                                  ev.subject, acked_);
            }
            reap(r, on_stored);
            if (failed_) return failed_report(first_failure());
            last_seq_ = front.seq;
        }
        batch.clear();
        return r;
    }

    std::string version_text() const {
        using K = log::ExpectVersion::Kind;
        switch (opt_.expect->kind) {
        case K::any: return "any";
        case K::no_stream: return "no-stream";
        case K::exists: return "exists";
        case K::exact: return std::to_string(opt_.expect->version);
        }
        return "?";
    }

    // The subject's current version (its message count) and last sequence,
    // read consistently (the last sequence again after the count).
    Status check_version(const log::Batch::EventView& ev, std::uint32_t p) {
        chain_partition_ = p;
        std::string subj = prefixes_[p] + subject_token(ev.subject);
        std::uint64_t count = 0, seq = 0;
        for (int attempt = 0;; ++attempt) {
            EVT_ASSIGN(std::uint64_t s1, last_subject_seq(p, subj));
            EVT_ASSIGN(count, subject_count(p, subj));
            EVT_ASSIGN(std::uint64_t s2, last_subject_seq(p, subj));
            seq = s2;
            if (s1 == s2) break;
            if (attempt > 20) return make_error(ErrorKind::busy, "'{}' keeps changing: retry", ev.subject);
        }
        last_seq_ = seq;
        using K = log::ExpectVersion::Kind;
        const log::ExpectVersion& x = *opt_.expect;
        bool ok = x.kind == K::any || (x.kind == K::no_stream && count == 0) || (x.kind == K::exists && count > 0) ||
                  (x.kind == K::exact && count == x.version);
        if (!ok)
            return make_error(ErrorKind::conflict, "expected version {} of '{}', but it is at version {}: nothing stored",
                              version_text(), ev.subject, count);
        return {};
    }

    Result<std::uint64_t> last_subject_seq(std::uint32_t p, const std::string& subj) {
        natsMsg* m = nullptr;
        jsErrCode code = static_cast<jsErrCode>(0);
        natsStatus st = js_GetLastMsg(&m, client_.js(), streams_[p].c_str(), subj.c_str(), nullptr, &code);
        if (st == NATS_NOT_FOUND || static_cast<int>(code) == JSNoMessageFoundErr) return std::uint64_t{0};
        if (st != NATS_OK) return nats_error(s_, st, fmt::format("reading the last event of {}", subj), code);
        std::uint64_t seq = natsMsg_GetSequence(m);
        natsMsg_Destroy(m);
        return seq;
    }

    Result<std::uint64_t> subject_count(std::uint32_t p, const std::string& subj) {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Stream.Info.SubjectsFilter = subj.c_str();
        jsStreamInfo* si = nullptr;
        jsErrCode code = static_cast<jsErrCode>(0);
        natsStatus st = js_GetStreamInfo(&si, client_.js(), streams_[p].c_str(), &jo, &code);
        if (st != NATS_OK) return nats_error(s_, st, fmt::format("counting the events of {}", subj), code);
        std::uint64_t n = 0;
        if (si->State.Subjects)
            for (int i = 0; i < si->State.Subjects->Count; ++i)
                if (subj == si->State.Subjects->List[i].Subject) n = si->State.Subjects->List[i].Msgs;
        jsStreamInfo_Destroy(si);
        return n;
    }

    // --idempotent=WINDOW: every partition's duplicate window set to WINDOW.
    Status set_window() {
        std::int64_t want = opt_.idempotency_window * 1000;
        for (const std::string& name : streams_) {
            jsStreamInfo* si = nullptr;
            jsErrCode code = static_cast<jsErrCode>(0);
            natsStatus st = js_GetStreamInfo(&si, client_.js(), name.c_str(), nullptr, &code);
            if (st != NATS_OK) return nats_error(s_, st, fmt::format("reading stream {}", name), code);
            std::unique_ptr<jsStreamInfo, void (*)(jsStreamInfo*)> hold(si, jsStreamInfo_Destroy);
            if (si->Config->Duplicates == want) continue;
            if (si->Config->MaxAge && want > si->Config->MaxAge)
                return make_error(ErrorKind::usage, "--idempotent={} is longer than the retention of topic '{}' ({})",
                                  format_duration(opt_.idempotency_window), topic_.config.name,
                                  format_duration(si->Config->MaxAge / 1000));
            jsStreamConfig cfg = *si->Config;
            cfg.Duplicates = want;
            jsStreamInfo* out = nullptr;
            st = js_UpdateStream(&out, client_.js(), &cfg, nullptr, &code);
            if (out) jsStreamInfo_Destroy(out);
            if (st != NATS_OK) return nats_error(s_, st, fmt::format("setting the duplicate window of {}", name), code);
        }
        return {};
    }

    const Settings& s_;
    TopicRecord topic_;
    log::AppendOptions opt_;
    backend::Sync sync_;
    RoundRobin rr_;
    Client client_;
    std::vector<std::string> prefixes_, streams_;
    std::string subject_, key_, id_, expect_seq_, first_id_;
    std::mutex m_;
    std::condition_variable cv_;
    // Publishes in flight, in input order, and each one's slot by its message
    // (flat: a publish costs no allocation of ours; a deque and a node map
    // were a sixth of evt-append's time here).
    Ring<Slot> pending_;
    PtrIndex<natsMsg> by_msg_;
    std::vector<Slot> ready_;  // reap's, kept for its capacity
    std::uint64_t resending_ = 0;  // slots sent again and not yet stored
    std::uint64_t resent_ = 0;     // publishes sent again, in all
    std::int64_t last_resend_ms_ = 0;
    bool failed_ = false;
    Slot first_err_;
    std::uint64_t acked_ = 0;
    bool chain_ = false;
    std::uint32_t chain_partition_ = 0;
    std::uint64_t last_seq_ = 0;
};

// ---- the backend -------------------------------------------------------------

class NatsBackend final : public backend::Backend {
public:
    NatsBackend(Settings s, Client c) : s_(std::move(s)), c_(std::move(c)), reg_(s_, c_) {}

    std::string location() const override { return s_.location; }
    std::string_view name() const override { return "NATS JetStream"; }
    bool supports(backend::Feature f) const override { return f != backend::Feature::local_state; }
    std::string lacks(backend::Feature f) const override {
        if (f == backend::Feature::local_state) return "NATS keeps no evt state";
        return Backend::lacks(f);
    }

    Result<log::TopicConfig> create_topic(std::string_view name, const log::TopicOptions& o) override {
        EVT_ASSIGN(TopicRecord t, reg_.create(name, o));
        return t.config;
    }
    Result<log::TopicConfig> ensure_topic(std::string_view name, const log::TopicOptions& o) override {
        auto t = reg_.find(name);
        if (t.ok()) return t->config;
        if (t.error().kind != ErrorKind::not_found) return t.error();
        auto made = reg_.create(name, o);
        if (made.ok()) return made->config;
        if (auto again = reg_.find(name); again.ok()) return again->config;  // created meanwhile
        return made.error();
    }
    Result<log::TopicConfig> alter_partitions(std::string_view name, std::uint32_t partitions) override {
        EVT_ASSIGN(TopicRecord t, reg_.add_partitions(name, partitions));
        return t.config;
    }
    Status delete_topic(std::string_view name) override { return reg_.remove(name); }
    Result<std::vector<log::TopicConfig>> topics() override {
        EVT_ASSIGN(auto all, reg_.list());
        std::vector<log::TopicConfig> out;
        for (auto& t : all) out.push_back(t.config);
        return out;
    }
    Result<std::vector<log::PartitionInfo>> describe(std::string_view topic, log::TopicConfig& config) override {
        EVT_ASSIGN(TopicRecord t, reg_.find(topic));
        config = t.config;
        std::vector<log::PartitionInfo> out;
        for (std::uint32_t p = 0; p < t.config.partitions; ++p) {
            EVT_ASSIGN(StreamState st, stream_state(s_, c_, topic, p));
            log::PartitionInfo info;
            info.partition = p;
            info.start = st.start;
            info.end = st.end;
            info.records = st.msgs;
            info.bytes = st.bytes;
            info.first_time = st.first_time;
            info.last_time = st.last_time;
            out.push_back(info);
        }
        return out;
    }

    Result<std::unique_ptr<backend::Producer>> producer(std::string_view topic, const log::AppendOptions& o,
                                                        backend::Sync sync) override {
        if (o.atomic)
            return backend::refuse(*this, "--atomic", "NATS JetStream has no transaction across messages (append "
                                                      "without it: a failed run reports the prefix stored)");
        EVT_TRY(log::check_topic_name(topic));
        auto t = reg_.find(topic);
        if (!t.ok() && t.error().kind == ErrorKind::not_found && o.create) {
            auto made = reg_.create(topic, *o.create);
            t = made.ok() ? made : reg_.find(topic);
            if (!t.ok() && !made.ok()) return made.error();
        }
        if (!t.ok()) return t.error();
        auto p = std::make_unique<NatsProducer>(s_, *t, o, sync);
        EVT_TRY(p->init());
        return std::unique_ptr<backend::Producer>(std::move(p));
    }

    Status read(std::string_view topic, const log::ReadOptions& o, const log::RecordFn& fn,
                const log::FollowHooks& hooks) override {
        EVT_ASSIGN(TopicRecord t, reg_.find(topic));
        return read_topic(s_, c_, t, o, fn, hooks);
    }
    Status read_stream(std::string_view topic, std::string_view subject, const log::ReadOptions& o,
                       const std::function<Result<bool>(const log::RecordView&, std::uint64_t)>& fn,
                       const log::FollowHooks& hooks) override {
        EVT_ASSIGN(TopicRecord t, reg_.find(topic));
        return nats::read_stream(s_, c_, t, subject, o, fn, hooks);
    }

    Status consume(const group::ConsumerOptions& o, const group::Handler& handler,
                   const group::ConsumerHooks& hooks) override {
        EVT_ASSIGN(TopicRecord t, reg_.find(o.topic));
        return nats::consume(s_, c_, reg_, t, o, handler, hooks);
    }
    Result<group::CommitReport> commit_events(std::string_view g, cli::LineReader& in) override {
        return nats::commit_events(s_, c_, reg_, g, in);
    }
    Result<std::vector<group::GroupView>> list_groups() override { return nats::list_groups(s_, c_, reg_); }
    Result<group::GroupView> describe_group(std::string_view g) override {
        return nats::describe_group(s_, c_, reg_, g);
    }
    Result<std::vector<group::ResetRow>> reset_group(std::string_view g, std::string_view topic, std::string_view spec,
                                                     bool execute) override {
        return nats::reset_group(s_, c_, reg_, g, topic, spec, execute);
    }
    Status delete_group(std::string_view g) override { return nats::delete_group(s_, c_, reg_, g); }

private:
    Settings s_;
    Client c_;
    Registry reg_;
};

}  // namespace

Result<std::unique_ptr<backend::Backend>> open(const std::string& location, const backend::OpenOptions& options) {
    EVT_ASSIGN(Settings s, parse_settings(location, options));
    EVT_ASSIGN(Client c, Client::connect(s));
    return std::unique_ptr<backend::Backend>(new NatsBackend(std::move(s), std::move(c)));
}

}  // namespace evt::nats
