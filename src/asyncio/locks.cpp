// The multi-step waits of asyncio's locks: Condition.wait (wait, then take
// the lock back whatever happens) and Barrier, ported from CPython 3.13's
// Lib/asyncio/locks.py. Each is a coroutine awaited inline by the caller, so
// its waiter nodes live in that coroutine's frame.
#include "concur/asyncio/locks.hpp"

#include <exception>

namespace concur::asyncio {

namespace detail {

// The notify() half of Condition.wait: a plain wait in the condition's list.
class ConditionWait : public WaitNode {
public:
    ConditionWait(Condition& cond, TaskBase* task) noexcept : cond_(&cond), task_(task) {}
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) { wait_on(cond_->waiters_, task_, h); }
    void await_resume() { end_wait(); }

private:
    Condition* cond_;
    TaskBase* task_;
};

}  // namespace detail

// ---- Condition ----------------------------------------------------------------

Task<bool> Condition::wait() {
    if (!locked()) throw RuntimeError("asyncio::Condition::wait(): the lock is not acquired (acquire it first)");
    // Python makes its future (and so checks the loop) before releasing.
    detail::TaskBase* task = detail::waiting_task("asyncio::Condition::wait()");
    loop_.check(task->loop(), "asyncio::Condition");
    release();
    std::exception_ptr error;
    try {
        co_await detail::ConditionWait(*this, task);
    } catch (...) {
        error = std::current_exception();
    }
    // The lock comes back even if the wait was cancelled; a cancellation
    // while taking it is remembered (the latest wins) and the taking retried.
    for (;;) {
        try {
            co_await lock_->acquire();
            break;
        } catch (const CancelledError&) {
            error = std::current_exception();
        } catch (...) {
            notify_waiters(1);
            throw;
        }
    }
    if (error) {
        // This task may have consumed a notify(): pass it on (a spurious
        // wake-up for the next waiter is allowed, a lost one is not).
        notify_waiters(1);
        std::rethrow_exception(error);
    }
    co_return true;
}

// ---- Barrier ------------------------------------------------------------------

Barrier::Barrier(int parties) : parties_(parties) {
    if (parties < 1) throw ValueError("asyncio::Barrier: parties must be >= 1");
}

Task<int> Barrier::wait() {
    co_await cond_.acquire();
    std::exception_ptr error;
    int index = 0;
    try {
        // Wait for the previous round to drain or reset.
        co_await cond_.wait_for([this] { return state_ != State::draining && state_ != State::resetting; });
        if (state_ == State::broken) throw BrokenBarrierError("the barrier was aborted");
        index = count_++;
        std::exception_ptr inner;
        try {
            if (index + 1 == parties_) {
                state_ = State::draining;  // the last arrival releases everyone
                cond_.notify_all();
            } else {
                co_await cond_.wait_for([this] { return state_ != State::filling; });
                if (state_ == State::broken || state_ == State::resetting)
                    throw BrokenBarrierError("the barrier was aborted or reset");
            }
        } catch (...) {
            inner = std::current_exception();
        }
        --count_;
        leave();
        if (inner) std::rethrow_exception(inner);
    } catch (...) {
        error = std::current_exception();
    }
    cond_.release();
    if (error) std::rethrow_exception(error);
    co_return index;
}

// The last task out of a draining or resetting round opens the next one.
void Barrier::leave() {
    if (count_ != 0) return;
    if (state_ == State::resetting || state_ == State::draining) state_ = State::filling;
    cond_.notify_all();
}

Task<> Barrier::reset() {
    co_await cond_.acquire();
    state_ = count_ > 0 ? State::resetting : State::filling;
    cond_.notify_all();
    cond_.release();
}

Task<> Barrier::abort() {
    co_await cond_.acquire();
    state_ = State::broken;
    cond_.notify_all();
    cond_.release();
}

}  // namespace concur::asyncio
