#include "core/util/result.hpp"

namespace evt {

int exit_code(ErrorKind kind) noexcept {
    switch (kind) {
    case ErrorKind::findings: return 1;
    case ErrorKind::conflict: return 2;
    case ErrorKind::usage: return 64;
    case ErrorKind::invalid: return 65;
    case ErrorKind::corrupt: return 65;
    case ErrorKind::not_found: return 66;
    case ErrorKind::unavailable: return 69;
    case ErrorKind::internal: return 70;
    case ErrorKind::io: return 74;
    case ErrorKind::busy: return 75;
    }
    return 70;
}

}  // namespace evt
