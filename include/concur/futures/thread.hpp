// concur::futures::ThreadPoolExecutor: Python's
// concurrent.futures.ThreadPoolExecutor on a work-stealing pool.
//
//   submit(f, args...) --> one allocation (future state + job + call)
//          --> injection stack / worker deque --> worker thread runs f
//          --> value or exception settles the Future --> callbacks, waiters
//
// There is no GIL: CPU-bound calls run in parallel on every worker.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "concur/detail/call_task.hpp"
#include "concur/detail/thread_pool_core.hpp"
#include "concur/futures/executor.hpp"
#include "concur/futures/future.hpp"

namespace concur::futures {

// Constructor options, as Python's keyword arguments:
//   ThreadPoolExecutor ex{{.max_workers = 5, .thread_name_prefix = "dl"}};
struct ThreadPoolOptions {
    // Default min(32, cores + 4), as Python 3.8+. Zero is a ValueError.
    std::optional<std::size_t> max_workers = {};
    // Worker threads are named "<prefix>_<n>" (default
    // "ThreadPoolExecutor-<k>"), visible to current_thread().name() and in
    // /proc/self/task/*/comm (truncated to 15 bytes there).
    std::string thread_name_prefix = {};
    // Runs at the start of each worker thread (Python's initializer with its
    // initargs: capture them). If it throws, the pool is broken: pending and
    // later futures fail with BrokenThreadPool.
    std::function<void()> initializer = {};
};

// Thread-safe: submit, map and shutdown may be called from any thread,
// including the pool's own workers (fork-join). The destructor is
// shutdown(wait = true).
class ThreadPoolExecutor {
public:
    explicit ThreadPoolExecutor(ThreadPoolOptions options = {})
        : core_(concur::detail::make_thread_pool_core(resolve(options.max_workers),
                                                      std::move(options.thread_name_prefix),
                                                      std::move(options.initializer))) {}
    ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
    ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;
    ~ThreadPoolExecutor() = default;  // the core's destructor joins the workers

    // Schedules fn(args...) and returns its Future. fn and args are copied
    // or moved into the job; any return type works (void, move-only).
    // Never blocks (it may start a worker thread). Throws RuntimeError after
    // shutdown() and BrokenThreadPool once an initializer failed.
    template <class F, class... A>
    auto submit(F&& fn, A&&... args) {
        using R = concur::detail::call_result_t<F, A...>;
        using Task = concur::detail::CallTask<R, F, A...>;
        auto* task = new Task(std::forward<F>(fn), std::forward<A>(args)...);
        Future<R> future(task);  // adopts the handle's reference
        try {
            concur::detail::submit_job(*core_, task);
        } catch (...) {
            task->abandon(nullptr);  // drops the queue's reference
            throw;
        }
        return future;
    }

    // Python's Executor.map: calls fn on every item (zipping several ranges
    // like Python's map), submitting them all now, and returns a lazy range
    // of results in input order. Iterating blocks for each result and throws
    // the call's exception, or TimeoutError past opts.timeout.
    template <class F, std::ranges::input_range R, std::ranges::input_range... Rs>
    auto map(F fn, R&& range, Rs&&... ranges) {
        return executor_map(*this, std::move(fn), MapOptions{}, std::forward<R>(range),
                            std::forward<Rs>(ranges)...);
    }
    template <class F, std::ranges::input_range R>
    auto map(F fn, R&& range, const MapOptions& opts) {
        return executor_map(*this, std::move(fn), opts, std::forward<R>(range));
    }
    template <class F, std::ranges::input_range R1, std::ranges::input_range R2>
    auto map(F fn, R1&& r1, R2&& r2, const MapOptions& opts) {
        return executor_map(*this, std::move(fn), opts, std::forward<R1>(r1),
                            std::forward<R2>(r2));
    }

    // Stops accepting work. Queued calls still run unless cancel_futures,
    // which cancels every call that has not started. With wait, blocks until
    // every worker has finished (called from one of this pool's own workers,
    // it does not wait for that worker). Idempotent; any thread.
    void shutdown(bool wait = true, bool cancel_futures = false) {
        concur::detail::shutdown(*core_, wait, cancel_futures);
    }

    std::size_t max_workers() const noexcept { return concur::detail::max_workers(*core_); }

    // Workers started so far (they start on demand, up to max_workers).
    std::size_t num_threads() const noexcept { return concur::detail::num_threads(*core_); }

    // Python's default: min(32, os.cpu_count() + 4).
    static std::size_t default_max_workers() noexcept {
        unsigned cores = std::thread::hardware_concurrency();
        return std::min<std::size_t>(32, (cores ? cores : 1) + 4);
    }

private:
    static std::size_t resolve(std::optional<std::size_t> n) {
        if (!n) return default_max_workers();
        if (*n == 0) throw ValueError("max_workers must be greater than 0");
        return *n;
    }
    concur::detail::ThreadPoolCorePtr core_;
};

static_assert(Executor<ThreadPoolExecutor>);

}  // namespace concur::futures
