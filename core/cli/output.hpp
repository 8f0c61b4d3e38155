// Buffered output to a file descriptor with write errors kept as values.
//
// Tools write data to stdout through one Output: a large buffer flushed with
// write(2) when full, on flush(), and at the end. A failed write (disk full,
// /dev/full, a closed pipe) is remembered and returned as ErrorKind::io by
// flush(), so a tool can stop and exit 74 ("write error: ..."). Not thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/util/result.hpp"

namespace evt::cli {

class Output {
public:
    explicit Output(int fd = 1, std::size_t capacity = 1 << 20) : fd_(fd), capacity_(capacity) {
        buf_.reserve(capacity + 4096);
    }
    ~Output() { (void)flush(); }
    Output(const Output&) = delete;
    Output& operator=(const Output&) = delete;

    // The buffer to append to; call maybe_flush() after appending.
    std::string& buffer() { return buf_; }
    void write(std::string_view s) {
        buf_.append(s);
        if (buf_.size() >= capacity_) (void)flush();
    }
    Status maybe_flush() { return buf_.size() >= capacity_ ? flush() : Status(); }
    Status flush();
    bool failed() const { return !error_.empty(); }

    // For output that nothing is committed after (evt-replay): when the fd is
    // a pipe, enlarge it to 1 MiB (if the system allows) and write
    // kPipeChunk at a time, so the reader drains one chunk while the next one
    // is formatted instead of the two sides taking turns on a 64 KiB pipe
    // (evt-replay | wc -l, 1M events: 14,300 -> 5,400 context switches).
    // Not for a consumer that commits after a flush: a larger pipe holds more
    // flushed events that are lost if its reader dies.
    void stream_to_pipe();
    static constexpr std::size_t kPipeChunk = 128 << 10;

private:
    int fd_;
    std::size_t capacity_;
    std::string buf_;
    std::string error_;
};

}  // namespace evt::cli
