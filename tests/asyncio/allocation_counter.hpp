// Counts operator new calls on this thread while an AllocationCounter is
// alive, to prove that an uncontended path allocates nothing. Replaces the
// global operator new/delete, so a test executable includes it at most once
// (test_locks.cpp and test_queues.cpp are separate executables).
#pragma once

#include <cstdlib>
#include <new>

namespace concur::asyncio::testing {
inline thread_local bool g_counting = false;
inline thread_local long g_allocations = 0;

struct AllocationCounter {
    AllocationCounter() {
        g_allocations = 0;
        g_counting = true;
    }
    long stop() {
        g_counting = false;
        return g_allocations;
    }
    ~AllocationCounter() { g_counting = false; }
};
}  // namespace concur::asyncio::testing

// malloc/free underneath, as libstdc++'s own; g++ 12 flags the pair wrongly.
// Not under ThreadSanitizer, whose runtime defines these operators itself
// (the allocation-counting tests are skipped there).
#if !defined(CONCUR_SANITIZE_thread)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
    if (concur::asyncio::testing::g_counting) ++concur::asyncio::testing::g_allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
#endif
