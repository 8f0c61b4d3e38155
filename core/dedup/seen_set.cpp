#include "core/dedup/seen_set.hpp"

namespace evt::dedup {

bool SeenSet::check_and_insert(std::string_view key, std::uint64_t hash, Micros now) {
    if (window_) expire(now);
    std::size_t mask = table_.size() - 1;
    std::size_t slot = hash & mask;
    while (table_[slot] != kEmpty) {
        const Entry& e = entries_[table_[slot]];
        if (e.hash == hash && e.len == key.size() && key_of(e) == key) return true;
        slot = (slot + 1) & mask;
    }
    std::uint32_t index;
    Entry e{hash, arena_.size(), static_cast<std::uint32_t>(key.size()), true, now};
    if (!free_.empty()) {
        index = free_.back();
        free_.pop_back();
        entries_[index] = e;
    } else {
        index = static_cast<std::uint32_t>(entries_.size());
        entries_.push_back(e);
    }
    arena_.append(key);
    table_[slot] = index;
    if (window_) order_.push_back(index);
    if (++count_ * 2 > table_.size()) grow();
    return false;
}

void SeenSet::expire(Micros now) {
    while (!order_.empty() && now - entries_[order_.front()].time > window_) {
        erase(order_.front());
        order_.pop_front();
    }
    if (dead_bytes_ > (1u << 20) && dead_bytes_ * 2 > arena_.size()) compact();
}

// Linear probing with backward-shift deletion: no tombstones.
void SeenSet::erase(std::uint32_t index) {
    std::size_t mask = table_.size() - 1;
    std::size_t slot = entries_[index].hash & mask;
    while (table_[slot] != index) slot = (slot + 1) & mask;
    std::size_t hole = slot;
    for (std::size_t next = (hole + 1) & mask; table_[next] != kEmpty; next = (next + 1) & mask) {
        std::size_t home = entries_[table_[next]].hash & mask;
        // Move next into the hole unless its home lies cyclically in (hole, next].
        bool stays = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
        if (!stays) {
            table_[hole] = table_[next];
            hole = next;
        }
    }
    table_[hole] = kEmpty;
    entries_[index].live = false;
    dead_bytes_ += entries_[index].len;
    free_.push_back(index);
    --count_;
}

void SeenSet::grow() {
    std::vector<std::uint32_t> old(table_.size() * 2, kEmpty);
    old.swap(table_);
    std::size_t mask = table_.size() - 1;
    for (std::uint32_t idx : old) {
        if (idx == kEmpty) continue;
        std::size_t slot = entries_[idx].hash & mask;
        while (table_[slot] != kEmpty) slot = (slot + 1) & mask;
        table_[slot] = idx;
    }
}

void SeenSet::compact() {
    std::string fresh;
    fresh.reserve(arena_.size() - dead_bytes_);
    for (Entry& e : entries_) {
        if (!e.live) continue;
        std::uint64_t off = fresh.size();
        fresh.append(key_of(e));
        e.off = off;
    }
    arena_.swap(fresh);
    dead_bytes_ = 0;
}

}  // namespace evt::dedup
