// The backend interface: what the tools need from an event log, whatever
// stores it. This is the one way into a log: every tool calls open() (through
// tools/common's open_log), and only open() reads the location (SPEC.md
// section 2): a directory is the embedded LMDB log (backend/lmdb_backend.cpp);
// `kafka://host:port[,host:port...]` is Kafka through librdkafka
// (core/kafka/).
//
// A backend declares what it can do (supports()). A tool asked for a feature
// its backend lacks gets ErrorKind::unavailable (exit 69) from refuse(), with
// one message naming the feature and the backend:
//
//     --expect-version needs the embedded log; Kafka has no conditional append
//
// Tools whose state is local (evt-check, evt-dedup --store, evt-project,
// evt-query, evt-saga) ask for embedded(), which is the log::Log of the
// embedded backend and a refusal elsewhere.
//
// Errors: as documented on each operation of log::Log, log::Appender,
// log::read_topic and core/group; unavailable for a backend that cannot be
// reached or lacks a feature; busy (75) for a remote call that timed out.
// Not thread-safe: one Backend per thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/cli/lines.hpp"
#include "core/event/codec.hpp"
#include "core/group/admin.hpp"
#include "core/group/consumer.hpp"
#include "core/log/appender.hpp"
#include "core/log/log.hpp"
#include "core/log/reader.hpp"

namespace evt::backend {

// Writes events to one topic in batches (see log::Appender for the rules).
// Batches may be filled on another thread; commit() runs on the thread that
// opened the backend.
// How big the batches handed to a producer grow: the embedded log commits
// one write transaction per batch and wants them large; a remote producer
// streams each batch out at once and wants them small enough to stay in
// the cache.
struct BatchLimits {
    std::size_t events = 131072;
    std::size_t bytes = 48u << 20;
};

class Producer {
public:
    virtual ~Producer() = default;
    virtual BatchLimits limits() const { return {}; }
    virtual std::unique_ptr<log::Batch> new_batch() = 0;
    // Writes the batch (all or nothing where the backend can: the embedded
    // log always, Kafka with --atomic) and clears it. What it reports stored
    // is what the backend acknowledged; a remote producer may report a
    // batch's events in later commits or in finish(), as their
    // acknowledgements arrive, always in input order.
    virtual Result<log::CommitResult> commit(log::Batch& batch, const log::Appender::StoredFn& on_stored) = 0;
    // After the last commit: anything the producer still holds is written
    // and waited for (a remote producer's last acknowledgements); reports
    // what was stored since the last commit, as commit does.
    virtual Result<log::CommitResult> finish(const log::Appender::StoredFn&) { return log::CommitResult{}; }
    // Notes for the user after the run (e.g. events a binding could not carry
    // in the mode asked for); empty when there is nothing to say.
    virtual std::vector<std::string> notes() const { return {}; }
};

enum class Sync { each, batch, none };

// What a backend may lack. The embedded log has all of them.
enum class Feature {
    expect_version,   // conditional append on a subject's version
    idempotent_ids,   // --idempotent: skip an event id seen within a window
    streams,          // --stream SUBJECT reads
    queue_mode,       // per-event leases, redelivery, dead letters
    retention,        // topic retention by time or size
    compaction,       // latest per key
    local_state,      // state kept in the log itself (projections, dedup stores, sagas, check)
};

std::string_view feature_flag(Feature f);  // "--expect-version"

// How a log is opened: what the tool will do, and the per-process settings
// that used to be globals.
struct OpenOptions {
    enum class Access { read, write } access = Access::read;
    std::uint64_t max_size = 0;  // the embedded log's map limit (0: the free disk, EVT_MAX_SIZE)
    // Remote settings: librdkafka properties `name=value` (-X), then the
    // properties file they are read from (--kafka-config, $EVT_KAFKA_CONFIG);
    // -X wins over the file.
    std::vector<std::pair<std::string, std::string>> settings;
    std::string config_file;
    // The CloudEvents Kafka binding mode of writes: structured or binary
    // (evt-append --binding); empty: the evt.binding setting, else structured.
    std::string binding;
};
using Access = OpenOptions::Access;

class Backend {
public:
    virtual ~Backend() = default;
    // The location as given (never with secrets: those travel in settings).
    virtual std::string location() const = 0;
    // "the embedded log", "Kafka": used in messages.
    virtual std::string_view name() const = 0;
    virtual bool supports(Feature f) const = 0;
    // Why the backend lacks f, as the end of a refusal ("Kafka has no
    // conditional append").
    virtual std::string lacks(Feature f) const;
    // The embedded log, or nullptr for a remote backend.
    virtual log::Log* embedded() { return nullptr; }

    // Topics.
    virtual Result<log::TopicConfig> create_topic(std::string_view name, const log::TopicOptions& o) = 0;
    virtual Result<log::TopicConfig> ensure_topic(std::string_view name, const log::TopicOptions& o) = 0;
    virtual Result<log::TopicConfig> alter_partitions(std::string_view name, std::uint32_t partitions) = 0;
    virtual Status delete_topic(std::string_view name) = 0;
    virtual Result<std::vector<log::TopicConfig>> topics() = 0;
    // The topic's configuration and each partition's offsets, counts and times.
    virtual Result<std::vector<log::PartitionInfo>> describe(std::string_view topic, log::TopicConfig& config) = 0;

    // Writing: a producer for the topic; with o.create it creates the topic
    // with its first commit (or, remotely, before it).
    virtual Result<std::unique_ptr<Producer>> producer(std::string_view topic, const log::AppendOptions& o,
                                                       Sync sync) = 0;
    // Reading.
    virtual Status read(std::string_view topic, const log::ReadOptions& o, const log::RecordFn& fn,
                        const log::FollowHooks& hooks) = 0;
    virtual Status read_stream(std::string_view topic, std::string_view subject, const log::ReadOptions& o,
                               const std::function<Result<bool>(const log::RecordView&, std::uint64_t)>& fn,
                               const log::FollowHooks& hooks) = 0;

    // Consumer groups (core/group for the embedded log's meaning of each).
    virtual Status consume(const group::ConsumerOptions& o, const group::Handler& handler,
                           const group::ConsumerHooks& hooks) = 0;
    virtual Result<group::CommitReport> commit_events(std::string_view group, cli::LineReader& in) = 0;
    virtual Result<std::vector<group::GroupView>> list_groups() = 0;
    virtual Result<group::GroupView> describe_group(std::string_view group) = 0;
    virtual Result<std::vector<group::ResetRow>> reset_group(std::string_view group, std::string_view topic,
                                                             std::string_view spec, bool execute) = 0;
    virtual Status delete_group(std::string_view group) = 0;
};

// The refusal of a feature: "<flag> needs the embedded log; <why>" (exit 69).
Error refuse(const Backend& b, Feature f);
Error refuse(const Backend& b, std::string_view what, std::string_view why);
// The embedded log for a tool that keeps its state in it, or the refusal.
// why: what makes the tool local (default: it keeps its state in the log).
Result<log::Log*> require_embedded(Backend& b, std::string_view what, std::string_view why = {});

// True for locations that name a remote log (kafka://...).
bool is_remote(std::string_view location);

// A directory (the embedded log) or kafka://host:port[,...].
Result<std::unique_ptr<Backend>> open(const std::string& location, const OpenOptions& options);
inline Result<std::unique_ptr<Backend>> open(const std::string& location, Access access) {
    OpenOptions o;
    o.access = access;
    return open(location, o);
}

// The embedded backend over an already-open log (for tools that open a
// second log, such as a backup copy).
std::unique_ptr<Backend> over(std::unique_ptr<log::Log> lg);

}  // namespace evt::backend
