#include "core/cli/output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace evt::cli {

void Output::stream_to_pipe() {
    struct stat st;
    if (fstat(fd_, &st) != 0 || !S_ISFIFO(st.st_mode)) return;
    const int want = 1 << 20;  // the unprivileged maximum by default; a refusal changes nothing
    if (fcntl(fd_, F_GETPIPE_SZ) < want) (void)fcntl(fd_, F_SETPIPE_SZ, want);
    capacity_ = std::min(capacity_, kPipeChunk);
}

Status Output::flush() {
    if (!error_.empty()) {
        buf_.clear();
        return Error{ErrorKind::io, error_};
    }
    std::size_t done = 0;
    while (done < buf_.size()) {
        ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            error_ = fmt::format("write error: {}", std::strerror(errno));
            buf_.clear();
            return Error{ErrorKind::io, error_};
        }
        done += static_cast<std::size_t>(n);
    }
    buf_.clear();
    return {};
}

}  // namespace evt::cli
