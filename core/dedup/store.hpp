// The persistent dedup store: the consumer-side seen-set, kept in the log.
//
// Database `d:<name>` (schemas/STORAGE.md section 10), MDB_INTEGERKEY: key =
// slot, hash64 of the dedup key, with linear probing on collisions as for
// stream heads; value = i64 LE time the key was recorded, then the key's
// bytes. A key recorded longer ago than the window counts as unseen and is
// recorded again (overwritten).
//
// check_and_record() runs inside the caller's write transaction, so a
// caller can record keys and write its effects (events appended to a topic)
// atomically: that is what makes `evt-dedup --to-topic` effectively once.
// check() and record() split it for a caller that must not hold the writer
// lock while it writes its output (a downstream evt-append on the same log
// needs that lock).
// Keys are processed in slot order (cheap B-tree walks); within a batch the
// first occurrence in input order is the unseen one.
//
// Errors: usage (bad store name), corrupt (a malformed entry), io/busy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/store/env.hpp"
#include "core/util/units.hpp"

namespace evt::dedup {

Status check_store_name(std::string_view name);
std::string store_db(std::string_view name);

struct KeyRef {
    std::string_view key;
    std::uint64_t hash;
};

// What check() found, for a record() that follows: the keys in slot order,
// the slot each key was found in or would take, and the snapshot.
struct Probed {
    std::vector<std::uint32_t> order;
    std::vector<std::uint64_t> slot;
    std::size_t snapshot = 0;  // LMDB transaction id
};

// seen[i] = whether keys[i] was seen (in the store within the window, or
// earlier in this batch). Reads only: a read transaction will do.
Status check(store::Txn& txn, MDB_dbi dbi, const std::vector<KeyRef>& keys, Micros now, Micros window,
             std::vector<bool>& seen, Probed* probed = nullptr);
// Marks keys that repeat an earlier key of the same batch as seen.
void mark_repeats(const std::vector<KeyRef>& keys, std::vector<bool>& seen);
// Records the keys whose seen[i] is false, with time `now`. With `probed`
// from a check() of the same keys whose snapshot no commit has followed,
// the slots are not probed again.
Status record(store::WriteTxn& txn, MDB_dbi dbi, const std::vector<KeyRef>& keys, const std::vector<bool>& seen,
              Micros now, Micros window, const Probed* probed = nullptr);
// Both, in one write transaction.
Status check_and_record(store::WriteTxn& txn, MDB_dbi dbi, const std::vector<KeyRef>& keys, Micros now,
                        Micros window, std::vector<bool>& seen);

// Deletes the entries older than the window; returns how many.
Result<std::uint64_t> expire(store::WriteTxn& txn, MDB_dbi dbi, Micros now, Micros window);

}  // namespace evt::dedup
