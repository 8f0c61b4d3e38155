#include "core/route/partitioner.hpp"

namespace evt {

std::int32_t murmur2(std::string_view key) noexcept {
    const std::uint32_t seed = 0x9747b28c;
    const std::uint32_t m = 0x5bd1e995;
    const int r = 24;
    const auto* data = reinterpret_cast<const unsigned char*>(key.data());
    const std::uint32_t length = static_cast<std::uint32_t>(key.size());
    std::uint32_t h = seed ^ length;
    const std::uint32_t blocks = length / 4;
    for (std::uint32_t i = 0; i < blocks; ++i) {
        const unsigned char* p = data + i * 4;
        std::uint32_t k = static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
                          (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    const unsigned char* tail = data + blocks * 4;
    switch (length % 4) {
    case 3: h ^= static_cast<std::uint32_t>(tail[2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<std::uint32_t>(tail[1]) << 8; [[fallthrough]];
    case 1:
        h ^= tail[0];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return static_cast<std::int32_t>(h);
}

}  // namespace evt
