// The engine under ProcessPoolExecutor and Pool: worker processes, the calls
// queued for them, and the one thread per pool ("the result handler", as in
// Python) that reads outcomes, notices dead workers and starts new ones.
//
// A call is sent straight from the submitting thread when a worker has room
// and is idle; calls for a busy worker wait in its buffer and go together
// when its next outcome is read. How many calls a worker may hold adapts to
// how long they take (about 1 ms of queued work each), so tiny calls are
// batched by the thousand while long ones are spread across workers.
//
// While calls are short (under 200 us), a thread waiting in result() reads
// outcomes itself from each worker's mailbox (src/multiprocessing/mailbox.hpp)
// instead of sleeping until the handler wakes it: a round trip then wakes no
// one. It settles what it finds, so done-callbacks may run on that thread.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <iterator>
#include <memory>
#include <ranges>
#include <tuple>
#include <string>
#include <vector>

#include "concur/futures/future.hpp"
#include "concur/futures/executor.hpp"
#include "concur/multiprocessing/initializer.hpp"
#include "concur/wire/call.hpp"

namespace concur::multiprocessing::detail {

// One submitted call, as the engine sees it: how to settle its future.
class PendingCall {
public:
    virtual ~PendingCall() = default;
    // pending -> running; false if its future was cancelled (it is dropped).
    virtual bool start() noexcept = 0;
    // Settles from an encoded outcome (wire::run_call's reply).
    virtual void settle(const char* data, std::size_t size) noexcept = 0;
    virtual void fail(std::exception_ptr e) noexcept = 0;
    // Cancels a call that has not started (shutdown(cancel_futures)).
    virtual void cancel() noexcept = 0;
};

// A PendingCall that settles a futures::Promise<R>.
template <class R>
class PromiseCall final : public PendingCall {
public:
    PromiseCall() : future_(promise_.get_future()) { future_.state()->park_without_spinning(); }
    futures::Future<R> get_future() { return future_; }
    void cancel() noexcept override { future_.cancel(); }
    bool start() noexcept override { return promise_.set_running_or_notify_cancel(); }
    void settle(const char* data, std::size_t size) noexcept override {
        try {
            if constexpr (std::is_void_v<R>) {
                wire::decode_result<void>(data, size);
                promise_.set_result();
            } else {
                promise_.set_result(wire::decode_result<R>(data, size));
            }
        } catch (...) {
            fail(std::current_exception());
        }
    }
    void fail(std::exception_ptr e) noexcept override {
        try {
            promise_.set_exception(std::move(e));
        } catch (...) {  // already settled (e.g. cancelled): nothing to do
        }
    }

private:
    futures::Promise<R> promise_;
    futures::Future<R> future_;
};

struct PoolConfig {
    int workers = 1;
    std::string method;                 // start method
    std::string name_kind = "Process";  // "Process" (executor) or "PoolWorker" (Pool)
    Initializer initializer;
    std::uint64_t max_tasks_per_child = 0;
    bool start_now = false;             // Pool starts its workers at once
};

class WorkerPool {
public:
    // Starts the result handler; workers start with the first submit, or now
    // if config.start_now. Throws ValueError for workers < 1.
    explicit WorkerPool(PoolConfig config);
    // shutdown(wait = true).
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Queues a call (its encoded bytes and owned descriptors). Throws
    // futures::BrokenProcessPool if the pool is broken, RuntimeError after
    // shutdown. Never blocks on a worker. Any thread.
    void submit(std::unique_ptr<PendingCall> call, msgpack::sbuffer bytes, std::vector<int> fds);

    // No new calls; with cancel_futures, calls not yet running are cancelled.
    // With wait, blocks until every call has settled and every worker has
    // exited; without, that happens in the background. Idempotent.
    void shutdown(bool wait, bool cancel_futures);

    // Kills the workers now; calls not finished fail with CancelledError.
    // Blocks until the workers are reaped.
    void terminate();

    // The pids of the current workers (for tests and Python's _processes).
    std::vector<pid_t> pids() const;
    bool broken() const;
    int size() const noexcept { return workers_; }

    struct Core;

private:
    std::shared_ptr<Core> core_;
    int workers_;
};

// Duplicates descriptors borrowed by an encoder, so the call owns its own.
std::vector<int> dup_all(const std::vector<int>& borrowed);

// Runs one chunk of a map in the worker.
template <class Fn, class... A>
std::vector<futures::map_value_t<Fn, A&...>> run_chunk(wire::Function<Fn> f, std::vector<std::tuple<A...>>& items) {
    std::vector<futures::map_value_t<Fn, A&...>> out;
    out.reserve(items.size());
    for (auto& t : items) {
        if constexpr (std::is_void_v<decltype(std::apply(f.fn, t))>) {
            std::apply(f.fn, t);
            out.emplace_back();
        } else {
            out.push_back(std::apply(f.fn, t));
        }
    }
    return out;
}

template <class Fn, class... A>
futures::map_value_t<Fn, A&...> apply_types(std::tuple<A...>*);

template <class Fn, class... A>
auto submit_chunk(WorkerPool& pool, wire::Function<Fn> f, std::vector<std::tuple<A...>> items) {
    using V = futures::map_value_t<Fn, A&...>;
    msgpack::sbuffer bytes(256);  // a call is tens of bytes; the default 8 KiB costs more than sending it
    std::vector<int> borrowed;
    {
        wire::EncodeHandles scope(borrowed);
        wire::encode_call(bytes, &run_chunk<Fn, A...>, f, items);
    }
    auto call = std::make_unique<PromiseCall<std::vector<V>>>();
    auto fut = call->get_future();
    pool.submit(std::move(call), std::move(bytes), dup_all(borrowed));
    return fut;
}

// Encodes fn(args...) and submits it; the Future of its result. Throws what
// WorkerPool::submit throws, and wire::EncodeError.
template <class F, class... Args>
auto submit_call(WorkerPool& pool, F fn, Args&&... args) {
    static_assert(wire::require_sendable<F>);
    using R = wire::call_result_t<F, Args...>;
    msgpack::sbuffer bytes(256);  // a call is tens of bytes; the default 8 KiB costs more than sending it
    std::vector<int> borrowed;
    {
        wire::EncodeHandles scope(borrowed);
        wire::encode_call(bytes, fn, std::forward<Args>(args)...);
    }
    std::vector<int> fds = dup_all(borrowed);
    auto call = std::make_unique<PromiseCall<R>>();
    futures::Future<R> f = call->get_future();
    pool.submit(std::move(call), std::move(bytes), std::move(fds));
    return f;
}

// Where the chunks of n items end. chunksize 0 means automatic: at least 64
// chunks (4 per worker on bigger machines), of sizes that differ by at most
// one. Python's Pool.map makes ceil(n / 4w)-item chunks, which leaves one
// worker with most of a short list of slow calls (20 calls, 2 workers: 11 on
// one); 64 messages cost well under a millisecond when the calls are tiny.
inline std::vector<std::size_t> chunk_ends(std::size_t n, std::size_t chunksize, int workers) {
    std::vector<std::size_t> ends;
    if (chunksize == 0) {
        std::size_t chunks = std::min<std::size_t>(n, std::max<std::size_t>(64, 4 * static_cast<std::size_t>(workers)));
        for (std::size_t k = 1; k <= chunks; ++k) ends.push_back(k * n / chunks);
    } else {
        for (std::size_t i = chunksize; i < n + chunksize; i += chunksize) ends.push_back(std::min(i, n));
    }
    return ends;
}

// Submits fn(*t) for every argument tuple t, in chunks; the chunks' futures
// in order.
template <class F, class Tuple>
auto submit_tuples(WorkerPool& pool, F fn, std::size_t chunksize, std::vector<Tuple> items) {
    static_assert(wire::require_sendable<F>);
    using Fn = std::decay_t<F>;
    using V = decltype(apply_types<Fn>(static_cast<Tuple*>(nullptr)));
    std::vector<std::size_t> ends = chunk_ends(items.size(), chunksize, pool.size());
    std::vector<futures::Future<std::vector<V>>> futures;
    futures.reserve(ends.size());
    std::size_t begin = 0;
    for (std::size_t end : ends) {
        std::vector<Tuple> chunk(std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(begin)),
                                 std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(end)));
        futures.push_back(submit_chunk(pool, wire::Function<Fn>{fn}, std::move(chunk)));
        begin = end;
    }
    return futures;
}

// The same over zipped ranges (Python's map(fn, *iterables); stops at the
// shortest).
template <class F, class... Ranges>
auto submit_map(WorkerPool& pool, F fn, std::size_t chunksize, Ranges&&... ranges) {
    using Tuple = std::tuple<std::ranges::range_value_t<Ranges>...>;
    std::vector<Tuple> items;
    if constexpr ((std::ranges::sized_range<Ranges> && ...)) items.reserve(std::min({std::ranges::size(ranges)...}));
    auto its = std::make_tuple(std::ranges::begin(ranges)...);
    auto ends = std::make_tuple(std::ranges::end(ranges)...);
    auto any_end = [&]<std::size_t... I>(std::index_sequence<I...>) {
        return ((std::get<I>(its) == std::get<I>(ends)) || ...);
    };
    auto take = [&]<std::size_t... I>(std::index_sequence<I...>) {
        items.emplace_back(*std::get<I>(its)...);
        (++std::get<I>(its), ...);
    };
    constexpr auto idx = std::index_sequence_for<Ranges...>{};
    while (!any_end(idx)) take(idx);
    return submit_tuples(pool, fn, chunksize, std::move(items));
}

}  // namespace concur::multiprocessing::detail
