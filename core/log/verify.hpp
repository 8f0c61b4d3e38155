// Verifying a log: every record's CRC, dense offsets, monotonic append
// times, stream links and heads (schemas/STORAGE.md sections 5 and 6).
//
// verify() reads one consistent snapshot (a single read transaction, so a
// concurrent writer is not seen half-way) and reports each problem with its
// place; it stops collecting after `max_problems`. Problems are findings,
// not errors: the call fails only when the log cannot be read at all
// (not_found, corrupt format version, io).
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
    std::uint64_t topics = 0;
    std::uint64_t records = 0;
    std::uint64_t streams = 0;
    std::vector<Problem> problems;
};

Result<VerifyReport> verify(Log& log, const std::vector<std::string>& topics, std::size_t max_problems = 1000,
                            const std::function<void(std::uint64_t records)>& progress = {});

}  // namespace evt::log
