// Chaos: what at-least-once delivery does to a stream, done on purpose and
// reproducibly.
//
// Each input line goes through, in this order: loss (probability drop_p),
// local reordering (probability reorder_p: the line is held back 1..window
// lines), duplication (probability dup_p: a copy follows dup_delay lines
// later, 0 meaning right after). The same seed gives the same output: every
// line draws the same four random numbers whatever the probabilities, from a
// SplitMix64 generator, so changing one probability does not reshuffle the
// others' choices. With every probability 0 the output is the input.
//
// Each action is reported to the report callback (for --report), with the
// 1-based input line and, where it applies, where the line or its copy went.
// Delays (sleep before each output line) are the caller's business. No errors.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

namespace evt::chaos {

struct Options {
    double drop_p = 0;
    double dup_p = 0;
    std::uint64_t dup_delay = 0;  // lines after the original
    double reorder_p = 0;
    std::uint64_t window = 1;  // max lines a reordered line is held back
    std::uint64_t seed = 0;
};

struct Action {
    enum class Kind { drop, dup, reorder } kind;
    std::uint64_t line;  // 1-based input line
    std::uint64_t by;    // reorder: lines held back; dup: lines between the original and the copy
};

class Chaos {
public:
    using Emit = std::function<void(std::string_view line)>;
    using Report = std::function<void(const Action&)>;

    Chaos(Options o, Emit emit, Report report);
    void push(std::string_view line);
    void finish();  // emit whatever is held back, in order

    struct Counts {
        std::uint64_t in = 0, out = 0, dropped = 0, duplicated = 0, reordered = 0;
    };
    const Counts& counts() const { return counts_; }

private:
    struct Pending {
        std::uint64_t release;  // output slot (chaos.cpp)
        std::uint64_t seq;      // ties: in scheduling order
        std::string line;
        bool operator>(const Pending& o) const { return release != o.release ? release > o.release : seq > o.seq; }
    };
    double uniform();
    void schedule(std::uint64_t release, std::string_view line);
    void release_up_to(std::uint64_t n);

    Options o_;
    Emit emit_;
    Report report_;
    std::uint64_t state_;
    std::uint64_t seq_ = 0;
    std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>> held_;
    Counts counts_;
};

}  // namespace evt::chaos
