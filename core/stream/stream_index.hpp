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
// native u64 slot, the 64-bit FNV-1a hash of the subject; if another subject owns the
// slot, the next free slot is used (linear probing), so colliding hashes never
// merge two streams. Value = u64 version, u32 partition and u64 offset of the
// stream's last event (little-endian), then the subject's bytes.
//
// Errors: corrupt (a malformed head), io/busy from LMDB.
#pragma once

#include <cstdint>
#include <string_view>

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

}  // namespace evt::stream
