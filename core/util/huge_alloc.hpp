// HugeAllocator: an allocator for big tables probed at random (the rows of a
// fold, hash indexes). Blocks of 2 MiB or more are aligned to 2 MiB and marked
// MADV_HUGEPAGE, so that where transparent huge pages are on "madvise" (the
// Debian default) one TLB entry covers 2 MiB instead of 4 KiB: a random probe
// into a table of tens of megabytes then costs a cache miss, not a cache miss
// and a page walk. Smaller blocks come from operator new. Where huge pages are
// off, madvise fails and is ignored: the memory is ordinary memory.
//
// Throws std::bad_alloc like std::allocator.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>

namespace evt {

template <class T>
struct HugeAllocator {
    using value_type = T;
    static constexpr std::size_t kHuge = std::size_t{2} << 20;

    HugeAllocator() noexcept = default;
    template <class U>
    HugeAllocator(const HugeAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        std::size_t bytes = n * sizeof(T);
        if (bytes < kHuge) return static_cast<T*>(::operator new(bytes));
        std::size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
        void* p = std::aligned_alloc(kHuge, rounded);
        if (!p) throw std::bad_alloc();
        (void)madvise(p, rounded, MADV_HUGEPAGE);
        return static_cast<T*>(p);
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (n * sizeof(T) < kHuge) ::operator delete(p);
        else std::free(p);
    }
    template <class U>
    bool operator==(const HugeAllocator<U>&) const noexcept {
        return true;
    }
};

}  // namespace evt
