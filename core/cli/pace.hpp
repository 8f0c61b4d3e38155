// Pacing output to a rate ("100/s", "5/m"), for exercises and demos.
// A Pacer sleeps just enough before each event that the average rate holds.
// parse_rate errors: ErrorKind::usage. Not thread-safe.
#pragma once

#include <chrono>
#include <string_view>

#include "core/util/result.hpp"

namespace evt::cli {

// Events per second from "N/s", "N/m", "N/h" or a bare N (per second).
Result<double> parse_rate(std::string_view text);

class Pacer {
public:
    explicit Pacer(double per_second) : interval_(per_second > 0 ? 1.0 / per_second : 0) {}
    // Waits until the next event may go out; returns true if it slept.
    bool wait();

private:
    double interval_;
    std::chrono::steady_clock::time_point next_{};
    bool started_ = false;
};

}  // namespace evt::cli
