// The NATS JetStream backend's shared parts: settings, a connection with its
// JetStream context, errors, names (schemas/NATS.md), the topic registry and
// message decoding. See nats_backend.hpp for what the backend maps.
#pragma once

#include <nats/nats.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/backend/backend.hpp"

namespace evt::nats {

struct Settings {
    std::string location;              // nats://...
    std::vector<std::string> servers;  // nats://host:port each
    Micros timeout = 8'000'000;        // an unreachable cluster is reported within 10 s
    int replicas = 0;                  // evt.replicas; 0: 3, or fewer when the cluster is smaller
    std::string user, password, token, creds;
    int timeout_ms() const { return static_cast<int>(timeout / 1000); }
};

Result<Settings> parse_settings(const std::string& location, const backend::OpenOptions& o);

// A natsStatus (and JetStream error code) as an evt error: unavailable for a
// cluster that cannot be reached or has no leader for the stream, busy for a
// timeout, not_found for a missing stream or key.
Error nats_error(const Settings& s, natsStatus st, std::string_view what, jsErrCode code = static_cast<jsErrCode>(0),
                 std::string_view detail = {});

// One connection and its JetStream context. With an ack handler for async
// publishes (the producer's).
class Client {
public:
    Client() = default;
    Client(Client&& o) noexcept : nc_(std::exchange(o.nc_, nullptr)), js_(std::exchange(o.js_, nullptr)) {}
    Client& operator=(Client&& o) noexcept {
        std::swap(nc_, o.nc_);
        std::swap(js_, o.js_);
        return *this;
    }
    ~Client();
    natsConnection* nc() const { return nc_; }
    jsCtx* js() const { return js_; }

    struct AsyncAcks {
        jsPubAckHandler handler = nullptr;
        void* closure = nullptr;
        std::int64_t max_pending = 0;
    };
    static Result<Client> connect(const Settings& s, const AsyncAcks* acks = nullptr);

private:
    natsConnection* nc_ = nullptr;
    jsCtx* js_ = nullptr;
};

// Names. A topic's '.' becomes '~' in stream names and subjects, and '=' in
// KV keys (the characters topic names cannot have).
std::string stream_name(std::string_view topic, std::uint32_t partition);  // EVT_orders_3
std::string partition_subject(std::string_view topic, std::uint32_t partition);  // evt.orders.3
// The subject of an event: evt.<topic>.<p>.<token>; token encodes the
// event's subject (letters, digits and '-' as they are, every other byte
// _XX), or is "_" for an event without one.
std::string event_subject(std::string_view topic, std::uint32_t partition, std::string_view subject);
std::string subject_token(std::string_view subject);
std::string subject_of_token(std::string_view token);  // subject_token inverted
std::string kv_key(std::string_view name);  // '.' -> '='

// The topic registry: KV bucket evt-topics, one key per topic, the value its
// configuration as JSON.
struct TopicRecord {
    log::TopicConfig config;
    int replicas = 1;
};
class Registry {
public:
    explicit Registry(const Settings& s, const Client& c) : s_(s), c_(c) {}
    ~Registry();
    Result<TopicRecord> find(std::string_view topic);
    Result<std::vector<TopicRecord>> list();
    // Creates the partitions' streams and then the record; exists (usage) if taken.
    Result<TopicRecord> create(std::string_view topic, const log::TopicOptions& o);
    Result<TopicRecord> add_partitions(std::string_view topic, std::uint32_t partitions);
    Status remove(std::string_view topic);

private:
    Status bind(bool create);
    Result<int> replicas_for(int asked);
    Status add_stream(const TopicRecord& t, std::uint32_t p);
    const Settings& s_;
    const Client& c_;
    kvStore* kv_ = nullptr;
};

// The JetStream metadata of a delivered message, parsed from its reply
// subject ($JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>).
struct MsgMeta {
    std::uint64_t stream_seq = 0, consumer_seq = 0, delivered = 0, pending = 0;
    std::int64_t ns = 0;
};
bool parse_meta(std::string_view reply, MsgMeta& m);

// Fills a record from a delivered message: offset = stream sequence - 1, the
// time the server's, the key from the Evt-Key header, the JSON the data.
class Decoder {
public:
    bool decode(natsMsg* m, std::uint32_t partition, log::RecordView& rec, bool want_headers);
    bool decode(natsMsg* m, const MsgMeta& meta, std::uint32_t partition, log::RecordView& rec, bool want_headers);
    std::string_view type(const log::RecordView& rec) { return types_.type(rec.json); }  // for --type

private:
    std::string headers_, key_;
    event::TypeReader types_;
};

// A partition stream's extent: offsets [start, end) (end = the last
// sequence), messages present, bytes, first and last append times.
struct StreamState {
    std::uint64_t start = 0, end = 0, msgs = 0, bytes = 0;
    Micros first_time = 0, last_time = 0;
    std::string leader;  // the server leading the stream ("" when it has none)
};
Result<StreamState> stream_state(const Settings& s, const Client& c, std::string_view topic, std::uint32_t p);
// The first offset of partition p appended at or after `at` (end if none).
Result<std::uint64_t> offset_for_time(const Settings& s, const Client& c, std::string_view topic, std::uint32_t p,
                                      const StreamState& st, Micros at);

// One partition's messages from an offset on, in order: an ordered
// consumer (ephemeral, flow-controlled; libnats recreates it after a lost
// server). filter: one event subject token (--stream), or all.
class Feed {
public:
    Feed() = default;
    Feed(Feed&& o) noexcept : partition(o.partition), sub_(std::exchange(o.sub_, nullptr)) {}
    Feed& operator=(Feed&& o) noexcept {
        std::swap(partition, o.partition);
        std::swap(sub_, o.sub_);
        return *this;
    }
    ~Feed();
    static Result<Feed> open(const Settings& s, const Client& c, std::string_view topic, std::uint32_t p,
                             std::uint64_t from, std::string_view filter = {});
    // The next message (the caller destroys it), or nullptr after wait_ms.
    Result<natsMsg*> next(const Settings& s, int wait_ms);
    std::uint32_t partition = 0;

private:
    natsSubscription* sub_ = nullptr;
};

// Reading (nats_read.cpp).
Status read_topic(const Settings& s, const Client& c, const TopicRecord& t, const log::ReadOptions& o,
                  const log::RecordFn& fn, const log::FollowHooks& hooks);
Status read_stream(const Settings& s, const Client& c, const TopicRecord& t, std::string_view subject,
                   const log::ReadOptions& o,
                   const std::function<Result<bool>(const log::RecordView&, std::uint64_t)>& fn,
                   const log::FollowHooks& hooks);

// Consumer groups (nats_group.cpp).
Status consume(const Settings& s, const Client& c, Registry& reg, const TopicRecord& t,
               const group::ConsumerOptions& o, const group::Handler& handler, const group::ConsumerHooks& hooks);
Result<group::CommitReport> commit_events(const Settings& s, const Client& c, Registry& reg, std::string_view group,
                                          cli::LineReader& in);
Result<std::vector<group::GroupView>> list_groups(const Settings& s, const Client& c, Registry& reg);
Result<group::GroupView> describe_group(const Settings& s, const Client& c, Registry& reg, std::string_view group);
Result<std::vector<group::ResetRow>> reset_group(const Settings& s, const Client& c, Registry& reg,
                                                 std::string_view group, std::string_view topic,
                                                 std::string_view spec, bool execute);
Status delete_group(const Settings& s, const Client& c, Registry& reg, std::string_view group);

}  // namespace evt::nats
