// The client side shared by MPIPoolExecutor and MPICommExecutor: the calls
// queued for the worker ranks and one thread (the "manager", as mpi4py.futures
// has) that makes every MPI call of the executor.
//
//   submit() --encode--> queue --manager--> [batch of calls] --MPI_Isend--> worker rank
//                                 |                                         (src/mpi/server.cpp)
//   Future <--settle-------- manager <--- [batch of outcomes] <--MPI_Recv---+
//
// A worker holds as many calls as make about 1 ms of work (from the times the
// workers report), so tiny calls travel by the thousand per message while long
// ones are spread across ranks.
#pragma once

#include "concur/mpi/detail/mpi_c.hpp"

#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "concur/futures/executor.hpp"
#include "concur/futures/future.hpp"
#include "concur/futures/wait.hpp"
#include "concur/multiprocessing/detail/worker_pool.hpp"
#include "concur/multiprocessing/initializer.hpp"
#include "concur/mpi/runtime.hpp"
#include "concur/wire/call.hpp"

namespace concur::mpi::detail {

using multiprocessing::detail::PendingCall;
using multiprocessing::detail::PromiseCall;

struct EngineConfig {
    // A communicator this engine owns from now on: an intercommunicator to
    // spawned workers (disconnected at the end) or a duplicate of the user's
    // intracommunicator (freed at the end).
    MPI_Comm comm = MPI_COMM_NULL;
    bool intercomm = false;
    std::vector<int> workers;  // the workers' ranks in comm (remote group for an intercomm)
    multiprocessing::Initializer initializer;
};

class Engine {
public:
    // Starts the manager thread. The initializer goes to every worker ahead
    // of its first call. Throws wire::EncodeError for an initializer whose
    // arguments are descriptor-backed (they cannot cross MPI).
    explicit Engine(EngineConfig config);
    // shutdown(wait = true).
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Queues an encoded call. Never blocks on a worker. Throws
    // BrokenMPIExecutor once broken, RuntimeError after shutdown. Any thread.
    void submit(std::unique_ptr<PendingCall> call, msgpack::sbuffer bytes);

    // No new calls; with cancel_futures, calls not yet sent to a worker are
    // cancelled before this returns. With wait, blocks until every call has
    // settled, the workers were told to exit and the communicator is released;
    // without, that happens on the manager thread. Idempotent. Any thread.
    void shutdown(bool wait, bool cancel_futures);

    int size() const noexcept { return workers_; }
    bool broken() const;

    struct Core;

private:
    std::shared_ptr<Core> core_;
    int workers_;
    std::thread thread_;  // the manager
};

// Encodes fn(args...) and submits it; the Future of its result. `reserve`:
// the encoded size expected (a call is tens of bytes, a map's chunk more).
template <class F, class... Args>
auto submit_call_sized(Engine& engine, std::size_t reserve, F fn, Args&&... args) {
    static_assert(wire::require_sendable<F>);
    using R = wire::call_result_t<F, Args...>;
    msgpack::sbuffer bytes(reserve);
    wire::encode_call(bytes, fn, std::forward<Args>(args)...);  // no EncodeHandles: descriptors cannot cross MPI
    auto call = std::make_unique<PromiseCall<R>>();
    futures::Future<R> f = call->get_future();
    engine.submit(std::move(call), std::move(bytes));
    return f;
}

// A map's chunk, encoding into `scratch` (kept warm across the chunks) and
// queuing an exact-size copy: the queued bytes of a map's chunks lie packed
// together instead of each in a buffer sized for the worst case, half empty,
// and fresh pages are what a large map costs most. The result, a
// wire::Bulk<V>, is received as a wire::PackedBulk<V>: the manager thread
// only copies its bytes, and MapResult decodes them where they are consumed.
template <class F, class... Args>
auto submit_map_chunk(Engine& engine, msgpack::sbuffer& scratch, F fn, Args&&... args) {
    static_assert(wire::require_sendable<F>);
    using R = wire::PackedBulk<typename wire::call_result_t<F, Args...>::value_type>;
    scratch.clear();
    wire::encode_call(scratch, fn, std::forward<Args>(args)...);
    msgpack::sbuffer bytes(scratch.size());
    bytes.write(scratch.data(), scratch.size());
    auto call = std::make_unique<PromiseCall<R>>();
    futures::Future<R> f = call->get_future();
    engine.submit(std::move(call), std::move(bytes));
    return f;
}

template <class F, class... Args>
auto submit_call(Engine& engine, F fn, Args&&... args) {
    return submit_call_sized(engine, 256, fn, std::forward<Args>(args)...);
}

// Runs one chunk of a single-range map in the worker. The items travel as a
// plain array (not an array of 1-tuples), and items and results of plain
// numbers as one block of bytes each (wire::Bulk): on a map of trivial calls,
// decoding an object per number was most of the work of the executor's
// manager thread and of each worker.
template <class Fn, class A>
wire::Bulk<futures::map_value_t<Fn, A&>> run_chunk1(wire::Function<Fn> f, wire::Bulk<A>& items) {
    wire::Bulk<futures::map_value_t<Fn, A&>> out;
    out.values.reserve(items.values.size());
    for (auto& item : items.values) {
        if constexpr (std::is_void_v<decltype(f.fn(item))>) {
            f.fn(item);
            out.values.emplace_back();
        } else {
            out.values.push_back(f.fn(item));
        }
    }
    return out;
}

// The zipped form's runner, with its results in bulk too.
template <class Fn, class... A>
wire::Bulk<futures::map_value_t<Fn, A&...>> run_chunk_zip(wire::Function<Fn> f,
                                                          std::vector<std::tuple<A...>>& items) {
    return {multiprocessing::detail::run_chunk<Fn, A...>(f, items)};
}

// The futures of a map's chunks, in order, and how many items they hold.
template <class V>
struct MapChunks {
    std::vector<futures::Future<wire::PackedBulk<V>>> chunks;
    std::size_t items = 0;
};

// Submits fn(item) for each item of one range, in chunks. A sized range is
// cut into chunks as it is read, with no copy of the whole range first: on a
// large map that copy's fresh pages cost more than the encoding.
template <class F, class R>
auto submit_map1(Engine& engine, F fn, std::size_t chunksize, R&& range) {
    static_assert(wire::require_sendable<F>);
    using Fn = std::decay_t<F>;
    using A = std::ranges::range_value_t<R>;
    using V = futures::map_value_t<Fn, A&>;
    MapChunks<V> out;
    msgpack::sbuffer scratch;
    auto submit_one = [&](wire::Bulk<A>& chunk) {  // encoded, not moved: its buffer serves the next chunk
        out.items += chunk.values.size();
        out.chunks.push_back(submit_map_chunk(engine, scratch, &run_chunk1<Fn, A>, wire::Function<Fn>{fn}, chunk));
    };
    if constexpr (std::ranges::sized_range<R>) {
        std::size_t n = static_cast<std::size_t>(std::ranges::size(range));
        std::vector<std::size_t> ends = multiprocessing::detail::chunk_ends(n, chunksize, engine.size());
        out.chunks.reserve(ends.size());
        auto it = std::ranges::begin(range);
        std::size_t begin = 0;
        wire::Bulk<A> chunk;
        for (std::size_t end : ends) {
            chunk.values.clear();
            chunk.values.reserve(end - begin);
            for (std::size_t i = begin; i < end; ++i, ++it) chunk.values.emplace_back(*it);
            submit_one(chunk);
            begin = end;
        }
    } else {
        std::vector<A> items;
        for (auto&& x : range) items.emplace_back(x);
        std::vector<std::size_t> ends = multiprocessing::detail::chunk_ends(items.size(), chunksize, engine.size());
        out.chunks.reserve(ends.size());
        std::size_t begin = 0;
        for (std::size_t end : ends) {
            wire::Bulk<A> chunk{std::vector<A>(std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(begin)),
                                               std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(end)))};
            submit_one(chunk);
            begin = end;
        }
    }
    return out;
}

// The zipped form (several ranges: fn(a, b, ...)).
template <class F, class... Ranges>
auto submit_map_zip(Engine& engine, F fn, std::size_t chunksize, Ranges&&... ranges) {
    static_assert(wire::require_sendable<F>);
    using Fn = std::decay_t<F>;
    using Tuple = std::tuple<std::ranges::range_value_t<Ranges>...>;
    using V = decltype(multiprocessing::detail::apply_types<Fn>(static_cast<Tuple*>(nullptr)));
    std::vector<Tuple> items;
    {
        auto its = std::make_tuple(std::ranges::begin(ranges)...);
        auto ends = std::make_tuple(std::ranges::end(ranges)...);
        auto step = [&]<std::size_t... I>(std::index_sequence<I...>) {
            if (((std::get<I>(its) == std::get<I>(ends)) || ...)) return false;
            items.emplace_back(*std::get<I>(its)...);
            (++std::get<I>(its), ...);
            return true;
        };
        while (step(std::index_sequence_for<Ranges...>{})) {
        }
    }
    std::vector<std::size_t> ends = multiprocessing::detail::chunk_ends(items.size(), chunksize, engine.size());
    MapChunks<V> out;
    out.items = items.size();
    auto& chunks = out.chunks;
    chunks.reserve(ends.size());
    msgpack::sbuffer scratch;
    std::size_t begin = 0;
    for (std::size_t end : ends) {
        std::vector<Tuple> chunk(std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(begin)),
                                 std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(end)));
        auto runner = &run_chunk_zip<Fn, std::ranges::range_value_t<Ranges>...>;
        chunks.push_back(submit_map_chunk(engine, scratch, runner, wire::Function<Fn>{fn}, std::move(chunk)));
        begin = end;
    }
    return out;
}

// map()'s submissions: fn(x) for each x of one range, or fn(a, b, ...) over
// zipped ranges, in chunks (see multiprocessing::detail::chunk_ends for
// chunksize 0); the chunks' futures, in order, and the number of items.
template <class F, class... Ranges>
auto submit_map(Engine& engine, F fn, std::size_t chunksize, Ranges&&... ranges) {
    if constexpr (sizeof...(Ranges) == 1) {
        return submit_map1(engine, fn, chunksize, std::forward<Ranges>(ranges)...);
    } else {
        return submit_map_zip(engine, fn, chunksize, std::forward<Ranges>(ranges)...);
    }
}

}  // namespace concur::mpi::detail
