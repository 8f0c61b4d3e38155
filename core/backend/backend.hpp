// The backend interface: what the tools need from an event log, whatever
// stores it.
//
// Tools talk to a Backend, never to LMDB or Kafka directly. open() picks the
// implementation from the location of SPEC.md section 2: a directory is the
// embedded LMDB log (backend/lmdb_backend.cpp); `kafka://host:port[,...]` is
// the Kafka backend, which this build does not include yet, so open() returns
// ErrorKind::unavailable (exit 69) for it. A Kafka implementation provides the
// same operations with librdkafka: a Producer maps to a transactional or
// idempotent producer, read() to a consumer assigned to the partitions.
//
// Errors: as documented on each operation of log::Log, log::Appender and
// log::read_topic; unavailable for a backend that cannot be reached.
// Not thread-safe: one Backend per thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/event/codec.hpp"
#include "core/log/appender.hpp"
#include "core/log/log.hpp"
#include "core/log/reader.hpp"

namespace evt::backend {

// Writes events to one topic in batches (see log::Appender for the rules).
// Batches may be filled on another thread; commit() runs on the thread that
// opened the backend.
class Producer {
public:
    virtual ~Producer() = default;
    virtual std::unique_ptr<log::Batch> new_batch() = 0;
    // Writes the batch (all or nothing) and clears it.
    virtual Result<log::CommitResult> commit(log::Batch& batch, const log::Appender::StoredFn& on_stored) = 0;
};

enum class Sync { each, batch, none };

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string location() const = 0;

    virtual Result<log::TopicConfig> create_topic(std::string_view name, const log::TopicOptions& o) = 0;
    virtual Result<log::TopicConfig> ensure_topic(std::string_view name, const log::TopicOptions& o) = 0;
    virtual Result<log::TopicConfig> alter_partitions(std::string_view name, std::uint32_t partitions) = 0;
    virtual Status delete_topic(std::string_view name) = 0;
    virtual Result<std::vector<log::TopicConfig>> topics() = 0;
    // The topic's configuration and each partition's offsets, counts and times.
    virtual Result<std::vector<log::PartitionInfo>> describe(std::string_view topic, log::TopicConfig& config) = 0;

    // A producer for the topic; with o.create it creates the topic with its
    // first commit.
    virtual Result<std::unique_ptr<Producer>> producer(std::string_view topic, const log::AppendOptions& o,
                                                       Sync sync) = 0;
    virtual Status read(std::string_view topic, const log::ReadOptions& o, const log::RecordFn& fn,
                        const log::FollowHooks& hooks) = 0;
    virtual Status read_stream(std::string_view topic, std::string_view subject, const log::ReadOptions& o,
                               const std::function<Result<bool>(const log::RecordView&, std::uint64_t)>& fn,
                               const log::FollowHooks& hooks) = 0;
};

enum class Access { read, write };

// A directory (the embedded log) or kafka://host:port.
Result<std::unique_ptr<Backend>> open(const std::string& location, Access access);

}  // namespace evt::backend
