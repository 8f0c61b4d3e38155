// Partition assignment inside a consumer group: a pure function of the
// sorted live members and the partition count, with Kafka's meanings.
//
//   range       partitions split into contiguous ranges, in member order; the
//               first (partitions % members) members get one more.
//   roundrobin  partition p goes to member p % members.
//
// With one topic per group these agree on counts and differ in shape. Every
// member computes the same answer from the same membership, so no leader is
// needed. Pure; no errors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace evt::group {

enum class Strategy { range, roundrobin };

// For each member (in the given order), the partitions it owns.
std::vector<std::vector<std::uint32_t>> assign(Strategy s, std::size_t members, std::uint32_t partitions);

}  // namespace evt::group
