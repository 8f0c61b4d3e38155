// The per-subject stream index: every subject of a topic is a stream whose
// events are numbered 1, 2, 3... (the version). It backs `evt-replay --stream`
// and `evt-append --expect-version`.
//
// A stream is a chain: each record with a subject carries its version and the
// position of the stream's previous event (log/record.hpp). The index holds
// only the head of each chain, so appending costs one head update per subject
// per batch, however long the log grows, and reading a stream of N events
// costs N point reads.
//
// Layout (database s:<topic id>, MDB_INTEGERKEY, schemas/STORAGE.md): key =
// native u64 slot, hash64 of the subject (util/hash.hpp); if another subject owns the
// slot, the next free slot is used (linear probing), so colliding hashes never
// merge two streams. Value = u64 version, u32 partition and u64 offset of the
// stream's last event (little-endian), then the subject's bytes.
//
// Errors: corrupt (a malformed head), io/busy from LMDB.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/store/env.hpp"

namespace evt::stream {

std::uint64_t subject_hash(std::string_view subject) noexcept;

struct Head {
    std::uint64_t slot = 0;
    std::uint64_t version = 0;  // events in the stream (0: no stream yet)
    std::uint32_t last_partition = 0;
    std::uint64_t last_offset = ~0ull;
    bool exists = false;
};

// Finds the subject's head, or the first free slot where it would go. The
// cursor (on the s: database) makes lookups in slot order cheap: LMDB searches
// only the current page when the key is on it.
Result<Head> find_head(store::Cursor& cursor, std::string_view subject, std::uint64_t hash);
Result<Head> find_head(store::Txn& txn, MDB_dbi dbi, std::string_view subject, std::uint64_t hash);
// Writes the head (in place when it exists: the value keeps its size).
Status put_head(store::Cursor& cursor, std::string_view subject, const Head& head);

// Runs (database h:<topic id>, format version 3, schemas/STORAGE.md): a commit
// does not update the index s: in place (with 100,000s of subjects that would
// copy every leaf page of it on every commit); it writes the heads it changed
// as one run, sorted by slot, under the next run number. The effective head of
// a slot is the one in the newest run that has it, else the index's. A commit
// that finds kMaxRuns - 1 runs first folds them into the index and empties h:,
// then adds its own: at most kMaxRuns - 1 runs exist between commits.
constexpr std::size_t kMaxRuns = 8;

// Lookups over the index and the runs, in one transaction.
class Heads {
public:
    // runs: the h: database, or nullopt when the topic has none.
    static Result<Heads> open(store::Txn& txn, MDB_dbi index, std::optional<MDB_dbi> runs);
    // The subject's effective head, or the first slot free in the index, the
    // runs and the claims of this batch. Cheapest when called in slot order.
    Result<Head> find(std::string_view subject, std::uint64_t hash);
    // Marks a free slot as taken by a new subject (before the run is written).
    void claim(std::uint64_t slot, std::string_view subject) { claimed_.emplace(slot, subject); }
    std::size_t runs() const { return runs_.size(); }

    struct Run {
        const char* base = nullptr;
        std::uint32_t n = 0;
        std::size_t hint = 0;
        std::uint64_t slot(std::size_t i) const;
        Head head(std::size_t i) const;
        std::string_view subject(std::size_t i) const;
        std::size_t lower_bound(std::uint64_t slot);  // uses and moves the hint
    };

private:
    store::Cursor index_;
    std::vector<Run> runs_;  // oldest first
    std::unordered_map<std::uint64_t, std::string_view> claimed_;
};

// Adds a run (heads with their subjects, sorted by slot, one per slot),
// folding the earlier runs into the index first when there are kMaxRuns - 1.
Status add_run(store::WriteTxn& txn, MDB_dbi index, MDB_dbi runs,
               const std::vector<std::pair<Head, std::string_view>>& heads);
// Folds every run into the index (newest wins) and empties h:.
Status merge_runs(store::WriteTxn& txn, MDB_dbi index, MDB_dbi runs);
// Every effective head in slot order.
Status each_head(store::Txn& txn, MDB_dbi index, std::optional<MDB_dbi> runs,
                 const std::function<void(const Head&, std::string_view subject)>& fn);

}  // namespace evt::stream
