#include <catch2/catch.hpp>

#include "core/util/units.hpp"

using namespace evt;

TEST_CASE("durations parse with every unit") {
    CHECK(*parse_duration("500ms") == 500000);
    CHECK(*parse_duration("30s") == 30000000);
    CHECK(*parse_duration("5m") == 300000000LL);
    CHECK(*parse_duration("7d") == 7LL * 86400 * 1000000);
    CHECK(*parse_duration("2") == 2000000);
    CHECK_FALSE(parse_duration("5 parsecs").ok());
    CHECK(parse_duration("x").error().message == "invalid duration 'x' (expected e.g. 500ms, 30s, 5m, 7d)");
}

TEST_CASE("sizes parse binary and decimal units") {
    CHECK(*parse_size("64KiB") == 65536);
    CHECK(*parse_size("10MB") == 10000000);
    CHECK(*parse_size("1MiB") == 1048576);
    CHECK_FALSE(parse_size("12XB").ok());
}

TEST_CASE("RFC 3339 times round-trip at millisecond precision") {
    auto t = parse_time("2026-11-27T05:30:00.123Z", 0);
    REQUIRE(t.ok());
    CHECK(format_time_ms(*t) == "2026-11-27T05:30:00.123Z");
    CHECK(*parse_time("1970-01-01T00:00:00Z", 0) == 0);
    CHECK(*parse_time("2026-11-27T06:30:00.123+01:00", 0) == *t);
    CHECK(*parse_time("-15m", 1000000000) == 1000000000 - 900000000);
    CHECK(format_time_ms(0) == "1970-01-01T00:00:00.000Z");
    CHECK_FALSE(parse_time("2026-13-01T00:00:00Z", 0).ok());
    CHECK_FALSE(parse_time("yesterday", 0).ok());
}
