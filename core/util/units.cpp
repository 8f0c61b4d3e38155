#include "core/util/units.hpp"

#include <charconv>
#include <chrono>
#include <cmath>

namespace evt {

Micros now_micros() noexcept {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
}

bool read_digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        char c = s[pos + i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    pos += n;
    return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
    if (pos < s.size() && s[pos] == c) {
        ++pos;
        return true;
    }
    return false;
}

// Splits "15m" into 15 and "m".
bool split_number(std::string_view text, double& number, std::string_view& unit) {
    std::size_t i = 0;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (i == 0) return false;
    auto r = std::from_chars(text.data(), text.data() + i, number);
    if (r.ec != std::errc() || r.ptr != text.data() + i) return false;
    unit = text.substr(i);
    return true;
}

}  // namespace

Result<Micros> parse_duration(std::string_view text) {
    double n = 0;
    std::string_view unit;
    if (!split_number(text, n, unit))
        return make_error(ErrorKind::usage, "invalid duration '{}' (expected e.g. 500ms, 30s, 5m, 7d)", text);
    double scale = 0;
    if (unit.empty() || unit == "s") scale = 1e6;
    else if (unit == "us") scale = 1;
    else if (unit == "ms") scale = 1e3;
    else if (unit == "m") scale = 60e6;
    else if (unit == "h") scale = 3600e6;
    else if (unit == "d") scale = 86400e6;
    else if (unit == "w") scale = 7 * 86400e6;
    else
        return make_error(ErrorKind::usage, "invalid duration '{}' (units: us, ms, s, m, h, d, w)", text);
    return static_cast<Micros>(std::llround(n * scale));
}

Result<std::uint64_t> parse_size(std::string_view text) {
    double n = 0;
    std::string_view unit;
    if (!split_number(text, n, unit))
        return make_error(ErrorKind::usage, "invalid size '{}' (expected e.g. 64KiB, 10MB)", text);
    double scale = 0;
    if (unit.empty() || unit == "B") scale = 1;
    else if (unit == "KiB" || unit == "K" || unit == "k") scale = 1024.0;
    else if (unit == "MiB" || unit == "M") scale = 1024.0 * 1024;
    else if (unit == "GiB" || unit == "G") scale = 1024.0 * 1024 * 1024;
    else if (unit == "TiB" || unit == "T") scale = 1024.0 * 1024 * 1024 * 1024;
    else if (unit == "KB" || unit == "kB") scale = 1e3;
    else if (unit == "MB") scale = 1e6;
    else if (unit == "GB") scale = 1e9;
    else if (unit == "TB") scale = 1e12;
    else
        return make_error(ErrorKind::usage, "invalid size '{}' (units: B, KiB, MiB, GiB, KB, MB, GB)", text);
    return static_cast<std::uint64_t>(std::llround(n * scale));
}

Result<Micros> parse_time(std::string_view text, Micros now) {
    if (!text.empty() && text[0] == '-') {
        EVT_ASSIGN(Micros ago, parse_duration(text.substr(1)));
        return now - ago;
    }
    auto bad = [&] {
        return make_error(ErrorKind::usage,
                          "invalid time '{}' (expected RFC 3339 such as 2026-11-01T12:00:00Z, or -15m)", text);
    };
    std::size_t p = 0;
    int Y = 0, M = 0, D = 0, h = 0, m = 0, s = 0;
    if (!read_digits(text, p, 4, Y) || !expect(text, p, '-') || !read_digits(text, p, 2, M) ||
        !expect(text, p, '-') || !read_digits(text, p, 2, D))
        return bad();
    if (M < 1 || M > 12 || D < 1 || D > 31) return bad();
    Micros frac = 0;
    Micros offset = 0;
    if (p < text.size()) {
        if (text[p] != 'T' && text[p] != 't' && text[p] != ' ') return bad();
        ++p;
        if (!read_digits(text, p, 2, h) || !expect(text, p, ':') || !read_digits(text, p, 2, m) ||
            !expect(text, p, ':') || !read_digits(text, p, 2, s))
            return bad();
        if (h > 23 || m > 59 || s > 60) return bad();
        if (expect(text, p, '.')) {
            Micros scale = 100000;
            std::size_t start = p;
            while (p < text.size() && text[p] >= '0' && text[p] <= '9') {
                frac += (text[p] - '0') * scale;
                scale /= 10;
                ++p;
            }
            if (p == start) return bad();
        }
        if (p >= text.size()) return bad();
        if (text[p] == 'Z' || text[p] == 'z') {
            ++p;
        } else if (text[p] == '+' || text[p] == '-') {
            int sign = text[p] == '-' ? -1 : 1;
            ++p;
            int oh, om;
            if (!read_digits(text, p, 2, oh) || !expect(text, p, ':') || !read_digits(text, p, 2, om)) return bad();
            offset = sign * (oh * 3600LL + om * 60LL) * 1000000LL;
        } else {
            return bad();
        }
        if (p != text.size()) return bad();
    }
    std::int64_t days = days_from_civil(Y, static_cast<unsigned>(M), static_cast<unsigned>(D));
    Micros secs = days * 86400 + h * 3600 + m * 60 + s;
    return secs * 1000000 + frac - offset;
}

void format_time_ms(Micros t, char out[24]) {
    std::int64_t ms = t >= 0 ? t / 1000 : -((-t + 999) / 1000);
    std::int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int milli = static_cast<int>(ms - secs * 1000);
    std::int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int sod = static_cast<int>(secs - days * 86400);
    std::int64_t y;
    unsigned mo, d;
    civil_from_days(days, y, mo, d);
    auto put = [&](int pos, int width, std::int64_t v) {
        for (int i = width - 1; i >= 0; --i) {
            out[pos + i] = static_cast<char>('0' + v % 10);
            v /= 10;
        }
    };
    put(0, 4, y);
    out[4] = '-';
    put(5, 2, mo);
    out[7] = '-';
    put(8, 2, d);
    out[10] = 'T';
    put(11, 2, sod / 3600);
    out[13] = ':';
    put(14, 2, (sod / 60) % 60);
    out[16] = ':';
    put(17, 2, sod % 60);
    out[19] = '.';
    put(20, 3, milli);
    out[23] = 'Z';
}

std::string format_time_ms(Micros t) {
    char buf[24];
    format_time_ms(t, buf);
    return std::string(buf, 24);
}

std::string format_duration(Micros d) {
    struct Unit {
        Micros size;
        const char* name;
    };
    for (Unit u : {Unit{7LL * 86400000000, "w"}, Unit{86400000000, "d"}, Unit{3600000000, "h"}, Unit{60000000, "m"},
                   Unit{1000000, "s"}, Unit{1000, "ms"}})
        if (d >= u.size && d % u.size == 0) return fmt::format("{}{}", d / u.size, u.name);
    return fmt::format("{}us", d);
}

std::string format_size(std::uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    if (u == 0) return fmt::format("{} B", bytes);
    return fmt::format("{:.1f} {}", v, units[u]);
}

}  // namespace evt
