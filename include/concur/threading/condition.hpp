// threading.Condition: a condition variable bound to a Lock or an RLock.
//
//   waiter thread                                notifying thread
//   -------------                                ----------------
//   holds the lock                               holds the lock
//   wait(): enqueue a Waiter record (FIFO)
//           release the lock fully (RLock: any recursion depth)
//           sleep on Waiter::state       <-----  notify(n): dequeue the n oldest
//                                                records, set state = 1, wake each
//           re-acquire the lock (same depth)
//
// As CPython's Condition (a deque of per-waiter locks), notify() wakes the
// longest-waiting threads first. Unlike CPython, a waiter whose timeout
// expires just as it is notified returns true: a notification is never lost.
//
// Thread safety: any thread may call any member; wait() and notify() require
// the caller to hold the lock (for a Lock, Python can only check that *some*
// thread holds it, and so does this class).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "concur/detail/deadline.hpp"
#include "concur/threading/lock.hpp"

namespace concur::threading {

class Condition {
public:
    // Over a fresh RLock of its own, as Python's Condition().
    Condition() : rlock_(&own_) {}
    // Over the caller's lock, which must outlive the Condition. Several
    // Conditions may share one lock, as in Python.
    explicit Condition(Lock& lock) : lock_(&lock) {}
    explicit Condition(RLock& lock) : rlock_(&lock) {}
    Condition(const Condition&) = delete;
    Condition& operator=(const Condition&) = delete;

    // The underlying lock's acquire/release, so that `std::unique_lock lk(cond)`
    // stands for Python's `with cond:`. Same blocking and errors as the lock's.
    bool acquire() { return lock_ ? lock_->acquire() : rlock_->acquire(); }
    bool acquire(bool blocking) { return lock_ ? lock_->acquire(blocking) : rlock_->acquire(blocking); }
    template <class Rep, class Period>
    bool acquire(std::chrono::duration<Rep, Period> timeout) {
        return lock_ ? lock_->acquire(timeout) : rlock_->acquire(timeout);
    }
    void release() { lock_ ? lock_->release() : rlock_->release(); }
    void lock() { acquire(); }
    void unlock() { release(); }
    bool try_lock() { return acquire(false); }

    // Releases the lock, blocks until notified (true) or until `timeout`
    // passes (false), then re-acquires the lock before returning, in every
    // case. May also return true spuriously, as Python allows: re-check your
    // condition, or use wait_for(). Throws RuntimeError("cannot wait on
    // un-acquired lock") if the lock is not held; ValueError for a negative
    // timeout.
    bool wait() { return wait_until(concur::detail::Deadline()); }
    template <class Rep, class Period>
    bool wait(std::chrono::duration<Rep, Period> timeout) {
        return wait_until(concur::detail::Deadline(timeout));
    }

    // Python's wait_for(predicate[, timeout]) (not std's wait_for(lock, time)):
    // waits until `pred()` is truthy or the timeout passes, calling it with the
    // lock held; returns its last value. Throws as wait(), and what pred throws.
    template <class Pred>
    auto wait_for(Pred pred) {
        auto result = pred();
        while (!result) {
            wait_until(concur::detail::Deadline());
            result = pred();
        }
        return result;
    }
    template <class Pred, class Rep, class Period>
    auto wait_for(Pred pred, std::chrono::duration<Rep, Period> timeout) {
        concur::detail::Deadline d(timeout);
        auto result = pred();
        while (!result && !d.expired()) {
            wait_until(d);
            result = pred();
        }
        return result;
    }

    // Wakes the `n` longest-waiting threads (fewer if fewer wait). They
    // return from wait() once they re-acquire the lock. Never blocks on
    // waiters. Throws RuntimeError("cannot notify on un-acquired lock").
    void notify(std::size_t n = 1);
    void notify_all() { notify(SIZE_MAX); }

private:
    // One thread inside wait(); lives on that thread's stack.
    struct Waiter {
        // 0: waiting.  1: notified; the notifier no longer touches the record,
        // so the waiter may return (and free it). Written once, by a notifier.
        std::atomic<uint32_t> state{0};
        Waiter* prev = nullptr;  // queue links and `queued`: guarded by guard_
        Waiter* next = nullptr;
        bool queued = false;
    };

    bool wait_until(const concur::detail::Deadline& d);
    bool is_owned() const noexcept { return lock_ ? lock_->locked() : rlock_->owned_by_me(); }
    std::size_t release_save();
    void acquire_restore(std::size_t saved);
    void unlink(Waiter* w) noexcept;

    Lock* lock_ = nullptr;  // exactly one of lock_ / rlock_ is set
    RLock* rlock_ = nullptr;
    RLock own_;            // used when constructed without a lock
    // Guards the waiter queue. Not the user's lock: a Lock may be released by
    // any thread, so holding it proves nothing to this class.
    Lock guard_;
    Waiter* head_ = nullptr;  // oldest waiter
    Waiter* tail_ = nullptr;
};

}  // namespace concur::threading
