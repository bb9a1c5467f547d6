// Python's asyncio task functions: sleep, gather, wait, wait_for, shield,
// as_completed. Each takes Task<T> coroutines or tasks; a coroutine that was
// not scheduled yet is made a task first, as Python's ensure_future does.
#pragma once

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "concur/asyncio/detail/wait_set.hpp"
#include "concur/asyncio/task.hpp"
#include "concur/asyncio/timeouts.hpp"

namespace concur::asyncio {

// What a task returning void contributes to gather's result (Python's None).
using None = std::monostate;
template <class T>
using value_or_none_t = std::conditional_t<std::is_void_v<T>, None, T>;

// ---- sleep ------------------------------------------------------------------

namespace detail {
struct SleepAwaiter : Suspension, TimerEntry {
    Clock::time_point when_;
    bool yield_only;
    TaskBase* task = nullptr;
    bool cancelled = false;
    SleepAwaiter(Clock::time_point w, bool y) noexcept : when_(w), yield_only(y) {}
    SleepAwaiter(const SleepAwaiter&) = delete;
    ~SleepAwaiter() {
        if (queued() && task && task->loop()) task->loop()->cancel_timer(this);
    }
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        task = TaskBase::current();
        if (!task) throw RuntimeError("asyncio::sleep() outside a task on a running loop");
        Suspension::cancel = [](Suspension* s, const std::string*) noexcept {
            auto* self = static_cast<SleepAwaiter*>(s);
            if (self->queued()) self->task->loop()->cancel_timer(self);
            self->cancelled = true;
            self->task->wakeup();
            return true;
        };
        if (yield_only) {
            task->suspend(h, this);
            if (!cancelled) task->wakeup();
            return;
        }
        TimerEntry::when = when_;
        TimerEntry::fire = [](TimerEntry* t) noexcept { static_cast<SleepAwaiter*>(t)->task->wakeup(); };
        task->loop()->add_timer(this);
        task->suspend(h, this);
    }
    void await_resume() {
        task->check_cancel();
        if (cancelled) task->raise_cancelled();
    }
};
}  // namespace detail

// Python's asyncio.sleep: suspends the calling task for `delay` (a
// duration <= 0 only yields to the other ready tasks, as sleep(0)). Throws
// CancelledError if the task is cancelled meanwhile. Loop thread only.
template <class Rep, class Period>
detail::SleepAwaiter sleep(std::chrono::duration<Rep, Period> delay) {
    if (delay <= delay.zero()) return detail::SleepAwaiter(Clock::time_point{}, true);
    return detail::SleepAwaiter(detail::deadline_after(delay), false);
}
// Sleeps, then gives back `value` (Python's sleep(delay, result)).
template <class T, class Rep, class Period>
Task<T> sleep(std::chrono::duration<Rep, Period> delay, T value) {
    co_await sleep(delay);
    co_return value;
}

// ---- gather -----------------------------------------------------------------

// A result or an exception: what gather(..., return_exceptions) yields per
// task (Python puts the exception object in the list).
template <class T>
class Outcome {
public:
    explicit Outcome(T v) : v_(std::move(v)) {}
    explicit Outcome(std::exception_ptr e) : v_(std::move(e)) {}
    bool ok() const noexcept { return v_.index() == 0; }
    // The value; rethrows the exception if there is one.
    T& value() & {
        if (!ok()) std::rethrow_exception(std::get<1>(v_));
        return std::get<0>(v_);
    }
    T value() && {
        if (!ok()) std::rethrow_exception(std::get<1>(v_));
        return std::move(std::get<0>(v_));
    }
    std::exception_ptr exception() const noexcept { return ok() ? nullptr : std::get<1>(v_); }

private:
    std::variant<T, std::exception_ptr> v_;
};

// Tag for gather(..., return_exceptions): exceptions become results.
struct ReturnExceptions {};
inline constexpr ReturnExceptions return_exceptions{};

namespace detail {
template <class T>
void ensure_task(Task<T>& t) {
    if (!t.is_task()) t = create_task(std::move(t));
}
template <class T>
value_or_none_t<T> take_value(Task<T>& t) {
    if constexpr (std::is_void_v<T>) {
        t.result();
        return None{};
    } else {
        return std::move(t).result();
    }
}
template <class T>
Outcome<value_or_none_t<T>> take_outcome(Task<T>& t) {
    if (t.cancelled()) return Outcome<value_or_none_t<T>>(t.promise()->make_cancelled_error());
    if (auto e = t.exception()) return Outcome<value_or_none_t<T>>(e);
    return Outcome<value_or_none_t<T>>(take_value(t));
}
// Waits as gather does. Gives the index of the first task to fail, in
// completion order (Python raises that one, not the first in argument
// order); throws CancelledError if the gather was cancelled.
inline Task<std::optional<std::size_t>> gather_wait(std::vector<TaskBase*> items, bool all) {
    WaitSet ws(std::move(items), {.when = all ? ReturnWhen::ALL_COMPLETED : ReturnWhen::FIRST_EXCEPTION,
                                  .cancelled_is_error = true,
                                  .cancel_children = true});
    co_await ws;
    if (ws.cancel_requested()) TaskBase::current()->raise_cancelled();
    co_return ws.first_error();
}
// Python's gather looks at every child's exception as it finishes (its
// done-callback calls fut.exception()), so none of them is ever reported as
// "never retrieved", not even those that fail after gather has raised.
template <class T>
void mark_retrieved(Task<T>& t) {
    if (t.done()) {
        if (!t.cancelled()) (void)t.exception();
        return;
    }
    t.add_done_callback([](Task<T>& self) {
        if (!self.cancelled()) (void)self.exception();
    });
}
}  // namespace detail

// Python's asyncio.gather over a range: runs every task concurrently and
// gives their values in input order. The first exception (a cancelled task
// counts as CancelledError) is thrown at once and the other tasks keep
// running, as in Python. Cancelling the awaiting task cancels every task.
template <class T>
Task<std::vector<value_or_none_t<T>>> gather(std::vector<Task<T>> tasks) {
    std::vector<detail::TaskBase*> items;
    items.reserve(tasks.size());
    for (auto& t : tasks) {
        detail::ensure_task(t);
        items.push_back(t.promise());
    }
    std::optional<std::size_t> failed;
    try {
        failed = co_await detail::gather_wait(std::move(items), false);
    } catch (...) {
        for (auto& t : tasks) detail::mark_retrieved(t);
        throw;
    }
    if (failed) {
        for (auto& t : tasks) detail::mark_retrieved(t);
        tasks[*failed].promise()->rethrow_if_failed();
    }
    std::vector<value_or_none_t<T>> out;
    out.reserve(tasks.size());
    for (auto& t : tasks) out.push_back(detail::take_value(t));
    co_return out;
}

// gather with return_exceptions: waits for every task; failures become
// Outcomes holding the exception.
template <class T>
Task<std::vector<Outcome<value_or_none_t<T>>>> gather(std::vector<Task<T>> tasks, ReturnExceptions) {
    std::vector<detail::TaskBase*> items;
    items.reserve(tasks.size());
    for (auto& t : tasks) {
        detail::ensure_task(t);
        items.push_back(t.promise());
    }
    try {
        co_await detail::gather_wait(std::move(items), true);
    } catch (...) {
        for (auto& t : tasks) detail::mark_retrieved(t);
        throw;
    }
    std::vector<Outcome<value_or_none_t<T>>> out;
    out.reserve(tasks.size());
    for (auto& t : tasks) out.push_back(detail::take_outcome(t));
    co_return out;
}

// Variadic gather: a tuple of the values, in argument order.
template <class... T>
Task<std::tuple<value_or_none_t<T>...>> gather(Task<T>... tasks) {
    (detail::ensure_task(tasks), ...);
    // (Not a braced list inside the co_await expression: g++ 12 rejects it.)
    std::vector<detail::TaskBase*> items;
    (items.push_back(tasks.promise()), ...);
    std::optional<std::size_t> failed;
    try {
        failed = co_await detail::gather_wait(std::move(items), false);
    } catch (...) {
        (detail::mark_retrieved(tasks), ...);
        throw;
    }
    if (failed) {
        (detail::mark_retrieved(tasks), ...);
        // The first failure in completion order, as the wait found it.
        std::size_t i = 0;
        (
            [&] {
                if (i++ == *failed) tasks.promise()->rethrow_if_failed();
            }(),
            ...);
    }
    co_return std::tuple<value_or_none_t<T>...>(detail::take_value(tasks)...);
}
template <class... T>
Task<std::tuple<Outcome<value_or_none_t<T>>...>> gather(ReturnExceptions, Task<T>... tasks) {
    (detail::ensure_task(tasks), ...);
    std::vector<detail::TaskBase*> items;
    (items.push_back(tasks.promise()), ...);
    try {
        co_await detail::gather_wait(std::move(items), true);
    } catch (...) {
        (detail::mark_retrieved(tasks), ...);
        throw;
    }
    co_return std::tuple<Outcome<value_or_none_t<T>>...>(detail::take_outcome(tasks)...);
}

// ---- wait -------------------------------------------------------------------

template <class T>
struct WaitResult {
    std::vector<Task<T>> done;
    std::vector<Task<T>> pending;
};

// Python's asyncio.wait: waits until `return_when` holds or `timeout`
// passes, and splits the tasks into done and pending. Never throws the
// tasks' exceptions and never cancels them (not even on timeout).
template <class T>
Task<WaitResult<T>> wait(std::vector<Task<T>> tasks,
                         std::optional<std::chrono::nanoseconds> timeout = std::nullopt,
                         ReturnWhen return_when = ALL_COMPLETED) {
    if (tasks.empty()) throw ValueError("asyncio::wait() needs at least one task");
    if (timeout && *timeout < timeout->zero()) timeout = timeout->zero();
    std::vector<detail::TaskBase*> items;
    for (auto& t : tasks) {
        detail::ensure_task(t);
        items.push_back(t.promise());
    }
    std::optional<Clock::time_point> deadline;
    if (timeout) deadline = detail::deadline_after(*timeout);
    detail::WaitSet ws(std::move(items), {.when = return_when, .deadline = deadline});
    co_await ws;
    WaitResult<T> r;
    for (auto& t : tasks) (t.done() ? r.done : r.pending).push_back(std::move(t));
    co_return r;
}

// ---- wait_for, shield -------------------------------------------------------

// Python's asyncio.wait_for: awaits `aw` for at most `timeout`. On timeout
// it cancels the task, waits for it to finish, and throws TimeoutError.
// Cancelling the awaiting task cancels `aw` too.
template <class T>
Task<T> wait_for(Task<T> aw, std::optional<std::chrono::nanoseconds> timeout) {
    detail::ensure_task(aw);
    if (!timeout) co_return co_await std::move(aw);
    if (*timeout <= timeout->zero()) {
        // Python's special case for timeout <= 0: the task is cancelled
        // before it can take a step (a deadline queued behind its first
        // step would let a coroutine run), then waited for.
        if (!aw.done()) {
            aw.cancel();
            std::vector<detail::TaskBase*> items(1, aw.promise());
            detail::WaitSet ws(std::move(items), {});
            co_await ws;
            if (aw.cancelled()) throw TimeoutError("the timeout expired");
        }
        co_return std::move(aw).result();
    }
    co_return co_await timeout_at(detail::deadline_after(*timeout), std::move(aw));
}
template <class T, class Rep, class Period>
Task<T> wait_for(Task<T> aw, std::chrono::duration<Rep, Period> timeout) {
    return wait_for(std::move(aw), std::optional<std::chrono::nanoseconds>(
                                       std::chrono::ceil<std::chrono::nanoseconds>(timeout)));
}

namespace detail {
// Waits for a task without passing cancellation down.
struct ShieldAwaiter : Suspension, DoneNode {
    TaskBase* inner;
    TaskBase* task = nullptr;
    bool cancelled = false;
    explicit ShieldAwaiter(TaskBase* t) noexcept : inner(t) {}
    ShieldAwaiter(const ShieldAwaiter&) = delete;
    ~ShieldAwaiter() { inner->remove_done_node(this); }
    bool await_ready() const noexcept { return inner->done(); }
    void await_suspend(std::coroutine_handle<> h) {
        task = TaskBase::current();
        DoneNode::fire = [](DoneNode* n) noexcept { static_cast<ShieldAwaiter*>(n)->task->wakeup(); };
        Suspension::cancel = [](Suspension* s, const std::string*) noexcept {
            auto* self = static_cast<ShieldAwaiter*>(s);
            self->inner->remove_done_node(self);
            self->cancelled = true;
            self->task->wakeup();
            return true;
        };
        inner->add_done_node(this);
        task->suspend(h, this);
    }
    void await_resume() {
        if (task) task->check_cancel();
        if (cancelled) task->raise_cancelled();
    }
};
}  // namespace detail

// Python's asyncio.shield: awaits `aw`, but cancelling the awaiting task
// only ends the wait (with CancelledError); `aw` keeps running.
template <class T>
Task<T> shield(Task<T> aw) {
    detail::ensure_task(aw);
    try {
        co_await detail::ShieldAwaiter(aw.promise());
    } catch (const CancelledError&) {
        // Python marks the inner exception as retrieved once the outer is
        // cancelled: nobody can look at it any more.
        aw.add_done_callback([](Task<T>& t) {
            if (!t.cancelled()) (void)t.exception();
        });
        throw;
    }
    co_return std::move(aw).result();
}

// ---- as_completed -----------------------------------------------------------

// Python's asyncio.as_completed: the tasks' results in the order they
// finish. `co_await next()` gives the next value or throws that task's
// exception (TimeoutError once `timeout` from the call has passed);
// `co_await next_task()` gives the finished task itself (3.13's form).
template <class T>
class AsCompleted {
public:
    AsCompleted(std::vector<Task<T>> tasks, std::optional<std::chrono::nanoseconds> timeout)
        : st_(std::make_shared<State>()) {
        for (auto& t : tasks) detail::ensure_task(t);
        State& st = *st_;
        st.tasks = std::move(tasks);
        if (timeout) st.deadline = detail::deadline_after(*timeout);
        // Each task records itself in `finished` as it completes, so the
        // order given out is the completion order even for tasks finishing
        // in one loop iteration (as Python's _on_completion callbacks). The
        // capacity is reserved: fire() never allocates.
        st.finished.reserve(st.tasks.size());
        st.nodes = std::make_unique<Node[]>(st.tasks.size());
        for (std::size_t i = 0; i < st.tasks.size(); ++i) {
            if (st.tasks[i].done()) {
                st.finished.push_back(i);
                continue;
            }
            Node& n = st.nodes[i];
            n.st = &st;
            n.index = i;
            n.fire = [](detail::DoneNode* d) noexcept {
                auto* node = static_cast<Node*>(d);
                node->st->finished.push_back(node->index);
            };
            st.tasks[i].promise()->add_done_node(&n);
        }
    }

    bool has_next() const noexcept { return st_->yielded < st_->tasks.size(); }
    std::size_t size() const noexcept { return st_->tasks.size(); }

    Task<Task<T>> next_task() {
        auto st = st_;
        if (st->yielded >= st->tasks.size()) throw RuntimeError("as_completed: no tasks left");
        for (;;) {
            if (st->yielded < st->finished.size()) co_return st->tasks[st->finished[st->yielded++]];
            if (st->deadline && Clock::now() >= *st->deadline) throw TimeoutError("as_completed() timed out");
            std::vector<detail::TaskBase*> items;
            for (auto& t : st->tasks) {
                if (!t.done()) items.push_back(t.promise());
            }
            detail::WaitSet ws(std::move(items), {.when = FIRST_COMPLETED, .deadline = st->deadline});
            co_await ws;
        }
    }
    Task<value_or_none_t<T>> next() {
        Task<T> t = co_await next_task();
        co_return detail::take_value(t);
    }

private:
    struct State;
    struct Node : detail::DoneNode {
        State* st = nullptr;
        std::size_t index = 0;
    };
    struct State {
        std::vector<Task<T>> tasks;
        std::unique_ptr<Node[]> nodes;
        std::vector<std::size_t> finished;  // indices, in completion order
        std::optional<Clock::time_point> deadline;
        std::size_t yielded = 0;
        State() = default;
        State(const State&) = delete;
        ~State() {
            if (!nodes) return;
            for (std::size_t i = 0; i < tasks.size(); ++i) tasks[i].promise()->remove_done_node(&nodes[i]);
        }
    };
    std::shared_ptr<State> st_;
};

template <class T>
AsCompleted<T> as_completed(std::vector<Task<T>> tasks,
                            std::optional<std::chrono::nanoseconds> timeout = std::nullopt) {
    return AsCompleted<T>(std::move(tasks), timeout);
}

}  // namespace concur::asyncio
