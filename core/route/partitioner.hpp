// Partition choice, compatible with Kafka's Java client.
//
// A keyed event goes to (murmur2(key) & 0x7fffffff) % partitions, with
// Kafka's murmur2 (seed 0x9747b28c), so a key lands on the same partition
// number in evt and in Kafka. Unkeyed events are spread round-robin by the
// caller's RoundRobin. Pure functions; no errors.
#pragma once

#include <cstdint>
#include <string_view>

namespace evt {

// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed int.
std::int32_t murmur2(std::string_view key) noexcept;

inline std::uint32_t partition_for_key(std::string_view key, std::uint32_t partitions) noexcept {
    return static_cast<std::uint32_t>(murmur2(key) & 0x7fffffff) % partitions;
}

class RoundRobin {
public:
    explicit RoundRobin(std::uint32_t start = 0) : next_(start) {}
    std::uint32_t next(std::uint32_t partitions) noexcept { return next_++ % partitions; }

private:
    std::uint32_t next_;
};

}  // namespace evt
