// threading.Lock and threading.RLock.
//
// Both meet the standard Lockable / TimedLockable requirements (lock,
// unlock, try_lock, try_lock_for, try_lock_until), so std::lock_guard,
// std::unique_lock and std::scoped_lock take them in place of Python's `with`.
//
// Thread safety: every member may be called from any thread at the same time.
// Neither class is movable: waiters park on the object's address.
#pragma once

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "concur/detail/deadline.hpp"
#include "concur/detail/futex.hpp"
#include "concur/errors.hpp"

namespace concur::threading {

// Python's threading.get_ident(): a nonzero number naming the calling thread
// among the live threads of the process (its pthread_t). Reused after the
// thread exits, as in Python.
inline unsigned long get_ident() noexcept { return static_cast<unsigned long>(pthread_self()); }

class Condition;
class RLock;

// Python's threading.Lock: a plain non-recursive lock that any thread may
// release, not only the one that acquired it (so it also works as a binary
// signal between threads). Not fair: a thread arriving while the lock is
// free may take it before a sleeping waiter, as in CPython.
class Lock {
public:
    Lock() = default;
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

    // Blocks until the lock is acquired; returns true. Any thread.
    bool acquire() {
        if (try_lock()) return true;
        return acquire_slow(concur::detail::Deadline());
    }

    // acquire(false) takes the lock only if it is free right now, never blocks.
    bool acquire(bool blocking) { return blocking ? acquire() : try_lock(); }

    // Blocks until the lock is acquired (true) or `timeout` passes (false).
    // Throws ValueError for a negative timeout; a zero timeout never blocks.
    template <class Rep, class Period>
    bool acquire(std::chrono::duration<Rep, Period> timeout) {
        concur::detail::Deadline d(timeout);
        if (try_lock()) return true;
        return acquire_slow(d);
    }

    // Releases the lock and wakes one waiter. Any thread, not only the
    // acquirer. Throws RuntimeError("release unlocked lock") if it is free.
    void release() {
        uint32_t prev = word_.exchange(kUnlocked, std::memory_order_release);
        if (prev == kUnlocked) throw RuntimeError("release unlocked lock");
        if (prev == kContended) concur::detail::futex_wake(word_, 1);
    }

    // Whether some thread holds the lock (a snapshot). Never blocks.
    bool locked() const noexcept { return word_.load(std::memory_order_relaxed) != kUnlocked; }

    // Standard Lockable spelling of the above.
    void lock() { acquire(); }
    void unlock() { release(); }
    bool try_lock() noexcept {
        uint32_t expected = kUnlocked;
        return word_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                             std::memory_order_relaxed);
    }
    // Unlike acquire(timeout), a negative duration means "do not wait", as std asks.
    template <class Rep, class Period>
    bool try_lock_for(std::chrono::duration<Rep, Period> timeout) {
        if (timeout <= timeout.zero()) return try_lock();
        return acquire(timeout);
    }
    template <class C, class D>
    bool try_lock_until(const std::chrono::time_point<C, D>& when) {
        return try_lock_for(when - C::now());
    }

private:
    friend class RLock;
    friend class Condition;

    // Spins briefly, then sleeps on the futex until acquired or `d` passes.
    bool acquire_slow(const concur::detail::Deadline& d);

    static constexpr uint32_t kUnlocked = 0;
    static constexpr uint32_t kLocked = 1;
    static constexpr uint32_t kContended = 2;
    // The lock word (Drepper's "Futexes Are Tricky" mutex, exchange variant):
    //   0 kUnlocked   free
    //   1 kLocked     held, nobody sleeps on it: release() makes no syscall
    //   2 kContended  held, and some thread may sleep on it: release() wakes one
    // A sleeper that wakes swaps in 2 again, since it cannot know if others sleep.
    std::atomic<uint32_t> word_{kUnlocked};
};

// Python's threading.RLock: a reentrant lock. The owning thread may acquire
// it again; it is free once released as many times as acquired, and only
// the owner may release it.
class RLock {
public:
    RLock() = default;
    RLock(const RLock&) = delete;
    RLock& operator=(const RLock&) = delete;

    // Returns at once (count + 1) if the caller owns the lock; otherwise
    // blocks until acquired. Returns true.
    bool acquire() {
        if (owned_by_me()) return ++count_, true;
        lock_.acquire();
        return own();
    }

    // acquire(false) never blocks: true if the caller owns it now.
    bool acquire(bool blocking) {
        if (owned_by_me()) return ++count_, true;
        if (!lock_.acquire(blocking)) return false;
        return own();
    }

    // Blocks until owned (true) or `timeout` passes (false). Throws
    // ValueError for a negative timeout, even when already owned.
    template <class Rep, class Period>
    bool acquire(std::chrono::duration<Rep, Period> timeout) {
        concur::detail::Deadline d(timeout);
        if (owned_by_me()) return ++count_, true;
        if (!lock_.try_lock() && !lock_.acquire_slow(d)) return false;
        return own();
    }

    // Undoes one acquire(); the lock is free when the count reaches zero.
    // Owner thread only: throws RuntimeError("cannot release un-acquired lock")
    // on any other thread, or if nobody holds it.
    void release();

    // Whether some thread holds the lock (a snapshot; Python 3.14's locked()).
    bool locked() const noexcept { return lock_.locked(); }

    void lock() { acquire(); }
    void unlock() { release(); }
    bool try_lock() { return acquire(false); }
    template <class Rep, class Period>
    bool try_lock_for(std::chrono::duration<Rep, Period> timeout) {
        if (timeout <= timeout.zero()) return try_lock();
        return acquire(timeout);
    }
    template <class C, class D>
    bool try_lock_until(const std::chrono::time_point<C, D>& when) {
        return try_lock_for(when - C::now());
    }

private:
    friend class Condition;

    // Python's RLock._is_owned().
    bool owned_by_me() const noexcept {
        return owner_.load(std::memory_order_relaxed) == get_ident();
    }
    bool own() noexcept {
        owner_.store(get_ident(), std::memory_order_relaxed);
        count_ = 1;
        return true;
    }
    // Python's _release_save / _acquire_restore: a Condition's wait() frees
    // the lock whatever its count, then takes it back with the same count.
    std::size_t release_save();
    void acquire_restore(std::size_t count);

    Lock lock_;
    // The owner: 0 when free (or between owners), else the owner's
    // get_ident(). Relaxed is enough: a thread only ever compares it with its
    // own ident, which only that thread itself stores.
    std::atomic<unsigned long> owner_{0};
    std::size_t count_ = 0;  // recursion depth; read and written by the owner only
};

}  // namespace concur::threading
