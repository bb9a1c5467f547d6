// concur::futures::Future and Promise: Python's concurrent.futures.Future,
// split into a reading handle (Future) and a writing one (Promise).
//
// A Future is a cheap, copyable, thread-safe handle to a shared state; all
// copies see the same outcome. It is settled exactly once: with a value, an
// exception, or cancellation. Every executor in concur returns one.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdio>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include "concur/detail/future_state.hpp"
#include "concur/errors.hpp"

namespace concur::futures {

// Raised by a Future whose Promise was destroyed before it set a result.
class BrokenPromise : public Error {
public:
    BrokenPromise() : Error("the promise was destroyed before it set a result") {}
};

template <class T>
class Promise;

namespace detail {
// Reports an exception thrown by a done-callback, as Python's
// concurrent.futures logs "exception calling callback for <Future>".
void report_callback_error(std::exception_ptr e) noexcept;
}  // namespace detail

template <class T>
class Future {
    static_assert(!std::is_reference_v<T>, "Future<T&> is not supported; use a pointer");

public:
    using value_type = T;

    // An empty handle: valid() is false and every other call is undefined.
    Future() noexcept = default;

    // Adopts one reference to `state` (executors' use).
    explicit Future(concur::detail::FutureState<T>* state) noexcept : state_(state) {}

    Future(const Future& o) noexcept : state_(o.state_) {
        if (state_) state_->retain();
    }
    Future(Future&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
    Future& operator=(Future o) noexcept {
        std::swap(state_, o.state_);
        return *this;
    }
    ~Future() {
        if (state_) state_->release();
    }

    bool valid() const noexcept { return state_ != nullptr; }

    // Non-blocking state queries; any thread.
    bool done() const noexcept { return state_->done(); }
    bool running() const noexcept { return state_->running(); }
    bool cancelled() const noexcept { return state_->cancelled(); }

    // Cancels the call if it has not started. Returns false if it is running
    // or finished; true if it is (now or already) cancelled, in which case
    // done-callbacks have run. Any thread; never blocks.
    bool cancel() noexcept { return state_->cancel(); }

    // Blocks until the future is settled (forever, or at most `timeout`).
    // Returns the value (a reference into the shared state; an rvalue Future
    // moves it out). Throws the call's own exception, CancelledError, or
    // TimeoutError. On a thread-pool worker it runs other jobs of that pool
    // while it waits, so it cannot deadlock a saturated pool. Any thread.
    decltype(auto) result() & { return get(concur::detail::Deadline()); }
    decltype(auto) result() && { return std::move(*this).take(concur::detail::Deadline()); }
    template <class Rep, class Period>
    decltype(auto) result(std::chrono::duration<Rep, Period> timeout) & {
        return get(concur::detail::Deadline(timeout));
    }
    template <class Rep, class Period>
    decltype(auto) result(std::chrono::duration<Rep, Period> timeout) && {
        return std::move(*this).take(concur::detail::Deadline(timeout));
    }

    // Blocks like result(); returns the call's exception, or null if it
    // returned normally. Throws CancelledError or TimeoutError.
    std::exception_ptr exception() { return exception_until(concur::detail::Deadline()); }
    template <class Rep, class Period>
    std::exception_ptr exception(std::chrono::duration<Rep, Period> timeout) {
        return exception_until(concur::detail::Deadline(timeout));
    }

    // Blocks until settled or the timeout passes; returns done(). Unlike
    // result(), never throws the call's exception.
    bool wait() { return state_->wait(concur::detail::Deadline()); }
    template <class Rep, class Period>
    bool wait(std::chrono::duration<Rep, Period> timeout) {
        return state_->wait(concur::detail::Deadline(timeout));
    }

    // Calls fn(future) -- or fn() -- once the future is settled, on the
    // thread that settles it, or at once on this thread if it already is.
    // Callbacks run in the order they were added. An exception from fn is
    // reported on stderr and otherwise ignored: it never affects the future,
    // other callbacks, or the pool. This is also the hook for bridging to
    // other worlds (an event loop posts a resumption from here).
    template <class F>
    void add_done_callback(F&& fn) {
        struct Node : concur::detail::CallbackNode {
            explicit Node(F&& f, concur::detail::FutureState<T>* s)
                : fn(std::forward<F>(f)), self(s) {
                fire = [](concur::detail::CallbackNode* n, concur::detail::StateBase&) noexcept {
                    auto* node = static_cast<Node*>(n);
                    node->self.state_->retain();  // `self` owns a reference from here on
                    try {
                        if constexpr (std::is_invocable_v<std::decay_t<F>&, Future&>) {
                            node->fn(node->self);
                        } else {
                            node->fn();
                        }
                    } catch (...) {
                        detail::report_callback_error(std::current_exception());
                    }
                    delete node;
                };
            }
            std::decay_t<F> fn;
            Future self;  // retained only while firing (see above)
        };
        static_assert(std::is_invocable_v<std::decay_t<F>&, Future&> ||
                          std::is_invocable_v<std::decay_t<F>&>,
                      "add_done_callback(fn): fn must be callable as fn(future) or fn()");
        // `self` must not own a reference while queued (that would keep the
        // state alive through its own callback list), so it is constructed
        // from the raw pointer and retained just before the call.
        auto* node = new Node(std::forward<F>(fn), state_);
        state_->add_callback(node);
    }

    // Low-level hook for executors and event loops: registers an intrusive
    // node (no allocation). See concur::detail::CallbackNode.
    void add_callback_node(concur::detail::CallbackNode* node) noexcept {
        state_->add_callback(node);
    }
    bool remove_callback_node(concur::detail::CallbackNode* node) noexcept {
        return state_->remove_callback(node);
    }

    concur::detail::StateBase* state() const noexcept { return state_; }

    friend bool operator==(const Future& a, const Future& b) noexcept {
        return a.state_ == b.state_;
    }

private:
    friend class Promise<T>;

    decltype(auto) get(const concur::detail::Deadline& d) {
        if (!state_->wait(d)) throw TimeoutError("Future.result() timed out");
        state_->throw_if_failed();
        if constexpr (!std::is_void_v<T>) return static_cast<T&>(state_->value());
    }
    T take(const concur::detail::Deadline& d) && {
        if constexpr (std::is_void_v<T>) {
            get(d);
        } else {
            return std::move(get(d));
        }
    }
    std::exception_ptr exception_until(const concur::detail::Deadline& d) {
        if (!state_->wait(d)) throw TimeoutError("Future.exception() timed out");
        if (state_->cancelled()) throw CancelledError();
        return state_->error();
    }

    concur::detail::FutureState<T>* state_ = nullptr;
};

// The writing side of a Future, for code that settles futures itself (an
// executor, an event loop, a callback API). Move-only. Destroying a Promise
// that has not settled its future fails the future with BrokenPromise, so no
// Future is left pending forever.
template <class T>
class Promise {
public:
    Promise() : state_(new concur::detail::FutureState<T>()) {}
    Promise(Promise&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
    Promise& operator=(Promise&& o) noexcept {
        if (this != &o) {
            abandon();
            state_ = std::exchange(o.state_, nullptr);
        }
        return *this;
    }
    ~Promise() { abandon(); }

    // A new handle to the shared state; may be called any number of times.
    Future<T> get_future() const noexcept {
        state_->retain();
        return Future<T>(state_);
    }

    // Python's Future.set_result: settles with a value. Throws
    // InvalidStateError if already settled (cancelled included).
    template <class... A>
    void set_result(A&&... value) {
        if (!state_->set_value(std::forward<A>(value)...))
            throw InvalidStateError("the future is already done: cannot set a result");
    }

    // Python's Future.set_exception. Throws InvalidStateError if settled.
    void set_exception(std::exception_ptr e) {
        if (!state_->set_exception(std::move(e)))
            throw InvalidStateError("the future is already done: cannot set an exception");
    }

    // Python's Future.set_running_or_notify_cancel(): true if the work may
    // run (pending -> running); false if the future was cancelled.
    bool set_running_or_notify_cancel() { return state_->set_running_or_notify_cancel(); }

    bool done() const noexcept { return state_->done(); }

private:
    void abandon() noexcept {
        if (!state_) return;
        if (!state_->done()) state_->set_exception(std::make_exception_ptr(BrokenPromise()));
        state_->release();
        state_ = nullptr;
    }
    concur::detail::FutureState<T>* state_;
};

// A Future that is already settled with `value` (useful in tests and for
// APIs that sometimes answer synchronously).
template <class T, class... A>
Future<T> make_ready_future(A&&... value) {
    Promise<T> p;
    p.set_result(std::forward<A>(value)...);
    return p.get_future();
}

}  // namespace concur::futures
