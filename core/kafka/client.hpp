// What the Kafka backend's parts share: settings, librdkafka handles made
// from them, errors mapped to evt's kinds, metadata and watermarks.
// Internal to core/kafka.
#pragma once

#include <librdkafka/rdkafka.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/backend/backend.hpp"
#include "core/kafka/binding.hpp"

namespace evt::kafka {

struct Settings {
    std::string location;   // kafka://...
    std::string bootstrap;  // host:port,...
    std::vector<std::pair<std::string, std::string>> props;  // librdkafka's, in order (file, then -X)
    Micros timeout = 8'000'000;  // an unreachable cluster is reported within 10 s
    Mode binding = Mode::structured;
    int timeout_ms() const { return static_cast<int>(timeout / 1000); }
};

Result<Settings> parse_settings(const std::string& location, const backend::OpenOptions& o);

// Errors seen by a handle's error callback (all brokers down, ...).
struct HandleState {
    rd_kafka_resp_err_t last_error = RD_KAFKA_RESP_ERR_NO_ERROR;
    std::string last_reason;
    bool fatal = false;
};

struct Handle {
    rd_kafka_t* rk = nullptr;
    std::unique_ptr<HandleState> state = std::make_unique<HandleState>();
    Handle() = default;
    Handle(Handle&& o) noexcept : rk(std::exchange(o.rk, nullptr)), state(std::move(o.state)) {}
    Handle& operator=(Handle&& o) noexcept {
        std::swap(rk, o.rk);
        std::swap(state, o.state);
        return *this;
    }
    ~Handle();
    rd_kafka_t* get() const { return rk; }
};

// A producer or consumer handle: evt's defaults, then the user's settings,
// then `fixed` (what evt's semantics need, which the user cannot change);
// setup may install callbacks on the conf. Errors: usage (a bad setting,
// its value never shown), unavailable.
Result<Handle> make_handle(const Settings& s, rd_kafka_type_t type,
                           const std::vector<std::pair<std::string, std::string>>& defaults,
                           const std::vector<std::pair<std::string, std::string>>& fixed,
                           const std::function<void(rd_kafka_conf_t*)>& setup = {});

// An error in evt's kinds for a librdkafka error in `what` ("reading
// metadata"): timeouts and transport failures are unavailable (69) with the
// location, unknown topics not_found, unsupported APIs unavailable.
Error kafka_error(const Settings& s, rd_kafka_resp_err_t err, std::string_view what, std::string_view detail = {});

struct TopicMeta {
    std::string name;
    std::uint32_t partitions = 0;
};

// Every topic (internal ones, __*, left out), or one topic (not_found when absent).
Result<std::vector<TopicMeta>> list_topics(const Settings& s, rd_kafka_t* rk);
Result<TopicMeta> find_topic(const Settings& s, rd_kafka_t* rk, std::string_view topic);

struct Watermarks {
    std::uint64_t low = 0, high = 0;
};
Result<Watermarks> watermarks(const Settings& s, rd_kafka_t* rk, std::string_view topic, std::uint32_t p);

// The first offset at or after `at` in each partition (offsetsForTimes);
// a partition with none gets its high watermark.
Result<std::vector<std::uint64_t>> offsets_for_time(const Settings& s, rd_kafka_t* rk, std::string_view topic,
                                                    const std::vector<std::uint32_t>& partitions, Micros at,
                                                    const std::vector<Watermarks>& marks);

// Group operations (kafka_group.cpp).
Status consume(const Settings& s, const group::ConsumerOptions& o, const group::Handler& handler,
               const group::ConsumerHooks& hooks);
Result<group::CommitReport> commit_events(const Settings& s, std::string_view group, cli::LineReader& in);
Result<std::vector<group::GroupView>> list_groups(const Settings& s);
Result<group::GroupView> describe_group(const Settings& s, std::string_view group);
Result<std::vector<group::ResetRow>> reset_group(const Settings& s, std::string_view group, std::string_view topic,
                                                 std::string_view spec, bool execute);
Status delete_group(const Settings& s, std::string_view group);

// Reading (kafka_read.cpp).
Status read_topic(const Settings& s, std::string_view topic, const log::ReadOptions& o, const log::RecordFn& fn,
                  const log::FollowHooks& hooks);

// A record's event, headers and type, decoded per the binding; buffers reused.
class RecordDecoder {
public:
    // Fills rec from msg (partition, offset, time, key, json, headers).
    // Errors: invalid "<topic>/<p>/<offset>: not a CloudEvent ...".
    Status decode(std::string_view topic, const rd_kafka_message_t* msg, log::RecordView& rec, bool want_headers);
    // The event's type (for --type), read from the JSON just decoded.
    std::string_view type(const log::RecordView& rec) { return types_.type(rec.json); }

private:
    std::string json_, headers_;
    std::vector<HeaderView> views_;
    event::TypeReader types_;
};

}  // namespace evt::kafka
