// multiprocessing.Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition
// and Barrier: threading's primitives, shared between processes.
//
// Each is a handle, cheap to copy, like a reference to a Python object: the
// copies (in this process, in a forked child, or received as an argument of
// a function run in another process) all name one primitive, whose state
// lives in a small block of shared memory (detail/shared_block.hpp). Blocking
// sleeps on a futex word in that block; an uncontended acquire or release
// makes no system call.
//
//   void work(multiprocessing::Lock lock, multiprocessing::Value<int> n);
//   multiprocessing::Lock lock;
//   multiprocessing::Process p{work, lock, counter};   // crosses as a descriptor
//
// As in Python, a process that dies while holding a lock leaves it held: the
// others wait forever (or until their timeout).
//
// Thread safety: every member from any thread of any process sharing the
// handle, at the same time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <variant>

#include "concur/detail/deadline.hpp"
#include "concur/errors.hpp"
#include "concur/multiprocessing/detail/shared_block.hpp"

namespace concur::multiprocessing {

using concur::threading::BrokenBarrierError;

class Lock;
class RLock;
class Semaphore;
class BoundedSemaphore;
class Event;
class Condition;
class Barrier;
template <class T>
class Value;
template <class T>
class Array;

namespace detail {
template <class T>
class CTypeBase;

// The state of a Lock or an RLock, in shared memory.
struct LockState {
    std::atomic<std::uint32_t> tag;
    // The lock word (Drepper's "Futexes Are Tricky" mutex, as threading::Lock):
    //   0  free
    //   1  held, nobody sleeps on it: release makes no syscall
    //   2  held, and some thread (of any process) may sleep on it: release wakes one
    std::atomic<std::uint32_t> word;
    // thread_id() of the thread that last acquired it, 0 once released. For an
    // RLock it is the owner; for a Lock only a hint for Condition's "held by
    // me" check (any thread may release a Lock). Relaxed: a thread compares it
    // with its own id only, which only it stores.
    std::atomic<std::uint32_t> owner;
    // RLock recursion depth; read and written by the owner only.
    std::atomic<std::uint32_t> count;
};
struct PlainLockState : LockState {
    static constexpr std::uint32_t kTag = make_tag("LOCK");
};
struct RLockState : LockState {
    static constexpr std::uint32_t kTag = make_tag("RLCK");
};

inline bool lock_try(LockState& s) noexcept {
    std::uint32_t expected = 0;
    if (!s.word.compare_exchange_strong(expected, 1, std::memory_order_acquire, std::memory_order_relaxed))
        return false;
    s.owner.store(thread_id(), std::memory_order_relaxed);
    return true;
}
// Spins briefly, then sleeps on the word until acquired or `d` passes.
bool lock_slow(LockState& s, const concur::detail::Deadline& d);
// Frees the word and wakes a sleeper; false if it was not held.
inline bool lock_release(LockState& s) noexcept {
    s.owner.store(0, std::memory_order_relaxed);
    std::uint32_t prev = s.word.exchange(0, std::memory_order_release);
    if (prev == 2) shared_futex_wake(s.word, 1);
    return prev != 0;
}

}  // namespace detail

// Python's multiprocessing.Lock: a non-recursive lock that any thread of any
// process may release. Not fair, as Python's is not. Meets the std Lockable
// and TimedLockable requirements (std::lock_guard for Python's `with`).
class Lock {
public:
    // A new, unlocked lock. Throws OSError if the system has no memory or
    // descriptors left.
    Lock();

    // Blocks until acquired; returns true.
    bool acquire() { return detail::lock_try(*s_) || detail::lock_slow(*s_, concur::detail::Deadline()); }
    // acquire(false) takes it only if it is free now; never blocks.
    bool acquire(bool blocking) { return blocking ? acquire() : detail::lock_try(*s_); }
    // Blocks until acquired (true) or `timeout` passes (false). ValueError
    // for a negative timeout; a zero timeout never blocks.
    template <class Rep, class Period>
    bool acquire(std::chrono::duration<Rep, Period> timeout) {
        concur::detail::Deadline d(timeout);
        return detail::lock_try(*s_) || detail::lock_slow(*s_, d);
    }
    // Frees the lock and wakes one waiter; never blocks; any thread. Throws
    // ValueError("semaphore or lock released too many times") if it is free,
    // as Python's multiprocessing.Lock does (threading.Lock: RuntimeError).
    void release();
    // Whether some thread of some process holds it (a snapshot).
    bool locked() const noexcept { return s_->word.load(std::memory_order_relaxed) != 0; }

    void lock() { acquire(); }
    void unlock() { release(); }
    bool try_lock() noexcept { return detail::lock_try(*s_); }
    template <class Rep, class Period>
    bool try_lock_for(std::chrono::duration<Rep, Period> timeout) {
        return timeout <= timeout.zero() ? try_lock() : acquire(timeout);
    }
    template <class C, class D>
    bool try_lock_until(const std::chrono::time_point<C, D>& when) {
        return try_lock_for(when - C::now());
    }

private:
    friend class Condition;
    friend class Barrier;
    friend struct wire::codec<Lock>;
    explicit Lock(detail::SharedRef r) : ref_(std::move(r)), s_(ref_.get<detail::LockState>()) {}
    bool owned_by_me() const noexcept {
        return locked() && s_->owner.load(std::memory_order_relaxed) == detail::thread_id();
    }

    detail::SharedRef ref_;
    detail::LockState* s_;
};

// Python's multiprocessing.RLock: reentrant; owned by one thread of one
// process, which must release it as many times as it acquired it.
class RLock {
public:
    // A new, free lock. Throws OSError as Lock().
    RLock();

    // Returns at once (depth + 1) if the calling thread owns it; else blocks
    // until acquired. Returns true.
    bool acquire() { return acquire_impl(concur::detail::Deadline(), true); }
    // acquire(false) never blocks: true if the caller owns it now.
    bool acquire(bool blocking) { return acquire_impl(concur::detail::Deadline(), blocking); }
    // Blocks until owned (true) or `timeout` passes (false). ValueError for
    // a negative timeout, even when already owned.
    template <class Rep, class Period>
    bool acquire(std::chrono::duration<Rep, Period> timeout) {
        return acquire_impl(concur::detail::Deadline(timeout), true);
    }
    // Undoes one acquire(); the lock is free when the depth reaches zero.
    // Never blocks. Owner thread only: throws RuntimeError("cannot release
    // un-acquired lock") in any other thread or process, or if it is free.
    void release();
    // Whether some thread of some process holds it (a snapshot).
    bool locked() const noexcept { return s_->word.load(std::memory_order_relaxed) != 0; }

    void lock() { acquire(); }
    void unlock() { release(); }
    bool try_lock() { return acquire(false); }
    template <class Rep, class Period>
    bool try_lock_for(std::chrono::duration<Rep, Period> timeout) {
        return timeout <= timeout.zero() ? try_lock() : acquire(timeout);
    }
    template <class C, class D>
    bool try_lock_until(const std::chrono::time_point<C, D>& when) {
        return try_lock_for(when - C::now());
    }

private:
    friend class Condition;
    template <class T>
    friend class detail::CTypeBase;
    friend struct wire::codec<RLock>;
    explicit RLock(detail::SharedRef r) : ref_(std::move(r)), s_(ref_.get<detail::LockState>()) {}

    bool owned_by_me() const noexcept { return s_->owner.load(std::memory_order_relaxed) == detail::thread_id(); }
    bool acquire_impl(const concur::detail::Deadline& d, bool blocking) {
        if (owned_by_me()) {
            s_->count.store(s_->count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
            return true;
        }
        if (!detail::lock_try(*s_) && (!blocking || !detail::lock_slow(*s_, d))) return false;
        s_->count.store(1, std::memory_order_relaxed);
        return true;
    }
    // Condition::wait frees the lock whatever its depth, then takes it back
    // with the same depth (Python's _release_save / _acquire_restore).
    std::uint32_t release_save();
    void acquire_restore(std::uint32_t depth);

    detail::SharedRef ref_;
    detail::LockState* s_;
};

namespace detail {
struct SemaphoreState {
    static constexpr std::uint32_t kTag = make_tag("SEMA");
    std::atomic<std::uint32_t> tag;
    // The counter: acquires that may succeed without blocking. Sleepers park
    // on it while it reads 0.
    std::atomic<std::uint32_t> value;
    // Threads (of all processes) in, or about to enter, a futex wait on
    // value: release() skips the wake syscall while it reads 0.
    std::atomic<std::uint32_t> sleepers;
    std::atomic<std::uint32_t> bound;    // the most release() may raise value to
    std::atomic<std::uint32_t> bounded;  // 1: passing bound is Python's ValueError
};
inline bool semaphore_try(SemaphoreState& s) noexcept {
    std::uint32_t v = s.value.load(std::memory_order_relaxed);
    while (v != 0)
        if (s.value.compare_exchange_weak(v, v - 1, std::memory_order_acquire, std::memory_order_relaxed))
            return true;
    return false;
}
bool semaphore_slow(SemaphoreState& s, const concur::detail::Deadline& d);
}  // namespace detail

// Python's multiprocessing.Semaphore: a counter that acquire() decrements,
// blocking while it is zero, and release() increments. Wake-ups are not FIFO.
class Semaphore {
public:
    // Throws ValueError for a negative value or one above INT32_MAX (Python's
    // SEM_VALUE_MAX); OSError as Lock().
    explicit Semaphore(long long value = 1) : Semaphore(value, false) {}

    // Blocks until the counter is positive, then decrements it; returns true.
    bool acquire() { return detail::semaphore_try(*s_) || detail::semaphore_slow(*s_, concur::detail::Deadline()); }
    bool acquire(bool blocking) { return blocking ? acquire() : detail::semaphore_try(*s_); }
    // Blocks at most `timeout`: false if the counter stayed zero that long.
    // ValueError for a negative timeout.
    template <class Rep, class Period>
    bool acquire(std::chrono::duration<Rep, Period> timeout) {
        concur::detail::Deadline d(timeout);
        return detail::semaphore_try(*s_) || detail::semaphore_slow(*s_, d);
    }
    // Adds one and wakes a waiter. Never blocks; any thread or process.
    // Throws ValueError("semaphore or lock released too many times") for a
    // BoundedSemaphore at its initial value, or a Semaphore at INT32_MAX.
    void release();
    // The counter now (a snapshot). Never blocks.
    int get_value() const noexcept { return static_cast<int>(s_->value.load(std::memory_order_relaxed)); }

    void lock() { acquire(); }
    void unlock() { release(); }
    bool try_lock() noexcept { return detail::semaphore_try(*s_); }

protected:
    Semaphore(long long value, bool bounded);

private:
    friend struct wire::codec<Semaphore>;
    friend struct wire::codec<BoundedSemaphore>;
    explicit Semaphore(detail::SharedRef r) : ref_(std::move(r)), s_(ref_.get<detail::SemaphoreState>()) {}

    detail::SharedRef ref_;
    detail::SemaphoreState* s_;
};

// Python's multiprocessing.BoundedSemaphore: release() past the initial value
// is a ValueError, which catches a release without a matching acquire.
class BoundedSemaphore : public Semaphore {
public:
    explicit BoundedSemaphore(long long value = 1) : Semaphore(value, true) {}

private:
    friend struct wire::codec<BoundedSemaphore>;
    explicit BoundedSemaphore(Semaphore s) : Semaphore(std::move(s)) {}
};

namespace detail {
struct EventState {
    static constexpr std::uint32_t kTag = make_tag("EVNT");
    std::atomic<std::uint32_t> tag;
    // The state word, as threading::Event's:
    //   bit 0      the flag
    //   bit 1      some thread may sleep on the word: set() must wake
    //   bits 2..31 generation, bumped by each set() that finds the flag clear,
    //              so that a waiter woken after set(); clear() still returns true
    std::atomic<std::uint32_t> word;
};
}  // namespace detail

// Python's multiprocessing.Event: a flag that threads of any process can wait on.
class Event {
public:
    // A new, clear event. Throws OSError as Lock().
    Event();

    // Whether the flag is set now. Never blocks.
    bool is_set() const noexcept { return (s_->word.load(std::memory_order_acquire) & 1) != 0; }
    // Sets the flag and wakes every waiter in every process. Never blocks.
    void set() noexcept;
    // Clears the flag. Never blocks.
    void clear() noexcept { s_->word.fetch_and(~std::uint32_t(1), std::memory_order_relaxed); }
    // Blocks until the flag is set or `timeout` passes. True if it was set
    // (even if cleared again since); false only on timeout. ValueError for a
    // negative timeout.
    bool wait() { return wait_deadline(concur::detail::Deadline()); }
    template <class Rep, class Period>
    bool wait(std::chrono::duration<Rep, Period> timeout) {
        return wait_deadline(concur::detail::Deadline(timeout));
    }

private:
    friend struct wire::codec<Event>;
    explicit Event(detail::SharedRef r) : ref_(std::move(r)), s_(ref_.get<detail::EventState>()) {}
    bool wait_deadline(const concur::detail::Deadline& d);

    detail::SharedRef ref_;
    detail::EventState* s_;
};

namespace detail {
struct ConditionState {
    static constexpr std::uint32_t kTag = make_tag("COND");
    std::atomic<std::uint32_t> tag;
    // Bumped by every notify that finds waiters; the futex word waiters sleep
    // on. A waiter returns once it differs from the value it read when it
    // began waiting (it wraps: harmless unless 2^32 notifies pass between a
    // waiter's read and its sleep).
    std::atomic<std::uint32_t> seq;
    // Threads inside wait(): notify skips the syscall while it reads 0.
    std::atomic<std::uint32_t> waiters;
};
}  // namespace detail

// Python's multiprocessing.Condition, over a Lock or an RLock (a new RLock by
// default). notify(n) wakes n sleepers in the kernel's (FIFO) order; a waiter
// that had not yet gone to sleep also returns, so wait() may return true
// spuriously: re-check the condition, or use wait_for().
class Condition {
public:
    // Over a new RLock. Throws OSError as Lock().
    Condition();
    // Over the given lock (a handle: this Condition shares it). Several
    // Conditions may share one lock, as in Python.
    explicit Condition(Lock lock);
    explicit Condition(RLock lock);

    // The lock's acquire/release, so that std::unique_lock lk(cond) stands for
    // Python's `with cond:`. Blocking and errors as the lock's.
    bool acquire() { return std::visit([](auto& l) { return l.acquire(); }, lock_); }
    bool acquire(bool blocking) {
        return std::visit([&](auto& l) { return l.acquire(blocking); }, lock_);
    }
    template <class Rep, class Period>
    bool acquire(std::chrono::duration<Rep, Period> timeout) {
        return std::visit([&](auto& l) { return l.acquire(timeout); }, lock_);
    }
    void release() { std::visit([](auto& l) { l.release(); }, lock_); }
    void lock() { acquire(); }
    void unlock() { release(); }
    bool try_lock() { return acquire(false); }

    // Releases the lock (an RLock at any depth), blocks until notified (true),
    // `timeout` passes (false) or spuriously (true), then re-acquires it in
    // every case. Throws RuntimeError("cannot wait on un-acquired lock") unless
    // the calling thread holds the lock; ValueError for a negative timeout.
    bool wait() { return wait_until(concur::detail::Deadline()); }
    template <class Rep, class Period>
    bool wait(std::chrono::duration<Rep, Period> timeout) {
        return wait_until(concur::detail::Deadline(timeout));
    }

    // Python's wait_for(predicate[, timeout]): waits until pred() is truthy or
    // the timeout passes, calling it with the lock held; returns its last
    // value. Throws as wait(), and what pred throws.
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

    // Wakes up to n waiters (of any process); they return from wait() once
    // they re-acquire the lock. Never blocks. Throws RuntimeError("cannot
    // notify on un-acquired lock") unless the calling thread holds the lock.
    void notify(std::size_t n = 1);
    void notify_all() { notify(SIZE_MAX); }

private:
    friend class Barrier;
    friend struct wire::codec<Condition>;
    Condition(detail::SharedRef r, std::variant<Lock, RLock> lock)
        : lock_(std::move(lock)), ref_(std::move(r)), s_(ref_.get<detail::ConditionState>()) {}
    explicit Condition(const detail::SharedBlock& fresh);
    bool is_owned() const noexcept {
        return std::visit([](const auto& l) { return l.owned_by_me(); }, lock_);
    }
    bool wait_until(const concur::detail::Deadline& d);

    std::variant<Lock, RLock> lock_;
    detail::SharedRef ref_;
    detail::ConditionState* s_;
};

namespace detail {
struct BarrierState {
    static constexpr std::uint32_t kTag = make_tag("BARR");
    std::atomic<std::uint32_t> tag;
    // CPython's Barrier state machine (see threading/barrier.hpp):
    //   0 filling  1 draining  2 resetting  3 broken
    // Guarded by the barrier's lock, as are count and the rest.
    std::atomic<std::uint32_t> state;
    std::atomic<std::int32_t> count;    // threads inside wait()
    std::atomic<std::int32_t> parties;
    std::atomic<std::int64_t> timeout_ns;  // default wait() timeout; -1: none
};
}  // namespace detail

// Python's multiprocessing.Barrier: `parties` threads (of any processes) wait
// until all have arrived, then all go on; reusable. CPython's state machine,
// as threading::Barrier.
class Barrier {
public:
    // `action` (optional) runs in the last arriving thread, whatever its
    // process, before the others are released: a plain function or a
    // captureless lambda, so that every process can find it. `timeout`
    // (optional) is the default for wait(). ValueError if parties < 1 or
    // timeout < 0; OSError as Lock().
    explicit Barrier(int parties, void (*action)() = nullptr,
                     std::optional<std::chrono::nanoseconds> timeout = std::nullopt);

    // Blocks until `parties` threads have called wait(); returns the caller's
    // arrival index, 0 .. parties-1. Throws BrokenBarrierError if the barrier
    // is or becomes broken or reset while waiting, or when the timeout (this
    // one, else the constructor's) passes, which breaks it for all. An
    // exception from `action` breaks it and propagates in the thread that ran
    // it. ValueError for a negative timeout.
    int wait() { return wait_impl(default_timeout()); }
    template <class Rep, class Period>
    int wait(std::chrono::duration<Rep, Period> timeout) {
        if (timeout < timeout.zero()) throw ValueError("timeout must be a non-negative duration");
        if (std::chrono::duration<double>(timeout) >= std::chrono::hours(24 * 365 * 100))
            return wait_impl(std::nullopt);
        return wait_impl(std::chrono::ceil<std::chrono::nanoseconds>(timeout));
    }

    // Back to the empty, unbroken state; threads waiting now get
    // BrokenBarrierError. Blocks only on the internal lock.
    void reset();
    // Breaks the barrier: every current and future wait() throws
    // BrokenBarrierError until reset(). Blocks only on the internal lock.
    void abort();

    int parties() const noexcept { return s_->parties.load(std::memory_order_relaxed); }
    // Threads waiting in the current round. Blocks only on the internal lock.
    int n_waiting();
    // Blocks only on the internal lock.
    bool broken();

private:
    friend struct wire::codec<Barrier>;
    Barrier(detail::SharedRef r, void (*action)());
    std::optional<std::chrono::nanoseconds> default_timeout() const noexcept;
    int wait_impl(std::optional<std::chrono::nanoseconds> timeout);
    void enter();
    void release_all();
    void wait_release(std::optional<std::chrono::nanoseconds> timeout);
    void exit();
    void break_barrier();

    detail::SharedRef ref_;
    detail::BarrierState* s_;
    Condition cond_;  // over a Lock in the same block
    void (*action_)();
};

}  // namespace concur::multiprocessing

// Each primitive crosses a process as its memfd (a descriptor beside the
// message) and the offset of its state in it; see detail/shared_block.hpp.
namespace concur::wire {

template <>
struct codec<multiprocessing::Lock> {
    static void pack(Packer& p, const multiprocessing::Lock& v);
    static multiprocessing::Lock unpack(const msgpack::object& o);
};
template <>
struct codec<multiprocessing::RLock> {
    static void pack(Packer& p, const multiprocessing::RLock& v);
    static multiprocessing::RLock unpack(const msgpack::object& o);
};
template <>
struct codec<multiprocessing::Semaphore> {
    static void pack(Packer& p, const multiprocessing::Semaphore& v);
    static multiprocessing::Semaphore unpack(const msgpack::object& o);
};
template <>
struct codec<multiprocessing::BoundedSemaphore> {
    static void pack(Packer& p, const multiprocessing::BoundedSemaphore& v);
    static multiprocessing::BoundedSemaphore unpack(const msgpack::object& o);
};
template <>
struct codec<multiprocessing::Event> {
    static void pack(Packer& p, const multiprocessing::Event& v);
    static multiprocessing::Event unpack(const msgpack::object& o);
};
template <>
struct codec<multiprocessing::Condition> {
    static void pack(Packer& p, const multiprocessing::Condition& v);
    static multiprocessing::Condition unpack(const msgpack::object& o);
};
template <>
struct codec<multiprocessing::Barrier> {
    static void pack(Packer& p, const multiprocessing::Barrier& v);
    static multiprocessing::Barrier unpack(const msgpack::object& o);
};

}  // namespace concur::wire
