// Flat containers for the NATS producer's publishes in flight.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace evt::nats {

// Every publish in flight has a slot, in input order, found again from the
// message libnats hands back with its ack.

// Slots by a running number: push at the back, take from the front; grows
// by doubling when full (slots already done but waiting for an earlier ack).
template <class T>
class Ring {
public:
    Ring() : v_(1024) {}
    std::uint64_t begin() const { return head_; }
    std::uint64_t end() const { return tail_; }
    bool empty() const { return head_ == tail_; }
    T& operator[](std::uint64_t i) { return v_[i & (v_.size() - 1)]; }
    const T& operator[](std::uint64_t i) const { return v_[i & (v_.size() - 1)]; }
    T& front() { return (*this)[head_]; }
    std::uint64_t push_back() {
        if (tail_ - head_ == v_.size()) {
            std::vector<T> bigger(v_.size() * 2);
            for (std::uint64_t i = head_; i < tail_; ++i) bigger[i & (bigger.size() - 1)] = std::move((*this)[i]);
            v_.swap(bigger);
        }
        (*this)[tail_] = T{};
        return tail_++;
    }
    void pop_front() { (*this)[head_++] = T{}; }
    void pop_back() { (*this)[--tail_] = T{}; }

private:
    std::vector<T> v_;  // a power of two long
    std::uint64_t head_ = 0, tail_ = 0;
};

// Pointer -> slot number (a message libnats hands back -> its slot); open addressing, linear probing, deletion by
// shifting back (no tombstones), kept under half full.
template <class P>
class PtrIndex {
public:
    PtrIndex() : t_(8192) {}
    std::size_t size() const { return n_; }
    void insert(P* m, std::uint64_t slot) {
        if (2 * (n_ + 1) > t_.size()) grow();
        std::size_t i = home(m);
        while (t_[i].first) i = (i + 1) & mask();
        t_[i] = {m, slot};
        ++n_;
    }
    // Removes m; its slot number, or nothing when m is not ours.
    std::optional<std::uint64_t> take(P* m) {
        std::size_t i = home(m);
        while (t_[i].first != m) {
            if (!t_[i].first) return std::nullopt;
            i = (i + 1) & mask();
        }
        std::uint64_t slot = t_[i].second;
        // Shift later entries of the run back into the hole.
        for (std::size_t j = (i + 1) & mask(); t_[j].first; j = (j + 1) & mask()) {
            std::size_t h = home(t_[j].first);
            if (((j - h) & mask()) >= ((j - i) & mask())) {
                t_[i] = t_[j];
                i = j;
            }
        }
        t_[i] = {nullptr, 0};
        --n_;
        return slot;
    }

private:
    std::size_t mask() const { return t_.size() - 1; }
    std::size_t home(P* m) const {
        return static_cast<std::size_t>((reinterpret_cast<std::uintptr_t>(m) >> 4) * 0x9E3779B97F4A7C15ull) & mask();
    }
    void grow() {
        std::vector<std::pair<P*, std::uint64_t>> old(t_.size() * 2);
        old.swap(t_);
        n_ = 0;
        for (auto& [m, slot] : old)
            if (m) insert(m, slot);
    }
    std::vector<std::pair<P*, std::uint64_t>> t_;
    std::size_t n_ = 0;
};

}  // namespace evt::nats
