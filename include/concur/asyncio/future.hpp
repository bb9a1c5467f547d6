// asyncio::Future<T>: Python's asyncio.Future, a result that someone on the
// loop sets later and any number of tasks await. Loop thread only; to hand a
// result over from another thread, use concur::futures::Promise and co_await
// its Future instead.
#pragma once

#include <coroutine>
#include <exception>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include "concur/asyncio/detail/task_base.hpp"
#include "concur/asyncio/loop.hpp"
#include "concur/errors.hpp"

namespace concur::asyncio {

namespace detail {

template <class T>
class FutureState : public FutureBase {
public:
    explicit FutureState(EventLoop* loop) noexcept { loop_ = loop; }
    ~FutureState() {
        if constexpr (!std::is_void_v<T>) {
            if (has_value_) value_.~T();
        }
    }
    void retain() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) {
            if (has_error() && !retrieved_) report_unretrieved("Future exception was never retrieved");
            delete this;
        }
    }
    template <class... A>
    void set_value(A&&... v) {
        if (done()) throw InvalidStateError("the future is already done: cannot set a result");
        if constexpr (!std::is_void_v<T>) {
            ::new (static_cast<void*>(&value_)) T(std::forward<A>(v)...);
            has_value_ = true;
        }
        settle(State::finished);
    }
    void set_error(std::exception_ptr e) {
        if (done()) throw InvalidStateError("the future is already done: cannot set an exception");
        error_ = std::move(e);
        settle(State::finished);
    }
    bool cancel(const std::string* msg) noexcept {
        if (done()) return false;
        try {
            set_cancel_message(msg);
        } catch (...) {
        }
        settle(State::cancelled);
        return true;
    }
    auto& value() noexcept { return value_; }

private:
    struct Empty {};
    union {
        std::conditional_t<std::is_void_v<T>, Empty, T> value_;
    };
    bool has_value_ = false;
    uint32_t refs_ = 1;
};

}  // namespace detail

template <class T = void>
class Future {
public:
    // A pending future of the running loop. Throws RuntimeError elsewhere.
    Future() : s_(new detail::FutureState<T>(&get_running_loop())) {}
    Future(const Future& o) noexcept : s_(o.s_) { s_->retain(); }
    Future& operator=(const Future& o) noexcept {
        Future(o).swap(*this);
        return *this;
    }
    ~Future() { s_->release(); }
    void swap(Future& o) noexcept { std::swap(s_, o.s_); }

    bool done() const noexcept { return s_->done(); }
    bool cancelled() const noexcept { return s_->cancelled(); }
    // Settles the future and wakes its awaiters (on later iterations).
    // Throws InvalidStateError if it is already done.
    template <class... A>
    void set_result(A&&... v) { s_->set_value(std::forward<A>(v)...); }
    void set_exception(std::exception_ptr e) { s_->set_error(std::move(e)); }
    // False if already done.
    bool cancel() noexcept { return s_->cancel(nullptr); }
    bool cancel(const std::string& msg) noexcept { return s_->cancel(&msg); }

    // The value (a reference into the shared state), or throws the stored
    // exception / CancelledError / InvalidStateError if not done.
    decltype(auto) result() {
        check_done("result");
        s_->rethrow_if_failed();
        if constexpr (!std::is_void_v<T>) return static_cast<T&>(s_->value());
    }
    std::exception_ptr exception() {
        check_done("exception");
        if (s_->cancelled()) std::rethrow_exception(s_->make_cancelled_error());
        return s_->take_error();
    }
    // fn(future) or fn(), scheduled with call_soon once the future is done.
    template <class F>
    void add_done_callback(F&& fn) {
        auto call = [fn = std::forward<F>(fn), self = *this]() mutable {
            if constexpr (std::is_invocable_v<std::decay_t<F>&, Future&>) fn(self); else fn();
        };
        if (done()) {
            s_->loop()->call_soon(std::move(call));
            return;
        }
        struct Node : detail::DoneNode {
            std::function<void()> c;
            EventLoop* loop = nullptr;
        };
        auto* node = new Node();
        node->c = std::move(call);
        node->loop = s_->loop();
        node->fire = [](detail::DoneNode* n) noexcept {
            auto* self = static_cast<Node*>(n);
            try {
                self->loop->call_soon(std::move(self->c));
            } catch (...) {
            }
            delete self;
        };
        s_->add_done_node(node);
    }

    // co_await future: the value (copied) or the exception. Cancelling the
    // awaiting task cancels the future, as in Python.
    struct Awaiter : detail::Suspension, detail::DoneNode {
        detail::FutureState<T>* s;
        detail::TaskBase* task = nullptr;
        explicit Awaiter(detail::FutureState<T>* st) noexcept : s(st) {}
        Awaiter(const Awaiter&) = delete;
        ~Awaiter() { s->remove_done_node(this); }
        bool await_ready() const noexcept { return s->done(); }
        void await_suspend(std::coroutine_handle<> h) {
            task = detail::TaskBase::current();
            if (!task) throw RuntimeError("a future can only be awaited from a task on its loop");
            DoneNode::fire = [](DoneNode* n) noexcept { static_cast<Awaiter*>(n)->task->wakeup(); };
            Suspension::cancel = [](Suspension* x, const std::string* msg) noexcept {
                return static_cast<Awaiter*>(x)->s->cancel(msg);
            };
            s->add_done_node(this);
            task->suspend(h, this);
        }
        decltype(auto) await_resume() {
            if (task) task->check_cancel();
            s->rethrow_if_failed();
            if constexpr (!std::is_void_v<T>) return T(s->value());
        }
    };
    Awaiter operator co_await() const noexcept { return Awaiter(s_); }

private:
    void check_done(const char* what) const {
        if (!s_->done()) throw InvalidStateError(std::string(what) + "(): the future is not done yet");
    }
    detail::FutureState<T>* s_;
};

}  // namespace concur::asyncio
