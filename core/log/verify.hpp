// Verifying a log: the format version, every record's CRC, dense offsets,
// monotonic append times, stream links and heads, the id index, and the key
// and tombstone indexes of compacted topics (schemas/STORAGE.md).
//
// verify() reads one consistent snapshot (a single read transaction, so a
// concurrent writer is not seen half-way) and reports each problem with its
// place; it stops collecting after `max_problems`. Problems are findings,
// not errors: the call fails only when the log cannot be read at all
// (not_found, corrupt format version, io).
//
// What retention and compaction remove is not a problem: a topic with time or
// size retention may start past offset 0 and its stream links and heads may
// point before the start; a compacted topic may have gaps anywhere and links
// to removed records. A stream's last record must be named by its head, except
// in compacted topics and in multi-partition topics with retention (a newer
// event of the stream may have been removed from another partition first).
//
// repair() rebuilds what is derived from the records (stream heads, the key
// and tombstone indexes) and drops id-index entries that do not match their
// record; records are never touched. Stream heads of streams whose records
// are all gone are kept if they point before the start (retention), else
// dropped.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/log/log.hpp"

namespace evt::log {

struct Problem {
    std::string topic;
    std::uint32_t partition = 0;
    std::uint64_t offset = 0;
    bool has_position = false;  // false: about a topic or an index as a whole
    std::string what;
};

struct VerifyReport {
    std::uint32_t format = 0;
    std::uint64_t topics = 0;
    std::uint64_t records = 0;
    std::uint64_t streams = 0;
    std::uint64_t ids = 0;   // id-index entries
    std::uint64_t keys = 0;  // key-index entries (compacted topics)
    std::vector<Problem> problems;
};

Result<VerifyReport> verify(Log& log, const std::vector<std::string>& topics, std::size_t max_problems = 1000,
                            const std::function<void(std::uint64_t records)>& progress = {});

struct RepairReport {
    std::uint64_t heads = 0;      // stream heads written
    std::uint64_t keys = 0;       // key-index entries written
    std::uint64_t tombstones = 0; // tombstone-index entries written
    std::uint64_t ids_dropped = 0;
};
Result<RepairReport> repair(Log& log, const std::vector<std::string>& topics);

}  // namespace evt::log
