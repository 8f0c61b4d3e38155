#include "core/log/backup.hpp"

#include <sys/stat.h>

#include <filesystem>

#include "core/log/verify.hpp"

namespace evt::log {

Status backup(Log& log, const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
        return make_error(ErrorKind::usage, "--backup '{}': the directory exists and is not empty", dir);
    bool made = fs::create_directories(dir, ec);
    if (ec) return make_error(ErrorKind::io, "creating '{}': {}", dir, ec.message());
    ::chmod(dir.c_str(), 0700);
    Status s = log.env().copy_to(dir);
    if (!s.ok() && made) fs::remove_all(dir, ec);
    return s;
}

Result<store::CompactResult> compact_file(const std::string& dir) {
    return store::compact_in_place(dir, [](const std::string& copy) -> Status {
        EVT_ASSIGN(auto lg, Log::open(copy, Log::Access::read));
        EVT_ASSIGN(VerifyReport r, verify(*lg, {}, 1));
        if (!r.problems.empty())
            return make_error(ErrorKind::corrupt, "the compacted copy does not verify ({}: {}); nothing was replaced",
                              r.problems[0].topic, r.problems[0].what);
        return {};
    });
}

}  // namespace evt::log
