// concur::futures::ProcessPoolExecutor: Python's
// concurrent.futures.ProcessPoolExecutor -- ThreadPoolExecutor's interface,
// with the calls run in worker processes.
//
//   int cpu_bound(int n);
//   futures::ProcessPoolExecutor ex{{.max_workers = 2}};
//   auto f = ex.submit(cpu_bound, 35);          // futures::Future<int>
//   for (int r : ex.map(cpu_bound, inputs)) ...
//
// What crosses a process: the function is a plain function or a captureless
// lambda (a capturing lambda or std::function is a compile-time error: pass
// the captured values as arguments), and the arguments and result are values
// concur::wire can serialize (also checked at compile time). If a worker dies
// -- killed, crashed, exit() inside a task -- every pending and running future
// fails with BrokenProcessPool and the executor refuses new work, as Python.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "concur/futures/executor.hpp"
#include "concur/futures/future.hpp"
#include "concur/multiprocessing/context.hpp"
#include "concur/multiprocessing/detail/worker_pool.hpp"
#include "concur/multiprocessing/initializer.hpp"

namespace concur::futures {

// Constructor options, as Python's keyword arguments:
//   ProcessPoolExecutor ex{{.max_workers = 4, .mp_context = multiprocessing::get_context("fork")}};
struct ProcessPoolOptions {
    // Default: cpu_count(). Zero is a ValueError.
    std::optional<int> max_workers = {};
    // The start method of the workers (default: the default context).
    std::optional<multiprocessing::Context> mp_context = {};
    // Runs in every worker before its first call (Python's initializer and
    // initargs). If it throws, the pool is broken.
    multiprocessing::Initializer initializer = {};
    // A worker exits after this many calls and a fresh one replaces it
    // (0: never). Python 3.11's max_tasks_per_child.
    std::uint64_t max_tasks_per_child = 0;
};

// Executor.map's keywords for processes. chunksize 0 (the default) chooses
// one as multiprocessing.Pool.map does (items / (4 x workers)), because one
// message per item is what makes Python's default slow.
struct ProcessMapOptions {
    std::optional<std::chrono::nanoseconds> timeout = {};
    std::size_t chunksize = 0;
};

// submit, map and shutdown may be called from any thread. The destructor is
// shutdown(wait = true).
class ProcessPoolExecutor {
public:
    explicit ProcessPoolExecutor(const ProcessPoolOptions& options = {}) : pool_(config(options)) {}
    ProcessPoolExecutor(const ProcessPoolExecutor&) = delete;
    ProcessPoolExecutor& operator=(const ProcessPoolExecutor&) = delete;
    ~ProcessPoolExecutor() = default;  // the pool's destructor waits

    // Schedules fn(args...) in a worker; never blocks on a worker (the first
    // call starts them). Throws BrokenProcessPool once broken, RuntimeError
    // after shutdown(), wire::EncodeError if an argument cannot be sent.
    template <class F, class... Args>
    auto submit(F fn, Args&&... args) {
        return multiprocessing::detail::submit_call(pool_, fn, std::forward<Args>(args)...);
    }

    // Python's Executor.map: every call submitted now, in chunks; a lazy range
    // of the results in input order (blocking for each). Several ranges zip.
    template <class F, std::ranges::input_range R, std::ranges::input_range... Rs>
    auto map(F fn, R&& range, Rs&&... ranges) {
        return map_with(ProcessMapOptions{}, fn, std::forward<R>(range), std::forward<Rs>(ranges)...);
    }
    template <class F, std::ranges::input_range R>
    auto map(F fn, R&& range, const ProcessMapOptions& opts) {
        return map_with(opts, fn, std::forward<R>(range));
    }
    template <class F, std::ranges::input_range R1, std::ranges::input_range R2>
    auto map(F fn, R1&& r1, R2&& r2, const ProcessMapOptions& opts) {
        return map_with(opts, fn, std::forward<R1>(r1), std::forward<R2>(r2));
    }

    // Python's shutdown(wait, cancel_futures). Idempotent. With wait, blocks
    // until every call has finished and the workers have exited.
    void shutdown(bool wait = true, bool cancel_futures = false) { pool_.shutdown(wait, cancel_futures); }

    int max_workers() const noexcept { return pool_.size(); }
    // The workers' pids (started on the first submit).
    std::vector<pid_t> worker_pids() const { return pool_.pids(); }

private:
    template <class F, class... Rs>
    auto map_with(const ProcessMapOptions& opts, F fn, Rs&&... ranges) {
        auto deadline = opts.timeout ? concur::detail::Deadline(*opts.timeout) : concur::detail::Deadline();
        auto chunks = multiprocessing::detail::submit_map(pool_, fn, opts.chunksize, std::forward<Rs>(ranges)...);
        using V = typename decltype(chunks)::value_type::value_type::value_type;
        return MapResult<V>(std::move(chunks), deadline);
    }

    static multiprocessing::detail::PoolConfig config(const ProcessPoolOptions& o) {
        multiprocessing::detail::PoolConfig c;
        if (o.max_workers && *o.max_workers <= 0) throw ValueError("max_workers must be greater than 0");
        c.workers = o.max_workers.value_or(multiprocessing::cpu_count());
        c.method = o.mp_context ? o.mp_context->start_method() : multiprocessing::get_start_method();
        c.name_kind = "Process";
        c.initializer = o.initializer;
        c.max_tasks_per_child = o.max_tasks_per_child;
        return c;
    }

    multiprocessing::detail::WorkerPool pool_;
};

}  // namespace concur::futures
