// The part of every asyncio task that does not depend on its result type:
// Python's Task state (its coroutine, what it waits on, its cancellation
// requests), and the protocol every concur awaiter follows:
//
//   await_suspend: task->suspend(h, this)   -- h resumes later; `this` is the
//                                              Suspension Task.cancel() uses
//   when done:     task->wakeup()           -- queues the task on its loop
//   await_resume:  task->check_cancel()     -- throws CancelledError if a
//                                              cancel() arrived meanwhile
#pragma once

#include <coroutine>
#include <cstdint>
#include <string>

#include "concur/asyncio/detail/future_base.hpp"
#include "concur/asyncio/loop.hpp"

namespace concur::asyncio::detail {

class TaskBase : public FutureBase {
public:
    void retain() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) destroy();
    }

    // Python's Task.cancel(msg): false if done; otherwise asks whatever the
    // task waits on to end the wait with CancelledError, or arranges for
    // the next suspension point to throw it.
    bool cancel(const std::string* msg = nullptr);
    // Python 3.11's cancelling() / uncancel().
    uint32_t cancelling() const noexcept { return num_cancels_; }
    uint32_t uncancel() noexcept {
        if (num_cancels_ > 0) {
            --num_cancels_;
            if (num_cancels_ == 0) must_cancel_ = false;
        }
        return num_cancels_;
    }

    bool is_task() const noexcept { return is_task_; }
    std::string name() const;
    void set_name(std::string name);

    // ---- the awaiter protocol ------------------------------------------
    void suspend(std::coroutine_handle<> h, Suspension* s) noexcept {
        resume_ = h;
        waiter_ = s;
        if (must_cancel_ && s->cancel(s, cancel_msg_)) must_cancel_ = false;
    }
    void wakeup() {
        waiter_ = nullptr;
        if (loop_) loop_->push_ready(&step, this);  // null: abandoned by close()
    }
    void check_cancel() {
        if (must_cancel_) {
            must_cancel_ = false;
            std::rethrow_exception(make_cancelled_error());
        }
    }
    // For an awaiter whose Suspension::cancel ended the wait: throws the
    // CancelledError carrying this task's cancel(msg) message, as Python's
    // awaited future raises it (a bare CancelledError() loses the message).
    [[noreturn]] void raise_cancelled() const { std::rethrow_exception(make_cancelled_error()); }
    // The task whose coroutine runs now on this thread's loop (or null).
    static TaskBase* current() noexcept {
        EventLoop* l = running_loop();
        return l ? l->current_task() : nullptr;
    }

    // Makes this coroutine a task of `loop` and queues its first step.
    void start_as_task(EventLoop& loop);
    // Destroys a never-finished task's coroutine (loop close): the task
    // ends cancelled, and its frame's awaiters unregister themselves.
    void abandon() noexcept;

    static void step(void* self) noexcept;

    // all_tasks() list links (owned by the loop).
    TaskBase* prev_task = nullptr;
    TaskBase* next_task = nullptr;

protected:
    explicit TaskBase(std::coroutine_handle<> self) noexcept : self_(self), resume_(self) {}
    ~TaskBase() = default;

    // Called at final suspend. A task settles (callbacks fire) and drops
    // the loop's reference; an awaited coroutine returns to its awaiter.
    std::coroutine_handle<> finish() noexcept;
    // unhandled_exception(): remembers whether the exception was a
    // CancelledError (the task then ends cancelled, as in Python).
    void store_exception() noexcept;

    std::coroutine_handle<> self_;
    // A task: where it continues when next woken. A coroutine awaited
    // inline: its awaiter, resumed when it finishes.
    std::coroutine_handle<> resume_;
    Suspension* waiter_ = nullptr;
    std::string* name_ = nullptr;
    uint32_t number_ = 0;
    uint32_t refs_ = 1;
    uint32_t num_cancels_ = 0;

private:
    void destroy() noexcept;
    template <class T>
    friend class TaskAwaiter;
};

}  // namespace concur::asyncio::detail
