// The Kafka backend: settings, handles, metadata, topics and the producer.
#include "core/kafka/kafka_backend.hpp"

#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>
#include <thread>

#include "core/kafka/client.hpp"
#include "core/route/partitioner.hpp"
#include "core/util/uuid.hpp"

namespace evt::kafka {

// ---- settings -------------------------------------------------------------

namespace {

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return std::string(s);
}

// Settings whose values are secrets: never repeated, even in errors.
bool is_secret(std::string_view name) {
    for (std::string_view w : {"password", "secret", "jaas", "token", "key.pem", "credentials"})
        if (name.find(w) != std::string_view::npos) return true;
    return false;
}

Status set_prop(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
    char err[512];
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK) return {};
    std::string why = is_secret(name) ? std::string("invalid value") : std::string(err);
    // librdkafka may quote the value back: take it out.
    if (!value.empty())
        for (std::size_t at; (at = why.find(value)) != std::string::npos;) why.replace(at, value.size(), "***");
    return make_error(ErrorKind::usage, "Kafka setting '{}': {}", name, why);
}

void quiet_log(const rd_kafka_t*, int, const char*, const char*) {}

void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    (void)rk;
    auto* st = static_cast<HandleState*>(opaque);
    st->last_error = static_cast<rd_kafka_resp_err_t>(err);
    st->last_reason = reason ? reason : "";
    if (err == RD_KAFKA_RESP_ERR__FATAL) st->fatal = true;
}

}  // namespace

Result<Settings> parse_settings(const std::string& location, const backend::OpenOptions& o) {
    Settings s;
    s.location = location;
    std::string_view rest = std::string_view(location).substr(8);
    while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.empty() || rest.find_first_of("/?@ ") != std::string_view::npos)
        return make_error(ErrorKind::usage, "'{}': a Kafka log is kafka://host:port[,host:port...]", location);
    s.bootstrap = std::string(rest);
    std::string file = o.config_file;
    if (file.empty())
        if (const char* e = std::getenv("EVT_KAFKA_CONFIG"); e && *e) file = e;
    std::vector<std::pair<std::string, std::string>> all;
    if (!file.empty()) {
        std::ifstream in(file);
        if (!in) return make_error(ErrorKind::not_found, "cannot read the Kafka properties file '{}'", file);
        std::string line;
        for (int n = 1; std::getline(in, line); ++n) {
            std::string t = trim(line);
            if (t.empty() || t[0] == '#' || t[0] == '!') continue;
            auto eq = t.find('=');
            if (eq == std::string::npos || eq == 0)
                return make_error(ErrorKind::usage, "{}:{}: expected name=value", file, n);
            all.emplace_back(trim(std::string_view(t).substr(0, eq)), trim(std::string_view(t).substr(eq + 1)));
        }
    }
    for (const auto& kv : o.settings) all.push_back(kv);
    for (auto& [name, value] : all) {
        if (name == "evt.timeout") {
            auto d = parse_duration(value);
            if (!d.ok() || *d <= 0) return make_error(ErrorKind::usage, "evt.timeout: expected a duration such as 10s");
            s.timeout = *d;
        } else if (name == "evt.binding") {
            if (value != "structured" && value != "binary")
                return make_error(ErrorKind::usage, "evt.binding: expected structured or binary");
            s.binding = value == "binary" ? Mode::binary : Mode::structured;
        } else if (name.rfind("evt.", 0) == 0) {
            return make_error(ErrorKind::usage, "unknown evt setting '{}' (evt.timeout, evt.binding)", name);
        } else if (name == "bootstrap.servers" || name == "metadata.broker.list") {
            return make_error(ErrorKind::usage, "'{}' comes from the log URL: -L kafka://host:port", name);
        } else {
            s.props.emplace_back(name, value);
        }
    }
    if (!o.binding.empty()) s.binding = o.binding == "binary" ? Mode::binary : Mode::structured;
    return s;
}

Handle::~Handle() {
    if (rk) rd_kafka_destroy(rk);
}

Result<Handle> make_handle(const Settings& s, rd_kafka_type_t type,
                           const std::vector<std::pair<std::string, std::string>>& defaults,
                           const std::vector<std::pair<std::string, std::string>>& fixed,
                           const std::function<void(rd_kafka_conf_t*)>& setup) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    auto fail = [&](Error e) -> Result<Handle> {
        rd_kafka_conf_destroy(conf);
        return e;
    };
    bool debug = false;
    std::vector<std::pair<std::string, std::string>> all = {{"bootstrap.servers", s.bootstrap},
                                                            {"allow.auto.create.topics", "false"},
                                                            {"socket.connection.setup.timeout.ms",
                                                             std::to_string(s.timeout_ms())}};
    all.insert(all.end(), defaults.begin(), defaults.end());
    all.insert(all.end(), s.props.begin(), s.props.end());
    all.insert(all.end(), fixed.begin(), fixed.end());
    for (const auto& [name, value] : all) {
        if (name == "debug") debug = true;
        if (type == RD_KAFKA_CONSUMER && name == "allow.auto.create.topics") {
            // a consumer-only property in 2.0, harmless on a producer
        }
        if (type == RD_KAFKA_PRODUCER && name == "allow.auto.create.topics") continue;
        Status st = set_prop(conf, name, value);
        if (!st.ok()) return fail(st.error());
    }
    Handle h;
    rd_kafka_conf_set_opaque(conf, h.state.get());
    rd_kafka_conf_set_error_cb(conf, on_error);
    if (!debug) rd_kafka_conf_set_log_cb(conf, quiet_log);
    if (setup) setup(conf);
    char err[512];
    h.rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!h.rk) return fail(make_error(ErrorKind::usage, "Kafka client: {}", err));
    return h;
}

Error kafka_error(const Settings& s, rd_kafka_resp_err_t err, std::string_view what, std::string_view detail) {
    std::string why = detail.empty() ? rd_kafka_err2str(err) : std::string(detail);
    switch (err) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
        return make_error(ErrorKind::unavailable, "{}: no answer from the Kafka brokers while {} within {} ({})",
                          s.location, what, format_duration(s.timeout), why);
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
        return make_error(ErrorKind::not_found, "{}: {}", s.location, why);
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
    case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
        return make_error(ErrorKind::unavailable, "{}: the broker does not support {} ({})", s.location, what, why);
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
        return make_error(ErrorKind::busy, "{}: {} failed for now ({}); try again", s.location, what, why);
    default:
        return make_error(ErrorKind::unavailable, "{}: {} failed: {}", s.location, what, why);
    }
}

Result<std::vector<TopicMeta>> list_topics(const Settings& s, rd_kafka_t* rk) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, s.timeout_ms());
    if (err) return kafka_error(s, err, "reading metadata");
    std::vector<TopicMeta> out;
    for (int i = 0; i < md->topic_cnt; ++i) {
        const auto& t = md->topics[i];
        if (t.err || std::strncmp(t.topic, "__", 2) == 0) continue;
        out.push_back({t.topic, static_cast<std::uint32_t>(t.partition_cnt)});
    }
    rd_kafka_metadata_destroy(md);
    std::sort(out.begin(), out.end(), [](const TopicMeta& a, const TopicMeta& b) { return a.name < b.name; });
    return out;
}

Result<TopicMeta> find_topic(const Settings& s, rd_kafka_t* rk, std::string_view topic) {
    EVT_TRY(log::check_topic_name(topic));
    // All topics' metadata: asking for one topic by name makes brokers that
    // auto-create topics (and librdkafka's mock) create it.
    EVT_ASSIGN(auto all, list_topics(s, rk));
    for (auto& t : all)
        if (t.name == topic && t.partitions > 0) return t;
    return make_error(ErrorKind::not_found, "no such topic '{}' on {}", topic, s.location);
}

Result<Watermarks> watermarks(const Settings& s, rd_kafka_t* rk, std::string_view topic, std::uint32_t p) {
    std::int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk, std::string(topic).c_str(),
                                                               static_cast<std::int32_t>(p), &lo, &hi, s.timeout_ms());
    if (err) return kafka_error(s, err, fmt::format("reading the offsets of {}/{}", topic, p));
    return Watermarks{static_cast<std::uint64_t>(std::max<std::int64_t>(lo, 0)),
                      static_cast<std::uint64_t>(std::max<std::int64_t>(hi, 0))};
}

Result<std::vector<std::uint64_t>> offsets_for_time(const Settings& s, rd_kafka_t* rk, std::string_view topic,
                                                    const std::vector<std::uint32_t>& partitions, Micros at,
                                                    const std::vector<Watermarks>& marks) {
    rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
    std::string t(topic);
    for (std::uint32_t p : partitions)
        rd_kafka_topic_partition_list_add(l, t.c_str(), static_cast<std::int32_t>(p))->offset = at / 1000;
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, l, s.timeout_ms());
    std::vector<std::uint64_t> out;
    if (!err)
        for (std::size_t i = 0; i < partitions.size(); ++i) {
            std::int64_t o = l->elems[i].offset;
            out.push_back(o < 0 ? marks[i].high : std::clamp<std::uint64_t>(o, marks[i].low, marks[i].high));
        }
    rd_kafka_topic_partition_list_destroy(l);
    if (err) return kafka_error(s, err, "looking up offsets by time");
    return out;
}

// ---- decoding records -----------------------------------------------------

Status RecordDecoder::decode(std::string_view topic, const rd_kafka_message_t* msg, log::RecordView& rec,
                             bool want_headers) {
    rec = log::RecordView{};
    rec.partition = static_cast<std::uint32_t>(msg->partition);
    rec.offset = static_cast<std::uint64_t>(msg->offset);
    rd_kafka_timestamp_type_t tt;
    std::int64_t ts = rd_kafka_message_timestamp(msg, &tt);
    rec.time = ts >= 0 ? ts * 1000 : 0;
    rec.has_key = msg->key != nullptr;
    if (msg->key) rec.key = {static_cast<const char*>(msg->key), msg->key_len};
    views_.clear();
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
        const char* name;
        const void* val;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
            views_.emplace_back(name, val ? std::string_view(static_cast<const char*>(val), size) : std::string_view());
    }
    std::string_view value = msg->payload ? std::string_view(static_cast<const char*>(msg->payload), msg->len)
                                          : std::string_view();
    bool structured = false;
    for (const auto& [n, v] : views_)
        if (n == "content-type" && is_structured_content_type(v)) structured = msg->payload != nullptr;
    if (structured) {
        rec.json = value;
    } else {
        Status st = kafka::decode(value, msg->payload == nullptr, views_, json_);
        if (!st.ok())
            return make_error(ErrorKind::invalid, "{}/{}/{}: {}", topic, rec.partition, rec.offset, st.error().message);
        rec.json = json_;
    }
    if (want_headers) {
        headers_.clear();
        for (const auto& [n, v] : views_) {
            if (!headers_.empty()) headers_ += ',';
            headers_.append(n);
            headers_ += '=';
            headers_.append(v);
        }
        rec.headers = headers_;
    }
    return {};
}

// ---- admin ----------------------------------------------------------------

namespace {

// Runs one admin request and waits for its result event (at most the timeout).
template <class Start>
Result<rd_kafka_event_t*> admin_call(const Settings& s, rd_kafka_t* rk, rd_kafka_admin_op_t op,
                                     rd_kafka_event_type_t result, std::string_view what, Start start) {
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, op);
    char err[256];
    rd_kafka_AdminOptions_set_request_timeout(opts, s.timeout_ms(), err, sizeof err);
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
        op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS)
        rd_kafka_AdminOptions_set_operation_timeout(opts, s.timeout_ms(), err, sizeof err);
    start(opts, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, s.timeout_ms() + 2000);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    if (!ev)
        return make_error(ErrorKind::busy, "{}: the broker did not answer {} within {}", s.location, what,
                          format_duration(s.timeout));
    if (rd_kafka_event_type(ev) != result || rd_kafka_event_error(ev)) {
        rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
        std::string why = rd_kafka_event_error_string(ev) ? rd_kafka_event_error_string(ev) : rd_kafka_err2str(e);
        rd_kafka_event_destroy(ev);
        if (e == RD_KAFKA_RESP_ERR__TIMED_OUT)
            return make_error(ErrorKind::busy, "{}: the broker did not answer {} within {} ({})", s.location, what,
                              format_duration(s.timeout), why);
        return kafka_error(s, e, what, why);
    }
    return ev;
}

Status topic_result(const Settings& s, const rd_kafka_topic_result_t** res, size_t n, std::string_view what) {
    for (size_t i = 0; i < n; ++i) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
        if (!e) continue;
        const char* msg = rd_kafka_topic_result_error_string(res[i]);
        std::string why = msg ? msg : rd_kafka_err2str(e);
        if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            return make_error(ErrorKind::conflict, "topic '{}' already exists on {}", rd_kafka_topic_result_name(res[i]),
                              s.location);
        if (e == RD_KAFKA_RESP_ERR_INVALID_PARTITIONS || e == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR ||
            e == RD_KAFKA_RESP_ERR_INVALID_CONFIG || e == RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION)
            return make_error(ErrorKind::usage, "{}: {}", what, why);
        if (e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT)
            return make_error(ErrorKind::busy, "{}: {} timed out ({})", s.location, what, why);
        return kafka_error(s, e, what, why);
    }
    return {};
}

// ---- the producer ---------------------------------------------------------

struct Delivery {
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__IN_PROGRESS;
    std::int32_t partition = 0;
    std::int64_t offset = -1;
    std::int64_t ts = 0;
};

struct ProducerState {
    std::size_t pending = 0;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* st = static_cast<ProducerState*>(opaque == nullptr ? nullptr : opaque);
    auto* d = static_cast<Delivery*>(m->_private);
    if (d) {
        d->err = m->err;
        d->partition = m->partition;
        d->offset = m->offset;
        rd_kafka_timestamp_type_t tt;
        d->ts = rd_kafka_message_timestamp(m, &tt);
    }
    (void)st;
}

class KafkaProducer final : public backend::Producer {
public:
    KafkaProducer(const Settings& s, Handle h, TopicMeta t, log::AppendOptions o, backend::Sync sync, bool atomic)
        : s_(s), h_(std::move(h)), topic_(std::move(t)), opt_(std::move(o)), sync_(sync), atomic_(atomic),
          encoder_(s.binding), rr_(static_cast<std::uint32_t>(now_micros() / 1000)) {
        rkt_ = rd_kafka_topic_new(h_.get(), topic_.name.c_str(), nullptr);
    }
    ~KafkaProducer() override {
        // Reports still to come point into pending_: take them before it goes.
        if (!pending_.empty()) {
            rd_kafka_purge(h_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            (void)rd_kafka_flush(h_.get(), 2000);
        }
        if (rkt_) rd_kafka_topic_destroy(rkt_);
    }

    Status init() {
        if (!atomic_) return {};
        rd_kafka_error_t* e = rd_kafka_init_transactions(h_.get(), s_.timeout_ms());
        return take(e, "starting a transaction (init_transactions)");
    }

    std::unique_ptr<log::Batch> new_batch() override { return std::make_unique<log::Batch>(opt_); }
    // A batch is only the hand-over from the reading thread (its events go
    // out at once, and it comes back when they are delivered): a small one
    // stays in the cache. (--atomic reads the whole input into one batch
    // whatever the limits.)
    backend::BatchLimits limits() const override { return {4096, 2u << 20}; }

    // Without --atomic the producer keeps the pipeline full: a batch's events
    // are queued in librdkafka without waiting for the batch before, and
    // their delivery reports are taken as they arrive, in input order, by
    // this and the next commits and finish(). What a commit reports
    // stored is the events acknowledged since the last one. --sync each waits
    // for every event's report before the next; --atomic is one transaction
    // per commit, waited for.
    Result<log::CommitResult> commit(log::Batch& batch, const log::Appender::StoredFn& on_stored) override {
        if (atomic_) return commit_atomic(batch, on_stored);
        // The events are sent from the batch's own memory (structured mode:
        // no copy per event); the batch stays here until all of them are
        // delivered, and the caller gets an empty one back.
        held_.push_back(Held{spare(), 0});
        log::Batch& b = *held_.back().batch;
        b.swap(batch);
        const std::size_t n = b.size();
        held_.back().left = n;
        log::CommitResult r;
        std::optional<Error> failure;
        std::size_t queued = 0;
        for (std::size_t i = 0; i < n && !failure; ++i) {
            log::Batch::EventView ev = b.event(i);
            auto p = partition_of(ev);
            if (!p.ok()) {
                failure = p.error();
                break;
            }
            if (Status e = encoder_.encode(ev.json, enc_); !e.ok()) {
                failure = e.error();
                break;
            }
            pending_.push_back({Delivery{}, ev.json});
            if (Status q = produce(ev, enc_, *p, &pending_.back().d, !enc_.binary); !q.ok()) {
                pending_.pop_back();
                failure = q.error();
                break;
            }
            ++queued;
            if (sync_ == backend::Sync::each) {
                if (Status w = wait_all(); !w.ok()) failure = w.error();
            } else if ((i & 63) == 63) {
                rd_kafka_poll(h_.get(), 0);  // serve delivery reports now and then, not per event
            }
            if ((i & 1023) == 1023 || sync_ == backend::Sync::each) {
                reap(r, on_stored);
                if (failed_) break;
            }
        }
        // Events of the batch that were never queued are not waited for (it
        // is still the last held: its queued events are not all reaped).
        held_.back().left -= n - queued;
        reap(r, on_stored);
        if (!failure && !failed_) return r;
        // Stop: every event still queued gets its report, so that the count
        // of what Kafka acknowledged is exact.
        Status waited = wait_all();
        reap(r, on_stored);
        if (!failure && !waited.ok()) failure = waited.error();
        if (!failure) failure = kafka_error(s_, first_err_, "delivering events");
        return failed_report(*failure);
    }

    Result<log::CommitResult> finish(const log::Appender::StoredFn& on_stored) override {
        log::CommitResult r;
        rd_kafka_resp_err_t err = rd_kafka_flush(h_.get(), s_.timeout_ms() * 6);
        reap(r, on_stored);
        if (err) return failed_report(kafka_error(s_, err, "flushing the producer"));
        if (failed_) return failed_report(kafka_error(s_, first_err_, "delivering events"));
        return r;
    }

    std::vector<std::string> notes() const override {
        if (!encoder_.fallbacks()) return {};
        return {fmt::format("{} event{} written in structured mode: binary mode cannot carry {} byte for byte "
                            "(see evt-append(1), KAFKA)",
                            encoder_.fallbacks(), encoder_.fallbacks() == 1 ? "" : "s",
                            encoder_.fallbacks() == 1 ? "it" : "them")};
    }

private:
    struct Pending {
        Delivery d;
        std::string_view json;  // in a held batch (or, --atomic, the batch being committed)
    };
    struct Held {
        std::unique_ptr<log::Batch> batch;
        std::size_t left = 0;  // its events not yet reaped
    };
    std::unique_ptr<log::Batch> spare() {
        if (!free_.empty()) {
            auto b = std::move(free_.back());
            free_.pop_back();
            return b;
        }
        auto b = std::make_unique<log::Batch>(opt_);
        b->reserve(limits().events, limits().bytes);
        return b;
    }
    // Held batches whose events were all reaped go back to the free list.
    void release() {
        while (!held_.empty() && held_.front().left == 0) {
            held_.front().batch->clear();
            free_.push_back(std::move(held_.front().batch));
            held_.pop_front();
        }
    }

    Result<std::int32_t> partition_of(const log::Batch::EventView& ev) {
        if (opt_.partition && *opt_.partition >= topic_.partitions)
            return make_error(ErrorKind::usage, "partition {} is out of range: topic '{}' has {}", *opt_.partition,
                              topic_.name, topic_.partitions);
        return static_cast<std::int32_t>(opt_.partition ? *opt_.partition
                                         : ev.has_key    ? ev.key_partition_hash % topic_.partitions
                                                         : rr_.next(topic_.partitions));
    }

    // Queues one record; waits while librdkafka's queue is full. librdkafka
    // copies key and headers, and the value unless borrowed (then it must
    // stay where it is until the delivery report).
    Status produce(const log::Batch::EventView& ev, const Encoded& enc, std::int32_t p, Delivery* d,
                   bool borrow = false) {
        std::string_view value = enc.binary ? std::string_view(enc.value) : ev.json;
        for (;;) {
            rd_kafka_headers_t* hdrs = rd_kafka_headers_new(enc.headers.size());
            for (const auto& hd : enc.headers)
                rd_kafka_header_add(hdrs, hd.name.data(), static_cast<ssize_t>(hd.name.size()), hd.value.data(),
                                    static_cast<ssize_t>(hd.value.size()));
            rd_kafka_resp_err_t err = rd_kafka_producev(
                h_.get(), RD_KAFKA_V_RKT(rkt_), RD_KAFKA_V_PARTITION(p),
                RD_KAFKA_V_MSGFLAGS(borrow ? 0 : RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_VALUE(enc.null_value ? nullptr : const_cast<char*>(value.data()),
                                 enc.null_value ? 0 : value.size()),
                RD_KAFKA_V_KEY(ev.has_key ? ev.key.data() : nullptr, ev.has_key ? ev.key.size() : 0),
                RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
            if (!err) return {};
            rd_kafka_headers_destroy(hdrs);
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return kafka_error(s_, err, "producing");
            rd_kafka_poll(h_.get(), 5);
        }
    }

    // Takes the delivered events at the front of the queue, in input order:
    // the acknowledged ones are stored (counted, shown to on_stored).
    void reap(log::CommitResult& r, const log::Appender::StoredFn& on_stored) {
        while (!pending_.empty() && pending_.front().d.err != RD_KAFKA_RESP_ERR__IN_PROGRESS) {
            const Pending& f = pending_.front();
            if (f.d.err) {
                if (!failed_) first_err_ = f.d.err;
                ++failed_;
            } else {
                ++r.stored;
                ++acked_;
                if (on_stored) {
                    log::Position pos{static_cast<std::uint32_t>(f.d.partition), static_cast<std::uint64_t>(f.d.offset),
                                      f.d.ts >= 0 ? f.d.ts * 1000 : 0};
                    on_stored(f.json, pos);
                }
            }
            pending_.pop_front();
            if (!held_.empty()) --held_.front().left;
            release();
        }
        release();
    }

    Error failed_report(const Error& e) const {
        return make_error(e.kind, "{}; {} event{} acknowledged by Kafka in all (they are in the topic), the rest not",
                          e.message, acked_, acked_ == 1 ? "" : "s");
    }

    // --atomic: the batch is one transaction, committed only when every
    // event of it was delivered, else aborted.
    Result<log::CommitResult> commit_atomic(log::Batch& batch, const log::Appender::StoredFn& on_stored) {
        const std::size_t n = batch.size();
        EVT_TRY(take(rd_kafka_begin_transaction(h_.get()), "beginning a transaction"));
        std::optional<Error> failure;
        for (std::size_t i = 0; i < n && !failure; ++i) {
            log::Batch::EventView ev = batch.event(i);
            auto p = partition_of(ev);
            Status e = p.ok() ? encoder_.encode(ev.json, enc_) : Status(p.error());
            if (e.ok()) {
                pending_.push_back({Delivery{}, ev.json});
                e = produce(ev, enc_, *p, &pending_.back().d);
                if (!e.ok()) pending_.pop_back();
            }
            if (!e.ok()) failure = e.error();
            rd_kafka_poll(h_.get(), 0);
        }
        Status waited = wait_all();
        bool all_ok = !failure && waited.ok();
        for (const Pending& q : pending_) all_ok = all_ok && q.d.err == RD_KAFKA_RESP_ERR_NO_ERROR;
        if (all_ok) {
            Status c = take(rd_kafka_commit_transaction(h_.get(), s_.timeout_ms()), "committing the transaction");
            if (!c.ok()) failure = c.error(), all_ok = false;
        }
        if (!all_ok) {
            (void)rd_kafka_abort_transaction(h_.get(), s_.timeout_ms());
            if (!failure && !waited.ok()) failure = waited.error();
            for (const Pending& q : pending_)
                if (!failure && q.d.err && q.d.err != RD_KAFKA_RESP_ERR__IN_PROGRESS)
                    failure = kafka_error(s_, q.d.err, "delivering events");
            if (!failure) failure = kafka_error(s_, RD_KAFKA_RESP_ERR__FAIL, "delivering events");
            pending_.clear();
            batch.clear();
            return make_error(failure->kind, "{} (--atomic: the transaction was aborted, nothing was stored)",
                              failure->message);
        }
        log::CommitResult r;
        reap(r, on_stored);
        batch.clear();
        return r;
    }

    Status wait_all() {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(s_.timeout_ms()) * 6;
        while (rd_kafka_outq_len(h_.get()) > 0) {
            rd_kafka_poll(h_.get(), 20);
            if (h_.state->fatal) break;
            if (std::chrono::steady_clock::now() > deadline)
                return make_error(ErrorKind::busy, "{}: deliveries not acknowledged within {}", s_.location,
                                  format_duration(s_.timeout * 6));
        }
        rd_kafka_poll(h_.get(), 0);
        if (h_.state->fatal) {
            char why[512];
            rd_kafka_resp_err_t e = rd_kafka_fatal_error(h_.get(), why, sizeof why);
            return kafka_error(s_, e, "producing", why);
        }
        return {};
    }

    Status take(rd_kafka_error_t* e, std::string_view what) {
        if (!e) return {};
        Error out = kafka_error(s_, rd_kafka_error_code(e), what, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return out;
    }

    Settings s_;
    Handle h_;
    TopicMeta topic_;
    log::AppendOptions opt_;
    backend::Sync sync_;
    bool atomic_;
    Encoder encoder_;
    RoundRobin rr_;
    rd_kafka_topic_t* rkt_ = nullptr;
    Encoded enc_;
    std::deque<Pending> pending_;  // queued, in input order; references stay valid (push_back, pop_front)
    std::deque<Held> held_;        // batches whose events are in flight, in input order (not --atomic)
    std::vector<std::unique_ptr<log::Batch>> free_;
    std::uint64_t acked_ = 0;
    std::uint64_t failed_ = 0;
    rd_kafka_resp_err_t first_err_ = RD_KAFKA_RESP_ERR_NO_ERROR;
};

// ---- the backend ----------------------------------------------------------

class KafkaBackend final : public backend::Backend {
public:
    explicit KafkaBackend(Settings s) : s_(std::move(s)) {}

    std::string location() const override { return s_.location; }
    std::string_view name() const override { return "Kafka"; }
    bool supports(backend::Feature f) const override {
        using F = backend::Feature;
        return f == F::retention || f == F::compaction;
    }
    std::string lacks(backend::Feature f) const override {
        using F = backend::Feature;
        switch (f) {
        case F::expect_version: return "Kafka has no conditional append";
        case F::idempotent_ids:
            return "Kafka's idempotent producer drops its own retries, not events whose id was seen before "
                   "(use evt-dedup on the consumer side)";
        case F::streams: return "Kafka has no per-subject index (read the topic and filter by subject)";
        case F::queue_mode: return "Kafka has no per-event acknowledgement (use log mode, or the embedded log)";
        case F::local_state: return "Kafka keeps no evt state";
        default: return Backend::lacks(f);
        }
    }

    Result<Handle> admin_handle() {
        return make_handle(s_, RD_KAFKA_PRODUCER, {}, {});
    }

    Result<log::TopicConfig> create_topic(std::string_view name, const log::TopicOptions& o) override {
        EVT_TRY(log::check_topic_name(name));
        EVT_ASSIGN(Handle h, admin_handle());
        // Reach a broker first, so that an unreachable cluster is 69, not a timeout.
        if (auto reach = list_topics(s_, h.get()); !reach.ok()) return reach.error();
        char err[256];
        rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(std::string(name).c_str(), static_cast<int>(o.partitions),
                                                        o.replicas ? static_cast<int>(o.replicas) : -1,
                                                        err, sizeof err);
        if (!nt) return make_error(ErrorKind::usage, "topic '{}': {}", name, err);
        if (o.retention) rd_kafka_NewTopic_set_config(nt, "retention.ms", std::to_string(o.retention / 1000).c_str());
        if (o.retention_bytes)
            rd_kafka_NewTopic_set_config(nt, "retention.bytes", std::to_string(o.retention_bytes).c_str());
        if (o.compact) {
            rd_kafka_NewTopic_set_config(nt, "cleanup.policy", o.retention ? "compact,delete" : "compact");
            rd_kafka_NewTopic_set_config(nt, "delete.retention.ms",
                                         std::to_string(o.tombstone_retention / 1000).c_str());
        }
        auto ev = admin_call(s_, h.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS, RD_KAFKA_EVENT_CREATETOPICS_RESULT,
                             "CreateTopics", [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
                                 rd_kafka_CreateTopics(h.get(), &nt, 1, opts, q);
                             });
        rd_kafka_NewTopic_destroy(nt);
        if (!ev.ok()) return ev.error();
        size_t n = 0;
        const auto** res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(*ev), &n);
        Status st = topic_result(s_, res, n, fmt::format("creating topic '{}'", name));
        rd_kafka_event_destroy(*ev);
        EVT_TRY(st);
        log::TopicConfig t;
        t.name = std::string(name);
        t.partitions = o.partitions;
        t.retention = o.retention;
        t.retention_bytes = o.retention_bytes;
        t.compact = o.compact;
        return t;
    }

    Result<log::TopicConfig> ensure_topic(std::string_view name, const log::TopicOptions& o) override {
        EVT_ASSIGN(Handle h, admin_handle());
        auto m = find_topic(s_, h.get(), name);
        if (m.ok()) {
            log::TopicConfig t;
            t.name = m->name;
            t.partitions = m->partitions;
            return t;
        }
        if (m.error().kind != ErrorKind::not_found) return m.error();
        return create_topic(name, o);
    }

    Result<log::TopicConfig> alter_partitions(std::string_view name, std::uint32_t partitions) override {
        EVT_ASSIGN(Handle h, admin_handle());
        EVT_ASSIGN(TopicMeta m, find_topic(s_, h.get(), name));
        if (partitions < m.partitions)
            return make_error(ErrorKind::usage, "topic '{}' has {} partitions: Kafka can add partitions, not remove them",
                              name, m.partitions);
        log::TopicConfig t;
        t.name = m.name;
        t.partitions = partitions;
        if (partitions == m.partitions) return t;
        char err[256];
        rd_kafka_NewPartitions_t* np =
            rd_kafka_NewPartitions_new(std::string(name).c_str(), partitions, err, sizeof err);
        if (!np) return make_error(ErrorKind::usage, "topic '{}': {}", name, err);
        auto ev = admin_call(s_, h.get(), RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT,
                             "CreatePartitions", [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
                                 rd_kafka_CreatePartitions(h.get(), &np, 1, opts, q);
                             });
        rd_kafka_NewPartitions_destroy(np);
        if (!ev.ok()) return ev.error();
        size_t n = 0;
        const auto** res = rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(*ev), &n);
        Status st = topic_result(s_, res, n, fmt::format("adding partitions to '{}'", name));
        rd_kafka_event_destroy(*ev);
        EVT_TRY(st);
        return t;
    }

    Status delete_topic(std::string_view name) override {
        EVT_ASSIGN(Handle h, admin_handle());
        if (auto found = find_topic(s_, h.get(), name); !found.ok()) return found.error();
        rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(std::string(name).c_str());
        auto ev = admin_call(s_, h.get(), RD_KAFKA_ADMIN_OP_DELETETOPICS, RD_KAFKA_EVENT_DELETETOPICS_RESULT,
                             "DeleteTopics", [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
                                 rd_kafka_DeleteTopics(h.get(), &dt, 1, opts, q);
                             });
        rd_kafka_DeleteTopic_destroy(dt);
        if (!ev.ok()) return ev.error();
        size_t n = 0;
        const auto** res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(*ev), &n);
        Status st = topic_result(s_, res, n, fmt::format("deleting topic '{}'", name));
        rd_kafka_event_destroy(*ev);
        return st;
    }

    Result<std::vector<log::TopicConfig>> topics() override {
        EVT_ASSIGN(Handle h, admin_handle());
        EVT_ASSIGN(auto metas, list_topics(s_, h.get()));
        std::vector<log::TopicConfig> out;
        for (const auto& m : metas) {
            log::TopicConfig t;
            t.name = m.name;
            t.partitions = m.partitions;
            out.push_back(t);
        }
        return out;
    }

    Result<std::vector<log::PartitionInfo>> describe(std::string_view topic, log::TopicConfig& config) override {
        EVT_ASSIGN(Handle h, admin_handle());
        EVT_ASSIGN(TopicMeta m, find_topic(s_, h.get(), topic));
        config = log::TopicConfig{};
        config.name = m.name;
        config.partitions = m.partitions;
        std::vector<log::PartitionInfo> out;
        for (std::uint32_t p = 0; p < m.partitions; ++p) {
            EVT_ASSIGN(Watermarks w, watermarks(s_, h.get(), m.name, p));
            log::PartitionInfo info;
            info.partition = p;
            info.start = w.low;
            info.end = w.high;
            info.records = w.high - w.low;
            out.push_back(info);
        }
        return out;
    }

    Result<std::unique_ptr<backend::Producer>> producer(std::string_view topic, const log::AppendOptions& o,
                                                        backend::Sync sync) override {
        if (o.expect) return backend::refuse(*this, backend::Feature::expect_version);
        if (o.idempotent) return backend::refuse(*this, backend::Feature::idempotent_ids);
        EVT_TRY(log::check_topic_name(topic));
        TopicMeta meta;
        {
            EVT_ASSIGN(Handle h, admin_handle());
            auto m = find_topic(s_, h.get(), topic);
            if (!m.ok() && m.error().kind == ErrorKind::not_found && o.create) {
                auto t = create_topic(topic, *o.create);
                if (!t.ok())
                    return make_error(ErrorKind::not_found, "no such topic '{}' on {}, and creating it failed: {}", topic,
                                      s_.location, t.error().message);
                m = find_topic(s_, h.get(), topic);
            }
            if (!m.ok()) return m.error();
            meta = *m;
        }
        bool atomic = o.atomic;
        std::vector<std::pair<std::string, std::string>> defaults = {
            {"linger.ms", "5"},
            {"compression.codec", "lz4"},
            {"batch.num.messages", "10000"},
            {"queue.buffering.max.messages", "1000000"},
            {"queue.buffering.max.kbytes", "1048576"},
            {"message.timeout.ms", std::to_string(std::max(30000, s_.timeout_ms() * 3))},
        };
        std::vector<std::pair<std::string, std::string>> fixed = {
            {"enable.idempotence", "true"}, {"acks", "all"}, {"partitioner", "murmur2_random"}};
        if (atomic) fixed.emplace_back("transactional.id", fmt::format("evt-append-{}-{}", topic, Uuid7Generator().next(now_micros() / 1000)));
        EVT_ASSIGN(Handle h, make_handle(s_, RD_KAFKA_PRODUCER, defaults, fixed,
                                         [](rd_kafka_conf_t* c) { rd_kafka_conf_set_dr_msg_cb(c, on_delivery); }));
        auto p = std::make_unique<KafkaProducer>(s_, std::move(h), meta, o, sync, atomic);
        EVT_TRY(p->init());
        return std::unique_ptr<backend::Producer>(std::move(p));
    }

    Status read(std::string_view topic, const log::ReadOptions& o, const log::RecordFn& fn,
                const log::FollowHooks& hooks) override {
        return read_topic(s_, topic, o, fn, hooks);
    }

    Status read_stream(std::string_view, std::string_view, const log::ReadOptions&,
                       const std::function<Result<bool>(const log::RecordView&, std::uint64_t)>&,
                       const log::FollowHooks&) override {
        return backend::refuse(*this, backend::Feature::streams);
    }

    Status consume(const group::ConsumerOptions& o, const group::Handler& handler,
                   const group::ConsumerHooks& hooks) override {
        if (o.mode == group::Mode::queue) return backend::refuse(*this, backend::Feature::queue_mode);
        return kafka::consume(s_, o, handler, hooks);
    }
    Result<group::CommitReport> commit_events(std::string_view g, cli::LineReader& in) override {
        return kafka::commit_events(s_, g, in);
    }
    Result<std::vector<group::GroupView>> list_groups() override { return kafka::list_groups(s_); }
    Result<group::GroupView> describe_group(std::string_view g) override { return kafka::describe_group(s_, g); }
    Result<std::vector<group::ResetRow>> reset_group(std::string_view g, std::string_view topic, std::string_view spec,
                                                     bool execute) override {
        return kafka::reset_group(s_, g, topic, spec, execute);
    }
    Status delete_group(std::string_view g) override { return kafka::delete_group(s_, g); }

private:
    Settings s_;
};

}  // namespace

Result<std::unique_ptr<backend::Backend>> open(const std::string& location, const backend::OpenOptions& options) {
    EVT_ASSIGN(Settings s, parse_settings(location, options));
    return std::unique_ptr<backend::Backend>(new KafkaBackend(std::move(s)));
}

}  // namespace evt::kafka
