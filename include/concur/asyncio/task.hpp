// asyncio::Task<T>: the coroutine type of concur's asyncio, and the handle to
// a scheduled task (Python's coroutine objects and asyncio.Task in one type).
//
//   asyncio::Task<int> work(int x) { co_await asyncio::sleep(10ms); co_return x; }
//
// Calling work(1) makes a coroutine that has not started. `co_await work(1)`
// runs it inside the awaiting task, as Python's `await work(1)`;
// `create_task(work(1))` schedules it as a task of its own and returns the
// handle (cancel, done, result, add_done_callback; awaitable any number of
// times). Handles are cheap to copy and share ownership of the coroutine
// frame; a task runs to completion even if every handle is dropped.
//
// Tasks belong to one loop and its thread: use a handle only there.
#pragma once

#include <coroutine>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "concur/asyncio/detail/task_base.hpp"
#include "concur/asyncio/loop.hpp"
#include "concur/errors.hpp"
#include "concur/futures/future.hpp"

namespace concur::asyncio {

template <class T = void>
class Task;

namespace detail {

void* allocate_frame(std::size_t size);
void free_frame(void* p, std::size_t size) noexcept;

template <class T>
struct ConcurrentFutureAwaiter;

template <class T>
class TaskPromise;

template <class A>
struct AwaiterRef {
    A& a;
    bool await_ready() { return a.await_ready(); }
    auto await_suspend(std::coroutine_handle<> h) { return a.await_suspend(h); }
    decltype(auto) await_resume() { return a.await_resume(); }
};

// Settles the task (or hands control back to the inline awaiter).
struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
        return h.promise().finish_here();
    }
    void await_resume() const noexcept {}
};

template <class T>
class PromiseStorage : public TaskBase {
public:
    explicit PromiseStorage(std::coroutine_handle<> self) noexcept : TaskBase(self) {}
    ~PromiseStorage() {
        if (has_value_) value_.~T();
    }
    template <class U>
    void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        ::new (static_cast<void*>(&value_)) T(std::forward<U>(v));
        has_value_ = true;
    }
    T& value() noexcept { return value_; }

private:
    union {
        T value_;
    };
    bool has_value_ = false;
};

template <>
class PromiseStorage<void> : public TaskBase {
public:
    using TaskBase::TaskBase;
    void return_void() noexcept {}
};

template <class T>
class TaskPromise : public PromiseStorage<T> {
public:
    TaskPromise() noexcept
        : PromiseStorage<T>(std::coroutine_handle<TaskPromise>::from_promise(*this)) {}

    Task<T> get_return_object() noexcept;
    std::suspend_always initial_suspend() const noexcept { return {}; }
    FinalAwaiter final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { this->store_exception(); }

    // co_await of a concurrent future (any executor's result) resumes this
    // coroutine on its loop's thread when the future settles.
    template <class U>
    ConcurrentFutureAwaiter<U> await_transform(futures::Future<U> f) noexcept {
        return ConcurrentFutureAwaiter<U>{std::move(f)};
    }
    // Every other awaitable is used in place (g++ 12 would otherwise copy
    // an awaiter it was handed by reference). A temporary lives until the
    // end of the full expression, which spans the suspension.
    template <class A>
    auto await_transform(A&& a) const noexcept {
        if constexpr (requires { std::forward<A>(a).operator co_await(); }) {
            return std::forward<A>(a).operator co_await();
        } else {
            return AwaiterRef<std::remove_reference_t<A>>{a};
        }
    }

    std::coroutine_handle<> finish_here() noexcept { return this->finish(); }

    // Frames come from a per-thread cache: creating a task costs no malloc
    // in the steady state.
    static void* operator new(std::size_t size) { return allocate_frame(size); }
    static void operator delete(void* p, std::size_t size) noexcept { free_frame(p, size); }

    template <class>
    friend class concur::asyncio::Task;
    template <class>
    friend class TaskAwaiter;
};

// co_await on a Task: runs a fresh coroutine inline (Python's `await coro`)
// or waits for a scheduled task to finish (Python's `await task`; cancelling
// the waiting task cancels the awaited one).
template <class T>
class TaskAwaiter : public Suspension, public DoneNode {
public:
    TaskAwaiter(TaskPromise<T>* p, bool move_out) noexcept : p_(p), move_out_(move_out) {}
    TaskAwaiter(const TaskAwaiter&) = delete;
    ~TaskAwaiter() {
        if (DoneNode::linked) p_->remove_done_node(this);
    }

    bool await_ready() const noexcept { return p_->done(); }

    std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
        if (!p_->is_task_) {
            if (p_->started_)
                throw RuntimeError("this coroutine is already being awaited");
            p_->started_ = true;
            p_->resume_ = h;
            if (p_->must_cancel_) {  // cancelled before it ran: it never runs
                p_->must_cancel_ = false;
                p_->ended_cancelled_ = true;
                return p_->finish();
            }
            return p_->self_;
        }
        waiter_ = TaskBase::current();
        if (!waiter_) throw RuntimeError("a task can only be awaited from a task on its loop");
        // It would wait for its own end forever (Python's __step refuses it).
        if (waiter_ == p_) throw RuntimeError("a task cannot await itself");
        DoneNode::fire = [](DoneNode* n) noexcept { static_cast<TaskAwaiter*>(n)->waiter_->wakeup(); };
        Suspension::cancel = [](Suspension* s, const std::string* msg) noexcept {
            return static_cast<TaskAwaiter*>(s)->p_->cancel(msg);
        };
        p_->add_done_node(this);
        waiter_->suspend(h, this);
        return std::noop_coroutine();
    }

    decltype(auto) await_resume() {
        if (waiter_) waiter_->check_cancel();
        p_->rethrow_if_failed();
        // (A move-only T can only get here through an rvalue await: the
        // lvalue operator co_await refuses it at compile time. Asserting it
        // here instead failed every await of a move-only T.)
        if constexpr (std::is_void_v<T>) {
            return;
        } else if constexpr (!std::is_copy_constructible_v<T>) {
            return T(std::move(p_->value()));
        } else if (move_out_) {
            return T(std::move(p_->value()));
        } else {
            return T(p_->value());
        }
    }

private:
    TaskPromise<T>* p_;
    TaskBase* waiter_ = nullptr;
    bool move_out_;
};

}  // namespace detail

// A type-erased handle to any task (the element type of all_tasks() and the
// result of current_task()). Offers the Task methods that do not depend on T.
class TaskRef {
public:
    TaskRef() = default;
    explicit TaskRef(detail::TaskBase* t) noexcept : t_(t) {
        if (t_) t_->retain();
    }
    TaskRef(const TaskRef& o) noexcept : TaskRef(o.t_) {}
    TaskRef(TaskRef&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
    TaskRef& operator=(TaskRef o) noexcept {
        std::swap(t_, o.t_);
        return *this;
    }
    ~TaskRef() {
        if (t_) t_->release();
    }
    explicit operator bool() const noexcept { return t_ != nullptr; }
    bool done() const noexcept { return t_->done(); }
    bool cancelled() const noexcept { return t_->cancelled(); }
    bool cancel() { return t_->cancel(); }
    bool cancel(const std::string& msg) { return t_->cancel(&msg); }
    uint32_t cancelling() const noexcept { return t_->cancelling(); }
    uint32_t uncancel() noexcept { return t_->uncancel(); }
    std::string get_name() const { return t_->name(); }
    void set_name(std::string n) { t_->set_name(std::move(n)); }
    detail::TaskBase* base() const noexcept { return t_; }
    friend bool operator==(const TaskRef& a, const TaskRef& b) noexcept { return a.t_ == b.t_; }

private:
    detail::TaskBase* t_ = nullptr;
};

template <class T>
class [[nodiscard]] Task {
public:
    using promise_type = detail::TaskPromise<T>;
    using value_type = T;

    Task() = default;
    Task(const Task& o) noexcept : p_(o.p_) {
        if (p_) p_->retain();
    }
    Task(Task&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    Task& operator=(Task o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~Task() {
        if (p_) p_->release();
    }

    bool valid() const noexcept { return p_ != nullptr; }
    // True once create_task() (or run) scheduled it.
    bool is_task() const noexcept { return p_->is_task(); }

    // Python's Task methods. Loop thread only; none of them blocks.
    bool done() const noexcept { return p_->done(); }
    bool cancelled() const noexcept { return p_->cancelled(); }
    // False if done; otherwise the task will see CancelledError (with msg)
    // at its current or next suspension point.
    bool cancel() { return p_->cancel(); }
    bool cancel(const std::string& msg) { return p_->cancel(&msg); }
    uint32_t cancelling() const noexcept { return p_->cancelling(); }
    uint32_t uncancel() noexcept { return p_->uncancel(); }
    std::string get_name() const { return p_->name(); }
    void set_name(std::string name) { p_->set_name(std::move(name)); }

    // The value; throws the task's exception, CancelledError, or
    // InvalidStateError if it is not done yet.
    decltype(auto) result() & {
        check_done("result");
        p_->rethrow_if_failed();
        if constexpr (!std::is_void_v<T>) return static_cast<T&>(p_->value());
    }
    T result() && {
        check_done("result");
        p_->rethrow_if_failed();
        if constexpr (!std::is_void_v<T>) return std::move(p_->value());
    }
    // The task's exception or null; CancelledError if it was cancelled,
    // InvalidStateError if it is not done yet.
    std::exception_ptr exception() {
        check_done("exception");
        if (p_->cancelled()) std::rethrow_exception(p_->make_cancelled_error());
        return p_->take_error();
    }

    // Python's add_done_callback: fn(task) (or fn()) is scheduled with
    // call_soon once the task is done (at once if it already is).
    template <class F>
    void add_done_callback(F&& fn);

    // co_await task: see the header comment. An rvalue task gives its
    // value by move (for move-only T); an lvalue gives a copy.
    detail::TaskAwaiter<T> operator co_await() & noexcept {
        static_assert(std::is_void_v<T> || std::is_copy_constructible_v<T>,
                      "awaiting a Task<T> of a move-only T by lvalue: co_await std::move(task)");
        return {p_, false};
    }
    detail::TaskAwaiter<T> operator co_await() && noexcept { return {p_, true}; }

    operator TaskRef() const noexcept { return TaskRef(p_); }
    detail::TaskPromise<T>* promise() const noexcept { return p_; }
    friend bool operator==(const Task& a, const Task& b) noexcept { return a.p_ == b.p_; }

private:
    friend class detail::TaskPromise<T>;
    explicit Task(detail::TaskPromise<T>* p) noexcept : p_(p) {}
    void check_done(const char* what) const {
        if (!p_->done()) throw InvalidStateError(std::string(what) + "(): the task is not done yet");
    }
    detail::TaskPromise<T>* p_ = nullptr;
};

namespace detail {
template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
    return Task<T>(this);
}

// Wakes a task when a concurrent future settles on whatever thread. Shared
// by the awaiter (in the coroutine frame) and the future's callback list,
// so that either side may go first.
struct FutureBridge : concur::detail::CallbackNode, PostNode {
    std::atomic<int> refs{2};
    std::atomic<bool> posted{false};
    EventLoop* loop = nullptr;
    TaskBase* task = nullptr;  // null once the waiter gave up
    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
};

template <class T>
struct ConcurrentFutureAwaiter : Suspension {
    futures::Future<T> fut;
    FutureBridge* bridge = nullptr;
    TaskBase* task = nullptr;
    bool cancelled = false;

    explicit ConcurrentFutureAwaiter(futures::Future<T> f) noexcept : fut(std::move(f)) {}
    ConcurrentFutureAwaiter(ConcurrentFutureAwaiter&& o) noexcept
        : fut(std::move(o.fut)), bridge(std::exchange(o.bridge, nullptr)) {}
    ~ConcurrentFutureAwaiter() { detach(); }

    bool await_ready() const noexcept { return fut.done(); }
    void await_suspend(std::coroutine_handle<> h) {
        task = TaskBase::current();
        if (!task) throw RuntimeError("a future can only be awaited from a task on a running loop");
        bridge = new FutureBridge();
        bridge->loop = task->loop();
        bridge->task = task;
        bridge->fire = [](concur::detail::CallbackNode* n, concur::detail::StateBase&) noexcept {
            auto* b = static_cast<FutureBridge*>(n);
            b->loop->post(b);
            b->posted.store(true, std::memory_order_release);
        };
        bridge->run = [](PostNode* n) noexcept {
            auto* b = static_cast<FutureBridge*>(n);
            if (b->task) b->task->wakeup();
            b->release();
        };
        Suspension::cancel = [](Suspension* s, const std::string*) noexcept {
            auto* self = static_cast<ConcurrentFutureAwaiter*>(s);
            self->cancelled = true;
            self->fut.cancel();  // best effort: a running call cannot be stopped
            if (self->fut.remove_callback_node(self->bridge)) {
                self->bridge->release();  // the callback's reference
                self->bridge->task = nullptr;
                self->task->wakeup();
            }  // else the callback is firing and its post wakes the task
            return true;
        };
        // The callback goes first: suspend() may call cancel() at once (a
        // cancel() that came while the task ran), and cancel() can only
        // take back a callback that is registered. The other way round it
        // took the missing node for one "firing" and left the task waiting
        // for the call to end. A callback that fires at once (the future
        // settled meanwhile) only posts: the task resumes on a later turn.
        fut.add_callback_node(bridge);
        task->suspend(h, this);
    }
    decltype(auto) await_resume() {
        if (task) task->check_cancel();
        if (cancelled) task->raise_cancelled();
        return std::move(fut).result();
    }

private:
    void detach() noexcept {
        if (!bridge) return;
        if (bridge->task && !bridge->posted.load(std::memory_order_acquire)) {
            if (fut.remove_callback_node(bridge)) {
                bridge->release();
            } else {
                while (!bridge->posted.load(std::memory_order_acquire)) {}
            }
        }
        bridge->task = nullptr;
        std::exchange(bridge, nullptr)->release();
    }
};
}  // namespace detail

// Python's asyncio.create_task: schedules `coro` on the running loop (it
// starts on a later iteration) and returns its handle. Throws RuntimeError
// outside a running loop, or if `coro` was already started or scheduled.
template <class T>
Task<T> create_task(Task<T> coro) {
    EventLoop* loop = detail::running_loop();
    if (!loop) throw RuntimeError("create_task(): no running event loop");
    coro.promise()->start_as_task(*loop);
    return coro;
}
template <class T>
Task<T> create_task(Task<T> coro, std::string name) {
    Task<T> t = create_task(std::move(coro));
    t.set_name(std::move(name));
    return t;
}

// Python's asyncio.current_task(): the task running now, or an empty ref.
inline TaskRef current_task() noexcept { return TaskRef(detail::TaskBase::current()); }

// Python's asyncio.all_tasks(): the running loop's tasks not yet done.
std::vector<TaskRef> all_tasks();

template <class T>
template <class F>
void Task<T>::add_done_callback(F&& fn) {
    static_assert(std::is_invocable_v<std::decay_t<F>&, Task<T>&> || std::is_invocable_v<std::decay_t<F>&>,
                  "add_done_callback(fn): fn must be callable as fn(task) or fn()");
    auto call = [fn = std::forward<F>(fn), self = *this]() mutable {
        if constexpr (std::is_invocable_v<std::decay_t<F>&, Task<T>&>) {
            fn(self);
        } else {
            fn();
        }
    };
    if (!p_->is_task())
        throw InvalidStateError("add_done_callback() needs a scheduled task: call create_task() first");
    if (done()) {
        p_->loop()->call_soon(std::move(call));
        return;
    }
    // The node keeps a handle to the task (in `call`), so it cannot outlive it.
    struct Holder : detail::DoneNode {
        std::function<void()> c;
        EventLoop* loop;
    };
    auto* node = new Holder();
    node->c = std::move(call);
    node->loop = p_->loop();
    node->fire = [](detail::DoneNode* n) noexcept {
        auto* self = static_cast<Holder*>(n);
        try {
            self->loop->call_soon(std::move(self->c));
        } catch (...) {
        }
        delete self;
    };
    p_->add_done_node(node);
}

}  // namespace concur::asyncio
