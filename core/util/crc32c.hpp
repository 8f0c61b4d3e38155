// CRC-32C (Castagnoli), the checksum stored with every record.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it, a table otherwise;
// both give the same value. Thread-safe, no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace evt {

// Extends `crc` (0 to start) over `n` bytes.
std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t n) noexcept;

inline std::uint32_t crc32c(std::string_view s) noexcept { return crc32c(0, s.data(), s.size()); }

}  // namespace evt
