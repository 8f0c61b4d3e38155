// hash64: the 64-bit hash evt stores (stream slots, event-id index keys).
//
// Eight bytes per step: each little-endian 64-bit word (the last one padded
// with zeros) is mixed in with a multiply and a shift, seeded with the length,
// and the result goes through a final avalanche. The exact function is part of
// the storage format (schemas/STORAGE.md); changing it bumps the format
// version. Collisions are tolerated by every user (they compare the full
// bytes). Pure; no errors.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace evt {

inline std::uint64_t hash64(std::string_view s) noexcept {
    constexpr std::uint64_t k1 = 0x9E3779B97F4A7C15ull, k2 = 0xFF51AFD7ED558CCDull, k3 = 0xC4CEB9FE1A85EC53ull;
    std::uint64_t h = k2 ^ (s.size() * k1);
    const char* p = s.data();
    std::size_t n = s.size();
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        h = (h ^ w) * k1;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    if (n) {
        std::uint64_t w = 0;
        std::memcpy(&w, p, n);
        h = (h ^ w) * k1;
        h ^= h >> 29;
    }
    h ^= h >> 33;
    h *= k2;
    h ^= h >> 33;
    h *= k3;
    h ^= h >> 33;
    return h;
}

}  // namespace evt
