// concur::mpi::MPIPoolExecutor and MPICommExecutor: mpi4py.futures for C++.
// The executor interface of futures::ProcessPoolExecutor -- submit, map,
// shutdown, RAII -- with the calls run on other MPI ranks.
//
//   int main() {
//       concur::mpi::freeze_support();               // spawned workers stop here
//       concur::mpi::MPIPoolExecutor ex{{.max_workers = 2}};
//       auto f = ex.submit(cpu_bound, 35);           // futures::Future<int>
//       for (int r : ex.map(cpu_bound, inputs)) ...
//   }
//
//   // under `mpirun -n 3`: rank 0 is the client, ranks 1 and 2 serve
//   concur::mpi::MPICommExecutor ex(MPI_COMM_WORLD, 0);
//   if (ex) { ... ex.submit(...) ... }               // only on the root
//
// What crosses: exactly what crosses to a ProcessPoolExecutor (concur::wire):
// a plain function or captureless lambda, found in the other rank by its
// offset in the same binary, and arguments/results that wire can serialize.
// Descriptor-backed values (Pipe connections, process-shared locks,
// SharedMemory) cannot cross MPI: wire::EncodeError at submit.
#pragma once

#include "concur/mpi/detail/mpi_c.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "concur/futures/future.hpp"
#include "concur/mpi/detail/engine.hpp"
#include "concur/mpi/map_result.hpp"
#include "concur/mpi/runtime.hpp"
#include "concur/multiprocessing/initializer.hpp"

namespace concur::mpi {

// mpi4py's map() keywords. chunksize 0 (the default) chooses one as
// ProcessPoolExecutor does (at least 64 chunks); mpi4py's default is 1.
struct MapOptions {
    std::optional<std::chrono::nanoseconds> timeout = {};
    std::size_t chunksize = 0;
    // Yield results as their chunks complete instead of in input order.
    bool unordered = false;
};

namespace detail {
// submit/map/shutdown over an Engine; the executors differ only in how they
// get their workers.
template <class Self>
class ExecutorBase {
public:
    // Schedules fn(args...) on a worker rank; never blocks on a worker.
    // Throws BrokenMPIExecutor once broken, RuntimeError after shutdown (or
    // on a rank that is not MPICommExecutor's root), wire::EncodeError if an
    // argument cannot cross. Any thread.
    template <class F, class... Args>
    auto submit(F fn, Args&&... args) {
        return submit_call(engine(), fn, std::forward<Args>(args)...);
    }

    // mpi4py's map: every call submitted now, in chunks; a lazy range of the
    // results (see MapResult). Several ranges zip, stopping at the shortest.
    template <class F, std::ranges::input_range R, std::ranges::input_range... Rs>
    auto map(F fn, R&& range, Rs&&... ranges) {
        return map_with(MapOptions{}, fn, std::forward<R>(range), std::forward<Rs>(ranges)...);
    }
    template <class F, std::ranges::input_range R>
    auto map(F fn, R&& range, const MapOptions& opts) {
        return map_with(opts, fn, std::forward<R>(range));
    }
    template <class F, std::ranges::input_range R1, std::ranges::input_range R2>
    auto map(F fn, R1&& r1, R2&& r2, const MapOptions& opts) {
        return map_with(opts, fn, std::forward<R1>(r1), std::forward<R2>(r2));
    }

    // Python's shutdown(wait, cancel_futures). Idempotent. With wait, blocks
    // until every call has settled and the workers have been released.
    void shutdown(bool wait = true, bool cancel_futures = false) {
        if (auto* e = static_cast<Self*>(this)->engine_ptr()) e->shutdown(wait, cancel_futures);
    }

private:
    Engine& engine() {
        Engine* e = static_cast<Self*>(this)->engine_ptr();
        if (!e) throw RuntimeError("MPICommExecutor: only the root rank submits work (check `if (executor)`)");
        return *e;
    }
    template <class F, class... Rs>
    auto map_with(const MapOptions& opts, F fn, Rs&&... ranges) {
        auto deadline = opts.timeout ? concur::detail::Deadline(*opts.timeout) : concur::detail::Deadline();
        auto submitted = submit_map(engine(), fn, opts.chunksize, std::forward<Rs>(ranges)...);
        using V = typename decltype(submitted.chunks)::value_type::value_type::value_type;  // of Future<wire::PackedBulk<V>>
        return MapResult<V>(std::move(submitted.chunks), deadline, opts.unordered, submitted.items);
    }
};
}  // namespace detail

// MPIPoolExecutor's keywords.
struct MPIPoolOptions {
    // Worker ranks to spawn. Default: MPI_UNIVERSE_SIZE - 1 when the launcher
    // sets it above 1, else 1 (as mpi4py). Zero or less is a ValueError.
    std::optional<int> max_workers = {};
    // Runs on every worker before its first call; if it throws, the executor
    // is broken (BrokenMPIExecutor).
    multiprocessing::Initializer initializer = {};
    // The program the workers run (default: this binary, which must call
    // freeze_support() first) and its arguments.
    std::string command = {};
    std::vector<std::string> args = {};
    // MPI_Info keys for MPI_Comm_spawn (e.g. {"host", "node2"}, {"hostfile", "hosts"}).
    // Under Open MPI 4 the workers also get OMPI_MCA_mpi_yield_when_idle=0
    // through the "env" key, unless it is set already (docs/cluster.md).
    std::map<std::string, std::string> info = {};
};

// mpi4py.futures.MPIPoolExecutor: spawns its worker ranks with MPI_Comm_spawn
// when constructed. submit, map and shutdown may be called from any thread;
// the destructor is shutdown(wait = true).
class MPIPoolExecutor : public detail::ExecutorBase<MPIPoolExecutor> {
public:
    // Initializes MPI if needed and spawns the workers (blocks until they
    // have started). Throws ValueError for max_workers < 1 or an info key
    // or value that is empty or longer than MPI allows, BrokenMPIExecutor
    // if MPI cannot spawn them, wire::EncodeError for an initializer with
    // descriptor-backed arguments. Thread: any, but not concurrently with
    // another thread's first use of MPI.
    explicit MPIPoolExecutor(const MPIPoolOptions& options = {});
    ~MPIPoolExecutor() = default;  // the engine's destructor waits
    MPIPoolExecutor(const MPIPoolExecutor&) = delete;
    MPIPoolExecutor& operator=(const MPIPoolExecutor&) = delete;

    int max_workers() const noexcept { return engine_->size(); }

private:
    friend class detail::ExecutorBase<MPIPoolExecutor>;
    detail::Engine* engine_ptr() { return engine_.get(); }
    std::unique_ptr<detail::Engine> engine_;
};

// MPICommExecutor's keywords (beside the communicator and root).
struct MPICommOptions {
    multiprocessing::Initializer initializer = {};
};

// mpi4py.futures.MPICommExecutor for a program started as `mpirun -n N`: the
// constructor is collective over `comm`. On the root rank it returns an
// executor whose workers are the other N - 1 ranks; on every other rank it
// serves calls until the root's executor shuts down, then returns an
// executor that converts to false (mpi4py's `executor is None`) and refuses
// work. Throws ValueError if comm has fewer than 2 ranks or root is not one
// of them, RuntimeError if MPI cannot be initialized.
class MPICommExecutor : public detail::ExecutorBase<MPICommExecutor> {
public:
    explicit MPICommExecutor(MPI_Comm comm = MPI_COMM_WORLD, int root = 0, const MPICommOptions& options = {});
    ~MPICommExecutor() = default;
    MPICommExecutor(const MPICommExecutor&) = delete;
    MPICommExecutor& operator=(const MPICommExecutor&) = delete;

    // True on the root (the client), false on the ranks that served.
    explicit operator bool() const noexcept { return engine_ != nullptr; }
    // Worker ranks (comm's size - 1).
    int max_workers() const noexcept { return workers_; }

private:
    friend class detail::ExecutorBase<MPICommExecutor>;
    detail::Engine* engine_ptr() { return engine_.get(); }
    std::unique_ptr<detail::Engine> engine_;
    int workers_ = 0;
};

}  // namespace concur::mpi
