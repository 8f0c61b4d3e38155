// Retention and compaction: what removes records from a topic
// (schemas/STORAGE.md sections 5, 12 and 13).
//
// Three policies, each a topic setting (log.hpp TopicConfig):
//   - time retention: a record appended more than `retention` ago is removed;
//   - size retention: while a partition's pages take more than
//     `retention_bytes`, its oldest record is removed;
//   - compaction: only the latest record per routing key stays. A new record
//     for a key removes the key's previous record at once (in the same
//     transaction), so a replay of a compacted topic is always the table of
//     latest values. A tombstone ("data":null with "evttombstone":true) stays
//     `tombstone_retention` and is then removed, and its key with it.
// Time and size retention remove records only from the start of a partition,
// so the start offset moves and offsets stay dense; compaction leaves gaps.
// Nothing ever removes a partition's last record: the end offset is derived
// from it (log.hpp), so offsets are never reused.
//
// Work is bounded: an append transaction removes at most a budget of records
// per partition it wrote (Appender), so retention never pauses a writer; what
// is left over is removed by later appends or by collect_garbage (evt-check
// --gc), which works through everything due in transactions of bounded size.
// Removed records' pages go to LMDB's free list and are reused at once; the
// file shrinks only through a compacting copy (evt-check --compact-file).
//
// Errors: io/busy from LMDB, corrupt (a malformed record or index entry).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/log/log.hpp"
#include "core/stream/stream_index.hpp"

namespace evt::log {

// A tombstone: top-level "data" is null and "evttombstone" is true.
bool is_tombstone_json(std::string_view json);

// The key index of a compacted topic (k:<id>): the position of each key's
// latest record, found by hash64 slot with linear probing (entries are never
// deleted while the topic exists; offset kNoOffset: the key is gone).
struct KeyEntry {
    std::uint64_t slot = 0;
    bool exists = false;
    std::uint32_t partition = 0;
    std::uint64_t offset = kNoOffset;
};
Result<KeyEntry> find_key(store::Cursor& keys, std::string_view key);
Status put_key(store::Cursor& keys, std::string_view key, const KeyEntry& e);

struct CleanStats {
    std::uint64_t expired = 0;     // time retention
    std::uint64_t trimmed = 0;     // size retention
    std::uint64_t compacted = 0;   // superseded by a newer record of the key
    std::uint64_t tombstones = 0;  // tombstones past their retention
    std::uint64_t stale_ids = 0;   // id-index entries of removed records
    std::uint64_t removed() const { return expired + trimmed + compacted + tombstones; }
    void add(const CleanStats& o);
};

// Enforces a topic's policies inside one write transaction.
class Cleaner {
public:
    Cleaner(store::WriteTxn& txn, const TopicConfig& topic, Micros now) : txn_(txn), t_(topic), now_(now) {}

    // Compaction of a record just written (call in offset order): removes the
    // key's previous record and records the new position (and the tombstone).
    Status compacted_write(std::uint32_t p, std::uint64_t offset, std::string_view key, bool tombstone);
    // Time and size retention, then tombstone expiry, of partition p: at most
    // `budget` records removed. Sets `more` when the budget ran out first.
    Status enforce(std::uint32_t p, std::uint64_t budget, bool& more);

    CleanStats stats;

private:
    Result<store::Cursor*> records(std::uint32_t p);
    // Removes the record the cursor is on, with its key and tombstone entries.
    Status remove(std::uint32_t p, store::Cursor& c, std::uint64_t offset, const RecordView& rec);

    store::WriteTxn& txn_;
    const TopicConfig& t_;
    Micros now_;
    std::map<std::uint32_t, store::Cursor> cursors_;
    store::Cursor keys_;
    bool keys_open_ = false;
};

// The `id` of a stored event's canonical JSON ("" if it has none).
std::string stored_event_id(std::string_view json);

// The latest record of each event id among those added: the heads an id
// index is rebuilt from (ids that are empty or longer than 65535 bytes are
// left out, as an id index cannot hold them).
class LatestIds {
public:
    void add(std::string_view json, Micros time, std::uint32_t partition, std::uint64_t offset);
    std::vector<stream::NewHead> take();

private:
    std::unordered_map<std::string, stream::NewHead> latest_;
};

// Deletes the id-index heads whose record is gone; with `check_ids` also
// those that do not match their record's id and append time (and rebuilds a
// corrupt id index from the records' ids). Returns how many it deleted.
Result<std::uint64_t> drop_stale_ids(Log& log, store::WriteTxn& txn, const TopicConfig& t, bool check_ids);

// Everything due in the named topics (all when empty): retention, compaction
// (a full pass that also removes superseded records the key index missed),
// tombstone expiry, and id-index entries of removed records.
Result<CleanStats> collect_garbage(Log& log, const std::vector<std::string>& topics, Micros now);

}  // namespace evt::log
