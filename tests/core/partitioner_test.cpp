#include <catch2/catch.hpp>

#include "core/route/partitioner.hpp"
#include "core/util/crc32c.hpp"
#include "core/util/uuid.hpp"

using namespace evt;

TEST_CASE("murmur2 matches Kafka's published vectors") {
    CHECK(murmur2("21") == -973932308);
    CHECK(murmur2("foobar") == -790332482);
    CHECK(murmur2("a-little-bit-long-string") == -985981536);
    CHECK(murmur2("a-little-bit-longer-string") == -1486304829);
    CHECK(murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971);
    CHECK(murmur2("abc") == 479470107);
    CHECK(murmur2("") == 275646681);
}

TEST_CASE("keyed partition is (murmur2 & 0x7fffffff) % n") {
    CHECK(partition_for_key("foobar", 3) == static_cast<std::uint32_t>((-790332482 & 0x7fffffff) % 3));
    CHECK(partition_for_key("abc", 7) == 479470107u % 7);
}

TEST_CASE("round robin cycles through partitions") {
    RoundRobin rr;
    CHECK(rr.next(3) == 0);
    CHECK(rr.next(3) == 1);
    CHECK(rr.next(3) == 2);
    CHECK(rr.next(3) == 0);
}

TEST_CASE("crc32c matches the standard check value") {
    CHECK(crc32c("123456789") == 0xE3069283u);
    CHECK(crc32c("") == 0u);
    std::string a = "hello, ", b = "world";
    CHECK(crc32c(crc32c(a), b.data(), b.size()) == crc32c(a + b));
}

TEST_CASE("crc32c equals a bit-at-a-time reference at every length and split") {
    // The reference: the CRC-32C definition, one bit at a time.
    auto reference = [](std::uint32_t crc, const std::string& s) {
        crc = ~crc;
        for (unsigned char ch : s) {
            crc ^= ch;
            for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    };
    std::uint64_t x = 0x9E3779B97F4A7C15ull;
    auto next = [&] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    std::string data;
    for (int i = 0; i < 1200; ++i) data += static_cast<char>(next() & 0xff);
    // every length across the 192-byte three-stream blocks, from a few offsets
    for (std::size_t off : {0, 1, 7}) {
        for (std::size_t n = 0; n + off <= 700; ++n) {
            std::string part = data.substr(off, n);
            REQUIRE(crc32c(part) == reference(0, part));
        }
    }
    for (int i = 0; i < 200; ++i) {
        std::size_t n = next() % 1200, cut = n ? next() % n : 0;
        auto seed = static_cast<std::uint32_t>(next());
        std::string part = data.substr(0, n);
        CHECK(crc32c(seed, part.data(), n) == reference(seed, part));
        CHECK(crc32c(crc32c(seed, part.data(), cut), part.data() + cut, n - cut) == reference(seed, part));
    }
}

TEST_CASE("uuid v7 has version and variant bits and sorts by time") {
    Uuid7Generator g;
    std::string a = g.next(1764221400000), b = g.next(1764221400000), c = g.next(1764221400001);
    CHECK(a.size() == 36);
    CHECK(a[14] == '7');
    CHECK((a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b'));
    CHECK(a < b);
    CHECK(b < c);
    CHECK(a.substr(0, 13) == "019ac3ca-33c0");  // 1764221400000 ms = 0x019ac3ca33c0
}
