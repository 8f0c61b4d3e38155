#include "core/cli/pace.hpp"

#include <charconv>
#include <thread>

namespace evt::cli {

Result<double> parse_rate(std::string_view text) {
    std::string_view num = text, unit = "s";
    if (auto slash = text.find('/'); slash != std::string_view::npos) {
        num = text.substr(0, slash);
        unit = text.substr(slash + 1);
    }
    double n = 0;
    auto r = std::from_chars(num.data(), num.data() + num.size(), n);
    double per = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
    if (num.empty() || r.ec != std::errc() || r.ptr != num.data() + num.size() || n <= 0 || per == 0)
        return make_error(ErrorKind::usage, "invalid rate '{}' (expected e.g. 100/s, 30/m)", text);
    return n / per;
}

bool Pacer::wait() {
    if (interval_ <= 0) return false;
    auto now = std::chrono::steady_clock::now();
    if (!started_) {
        started_ = true;
        next_ = now;
    }
    bool slept = false;
    if (next_ > now) {
        std::this_thread::sleep_until(next_);
        slept = true;
    }
    next_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(interval_));
    return slept;
}

}  // namespace evt::cli
