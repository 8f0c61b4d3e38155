#include "core/util/uuid.hpp"

#include <unistd.h>

#include <chrono>

namespace evt {

Uuid7Generator::Uuid7Generator() {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), static_cast<unsigned>(getpid()),
                      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count())};
    rng_.seed(seq);
}

void Uuid7Generator::next(std::int64_t unix_ms, char out[36]) {
    if (unix_ms <= last_ms_) {
        unix_ms = last_ms_;
        if (++counter_ > 0x0fff) {  // counter exhausted: borrow the next millisecond
            ++unix_ms;
            counter_ = static_cast<std::uint16_t>(rng_() & 0x01ff);
        }
    } else {
        counter_ = static_cast<std::uint16_t>(rng_() & 0x01ff);  // room to count up
    }
    last_ms_ = unix_ms;
    unsigned char b[16];
    std::uint64_t ms = static_cast<std::uint64_t>(unix_ms);
    for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
    b[6] = static_cast<unsigned char>(0x70 | ((counter_ >> 8) & 0x0f));
    b[7] = static_cast<unsigned char>(counter_ & 0xff);
    std::uint64_t r = rng_();
    for (int i = 8; i < 16; ++i) b[i] = static_cast<unsigned char>(r >> (8 * (i - 8)));
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // variant 10
    static const char* hex = "0123456789abcdef";
    int o = 0;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
}

std::string Uuid7Generator::next(std::int64_t unix_ms) {
    char buf[36];
    next(unix_ms, buf);
    return std::string(buf, 36);
}

}  // namespace evt
