#include "core/cli/lines.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace evt::cli {

namespace {
constexpr std::size_t kChunk = 1 << 20;
}

LineReader::LineReader(std::vector<std::string> inputs, std::size_t max_bytes)
    : inputs_(std::move(inputs)), max_bytes_(max_bytes) {
    if (inputs_.empty()) inputs_.push_back("-");
    buf_.resize(2 * kChunk);  // grows on demand, up to a line of max_bytes

}

LineReader::~LineReader() {
    if (own_fd_ && fd_ >= 0) close(fd_);
}

Status LineReader::open_next() {
    if (own_fd_ && fd_ >= 0) close(fd_);
    fd_ = -1;
    own_fd_ = false;
    line_no_ = 0;
    at_eof_ = false;
    const std::string& name = inputs_[input_index_];
    if (name == "-") {
        fd_ = 0;
        return {};
    }
    fd_ = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
        ErrorKind k = errno == ENOENT ? ErrorKind::not_found : ErrorKind::io;
        return make_error(k, "{}: {}", name, std::strerror(errno));
    }
    own_fd_ = true;
    return {};
}

// Reads more bytes after end_. Returns false at end of the current input.
Result<bool> LineReader::fill(bool may_block, bool& would_block) {
    would_block = false;
    if (begin_ > 0 && (end_ == begin_ || buf_.size() - end_ < kChunk)) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    // A long line in the making: room for it (next() skips lines over max_bytes).
    if (buf_.size() - end_ < kChunk) buf_.resize(std::min(buf_.size() * 2, max_bytes_ + 3 * kChunk));
    if (!may_block) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 0) == 0) {
            would_block = true;
            return true;
        }
    } else if (cancel_) {
        for (;;) {  // wait in slices so a cancel is seen within 100 ms
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, 100) != 0) break;
            if (cancel_->load()) return false;
        }
    }
    for (;;) {
        ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(ErrorKind::io, "{}: read error: {}", inputs_[input_index_], std::strerror(errno));
        if (n == 0 || (cancel_ && cancel_->load())) return false;
        end_ += static_cast<std::size_t>(n);
        return true;
    }
}

void LineReader::wait_readable(int ms) {
    if (fd_ < 0) return;
    pollfd p{fd_, POLLIN, 0};
    poll(&p, 1, ms);
}

Result<LineReader::Next> LineReader::next(Line& line, bool may_block) {
    if (fd_ < 0) EVT_TRY(open_next());
    for (;;) {
        const char* start = buf_.data() + begin_;
        const void* nl = std::memchr(start, '\n', end_ - begin_);
        std::size_t avail = end_ - begin_;
        if (skipping_) {
            std::size_t n = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - start) : avail;
            skipped_ += n;
            if (nl || (at_eof_ && avail == 0)) {
                begin_ += nl ? n + 1 : n;
                skipping_ = false;
                line = Line{{}, ++line_no_, skipped_, true, inputs_[input_index_]};
                return Next::line;
            }
            begin_ = end_ = 0;
        } else if (nl) {
            std::size_t n = static_cast<std::size_t>(static_cast<const char*>(nl) - start);
            begin_ += n + 1;
            if (n > max_bytes_) {
                line = Line{{}, ++line_no_, n, true, inputs_[input_index_]};
            } else {
                line = Line{{start, n}, ++line_no_, n, false, inputs_[input_index_]};
            }
            return Next::line;
        } else if (avail > max_bytes_) {
            skipping_ = true;
            skipped_ = avail;
            begin_ = end_ = 0;
        } else if (at_eof_) {
            if (avail > 0) {  // a last line without a newline
                begin_ = end_;
                line = Line{{start, avail}, ++line_no_, avail, false, inputs_[input_index_]};
                return Next::line;
            }
            if (++input_index_ >= inputs_.size()) {
                --input_index_;
                return Next::eof;
            }
            EVT_TRY(open_next());
            continue;
        }
        if (at_eof_) continue;
        bool would_block = false;
        EVT_ASSIGN(bool more, fill(may_block, would_block));
        if (would_block) return Next::would_block;
        if (!more) at_eof_ = true;
    }
}

}  // namespace evt::cli
