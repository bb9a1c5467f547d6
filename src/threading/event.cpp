// Event's set() and wait(). See event.hpp for the state word.
#include "concur/threading/event.hpp"

#include "concur/detail/futex.hpp"

namespace concur::threading {

void Event::set() noexcept {
    uint32_t s = word_.load(std::memory_order_relaxed);
    uint32_t next;
    do {
        if (s & kSet) return;
        next = ((s & ~kWaiters) + kGeneration) | kSet;  // the generation wraps: fine
    } while (!word_.compare_exchange_weak(s, next, std::memory_order_release,
                                          std::memory_order_relaxed));
    if (s & kWaiters) concur::detail::futex_wake_all(word_);
}

bool Event::wait_deadline(const concur::detail::Deadline& d) {
    uint32_t s = word_.load(std::memory_order_acquire);
    const uint32_t generation = s >> 2;
    for (;;) {
        if ((s & kSet) || (s >> 2) != generation) return true;
        if (d.expired()) return false;
        if (!(s & kWaiters)) {
            if (!word_.compare_exchange_weak(s, s | kWaiters, std::memory_order_acquire,
                                             std::memory_order_acquire))
                continue;  // s was reloaded
            s |= kWaiters;
        }
        concur::detail::futex_wait(word_, s, d.get());
        s = word_.load(std::memory_order_acquire);
    }
}

}  // namespace concur::threading
