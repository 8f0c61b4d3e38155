#include "core/cli/output.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace evt::cli {

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
