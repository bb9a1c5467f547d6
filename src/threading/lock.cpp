// Lock's slow path and RLock's out-of-line members. See lock.hpp for the
// lock word's states.
#include "concur/threading/lock.hpp"

namespace concur::threading {

bool Lock::acquire_slow(const concur::detail::Deadline& d) {
    // Critical sections are usually short: a brief spin often sees the
    // holder release, which saves two syscalls. Stop at once if others are
    // already asleep (state 2): the lock is contended, join the queue.
    constexpr int kSpins = 100;
    if (!d.expired()) {
        for (int i = 0; i < kSpins; ++i) {
            uint32_t c = word_.load(std::memory_order_relaxed);
            if (c == kUnlocked) {
                if (word_.compare_exchange_weak(c, kLocked, std::memory_order_acquire,
                                                std::memory_order_relaxed))
                    return true;
            } else if (c == kContended) {
                break;
            }
            concur::detail::cpu_relax();
        }
    }
    // Taking it as "contended" is conservative: we may be the last waiter,
    // which costs at most one needless wake in release().
    while (word_.exchange(kContended, std::memory_order_acquire) != kUnlocked) {
        if (d.expired()) return false;
        concur::detail::futex_wait(word_, kContended, d.get());
    }
    return true;
}

void RLock::release() {
    if (!owned_by_me()) throw RuntimeError("cannot release un-acquired lock");
    if (--count_ == 0) {
        owner_.store(0, std::memory_order_relaxed);
        lock_.release();
    }
}

std::size_t RLock::release_save() {
    if (count_ == 0) throw RuntimeError("cannot release un-acquired lock");
    std::size_t saved = count_;
    count_ = 0;
    owner_.store(0, std::memory_order_relaxed);
    lock_.release();
    return saved;
}

void RLock::acquire_restore(std::size_t count) {
    lock_.acquire();
    owner_.store(get_ident(), std::memory_order_relaxed);
    count_ = count;
}

}  // namespace concur::threading
