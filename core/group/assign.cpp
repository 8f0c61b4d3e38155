#include "core/group/assign.hpp"

namespace evt::group {

std::vector<std::vector<std::uint32_t>> assign(Strategy s, std::size_t members, std::uint32_t partitions) {
    std::vector<std::vector<std::uint32_t>> out(members);
    if (members == 0) return out;
    if (s == Strategy::roundrobin) {
        for (std::uint32_t p = 0; p < partitions; ++p) out[p % members].push_back(p);
        return out;
    }
    std::uint32_t per = partitions / static_cast<std::uint32_t>(members);
    std::uint32_t extra = partitions % static_cast<std::uint32_t>(members);
    std::uint32_t p = 0;
    for (std::size_t m = 0; m < members; ++m) {
        std::uint32_t n = per + (m < extra ? 1 : 0);
        for (std::uint32_t i = 0; i < n; ++i) out[m].push_back(p++);
    }
    return out;
}

}  // namespace evt::group
