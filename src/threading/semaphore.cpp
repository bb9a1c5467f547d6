// Semaphore's constructor, release() and blocking acquire.
#include "concur/threading/semaphore.hpp"

#include <cstdint>

#include "concur/detail/futex.hpp"

namespace concur::threading {

Semaphore::Semaphore(long long value, bool bounded) : bounded_(bounded) {
    if (value < 0) throw ValueError("semaphore initial value must be >= 0");
    if (value > static_cast<long long>(UINT32_MAX))
        throw ValueError("semaphore initial value is too large");
    value_.store(static_cast<uint32_t>(value), std::memory_order_relaxed);
    bound_ = bounded ? static_cast<uint32_t>(value) : UINT32_MAX;
}

void Semaphore::release(int n) {
    if (n < 1) throw ValueError("n must be one or more");
    uint32_t v = value_.load(std::memory_order_relaxed);
    do {
        if (static_cast<uint64_t>(v) + static_cast<uint64_t>(n) > bound_)
            throw ValueError(bounded_ ? "Semaphore released too many times"
                                      : "Semaphore value would overflow");
    } while (!value_.compare_exchange_weak(v, v + static_cast<uint32_t>(n),
                                           std::memory_order_seq_cst, std::memory_order_relaxed));
    // seq_cst pairs with acquire_slow(): either we see its sleeper count, or
    // it sees our value before it sleeps.
    if (sleepers_.load(std::memory_order_seq_cst) != 0) concur::detail::futex_wake(value_, n);
}

bool Semaphore::acquire_slow(const concur::detail::Deadline& d) {
    for (;;) {
        // Try before checking the deadline: a thread woken by release() at
        // the deadline takes the unit meant for it instead of stranding it.
        if (try_lock()) return true;
        if (d.expired()) return false;
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        if (value_.load(std::memory_order_seq_cst) == 0)
            concur::detail::futex_wait(value_, 0, d.get());
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
    }
}

}  // namespace concur::threading
