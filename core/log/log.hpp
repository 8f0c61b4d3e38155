// The log: an LMDB environment holding topics, their partitions and records,
// and the indexes over them (schemas/STORAGE.md is the byte-level contract).
//
// A Log is opened per process on a directory. Opening for writing creates the
// directory (mode 0700) and stamps the format version; opening any log whose
// version this build does not know fails with ErrorKind::corrupt ("unknown
// format version"), which tools report with exit 65.
//
// Topics are created explicitly (create_topic) or on first append. Each topic
// has a numeric id that names its databases, so a deleted and recreated topic
// never sees old records. Partition state (start, end, first and last append
// time) is derived from the records themselves; nothing is cached across
// transactions, so several processes can share one log.
//
// Errors: not_found (no log, no topic), invalid/usage (bad topic name,
// partition counts), conflict (topic exists), io, busy, corrupt.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/log/record.hpp"
#include "core/store/env.hpp"
#include "core/util/result.hpp"

namespace evt::log {

constexpr std::uint32_t kFormatVersion = 4;
// Logs of versions kFormatVersionOldest.. are read as they are; the first
// writer converts them and stamps kFormatVersion (3 added the stream-head
// runs, h:<topic id>; 4 keeps stream heads in blocks, schemas/STORAGE.md).
constexpr std::uint32_t kFormatVersionOldest = 2;
constexpr bool readable_format(std::uint32_t v) { return v >= kFormatVersionOldest && v <= kFormatVersion; }
constexpr std::uint32_t kMaxPartitions = 256;
// Kafka's delete.retention.ms default: a tombstone stays a day.
constexpr Micros kDefaultTombstoneRetention = 24LL * 3600 * 1000000;

// The clock of appends and retention: the wall clock, unless the environment
// variable EVT_NOW holds a time (RFC 3339, or microseconds since the epoch),
// which tests use to make hours pass in seconds. Read once per process.
Micros clock_now();

struct TopicConfig {
    std::string name;
    std::uint32_t id = 0;
    std::uint32_t partitions = 1;
    Micros created = 0;
    Micros retention = 0;              // 0: keep forever
    std::uint64_t retention_bytes = 0; // 0: no size limit
    bool compact = false;
    Micros tombstone_retention = kDefaultTombstoneRetention;  // compacted topics
    // Records can be removed: time or size retention, or compaction.
    bool removes() const { return retention > 0 || retention_bytes > 0 || compact; }
    // Records can be removed from the start (the start offset moves past events).
    bool expires() const { return retention > 0 || retention_bytes > 0; }
};

struct PartitionInfo {
    std::uint32_t partition = 0;
    std::uint64_t start = 0;  // first offset present
    std::uint64_t end = 0;    // next offset to be written (log end offset)
    std::uint64_t bytes = 0;  // stored bytes of the records' values
    std::uint64_t records = 0;  // records present (with_bytes; less than count() in compacted topics)
    Micros first_time = 0;
    Micros last_time = 0;
    std::uint64_t count() const { return end - start; }
};

struct TopicOptions {
    std::uint32_t partitions = 1;
    Micros retention = 0;
    std::uint64_t retention_bytes = 0;
    bool compact = false;
    Micros tombstone_retention = kDefaultTombstoneRetention;
    std::uint32_t replicas = 0;  // copies on a replicated backend (NATS); 0: the backend's default
};

// Names of the databases of a topic.
std::string records_db(std::uint32_t topic_id, std::uint32_t partition);
std::string streams_db(std::uint32_t topic_id);
std::string runs_db(std::uint32_t topic_id);  // stream-head runs (core/stream/stream_index.hpp)
std::string id_heads_db(std::uint32_t topic_id);  // the id index (blocks, core/stream/stream_index.hpp)
std::string id_runs_db(std::uint32_t topic_id);   // its runs
std::string ids_db(std::uint32_t topic_id);       // the id index of format versions 2 and 3
std::string keys_db(std::uint32_t topic_id);                            // compacted topics
std::string tombstones_db(std::uint32_t topic_id, std::uint32_t partition);  // compacted topics

// Open (or create) a topic's databases with their flags.
Result<MDB_dbi> records_dbi(store::Txn& txn, std::uint32_t topic_id, std::uint32_t partition, bool create);
Result<MDB_dbi> streams_dbi(store::Txn& txn, std::uint32_t topic_id, bool create);
Result<MDB_dbi> ids_dbi(store::Txn& txn, std::uint32_t topic_id, bool create);  // versions 2 and 3
Result<MDB_dbi> id_heads_dbi(store::Txn& txn, std::uint32_t topic_id, bool create);
Result<MDB_dbi> id_runs_dbi(store::Txn& txn, std::uint32_t topic_id, bool create);
Result<std::optional<MDB_dbi>> id_runs_dbi_if_any(store::Txn& txn, std::uint32_t topic_id);
Result<MDB_dbi> runs_dbi(store::Txn& txn, std::uint32_t topic_id, bool create);
Result<std::optional<MDB_dbi>> runs_dbi_if_any(store::Txn& txn, std::uint32_t topic_id);
// The format version stamped in the log (kFormatVersion when none is yet),
// read in this transaction: a writer may convert an older log meanwhile.
Result<std::uint32_t> stored_format(store::Txn& txn);
Result<MDB_dbi> keys_dbi(store::Txn& txn, std::uint32_t topic_id, bool create);
Result<MDB_dbi> tombstones_dbi(store::Txn& txn, std::uint32_t topic_id, std::uint32_t partition, bool create);

Status check_topic_name(std::string_view name);

class Log {
public:
    enum class Access { read, write };
    static Result<std::unique_ptr<Log>> open(const std::string& path, Access access);

    store::Env& env() { return *env_; }
    const std::string& path() const { return path_; }

    // Topic catalogue, read inside the caller's transaction.
    Result<std::optional<TopicConfig>> find_topic(store::Txn& txn, std::string_view name);
    Result<TopicConfig> topic(store::Txn& txn, std::string_view name);  // not_found if absent
    Result<std::vector<TopicConfig>> topics(store::Txn& txn);

    // Creates a topic inside the caller's write transaction (conflict if it exists).
    Result<TopicConfig> create_topic(store::WriteTxn& txn, std::string_view name, const TopicOptions& options);
    // Each of these runs its own write transaction.
    Result<TopicConfig> create_topic(std::string_view name, const TopicOptions& options);
    Result<TopicConfig> ensure_topic(std::string_view name, const TopicOptions& options);
    Result<TopicConfig> alter_partitions(std::string_view name, std::uint32_t partitions);
    Status delete_topic(std::string_view name);

    // Partition state, from the records (a few cursor moves per partition).
    Result<PartitionInfo> partition_info(store::Txn& txn, const TopicConfig& t, std::uint32_t p,
                                         bool with_bytes = false);
    // The record at an offset; found=false when absent.
    Result<bool> record_at(store::Txn& txn, const TopicConfig& t, std::uint32_t p, std::uint64_t offset,
                           RecordView& out);
    // The first record at or after `offset` (compacted topics have gaps);
    // found=false when there is none.
    Result<bool> record_from(store::Txn& txn, const TopicConfig& t, std::uint32_t p, std::uint64_t offset,
                             RecordView& out);
    // The first offset in [start, end) appended at or after `t` (binary search).
    Result<std::uint64_t> seek_time(store::Txn& txn, const TopicConfig& t, std::uint32_t p, Micros at);

    // Runs fn in a write transaction, committing if it succeeds; on a full map
    // grows the map and runs fn again from scratch.
    Status write(const std::function<Status(store::WriteTxn&)>& fn);

    Status write_topic(store::WriteTxn& txn, const TopicConfig& t);

private:
    Log() = default;
    Status check_format(bool stamp);
    Status upgrade_ids(store::WriteTxn& txn, const TopicConfig& t);

    std::unique_ptr<store::Env> env_;
    std::string path_;
};

}  // namespace evt::log
