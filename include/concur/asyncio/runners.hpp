// Python's asyncio.run and loop.run_until_complete.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <optional>
#include <utility>
#include <vector>

#include "concur/asyncio/loop.hpp"
#include "concur/asyncio/task.hpp"
#include "concur/asyncio/tasks.hpp"

namespace concur::asyncio {

namespace detail {
// Cancels every task left on the loop and runs it until they finish,
// reporting the ones that failed (Python's _cancel_all_tasks).
void cancel_all_tasks(EventLoop& loop);
// Stops the loop when the task finishes.
struct StopNode : DoneNode {
    EventLoop* loop = nullptr;
};
}  // namespace detail

// Runs the loop until `task` is done and returns its value (or throws its
// exception). Throws RuntimeError if the loop is running or closed, or if
// stop() ended the loop first. Blocks the calling thread.
template <class T>
T EventLoop::run_until_complete(Task<T> task) {
    if (is_closed()) throw RuntimeError("the event loop is closed");
    if (running_) throw RuntimeError("this event loop is already running");
    if (!task.is_task()) task.promise()->start_as_task(*this);
    detail::StopNode stop_node;
    if (task.done()) {
        stop();  // one iteration, then return (Python: the done-callback is call_soon'ed)
    } else {
        stop_node.loop = this;
        stop_node.fire = [](detail::DoneNode* n) noexcept { static_cast<detail::StopNode*>(n)->loop->stop(); };
        task.promise()->add_done_node(&stop_node);
    }
    try {
        run_forever();
    } catch (...) {
        task.promise()->remove_done_node(&stop_node);
        throw;
    }
    task.promise()->remove_done_node(&stop_node);
    if (!task.done()) throw RuntimeError("the event loop stopped before the task completed");
    return std::move(task).result();
}

struct RunOptions {
    // Which backend the loop uses (default: CONCUR_LOOP, else automatic).
    std::optional<LoopBackend> backend = {};
};

// Python's asyncio.run: makes a new loop, runs `main` as a task until it is
// done, cancels and awaits every task left, shuts the default executor
// down, closes the loop, and returns main's value or throws its exception.
// In the main thread, with SIGINT at its default, Ctrl-C cancels `main`
// and run() then throws KeyboardInterrupt. Throws RuntimeError if a loop is
// already running on this thread. Blocks the calling thread.
template <class T>
T run(Task<T> main, RunOptions options = {}) {
    if (detail::running_loop())
        throw RuntimeError("asyncio::run() cannot be called from a running event loop");
    EventLoop loop = options.backend ? EventLoop(*options.backend) : EventLoop();
    bool interrupted = false;
    struct sigaction current{};
    sigaction(SIGINT, nullptr, &current);
    bool handle_sigint = current.sa_handler == SIG_DFL && getpid() == gettid();
    Task<T> task = main;
    if (handle_sigint) {
        loop.add_signal_handler(SIGINT, [&] {
            interrupted = true;
            task.cancel();
        });
    }
    struct Finally {
        EventLoop& loop;
        bool sigint;
        ~Finally() {
            try {
                detail::cancel_all_tasks(loop);
            } catch (...) {
            }
            if (sigint) loop.remove_signal_handler(SIGINT);
            loop.close();
        }
    } finally{loop, handle_sigint};
    try {
        return loop.run_until_complete(std::move(main));
    } catch (const CancelledError&) {
        if (interrupted) throw KeyboardInterrupt();
        throw;
    }
}

}  // namespace concur::asyncio
