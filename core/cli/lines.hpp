// Reading NDJSON input line by line from files or stdin, with bounded memory.
//
// A LineReader walks its inputs in order ("-" is stdin) and yields lines with
// their 1-based number within their input. A line longer than max_bytes is not
// kept: its bytes are skipped up to the next newline and the line is returned
// with `oversize` set and its full size, so a 100 MB line costs no memory.
// next() can report that the input would block (a pipe with nothing to read
// yet), which lets a writer commit what it has before waiting.
//
// Errors: not_found (a missing file), io (a read error). Not thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.hpp"

namespace evt::cli {

struct Line {
    std::string_view text;  // without the newline; empty when oversize
    std::uint64_t number = 0;
    std::uint64_t size = 0;  // bytes in the line (all of them when oversize)
    bool oversize = false;
    std::string_view input;  // "-" for stdin, else the file name
};

class LineReader {
public:
    enum class Next { line, eof, would_block };

    LineReader(std::vector<std::string> inputs, std::size_t max_bytes);
    ~LineReader();
    LineReader(const LineReader&) = delete;
    LineReader& operator=(const LineReader&) = delete;

    // With may_block false, returns would_block instead of waiting for data.
    Result<Next> next(Line& line, bool may_block = true);
    // While waiting for input, give up (eof) once *cancel is true. For a
    // reader on another thread that must be stoppable.
    void set_cancel(const std::atomic<bool>* cancel) { cancel_ = cancel; }
    // Waits up to `ms` for input to read (or the end of it).
    void wait_readable(int ms);

private:
    Result<bool> fill(bool may_block, bool& would_block);
    Status open_next();

    std::vector<std::string> inputs_;
    std::size_t input_index_ = 0;
    int fd_ = -1;
    bool own_fd_ = false;
    std::size_t max_bytes_;
    std::string buf_;
    std::size_t begin_ = 0, end_ = 0;
    std::uint64_t line_no_ = 0;
    bool skipping_ = false;  // inside an oversize line
    std::uint64_t skipped_ = 0;
    bool at_eof_ = false;
    const std::atomic<bool>* cancel_ = nullptr;
};

}  // namespace evt::cli
