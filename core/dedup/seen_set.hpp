// SeenSet: the in-memory seen-set of evt-dedup, exact and bounded by a window.
//
// Keys are stored whole (in an arena) in an open-addressing table keyed by
// hash64, so two different keys are never confused. With a window, each key
// remembers when it was first seen; keys older than the window are forgotten
// (oldest first), so memory follows the number of keys inside the window,
// not the length of the input. The clock is the caller's: insert() takes
// `now`. Not thread-safe; no errors.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/units.hpp"

namespace evt::dedup {

class SeenSet {
public:
    explicit SeenSet(Micros window = 0) : window_(window) { table_.assign(1024, kEmpty); }
    // True if key was seen within the window; otherwise remembers it.
    bool check_and_insert(std::string_view key, std::uint64_t hash, Micros now);
    std::size_t size() const { return count_; }

private:
    static constexpr std::uint32_t kEmpty = ~0u;
    struct Entry {
        std::uint64_t hash;
        std::uint64_t off;  // into arena_
        std::uint32_t len;
        bool live;
        Micros time;
    };
    void expire(Micros now);
    void erase(std::uint32_t entry);
    void grow();
    void compact();
    std::string_view key_of(const Entry& e) const { return {arena_.data() + e.off, e.len}; }

    Micros window_;
    std::vector<std::uint32_t> table_;  // index into entries_
    std::vector<Entry> entries_;
    std::vector<std::uint32_t> free_;   // reusable entries_
    std::deque<std::uint32_t> order_;   // entries by insertion time (with a window)
    std::string arena_;
    std::uint64_t dead_bytes_ = 0;
    std::size_t count_ = 0;
};

}  // namespace evt::dedup
