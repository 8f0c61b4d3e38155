// Parsing and formatting of the shared value syntaxes of SPEC.md section 2:
// durations (`500ms`, `30s`, `5m`, `7d`), sizes (`64KiB`, `10MB`) and times
// (RFC 3339, or a duration ago such as `-15m`). Pure functions; errors are
// returned as ErrorKind::usage with a message naming the bad text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/result.hpp"

namespace evt {

// Microseconds since the Unix epoch, the time unit the log stores.
using Micros = std::int64_t;

Micros now_micros() noexcept;

// "500ms" -> 500000 µs; a bare number is seconds. Units: us, ms, s, m, h, d, w.
Result<Micros> parse_duration(std::string_view text);
// "64KiB" -> 65536; "10MB" -> 10000000; a bare number is bytes.
Result<std::uint64_t> parse_size(std::string_view text);
// RFC 3339 ("2026-11-01T12:00:00Z", fractions and offsets allowed) or a
// duration ago ("-15m"), relative to `now`.
Result<Micros> parse_time(std::string_view text, Micros now);
// RFC 3339 in UTC with milliseconds: "2026-11-27T05:30:00.123Z".
std::string format_time_ms(Micros t);
// Writes the same 24 characters into `out` (no allocation, for hot paths).
void format_time_ms(Micros t, char out[24]);
// A duration in the largest unit that divides it: "7d", "90s", "1500ms".
std::string format_duration(Micros d);
// A human size: "1.5 MiB".
std::string format_size(std::uint64_t bytes);

}  // namespace evt
