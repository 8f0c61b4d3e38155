// Appending events to a topic in batches.
//
// The caller add()s prepared events; commit() writes everything added since
// the last commit in one LMDB write transaction: records under dense offsets
// (MDB_APPEND), each subject's stream head (stream/stream_index.hpp), and with
// `idempotent` the event-id index, then one fsync (unless sync is off). Index
// keys are sorted per batch before they are inserted, which keeps index
// maintenance cheap. If the map is full the batch
// is retried after growing the map, so a batch is all or nothing.
//
// Partition of an event: the explicit partition if set, else
// murmur2(key) % partitions for keyed events, else round-robin.
// Append time is max(now, the partition's last append time), so it never goes
// back and time seeks can binary-search; now is log::clock_now() (EVT_NOW).
//
// Topics with retention or compaction are cleaned in the same transaction
// (retention.hpp): a keyed event of a compacted topic removes its key's
// previous record; each partition written to loses at most twice as many
// expired records as it gained (plus 64). Topics without either pay nothing.
//
// With `idempotent`, an event whose id was appended to this topic (by an
// idempotent append) within the window, or earlier in the same batch, is
// skipped, not stored; the ids of what it stores are indexed. With `expect`,
// the batch must hold events of one subject and is written only if that
// subject's version matches (else ErrorKind::conflict, nothing written).
//
// Errors from commit(): conflict (expected version), not_found (the topic was
// deleted meanwhile), io (disk full; the log is left as it was), busy, corrupt.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <lmdb.h>

#include "core/event/codec.hpp"
#include "core/log/log.hpp"
#include "core/route/partitioner.hpp"
#include "core/stream/stream_index.hpp"

namespace evt::log {

struct ExpectVersion {
    enum class Kind { any, no_stream, exists, exact } kind = Kind::any;
    std::uint64_t version = 0;
};
Result<ExpectVersion> parse_expect_version(std::string_view text);

struct AppendOptions {
    std::optional<std::uint32_t> partition;
    bool idempotent = false;
    Micros idempotency_window = 24LL * 3600 * 1000000;
    std::optional<ExpectVersion> expect;
    // Create the topic with these options, in the first commit's transaction,
    // if it does not exist (so an append that stores nothing creates nothing).
    std::optional<TopicOptions> create;
    // The whole input is one batch, all or nothing (--atomic): a remote
    // producer writes it as one transaction.
    bool atomic = false;
};

struct Position {
    std::uint32_t partition = 0;
    std::uint64_t offset = 0;
    Micros time = 0;
};

struct CommitResult {
    std::uint64_t stored = 0;
    std::uint64_t skipped = 0;  // duplicates under --idempotent
};

// Events waiting to be written: built by add() (on any thread), written by
// Appender::commit() (on the thread that owns the log's write transactions).
class Batch {
public:
    explicit Batch(const AppendOptions& options) : opt_(options) {}
    // Copies the event in. Errors: invalid (key or type longer than 65535
    // bytes; a second subject under --expect-version; a batch over 4 GiB).
    Status add(const event::Prepared& e);
    std::size_t size() const { return items_.size(); }
    std::size_t bytes() const { return arena_.size(); }
    bool empty() const { return items_.empty(); }
    void clear() {
        items_.clear();
        arena_.clear();
    }
    // Room for this many events and bytes: a batch reused for a whole input
    // then touches its memory once, instead of moving to a buffer twice the
    // size at every growth (each move faulting in fresh pages).
    void reserve(std::size_t events, std::size_t bytes) {
        items_.reserve(events);
        arena_.reserve(bytes);
    }
    // What a remote producer needs of event i (valid until the batch changes).
    struct EventView {
        std::string_view json, key, type, id, subject;
        bool has_key = false;
        std::uint32_t key_partition_hash = 0;  // murmur2(key) & 0x7fffffff
    };
    EventView event(std::size_t i) const {
        const Item& it = items_[i];
        return {str(it.json_off, it.json_len), str(it.key_off, it.key_len), str(it.type_off, it.type_len),
                str(it.id_off, it.id_len),     str(it.subject_off, it.subject_len), it.has_key,
                it.key_partition_hash};
    }
    const AppendOptions& options() const { return opt_; }
    // Exchanges the events of two batches (of the same options): a producer
    // that sends events straight from the batch's memory keeps them until
    // they are delivered and hands its caller an empty batch instead. The
    // bytes do not move.
    void swap(Batch& other) noexcept {
        arena_.swap(other.arena_);
        items_.swap(other.items_);
    }

private:
    friend class Appender;
    struct Item {
        std::uint32_t json_off, json_len;
        std::uint32_t subject_off, subject_len;
        std::uint32_t key_off, key_len;
        std::uint32_t type_off, type_len;
        std::uint32_t id_off, id_len;
        std::uint64_t id_hash;
        std::uint64_t subject_hash;
        std::uint32_t key_partition_hash;  // murmur2 & 0x7fffffff
        std::uint32_t payload_crc;         // record.hpp: computed where the batch is built
        bool has_key, has_subject;
        bool skipped;
        bool tombstone;  // set when written to a compacted topic
        Position pos;
    };
    std::string_view str(std::uint32_t off, std::uint32_t len) const { return {arena_.data() + off, len}; }

    AppendOptions opt_;
    std::string arena_;
    std::vector<Item> items_;
};

class Appender {
public:
    Appender(Log& log, TopicConfig topic, AppendOptions options);

    const AppendOptions& options() const { return opt_; }

    // Writes the batch and clears it. on_stored, if given, sees each stored
    // event in input order with its position once the commit has succeeded
    // (for --echo).
    using StoredFn = std::function<void(std::string_view json, const Position&)>;
    Result<CommitResult> commit(Batch& batch, const StoredFn& on_stored = {});
    // The same in two steps, for a caller that writes other things in the
    // same transaction: write() inside it, then committed() once it committed.
    Status write(store::WriteTxn& txn, Batch& batch, Micros now);
    CommitResult committed(Batch& batch, const StoredFn& on_stored = {});
    const TopicConfig& topic() const { return topic_; }

private:
    using Item = Batch::Item;
    Status apply(store::WriteTxn& txn, Micros now);
    Status check_expected(store::WriteTxn& txn, MDB_dbi streams);
    Status mark_duplicates(store::WriteTxn& txn, Micros now);
    Status link_streams(store::WriteTxn& txn, MDB_dbi streams);
    Status write_id_index(store::WriteTxn& txn);
    Status clean(store::WriteTxn& txn, Micros now);
    std::string_view str(std::uint32_t off, std::uint32_t len) const { return batch_->str(off, len); }

    Log& log_;
    TopicConfig topic_;
    AppendOptions opt_;
    RoundRobin rr_;
    RoundRobin next_rr_;
    Batch* batch_ = nullptr;  // the batch being committed
    std::vector<StreamLink> links_;  // per item, filled by link_streams
    std::vector<std::uint64_t> id_slots_;  // per item, its id's slot in the id index (mark_duplicates)
    std::vector<std::uint32_t> id_order_;  // the items by id hash (mark_duplicates)
};

// hash64 of an event id: its slot in the id index (schemas/STORAGE.md).
std::uint64_t id_hash(std::string_view id) noexcept;

}  // namespace evt::log
