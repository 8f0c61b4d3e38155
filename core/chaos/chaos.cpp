#include "core/chaos/chaos.hpp"

namespace evt::chaos {

namespace {
constexpr std::uint64_t kLast = ~0ull;  // the slot after everything
}

Chaos::Chaos(Options o, Emit emit, Report report)
    : o_(o), emit_(std::move(emit)), report_(std::move(report)), state_(o.seed) {
    if (o_.window == 0) o_.window = 1;
}

// SplitMix64, then the top 53 bits as a double in [0, 1).
double Chaos::uniform() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

void Chaos::schedule(std::uint64_t release, std::string_view line) {
    held_.push(Pending{release, seq_++, std::string(line)});
}

// Slots order the output: line i on time is slot 2i; a line held back to
// after line j, or a copy due after line j, is slot 2j+1 (after line j).
void Chaos::release_up_to(std::uint64_t n) {
    std::uint64_t last = n == ~0ull ? kLast : 2 * n + 1;
    while (!held_.empty() && held_.top().release <= last) {
        emit_(held_.top().line);
        ++counts_.out;
        held_.pop();
    }
}

void Chaos::push(std::string_view line) {
    std::uint64_t i = ++counts_.in;
    double u_drop = uniform(), u_reorder = uniform(), u_hold = uniform(), u_dup = uniform();
    if (u_drop < o_.drop_p) {
        ++counts_.dropped;
        if (report_) report_(Action{Action::Kind::drop, i, 0});
        release_up_to(i);
        return;
    }
    std::uint64_t release = 2 * i;
    if (u_reorder < o_.reorder_p) {
        std::uint64_t by = 1 + static_cast<std::uint64_t>(u_hold * static_cast<double>(o_.window));
        release = 2 * std::min(i + by, kLast / 2 - 1) + 1;
        ++counts_.reordered;
        if (report_) report_(Action{Action::Kind::reorder, i, by});
    }
    if (held_.empty() && release == 2 * i && !(u_dup < o_.dup_p)) {  // the common case: straight through
        emit_(line);
        ++counts_.out;
        return;
    }
    schedule(release, line);
    if (u_dup < o_.dup_p) {
        ++counts_.duplicated;
        // saturating: a copy due after the end of the input comes at the end
        constexpr std::uint64_t kMaxLine = kLast / 2 - 1;
        std::uint64_t base = release / 2;
        std::uint64_t after = o_.dup_delay >= kMaxLine - base ? kMaxLine : base + o_.dup_delay;
        std::uint64_t copy = o_.dup_delay == 0 ? release : 2 * after + 1;
        schedule(copy, line);
        if (report_) report_(Action{Action::Kind::dup, i, o_.dup_delay});
    }
    release_up_to(i);
}

void Chaos::finish() { release_up_to(~0ull); }

}  // namespace evt::chaos
