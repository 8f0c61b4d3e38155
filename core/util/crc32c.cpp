#include "core/util/crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace evt {

namespace {

constexpr std::uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

constexpr std::array<std::uint32_t, 256> make_table() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
        t[i] = c;
    }
    return t;
}

constexpr auto kTable = make_table();

std::uint32_t crc_table(std::uint32_t crc, const unsigned char* p, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) crc = kTable[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

// The raw register after n zero bytes, as four byte-indexed tables: the
// register is linear over GF(2), so shift(x) = T0[x & 0xff] ^ T1[x >> 8 & 0xff]
// ^ T2[x >> 16 & 0xff] ^ T3[x >> 24].
struct Shift {
    std::array<std::array<std::uint32_t, 256>, 4> t{};
    std::uint32_t operator()(std::uint32_t x) const noexcept {
        return t[0][x & 0xff] ^ t[1][(x >> 8) & 0xff] ^ t[2][(x >> 16) & 0xff] ^ t[3][x >> 24];
    }
};

constexpr Shift make_shift(std::size_t zeros) {
    Shift s;
    for (int k = 0; k < 4; ++k)
        for (std::uint32_t b = 0; b < 256; ++b) {
            std::uint32_t c = b << (8 * k);
            for (std::size_t i = 0; i < zeros; ++i) c = kTable[c & 0xff] ^ (c >> 8);
            s.t[static_cast<std::size_t>(k)][b] = c;
        }
    return s;
}

#if defined(__x86_64__)
// Three streams of kLane bytes at once: the crc32 instruction takes 3 cycles
// but a new one can start every cycle, so one stream leaves two thirds of it
// idle. The register is linear, so crc(x, A B C) = shift(shift(crc(x, A)) ^
// crc(0, B)) ^ crc(0, C), each shift over kLane bytes. A 270-byte event has
// one such block.
constexpr std::size_t kLane = 64;
constexpr Shift kShiftLane = make_shift(kLane);

__attribute__((target("sse4.2"))) std::uint32_t crc_hw(std::uint32_t crc, const unsigned char* p,
                                                       std::size_t n) noexcept {
    std::uint64_t c = crc;
    while (n >= 3 * kLane) {
        std::uint64_t c1 = 0, c2 = 0;
        for (std::size_t i = 0; i < kLane; i += 8) {
            std::uint64_t a, b, d;
            std::memcpy(&a, p + i, 8);
            std::memcpy(&b, p + kLane + i, 8);
            std::memcpy(&d, p + 2 * kLane + i, 8);
            c = _mm_crc32_u64(c, a);
            c1 = _mm_crc32_u64(c1, b);
            c2 = _mm_crc32_u64(c2, d);
        }
        c = kShiftLane(kShiftLane(static_cast<std::uint32_t>(c)) ^ static_cast<std::uint32_t>(c1)) ^
            static_cast<std::uint32_t>(c2);
        p += 3 * kLane;
        n -= 3 * kLane;
    }
    while (n >= 8) {
        std::uint64_t v;
        std::memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    std::uint32_t c32 = static_cast<std::uint32_t>(c);
    while (n--) c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}
const bool kHasHw = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t n) noexcept {
    auto p = static_cast<const unsigned char*>(data);
    crc = ~crc;
#if defined(__x86_64__)
    if (kHasHw) return ~crc_hw(crc, p, n);
#endif
    return ~crc_table(crc, p, n);
}

}  // namespace evt
