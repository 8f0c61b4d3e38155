// A progress line on stderr for long work (SPEC.md section 2).
//
// Drawn only when enabled (by default: stderr is a terminal) and only once
// the work has run for a second; redrawn at most ten times a second with
// "\r", and erased by finish(). Colour is never used, so NO_COLOR needs
// nothing more. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace evt::cli {

class Progress {
public:
    enum class Mode { automatic, always, never };
    Progress(std::string label, Mode mode);
    ~Progress() { finish(); }
    void set_total(std::uint64_t total) { total_ = total; }
    // Call often; it is cheap when nothing is drawn.
    void update(std::uint64_t done) {
        if (enabled_ && (done & 1023) == 0) draw(done);
    }
    void finish();

private:
    void draw(std::uint64_t done);

    std::string label_;
    bool enabled_;
    bool drawn_ = false;
    std::uint64_t total_ = 0;
    std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace evt::cli
