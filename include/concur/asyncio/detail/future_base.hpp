// The loop-side machinery shared by asyncio::Future and asyncio::Task:
// Python's asyncio.Future state machine (pending -> finished | cancelled),
// intrusive done-callbacks, and the hooks through which Task.cancel() reaches
// whatever a task is suspended on.
//
// Everything here belongs to one event loop and is touched only on that
// loop's thread, as in Python: no atomics, no locks.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <utility>

#include "concur/errors.hpp"

namespace concur::asyncio {

class EventLoop;

namespace detail {

class TaskBase;

// A done-callback without allocation: waiters embed one. Doubly linked so
// that a waiter that stops waiting (timeout, cancellation) unlinks in O(1).
// fire() runs synchronously when the future settles; it must only schedule
// work (wake a task, post a callback), never run user code inline.
struct DoneNode {
    void (*fire)(DoneNode* self) noexcept = nullptr;
    DoneNode* prev = nullptr;
    DoneNode* next = nullptr;
    bool linked = false;
};

// What a suspended task waits on, as Task.cancel() sees it (Python's
// Task._fut_waiter). cancel() returns true if the wait is now going to end
// with CancelledError in the waiting task; false if it cannot be interrupted
// (the task then gets CancelledError at its next suspension point).
struct Suspension {
    bool (*cancel)(Suspension* self, const std::string* msg) noexcept = nullptr;
};

class FutureBase {
public:
    enum class State : uint8_t { pending, cancelled, finished };

    FutureBase() = default;
    FutureBase(const FutureBase&) = delete;
    FutureBase& operator=(const FutureBase&) = delete;

    bool done() const noexcept { return state_ != State::pending; }
    bool cancelled() const noexcept { return state_ == State::cancelled; }
    State state() const noexcept { return state_; }
    EventLoop* loop() const noexcept { return loop_; }

    // Links `n`; only while pending (a settled future is read directly).
    void add_done_node(DoneNode* n) noexcept {
        n->prev = tail_;
        n->next = nullptr;
        if (tail_) tail_->next = n; else head_ = n;
        tail_ = n;
        n->linked = true;
    }
    void remove_done_node(DoneNode* n) noexcept {
        if (!n->linked) return;
        if (n->prev) n->prev->next = n->next; else head_ = n->next;
        if (n->next) n->next->prev = n->prev; else tail_ = n->prev;
        n->linked = false;
    }

    // The exception to raise for a settled future: CancelledError (with the
    // cancel message) or the stored one; null if it has a value. Marks the
    // exception as retrieved (no "exception was never retrieved" report).
    std::exception_ptr take_error() noexcept {
        retrieved_ = true;
        if (state_ == State::cancelled) return make_cancelled_error();
        return error_;
    }
    void rethrow_if_failed() {
        if (auto e = take_error()) std::rethrow_exception(e);
    }
    bool has_error() const noexcept { return state_ == State::finished && error_ != nullptr; }

    std::exception_ptr make_cancelled_error() const noexcept;
    void set_cancel_message(const std::string* msg);
    const std::string* cancel_message() const noexcept { return cancel_msg_; }

protected:
    ~FutureBase();

    // Settles and fires every done-callback in the order added.
    void settle(State s) noexcept {
        state_ = s;
        DoneNode* n = head_;
        head_ = tail_ = nullptr;
        while (n) {
            DoneNode* next = n->next;
            n->linked = false;
            n->fire(n);
            n = next;
        }
    }

    // Called when the last owner lets go: reports an exception nobody looked
    // at, as Python's "Future/Task exception was never retrieved".
    void report_unretrieved(const char* what) noexcept;

    EventLoop* loop_ = nullptr;
    DoneNode* head_ = nullptr;
    DoneNode* tail_ = nullptr;
    std::exception_ptr error_;
    std::string* cancel_msg_ = nullptr;  // only when cancel(msg) gave one
    State state_ = State::pending;
    bool retrieved_ = false;
    // TaskBase's flags, kept here where they fill padding: a parked task's
    // size is one of asyncio's targets.
    bool must_cancel_ = false;
    bool is_task_ = false;
    bool started_ = false;
    bool ended_cancelled_ = false;
};

}  // namespace detail
}  // namespace concur::asyncio
