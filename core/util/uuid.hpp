// UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so ids
// sort by creation time. The generator is per-object (no global state) and
// monotonic within a millisecond (a 12-bit counter in rand_a). Not thread-safe;
// use one generator per thread.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace evt {

class Uuid7Generator {
public:
    Uuid7Generator();
    // Writes the 36-character canonical text form into out.
    void next(std::int64_t unix_ms, char out[36]);
    std::string next(std::int64_t unix_ms);

private:
    std::mt19937_64 rng_;
    std::int64_t last_ms_ = -1;
    std::uint16_t counter_ = 0;
};

}  // namespace evt
