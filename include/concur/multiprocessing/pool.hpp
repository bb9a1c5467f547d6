// Python's multiprocessing.Pool and AsyncResult.
//
//   multiprocessing::Pool pool{{.processes = 4, .initializer = set_global_session}};
//   std::vector<int> squares = pool.map(square, numbers);
//   auto r = pool.apply_async(download, url);   // AsyncResult<std::string>
//   std::string page = r.get(10s);
//
// The same engine as futures::ProcessPoolExecutor (and the same rules for
// what may cross a process). Unlike Python's Pool, a worker that dies in a
// task does not leave that task's result pending forever: every unfinished
// result fails with futures::BrokenProcessPool and the pool refuses new work.
// The destructor is terminate(), as Python's `with Pool() as pool:` exit.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <ranges>
#include <vector>

#include "concur/futures/executor.hpp"
#include "concur/futures/future.hpp"
#include "concur/futures/wait.hpp"
#include "concur/multiprocessing/context.hpp"
#include "concur/multiprocessing/detail/worker_pool.hpp"
#include "concur/multiprocessing/initializer.hpp"

namespace concur::multiprocessing {

// Python's AsyncResult (apply_async, map_async, starmap_async).
template <class T>
class AsyncResult {
public:
    explicit AsyncResult(futures::Future<T> f) : f_(std::move(f)) {}

    // Blocks for the result (forever, or at most `timeout`); throws the
    // call's exception, TimeoutError, or BrokenProcessPool. Any thread.
    decltype(auto) get() { return f_.result(); }
    template <class Rep, class Period>
    decltype(auto) get(std::chrono::duration<Rep, Period> timeout) {
        return f_.result(timeout);
    }
    // Blocks until ready (or the timeout passes); never throws the call's error.
    void wait() { f_.wait(); }
    template <class Rep, class Period>
    void wait(std::chrono::duration<Rep, Period> timeout) {
        f_.wait(timeout);
    }
    bool ready() const { return f_.done(); }
    // Whether it finished without an exception; ValueError if not ready (Python).
    bool successful() {
        if (!f_.done()) throw ValueError("AsyncResult is not ready");
        return !f_.cancelled() && !f_.exception();
    }
    futures::Future<T> future() const { return f_; }

private:
    mutable futures::Future<T> f_;
};

// imap_unordered's range: results as their chunks finish.
template <class V>
class UnorderedResults {
public:
    explicit UnorderedResults(std::vector<futures::Future<std::vector<V>>> chunks)
        : completed_(std::make_unique<futures::AsCompleted<std::vector<V>>>(std::move(chunks),
                                                                            concur::detail::Deadline())) {}
    class iterator {
    public:
        using value_type = V;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(UnorderedResults* o) : o_(o) { o_->advance(); }
        V& operator*() const { return o_->chunk_[o_->pos_]; }
        iterator& operator++() {
            o_->advance();
            return *this;
        }
        void operator++(int) { o_->advance(); }
        friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

    private:
        bool at_end() const { return !o_ || o_->done_; }
        UnorderedResults* o_ = nullptr;
    };
    // Blocks for the first result; iteration throws a call's exception.
    iterator begin() { return iterator(this); }
    std::default_sentinel_t end() const noexcept { return {}; }
    std::vector<V> list() {
        std::vector<V> out;
        for (auto& v : *this) out.push_back(std::move(v));
        return out;
    }

private:
    void advance() {
        if (started_) ++pos_;
        if (!started_) {
            started_ = true;
            it_ = completed_->begin();
        }
        while (pos_ >= chunk_.size()) {
            if (fetched_) ++it_;
            if (it_ == std::default_sentinel) {
                done_ = true;
                return;
            }
            fetched_ = true;
            chunk_ = (*it_).result();
            pos_ = 0;
        }
    }
    std::unique_ptr<futures::AsCompleted<std::vector<V>>> completed_;
    typename futures::AsCompleted<std::vector<V>>::iterator it_;
    std::vector<V> chunk_;
    std::size_t pos_ = 0;
    bool started_ = false, fetched_ = false, done_ = false;
};

struct PoolOptions {
    // Default: cpu_count().
    std::optional<int> processes = {};
    Initializer initializer = {};
    // Python's maxtasksperchild (0: never replace a worker).
    std::uint64_t maxtasksperchild = 0;
    // The start method (default: the default context).
    std::optional<Context> context = {};
};

class Pool {
public:
    explicit Pool(const PoolOptions& options = {}) : pool_(config(options)) {}
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;
    ~Pool() { terminate(); }

    // Python's apply: runs fn(args...) in a worker and blocks for the result.
    template <class F, class... Args>
    auto apply(F fn, Args&&... args) {
        return apply_async(fn, std::forward<Args>(args)...).get();
    }
    // Never blocks. Throws ValueError once closed or terminated.
    template <class F, class... Args>
    auto apply_async(F fn, Args&&... args) {
        check_running();
        return AsyncResult(detail::submit_call(pool_, fn, std::forward<Args>(args)...));
    }

    // Python's map: blocks for every result, in order. chunksize 0 is
    // Python's automatic choice.
    template <class F, std::ranges::input_range R>
    auto map(F fn, R&& items, std::size_t chunksize = 0) {
        return map_async(fn, std::forward<R>(items), chunksize).get();
    }
    template <class F, std::ranges::input_range R>
    auto map_async(F fn, R&& items, std::size_t chunksize = 0) {
        check_running();
        return AsyncResult(concat(detail::submit_map(pool_, fn, chunksize, std::forward<R>(items))));
    }
    // Python's starmap: each item is a tuple of arguments.
    template <class F, std::ranges::input_range R>
    auto starmap(F fn, R&& items, std::size_t chunksize = 0) {
        return starmap_async(fn, std::forward<R>(items), chunksize).get();
    }
    template <class F, std::ranges::input_range R>
    auto starmap_async(F fn, R&& items, std::size_t chunksize = 0) {
        check_running();
        using Tuple = std::ranges::range_value_t<R>;
        std::vector<Tuple> tuples(std::ranges::begin(items), std::ranges::end(items));
        return AsyncResult(concat(detail::submit_tuples(pool_, fn, chunksize, std::move(tuples))));
    }
    // Python's imap: a lazy range of the results in order (chunksize 1 by
    // default, as Python).
    template <class F, std::ranges::input_range R>
    auto imap(F fn, R&& items, std::size_t chunksize = 1) {
        check_running();
        auto chunks = detail::submit_map(pool_, fn, chunksize, std::forward<R>(items));
        using V = typename decltype(chunks)::value_type::value_type::value_type;
        return futures::MapResult<V>(std::move(chunks), concur::detail::Deadline());
    }
    // Python's imap_unordered: results in the order they finish.
    template <class F, std::ranges::input_range R>
    auto imap_unordered(F fn, R&& items, std::size_t chunksize = 1) {
        check_running();
        auto chunks = detail::submit_map(pool_, fn, chunksize, std::forward<R>(items));
        using V = typename decltype(chunks)::value_type::value_type::value_type;
        return UnorderedResults<V>(std::move(chunks));
    }

    // No new work; the workers exit once what was submitted is done. Never blocks.
    void close() {
        closed_ = true;
        pool_.shutdown(false, false);
    }
    // Kills the workers now; unfinished results fail with CancelledError.
    // Blocks until they are reaped (promptly).
    void terminate() {
        closed_ = true;
        pool_.terminate();
    }
    // Waits for the workers to exit; ValueError before close() or terminate().
    void join() {
        if (!closed_) throw ValueError("Pool is still running");
        pool_.shutdown(true, false);
    }
    std::vector<pid_t> worker_pids() const { return pool_.pids(); }

private:
    void check_running() const {
        if (closed_) throw ValueError("Pool not running");
    }

    // One future for a map's chunks, settled when the last one is.
    template <class V>
    static futures::Future<std::vector<V>> concat(std::vector<futures::Future<std::vector<V>>> chunks) {
        struct Join {
            futures::Promise<std::vector<V>> promise;
            std::vector<futures::Future<std::vector<V>>> chunks;
            std::atomic<std::size_t> left{0};
        };
        auto join = std::make_shared<Join>();
        join->chunks = std::move(chunks);
        join->left = join->chunks.size();
        auto result = join->promise.get_future();
        if (join->chunks.empty()) {
            join->promise.set_result();
            return result;
        }
        for (auto& c : join->chunks)
            c.add_done_callback([join] {
                if (join->left.fetch_sub(1) != 1) return;
                std::vector<V> all;
                try {
                    for (auto& c : join->chunks) {
                        auto& part = c.result();
                        all.insert(all.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
                    }
                    join->promise.set_result(std::move(all));
                } catch (...) {
                    join->promise.set_exception(std::current_exception());
                }
            });
        return result;
    }

    static detail::PoolConfig config(const PoolOptions& o) {
        detail::PoolConfig c;
        if (o.processes && *o.processes < 1) throw ValueError("Number of processes must be at least 1");
        c.workers = o.processes.value_or(cpu_count());
        c.method = o.context ? o.context->start_method() : get_start_method();
        c.name_kind = "PoolWorker";
        c.initializer = o.initializer;
        c.max_tasks_per_child = o.maxtasksperchild;
        c.start_now = true;
        return c;
    }

    detail::WorkerPool pool_;
    bool closed_ = false;
};

}  // namespace concur::multiprocessing
