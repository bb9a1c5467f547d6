// Condition's waiter queue. See condition.hpp for the protocol.
#include "concur/threading/condition.hpp"

namespace concur::threading {

bool Condition::wait_until(const concur::detail::Deadline& d) {
    if (!is_owned()) throw RuntimeError("cannot wait on un-acquired lock");
    Waiter w;
    guard_.lock();
    w.prev = tail_;
    (tail_ ? tail_->next : head_) = &w;
    tail_ = &w;
    w.queued = true;
    guard_.unlock();

    std::size_t saved;
    try {
        saved = release_save();
    } catch (...) {  // the lock was released under us (a Lock misused): leave
        guard_.lock();
        if (w.queued) unlink(&w);
        guard_.unlock();
        throw;
    }
    bool notified = true;
    while (w.state.load(std::memory_order_acquire) == 0) {
        if (concur::detail::futex_wait(w.state, 0, d.get())) continue;  // woken, or spurious
        // Timed out. Unless a notifier has already dequeued us, leave the
        // queue; if one has, it is about to publish state = 1 and wake us, and
        // still reads the record, so wait for that (it does not block).
        guard_.lock();
        if (w.queued) {
            unlink(&w);
            notified = false;
        }
        guard_.unlock();
        if (!notified) break;
        while (w.state.load(std::memory_order_acquire) == 0)
            concur::detail::futex_wait(w.state, 0);
    }
    acquire_restore(saved);
    return notified;
}

void Condition::notify(std::size_t n) {
    if (!is_owned()) throw RuntimeError("cannot notify on un-acquired lock");
    if (n == 0) return;
    // Dequeue under the guard; publish and wake outside it, so that the
    // woken threads do not collide with us on the guard.
    guard_.lock();
    Waiter* first = head_;
    Waiter* last = nullptr;
    for (Waiter* w = head_; w != nullptr && n > 0; w = w->next, --n) {
        w->queued = false;
        last = w;
    }
    if (last != nullptr) {
        head_ = last->next;
        (head_ ? head_->prev : tail_) = nullptr;
        last->next = nullptr;
    }
    guard_.unlock();
    if (last == nullptr) return;

    for (Waiter* w = first; w != nullptr;) {
        Waiter* next = w->next;  // read before state = 1: then w may vanish
        std::atomic<uint32_t>& word = w->state;
        word.store(1, std::memory_order_release);
        // The waiter may have returned already; waking a futex address that
        // is no longer in use is harmless (at worst a spurious wake-up, which
        // every futex waiter tolerates).
        concur::detail::futex_wake(word, 1);
        w = next;
    }
}

void Condition::unlink(Waiter* w) noexcept {
    (w->prev ? w->prev->next : head_) = w->next;
    (w->next ? w->next->prev : tail_) = w->prev;
    w->prev = w->next = nullptr;
    w->queued = false;
}

std::size_t Condition::release_save() {
    if (lock_) {
        lock_->release();
        return 1;
    }
    return rlock_->release_save();
}

void Condition::acquire_restore(std::size_t saved) {
    if (lock_)
        lock_->acquire();
    else
        rlock_->acquire_restore(saved);
}

}  // namespace concur::threading
