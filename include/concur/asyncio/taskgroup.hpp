// Python's asyncio.TaskGroup (3.11): structured concurrency. C++ has no
// `async with`, so the group's body is a coroutine that receives the group:
//
//   co_await asyncio::task_group([&](asyncio::TaskGroup& tg) -> asyncio::Task<> {
//       tg.create_task(fetch(a));
//       tg.create_task(fetch(b));
//       co_return;
//   });   // returns when both are done
//
// The first task that fails cancels its siblings and the body; the group
// then waits for all of them and throws ExceptionGroup with every error
// (CancelledErrors are not errors). If the awaiting task is cancelled from
// outside, the children are cancelled and CancelledError goes on.
#pragma once

#include <exception>
#include <list>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "concur/asyncio/task.hpp"

namespace concur::asyncio {

class TaskGroup {
public:
    TaskGroup();
    TaskGroup(const TaskGroup&) = delete;
    ~TaskGroup();

    // Schedules `coro` as a task of the group. Throws RuntimeError once the
    // group has finished or is shutting down after a failure.
    template <class T>
    Task<T> create_task(Task<T> coro) {
        check_open();
        Task<T> t = asyncio::create_task(std::move(coro));
        adopt(t.promise());
        return t;
    }
    template <class T>
    Task<T> create_task(Task<T> coro, std::string name) {
        Task<T> t = create_task(std::move(coro));
        t.set_name(std::move(name));
        return t;
    }

    // Python's __aexit__: waits for the children; throws as described
    // above. `body_error` is what the body threw, if anything.
    Task<> exit(std::exception_ptr body_error);

private:
    struct Child : detail::DoneNode {
        TaskGroup* group = nullptr;
        detail::TaskBase* task = nullptr;
        std::list<Child>::iterator self;
    };
    struct AllDone;

    void check_open() const;
    void adopt(detail::TaskBase* t);
    void on_child_done(Child& c) noexcept;
    void abort() noexcept;

    detail::TaskBase* parent_;
    std::list<Child> children_;
    std::vector<std::exception_ptr> errors_;
    detail::TaskBase* exit_waiter_ = nullptr;
    bool entered_ = true;
    bool exiting_ = false;
    bool aborting_ = false;
    bool parent_cancel_requested_ = false;
};

// Runs body(group) in the current task, then waits for the group's tasks.
// Returns the body's value. Throws ExceptionGroup, CancelledError, or
// RuntimeError outside a task.
template <class F>
    requires std::is_invocable_v<F&, TaskGroup&>
auto task_group(F body) -> std::invoke_result_t<F&, TaskGroup&> {
    using T = typename std::invoke_result_t<F&, TaskGroup&>::value_type;
    TaskGroup tg;
    std::exception_ptr err;
    if constexpr (std::is_void_v<T>) {
        try {
            co_await body(tg);
        } catch (...) {
            err = std::current_exception();
        }
        co_await tg.exit(err);
    } else {
        std::optional<T> v;
        try {
            v.emplace(co_await body(tg));
        } catch (...) {
            err = std::current_exception();
        }
        co_await tg.exit(err);
        co_return std::move(*v);
    }
}

}  // namespace concur::asyncio
