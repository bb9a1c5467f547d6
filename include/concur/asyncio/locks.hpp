// Python's asyncio synchronization primitives (Lib/asyncio/locks.py, 3.13):
// Lock, Event, Condition, Semaphore, BoundedSemaphore and Barrier.
//
// Python -> C++:
//   lock = asyncio.Lock()                asyncio::Lock lock;
//   await lock.acquire()                 co_await lock.acquire();
//   lock.release()                       lock.release();
//   async with lock: ...                 { auto held = co_await lock.acquire_guard(); ... }
//   async with sem: ...                  { auto held = co_await sem.acquire_guard(); ... }
//   await ev.wait(); ev.set()            co_await ev.wait(); ev.set();
//   async with cond:                     { auto held = co_await cond.acquire_guard();
//       await cond.wait_for(pred)            co_await cond.wait_for([&] { return ready; }); }
//   i = await barrier.wait()             int i = co_await barrier.wait();
//   except asyncio.BrokenBarrierError    catch (const asyncio::BrokenBarrierError&)
//
// As in Python, a primitive belongs to the event loop of the first task that
// waits on it (waiting from another loop throws RuntimeError) and is used on
// that loop's thread only: no atomics, no locks. Between threads, use
// concur::threading. A primitive must outlive the tasks waiting on it.
//
// Waiting allocates nothing: each waiter is the awaiter object itself, living
// in the waiting coroutine's frame and linked into the primitive's FIFO list
// (Python's deque of futures). The uncontended paths (acquiring a free Lock,
// waiting on a set Event) neither allocate nor suspend.
//
// Fairness is Python's: waiters are woken in arrival order; a newcomer does
// not take a Lock or Semaphore ahead of queued waiters, not even in the
// moment between a release and the woken waiter's resumption; a waiter
// cancelled after being woken passes the wake-up on to the next one.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "concur/asyncio/detail/task_base.hpp"
#include "concur/asyncio/task.hpp"
#include "concur/errors.hpp"

namespace concur::asyncio {

// Python's asyncio.BrokenBarrierError: Barrier.wait() on a barrier that was
// aborted, or reset while the task waited. A threading::BrokenBarrierError
// (and so a RuntimeError), as Python's derives from RuntimeError.
class BrokenBarrierError : public threading::BrokenBarrierError {
public:
    BrokenBarrierError() : threading::BrokenBarrierError("the barrier is broken") {}
    explicit BrokenBarrierError(const std::string& what) : threading::BrokenBarrierError(what) {}
};

// Holds an acquired Lock, Semaphore or Condition and releases it when it goes
// out of scope, on an exception too: Python's `async with lock:`.
//
//   {
//       auto held = co_await lock.acquire_guard();
//       ...                                   // the lock is held here
//   }                                         // released here
//
// Movable, so a guard can be returned or handed to another coroutine. Do not
// release the primitive by hand while a guard holds it; use held.release().
template <class M>
class [[nodiscard]] LockGuard {
public:
    LockGuard() = default;
    // Adopts an acquisition the caller already made.
    explicit LockGuard(M& held) noexcept : m_(&held) {}
    LockGuard(LockGuard&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
    LockGuard& operator=(LockGuard&& o) noexcept {
        if (this != &o) {
            drop();
            m_ = std::exchange(o.m_, nullptr);
        }
        return *this;
    }
    ~LockGuard() { drop(); }

    bool owns() const noexcept { return m_ != nullptr; }
    explicit operator bool() const noexcept { return owns(); }
    // Releases now instead of at scope end (no-op if it holds nothing).
    // Throws what M::release() throws.
    void release() {
        if (M* m = std::exchange(m_, nullptr)) m->release();
    }

private:
    // A destructor cannot throw. release() fails only after a manual release,
    // or when a frame suspended mid-wait is destroyed by loop.close(): in both
    // cases there is nothing left to undo.
    void drop() noexcept {
        if (M* m = std::exchange(m_, nullptr)) {
            try {
                m->release();
            } catch (...) {
            }
        }
    }
    M* m_ = nullptr;
};

namespace detail {

class WaitList;

// The task running now, for an awaiter about to suspend it.
inline TaskBase* waiting_task(const char* what) {
    TaskBase* t = TaskBase::current();
    if (!t) throw RuntimeError(std::string(what) + ": await it in a task on a running event loop");
    return t;
}

// Python's _LoopBoundMixin: the first loop that waits on a primitive owns it.
class LoopBinding {
public:
    void check(EventLoop* loop, const char* who) {
        if (!loop_) loop_ = loop;
        else if (loop_ != loop) throw RuntimeError(std::string(who) + " is bound to a different event loop");
    }

private:
    EventLoop* loop_ = nullptr;
};

// A task waiting on a primitive: Python's waiter future, embedded in the
// awaiter (so in the waiting coroutine's frame) instead of allocated.
struct WaitNode : Suspension {
    // Python's future states in brackets:
    //   idle       never suspended: the fast path took it
    //   waiting    linked, its task suspended                  [pending]
    //   woken      the primitive let it go                     [result set]
    //   cancelled  Task.cancel() ended the wait                [cancelled]
    // Only a waiting node can be cancelled. A cancel() that comes after the
    // wake-up only makes the task see CancelledError when it resumes (Python's
    // _must_cancel), and the awaiter then passes the wake-up on.
    enum class State : uint8_t { idle, waiting, woken, cancelled };

    WaitNode* prev = nullptr;
    WaitNode* next = nullptr;
    WaitList* list = nullptr;  // the list it is linked in, or null
    TaskBase* task = nullptr;  // set when it suspends
    State state = State::idle;

    WaitNode() noexcept { Suspension::cancel = &cancel_waiting; }
    WaitNode(const WaitNode&) = delete;
    WaitNode& operator=(const WaitNode&) = delete;
    // Unlinks: a frame destroyed mid-wait (loop.close()) leaves nothing behind.
    ~WaitNode();

    bool done() const noexcept { return state == State::woken || state == State::cancelled; }

    // Python's fut.set_result(): the task resumes on a later loop step.
    void wake() {
        state = State::woken;
        task->wakeup();
    }

    // Links the node at the tail of `l` and suspends `t` on it.
    void wait_on(WaitList& l, TaskBase* t, std::coroutine_handle<> h);

    // For await_resume after a suspension: unlinks (Python's `finally:
    // waiters.remove(fut)`) and throws CancelledError if the wait was
    // cancelled or a cancel() arrived after the wake-up.
    void end_wait();

    static bool cancel_waiting(Suspension* s, const std::string* msg) noexcept;
};

// An intrusive FIFO of WaitNodes; nodes stay linked until their task resumes
// (woken or cancelled), as Python's futures stay in the deque.
class WaitList {
public:
    WaitList() = default;
    WaitList(const WaitList&) = delete;
    WaitList& operator=(const WaitList&) = delete;

    bool empty() const noexcept { return head_ == nullptr; }
    std::size_t size() const noexcept { return size_; }
    // Linked nodes whose wait was cancelled (their tasks have not resumed yet).
    std::size_t cancelled() const noexcept { return cancelled_; }
    WaitNode* front() const noexcept { return head_; }

    void push_back(WaitNode* n) noexcept {
        n->prev = tail_;
        n->next = nullptr;
        if (tail_) tail_->next = n; else head_ = n;
        tail_ = n;
        n->list = this;
        ++size_;
        if (n->state == WaitNode::State::cancelled) ++cancelled_;
    }
    void remove(WaitNode* n) noexcept {
        if (n->list != this) return;
        if (n->prev) n->prev->next = n->next; else head_ = n->next;
        if (n->next) n->next->prev = n->prev; else tail_ = n->prev;
        n->prev = n->next = nullptr;
        n->list = nullptr;
        --size_;
        if (n->state == WaitNode::State::cancelled) --cancelled_;
    }

private:
    friend struct WaitNode;
    WaitNode* head_ = nullptr;
    WaitNode* tail_ = nullptr;
    std::size_t size_ = 0;
    std::size_t cancelled_ = 0;
};

inline WaitNode::~WaitNode() {
    if (list) list->remove(this);
}

inline void WaitNode::wait_on(WaitList& l, TaskBase* t, std::coroutine_handle<> h) {
    task = t;
    state = State::waiting;
    l.push_back(this);
    // After linking: a cancel() already pending reaches the node at once.
    t->suspend(h, this);
}

inline void WaitNode::end_wait() {
    if (list) list->remove(this);
    task->check_cancel();
    if (state == State::cancelled) std::rethrow_exception(task->make_cancelled_error());
}

inline bool WaitNode::cancel_waiting(Suspension* s, const std::string*) noexcept {
    auto* n = static_cast<WaitNode*>(s);
    if (n->state != State::waiting) return false;
    n->state = State::cancelled;
    if (n->list) ++n->list->cancelled_;
    n->task->wakeup();
    return true;
}

class LockAcquire;
class EventWait;
class ConditionWait;
class SemaphoreAcquire;

// An acquire awaiter that gives a LockGuard<M> instead of true.
template <class M, class Acquire>
class GuardAcquire : public Acquire {
public:
    template <class Target>
    GuardAcquire(M& owner, Target& target) noexcept : Acquire(target), owner_(&owner) {}
    LockGuard<M> await_resume() {
        Acquire::await_resume();
        return LockGuard<M>(*owner_);
    }

private:
    M* owner_;
};

}  // namespace detail

// ---- Lock -------------------------------------------------------------------

// Python's asyncio.Lock: a mutual-exclusion lock not owned by any task (any
// task may release it). Waiters get it in FIFO order. Loop thread only.
class Lock {
public:
    Lock() = default;
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

    bool locked() const noexcept { return locked_; }

    // co_await lock.acquire(): takes the lock and gives true. Suspends while
    // the lock is held or other tasks queue for it. Throws CancelledError if
    // the task is cancelled meanwhile (the lock is then not taken) and
    // RuntimeError if it must wait outside a task or on another loop than
    // the lock's.
    [[nodiscard]] detail::LockAcquire acquire() noexcept;
    // The same, giving a LockGuard that releases the lock at scope end.
    [[nodiscard]] detail::GuardAcquire<Lock, detail::LockAcquire> acquire_guard() noexcept;

    // Unlocks and lets the first queued waiter (if any) take the lock when it
    // runs next. Never suspends. Throws RuntimeError if the lock is not held.
    void release() {
        if (!locked_) throw RuntimeError("asyncio::Lock::release(): the lock is not acquired");
        locked_ = false;
        wake_up_first();
    }

private:
    friend class detail::LockAcquire;
    // Python's _wake_up_first: only the head may go; if it is already woken
    // or cancelled, its own resumption takes care of the rest.
    void wake_up_first() {
        detail::WaitNode* n = waiters_.front();
        if (n && n->state == detail::WaitNode::State::waiting) n->wake();
    }

    detail::WaitList waiters_;
    detail::LoopBinding loop_;
    bool locked_ = false;
};

namespace detail {
class LockAcquire : public WaitNode {
public:
    explicit LockAcquire(Lock& lock) noexcept : lock_(&lock) {}

    // Free and nobody queued (cancelled waiters do not count): take it.
    bool await_ready() noexcept {
        if (lock_->locked_ || lock_->waiters_.size() != lock_->waiters_.cancelled()) return false;
        lock_->locked_ = true;
        return true;
    }
    void await_suspend(std::coroutine_handle<> h) {
        TaskBase* t = waiting_task("asyncio::Lock::acquire()");
        lock_->loop_.check(t->loop(), "asyncio::Lock");
        wait_on(lock_->waiters_, t, h);
    }
    bool await_resume() {
        if (state == State::idle) return true;
        try {
            end_wait();
        } catch (...) {
            // Woken but cancelled before it ran: the next waiter gets the turn.
            if (!lock_->locked_) lock_->wake_up_first();
            throw;
        }
        lock_->locked_ = true;
        return true;
    }

private:
    Lock* lock_;
};
}  // namespace detail

inline detail::LockAcquire Lock::acquire() noexcept { return detail::LockAcquire(*this); }
inline detail::GuardAcquire<Lock, detail::LockAcquire> Lock::acquire_guard() noexcept {
    return detail::GuardAcquire<Lock, detail::LockAcquire>(*this, *this);
}

// ---- Event ------------------------------------------------------------------

// Python's asyncio.Event: a flag that tasks wait for. Loop thread only.
class Event {
public:
    Event() = default;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    bool is_set() const noexcept { return value_; }
    // Sets the flag and wakes every waiting task (they run on later loop
    // steps, even if clear() comes first). Never suspends or throws.
    void set() {
        if (value_) return;
        value_ = true;
        for (detail::WaitNode* n = waiters_.front(); n; n = n->next) {
            if (!n->done()) n->wake();
        }
    }
    void clear() noexcept { value_ = false; }

    // co_await ev.wait(): gives true once the flag is set; does not suspend
    // if it is set already. Throws CancelledError if the task is cancelled
    // while waiting, RuntimeError if it must wait outside a task or on
    // another loop than the event's.
    [[nodiscard]] detail::EventWait wait() noexcept;

private:
    friend class detail::EventWait;
    detail::WaitList waiters_;
    detail::LoopBinding loop_;
    bool value_ = false;
};

namespace detail {
class EventWait : public WaitNode {
public:
    explicit EventWait(Event& ev) noexcept : ev_(&ev) {}
    bool await_ready() const noexcept { return ev_->value_; }
    void await_suspend(std::coroutine_handle<> h) {
        TaskBase* t = waiting_task("asyncio::Event::wait()");
        ev_->loop_.check(t->loop(), "asyncio::Event");
        wait_on(ev_->waiters_, t, h);
    }
    bool await_resume() {
        if (state != State::idle) end_wait();
        return true;
    }

private:
    Event* ev_;
};
}  // namespace detail

inline detail::EventWait Event::wait() noexcept { return detail::EventWait(*this); }

// ---- Condition --------------------------------------------------------------

// Python's asyncio.Condition: tasks wait, holding its lock, until another task
// notifies them. The lock is its own, or a Lock shared with other conditions
// (which must outlive it). Loop thread only.
class Condition {
public:
    Condition() noexcept : lock_(&own_) {}
    explicit Condition(Lock& lock) noexcept : lock_(&lock) {}
    Condition(const Condition&) = delete;
    Condition& operator=(const Condition&) = delete;

    // The lock's locked(), acquire(), acquire_guard() and release(), as
    // Python's Condition exports them; see Lock.
    bool locked() const noexcept { return lock_->locked(); }
    [[nodiscard]] detail::LockAcquire acquire() noexcept { return lock_->acquire(); }
    [[nodiscard]] detail::GuardAcquire<Condition, detail::LockAcquire> acquire_guard() noexcept {
        return detail::GuardAcquire<Condition, detail::LockAcquire>(*this, *lock_);
    }
    void release() { lock_->release(); }

    // co_await cond.wait(): releases the lock, suspends until notify() or
    // notify_all() wakes this task, re-acquires the lock (suspending again
    // while it is held), and gives true. The lock is held again whenever
    // wait() ends, by a throw too: if the task is cancelled it still waits
    // for the lock, then throws CancelledError (and wakes another waiter in
    // its place, as a wake-up it may have taken must not be lost). Throws
    // RuntimeError if the lock is not held, or if called outside a task or on
    // another loop than the condition's.
    Task<bool> wait();

    // co_await cond.wait_for(pred): waits until pred() is true and gives its
    // last value; pred runs with the lock held. Checks pred() first, so it
    // does not suspend (nor need the lock) if that is already true. Throws as
    // wait(), or what pred throws.
    template <class Predicate>
    auto wait_for(Predicate pred) -> Task<std::decay_t<std::invoke_result_t<Predicate&>>>;

    // Wakes up to `n` waiting tasks (FIFO); each returns from wait() once it
    // has the lock again. Never suspends. Throws RuntimeError if the lock is
    // not held.
    void notify(std::size_t n = 1) {
        if (!locked()) throw RuntimeError("asyncio::Condition::notify(): the lock is not acquired");
        notify_waiters(n);
    }
    // Wakes every waiting task. Throws RuntimeError if the lock is not held.
    void notify_all() { notify(waiters_.size()); }

private:
    friend class detail::ConditionWait;
    void notify_waiters(std::size_t n) {
        std::size_t woken = 0;
        for (detail::WaitNode* w = waiters_.front(); w && woken < n; w = w->next) {
            if (!w->done()) {
                ++woken;
                w->wake();
            }
        }
    }

    Lock own_;
    Lock* lock_;
    detail::WaitList waiters_;
    detail::LoopBinding loop_;
};

template <class Predicate>
auto Condition::wait_for(Predicate pred) -> Task<std::decay_t<std::invoke_result_t<Predicate&>>> {
    auto result = pred();
    while (!result) {
        co_await wait();
        result = pred();
    }
    co_return result;
}

// ---- Semaphore, BoundedSemaphore --------------------------------------------

// Python's asyncio.Semaphore: a counter that acquire() decrements, waiting
// while it is zero, and release() increments. Waiters get units in FIFO
// order. Loop thread only.
class Semaphore {
public:
    // Throws ValueError if `value` is negative.
    explicit Semaphore(long long value = 1) : Semaphore(value, std::numeric_limits<long long>::max()) {}
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    // True if acquire() would suspend: the counter is zero, or tasks queue
    // ahead (a newcomer never overtakes them).
    bool locked() const noexcept { return value_ == 0 || waiters_.size() > waiters_.cancelled(); }

    // co_await sem.acquire(): takes one unit and gives true. Suspends while
    // locked(). Throws CancelledError if the task is cancelled meanwhile (no
    // unit is then taken), RuntimeError if it must wait outside a task or
    // on another loop than the semaphore's.
    [[nodiscard]] detail::SemaphoreAcquire acquire() noexcept;
    // The same, giving a LockGuard that releases the unit at scope end.
    [[nodiscard]] detail::GuardAcquire<Semaphore, detail::SemaphoreAcquire> acquire_guard() noexcept;

    // Adds a unit and wakes the first waiter, if any. Never suspends. Throws
    // ValueError for a BoundedSemaphore already at its initial value.
    void release() {
        if (value_ >= bound_) throw ValueError("BoundedSemaphore released too many times");
        ++value_;
        wake_up_next();
    }

protected:
    Semaphore(long long value, long long bound) : value_(value), bound_(bound) {
        if (value < 0) throw ValueError("Semaphore initial value must be >= 0");
    }

private:
    friend class detail::SemaphoreAcquire;
    // Python's _wake_up_next: hands a unit to the first waiter not woken or
    // cancelled yet.
    bool wake_up_next() {
        for (detail::WaitNode* n = waiters_.front(); n; n = n->next) {
            if (!n->done()) {
                --value_;
                n->wake();
                return true;
            }
        }
        return false;
    }
    // Units freed while waiters queued behind FIFO order go to them now.
    void wake_up_while_free() {
        while (value_ > 0 && wake_up_next()) {}
    }

    detail::WaitList waiters_;
    detail::LoopBinding loop_;
    long long value_;
    long long bound_;  // release() beyond it is a ValueError (max: unbounded)
};

// Python's asyncio.BoundedSemaphore: a Semaphore whose release() throws
// ValueError if it would raise the counter above its initial value.
class BoundedSemaphore : public Semaphore {
public:
    // Throws ValueError if `value` is negative.
    explicit BoundedSemaphore(long long value = 1) : Semaphore(value, value) {}
};

namespace detail {
class SemaphoreAcquire : public WaitNode {
public:
    explicit SemaphoreAcquire(Semaphore& sem) noexcept : sem_(&sem) {}
    bool await_ready() noexcept {
        if (sem_->locked()) return false;
        --sem_->value_;
        return true;
    }
    void await_suspend(std::coroutine_handle<> h) {
        TaskBase* t = waiting_task("asyncio::Semaphore::acquire()");
        sem_->loop_.check(t->loop(), "asyncio::Semaphore");
        wait_on(sem_->waiters_, t, h);
    }
    bool await_resume() {
        if (state == State::idle) return true;
        try {
            end_wait();
        } catch (...) {
            // A unit was handed to us, but we will not take it: give it back.
            if (state == State::woken) ++sem_->value_;
            sem_->wake_up_while_free();
            throw;
        }
        sem_->wake_up_while_free();
        return true;
    }

private:
    Semaphore* sem_;
};
}  // namespace detail

inline detail::SemaphoreAcquire Semaphore::acquire() noexcept { return detail::SemaphoreAcquire(*this); }
inline detail::GuardAcquire<Semaphore, detail::SemaphoreAcquire> Semaphore::acquire_guard() noexcept {
    return detail::GuardAcquire<Semaphore, detail::SemaphoreAcquire>(*this, *this);
}

// ---- Barrier ----------------------------------------------------------------

// Python's asyncio.Barrier: `parties` tasks wait until all have arrived, then
// all go on together. Reusable. CPython's state machine:
//   filling    tasks arrive; the last one -> draining
//   draining   the released tasks leave; the last out -> filling
//   resetting  reset() while tasks wait: they leave with BrokenBarrierError;
//              the last out -> filling
//   broken     abort(): every wait(), now and later, throws
//              BrokenBarrierError until reset()
// Tasks that arrive while it drains or resets wait for the next round.
// Loop thread only.
class Barrier {
public:
    // Throws ValueError if parties < 1.
    explicit Barrier(int parties);
    Barrier(const Barrier&) = delete;
    Barrier& operator=(const Barrier&) = delete;

    // co_await barrier.wait(): suspends until `parties` tasks have called it,
    // and gives this task's arrival index, 0 .. parties-1. Throws
    // BrokenBarrierError if the barrier is or becomes broken, or is reset
    // while the task waits; CancelledError if the task is cancelled.
    Task<int> wait();
    // co_await barrier.reset(): back to the empty state; tasks waiting now get
    // BrokenBarrierError. Suspends only on the internal lock.
    Task<> reset();
    // co_await barrier.abort(): breaks the barrier; every current and later
    // wait() throws BrokenBarrierError until reset(). Suspends only on the
    // internal lock.
    Task<> abort();

    int parties() const noexcept { return parties_; }
    // Tasks waiting in the current round (0 while draining, resetting or broken).
    int n_waiting() const noexcept { return state_ == State::filling ? count_ : 0; }
    bool broken() const noexcept { return state_ == State::broken; }

private:
    enum class State : uint8_t { filling, draining, resetting, broken };
    void leave();

    Condition cond_;
    int parties_;
    int count_ = 0;  // tasks inside wait()
    State state_ = State::filling;
};

}  // namespace concur::asyncio
