// The per-subject stream index: every subject of a topic is a stream whose
// events are numbered 1, 2, 3... (the version). It backs `evt-replay --stream`
// and `evt-append --expect-version`.
//
// A stream is a chain: each record with a subject carries its version and the
// position of the stream's previous event (log/record.hpp). The index holds
// only the head of each chain (version, partition and offset of the last
// event, and the subject), so reading a stream of N events costs N point reads.
//
// A subject's place is its slot: hash64 of the subject (util/hash.hpp); if
// another subject owns that slot, the next free one (linear probing), so
// colliding hashes never merge two streams.
//
// Storage (format version 4, schemas/STORAGE.md section 6). Heads are kept in
// blocks: sorted arrays of heads, slots first so that a lookup reads 8 bytes
// per head it passes.
//   * s:<topic>: the index, a partition of the slot space into segments; the
//     key is the lowest slot a segment covers (the first is 0), the value a
//     block of at most kSegmentMax heads.
//   * h:<topic>: runs; a commit does not rewrite the segments its heads fall
//     in, it adds the heads it changed as one block under the next run number.
//     The effective head of a slot is the one in the newest run that has it,
//     else the index's. A commit that finds kMaxRuns - 1 runs first folds them
//     into the index (a sequential merge, segment by segment) and empties h:.
// Appending therefore costs, per commit, a sorted merge of its subjects with
// the runs and the index, and one block write; the index is rewritten only by
// folds, a segment at a time and only where runs have heads.
//
// The id index of `evt-append --idempotent` (e:/f:<topic>) is the same
// structure, with the event id where a stream head has its subject and the
// append time where it has its version.
//
// Logs of format versions 2 and 3 keep heads in a B-tree keyed by slot (and,
// in 3, runs of another layout). They are read as they are (Layout::legacy);
// their first writer converts them (upgrade_index).
//
// Errors: corrupt (a malformed block or head), io/busy from LMDB.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
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

// How s: and h: are laid out: by format version 4 (blocks) or 2 and 3.
enum class Layout { legacy, blocks };
constexpr Layout layout_of_format(std::uint32_t format) { return format >= 4 ? Layout::blocks : Layout::legacy; }

constexpr std::size_t kMaxRuns = 8;
constexpr std::size_t kSegmentMax = 2048;  // heads per index segment; a fold splits a fuller one

// A block (schemas/STORAGE.md section 6): u32 count, u32 zero, count u64
// slots (ascending), count u32 positions of the heads' records; at each
// position, a record: u64 version, u64 offset, u32 partition, u16 subject
// length, the subject's bytes. Everything little-endian.
struct Block {
    const char* base = nullptr;
    std::size_t size = 0;
    std::uint32_t n = 0;
    std::size_t hint = 0;  // where the last lower_bound ended

    // Checks the header and that the arrays fit; subjects are checked when read.
    static Result<Block> parse(std::string_view value);
    std::uint64_t slot(std::size_t i) const;
    // Entry i's head (exists = false when its record leaves the block).
    Head head(std::size_t i) const;
    // The subject of entry i; false when its record leaves the block.
    bool subject(std::size_t i, std::string_view& out) const;
    // The first entry whose slot is >= slot; galloping from the hint.
    std::size_t lower_bound(std::uint64_t slot);

private:
    const char* record(std::size_t i) const;
};

// Heads with their subjects, one per slot, in slot order.
using HeadList = std::vector<std::pair<Head, std::string_view>>;
std::size_t block_size(const HeadList& heads, std::size_t from, std::size_t to);
// Writes heads [from, to) as a block of block_size(...) bytes at out.
void fill_block(char* out, const HeadList& heads, std::size_t from, std::size_t to);

// Lookups over the index and the runs, in one transaction.
class Heads {
public:
    // runs: the h: database, or nullopt when the topic has none.
    static Result<Heads> open(store::Txn& txn, MDB_dbi index, std::optional<MDB_dbi> runs,
                              Layout layout = Layout::blocks);
    // The subject's effective head, or the first slot free in the index, the
    // runs and the claims of this batch. Cheapest when called in slot order.
    Result<Head> find(std::string_view subject, std::uint64_t hash);
    // Marks a free slot as taken by a new subject (before the run is written).
    void claim(std::uint64_t slot, std::string_view subject) {
        if (!claimed_.empty() && slot < claimed_.back().first) claims_sorted_ = false;
        claimed_.emplace_back(slot, subject);
        if (slot > max_claimed_ || claimed_.size() == 1) max_claimed_ = slot;
    }

    struct LegacyRun;  // format 3's runs

private:
    Status locate(std::uint64_t slot);  // makes seg_ the segment covering slot
    Result<Head> find_legacy(std::string_view subject, std::uint64_t hash);

    Layout layout_ = Layout::blocks;
    store::Cursor index_;
    std::vector<Block> runs_;  // oldest first
    Block seg_;                // the segment of the last lookup, covering [seg_lo_, seg_hi_]
    std::uint64_t seg_lo_ = 1, seg_hi_ = 0;
    std::vector<LegacyRun> legacy_runs_;
    // claims in the order made: by slot, as lookups come in slot order, unless a
    // collision probed past a later lookup's slot (then searched linearly)
    std::vector<std::pair<std::uint64_t, std::string_view>> claimed_;
    bool claims_sorted_ = true;
    std::uint64_t max_claimed_ = 0;
};

struct Heads::LegacyRun {
    const char* base = nullptr;
    std::uint32_t n = 0;
    std::size_t hint = 0;
    std::uint64_t slot(std::size_t i) const;
    Head head(std::size_t i) const;
    std::string_view subject(std::size_t i) const;
    std::size_t lower_bound(std::uint64_t slot);
};

// Adds a run (heads sorted by slot, one per slot), folding the earlier runs
// into the index first when there are kMaxRuns - 1.
Status add_run(store::WriteTxn& txn, MDB_dbi index, MDB_dbi runs, const HeadList& heads);
// Folds every run into the index (newest wins) and empties h:.
Status merge_runs(store::WriteTxn& txn, MDB_dbi index, MDB_dbi runs);
// Every effective head in slot order (a head too short to read, in the legacy
// layout, is passed with exists = false).
Status each_head(store::Txn& txn, MDB_dbi index, std::optional<MDB_dbi> runs, Layout layout,
                 const std::function<void(const Head&, std::string_view subject)>& fn);
inline Status each_head(store::Txn& txn, MDB_dbi index, std::optional<MDB_dbi> runs,
                        const std::function<void(const Head&, std::string_view subject)>& fn) {
    return each_head(txn, index, runs, Layout::blocks, fn);
}

// Replaces the index and the runs with these heads (subject, version,
// partition, offset; the slots are assigned here), in the blocks layout.
struct NewHead {
    std::string subject;
    std::uint64_t version = 0;
    std::uint32_t partition = 0;
    std::uint64_t offset = 0;
};
Status rebuild_index(store::WriteTxn& txn, MDB_dbi index, std::optional<MDB_dbi> runs, std::vector<NewHead> heads);
// Converts a topic's heads from the legacy layout to blocks.
Status upgrade_index(store::WriteTxn& txn, MDB_dbi index, std::optional<MDB_dbi> runs);

}  // namespace evt::stream
