#include "core/cli/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace evt::cli {

Progress::Progress(std::string label, Mode mode)
    : label_(std::move(label)),
      enabled_(mode == Mode::always || (mode == Mode::automatic && isatty(2))),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void Progress::draw(std::uint64_t done) {
    auto now = std::chrono::steady_clock::now();
    if (now - start_ < std::chrono::seconds(1) || now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    double rate = done / secs;
    if (total_)
        std::fprintf(stderr, "\r%s: %llu/%llu events (%.0f%%), %.0f/s   ", label_.c_str(),
                     static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_),
                     100.0 * static_cast<double>(done) / static_cast<double>(total_), rate);
    else
        std::fprintf(stderr, "\r%s: %llu events, %.0f/s   ", label_.c_str(), static_cast<unsigned long long>(done),
                     rate);
    drawn_ = true;
}

void Progress::finish() {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
    drawn_ = false;
}

}  // namespace evt::cli
