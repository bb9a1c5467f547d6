// How each executor gets its workers: MPIPoolExecutor spawns them,
// MPICommExecutor takes the other ranks of a communicator.
#include "concur/mpi/detail/mpi_c.hpp"
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "concur/mpi/executor.hpp"
#include "protocol.hpp"

namespace concur::mpi {

namespace {

std::string own_binary() {
    char path[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) throw RuntimeError("concur::mpi: cannot find this program's binary (/proc/self/exe): name it in "
                                   "MPIPoolOptions::command");
    return std::string(path, static_cast<std::size_t>(n));
}

int default_workers() {
    std::lock_guard lock(detail::mpi_mutex());
    int* universe = nullptr;
    int flag = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_UNIVERSE_SIZE, &universe, &flag);
    int world = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    if (flag && universe && *universe > world) return *universe - world;
    return 1;
}

// Open MPI before 5, which takes a spawn's environment in the "env" info
// key (5 still does, with a deprecation warning on every spawn).
bool open_mpi_before_5() {
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    std::string v(version, static_cast<std::size_t>(length));
    const std::string prefix = "Open MPI v";
    return v.rfind(prefix, 0) == 0 && v.size() > prefix.size() && v[prefix.size()] >= '1' &&
           v[prefix.size()] <= '4';
}

// The spawn's info keys: the user's, and, unless the user chose otherwise,
// mpi_yield_when_idle off in the workers. Open MPI turns it on when ranks
// outnumber cores, and then every MPI_Iprobe that finds nothing calls
// sched_yield(); a worker only ever probes from its polling loop, which
// sleeps on its own (backoff.hpp), so each of those yields is a context
// switch spent for nothing -- several per look at the wire, taken from the
// rank that is computing. Measured: unchunked maps 48 -> 42 ms.
std::map<std::string, std::string> spawn_info(const MPIPoolOptions& o) {
    std::map<std::string, std::string> info = o.info;
    const char* kYield = "OMPI_MCA_mpi_yield_when_idle";
    if (!open_mpi_before_5() || std::getenv(kYield) != nullptr) return info;
    std::string env = info["env"];
    if (env.find(kYield) != std::string::npos) return o.info;
    if (!env.empty() && env.back() != '\n') env += '\n';
    env += std::string(kYield) + "=0";
    if (env.size() > MPI_MAX_INFO_VAL) return o.info;  // no room left beside the user's: theirs as they are
    info["env"] = env;
    return info;
}

// MPI_Info_set refuses an empty key or value and longer ones than MPI allows,
// and reports it on MPI_COMM_WORLD, whose handler aborts the job by default:
// a typed error here instead.
void check_info(const std::map<std::string, std::string>& info) {
    for (const auto& [k, v] : info) {
        if (k.empty() || k.size() > MPI_MAX_INFO_KEY)
            throw ValueError("MPIPoolOptions::info: a key must have 1 to " + std::to_string(MPI_MAX_INFO_KEY) +
                             " characters (got \"" + k.substr(0, 40) + "\")");
        if (v.empty() || v.size() > MPI_MAX_INFO_VAL)
            throw ValueError("MPIPoolOptions::info[\"" + k + "\"]: a value must have 1 to " +
                             std::to_string(MPI_MAX_INFO_VAL) + " characters (got " + std::to_string(v.size()) +
                             "); leave the key out rather than giving it an empty value");
    }
}

// Spawns `n` copies of the command; the intercommunicator to them.
MPI_Comm spawn(const MPIPoolOptions& o, int n) {
    std::string command = o.command.empty() ? own_binary() : o.command;
    std::vector<char*> argv;
    std::vector<std::string> args = o.args;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::lock_guard lock(detail::mpi_mutex());
    MPI_Info info = MPI_INFO_NULL;
    std::map<std::string, std::string> keys = spawn_info(o);
    if (!keys.empty()) {
        MPI_Info_create(&info);
        for (const auto& [k, v] : keys) MPI_Info_set(info, k.c_str(), v.c_str());
    }
    // Errors come back as codes here, whatever handler the program set on
    // MPI_COMM_SELF; it is put back afterwards.
    MPI_Errhandler previous;
    MPI_Comm_get_errhandler(MPI_COMM_SELF, &previous);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    MPI_Comm inter = MPI_COMM_NULL;
    std::vector<int> codes(static_cast<std::size_t>(n), MPI_SUCCESS);
    int rc = MPI_Comm_spawn(command.c_str(), argv.data(), n, info, 0, MPI_COMM_SELF, &inter, codes.data());
    MPI_Comm_set_errhandler(MPI_COMM_SELF, previous);
    MPI_Errhandler_free(&previous);
    if (info != MPI_INFO_NULL) MPI_Info_free(&info);
    int bad = rc;
    for (int c : codes)
        if (c != MPI_SUCCESS) bad = c;
    if (bad != MPI_SUCCESS)
        throw BrokenMPIExecutor("concur::mpi: MPI_Comm_spawn of " + std::to_string(n) + " workers (" + command +
                                ") failed: " + detail::error_string(bad) +
                                " (more workers than slots needs oversubscription: see docs/cluster.md)");
    MPI_Comm_set_errhandler(inter, MPI_ERRORS_RETURN);
    return inter;
}

}  // namespace

MPIPoolExecutor::MPIPoolExecutor(const MPIPoolOptions& o) {
    if (o.max_workers && *o.max_workers <= 0) throw ValueError("max_workers must be greater than 0");
    check_info(o.info);
    if (o.initializer && !o.initializer.fds().empty())
        throw wire::EncodeError("concur::mpi: an initializer argument backed by a descriptor (Pipe, Lock, "
                                "SharedMemory) cannot cross MPI: pass plain values");
    init();
    int n = o.max_workers ? *o.max_workers : default_workers();
    detail::EngineConfig c;
    c.comm = spawn(o, n);
    c.intercomm = true;
    for (int r = 0; r < n; ++r) c.workers.push_back(r);
    c.initializer = o.initializer;
    engine_ = std::make_unique<detail::Engine>(std::move(c));
}

MPICommExecutor::MPICommExecutor(MPI_Comm comm, int root, const MPICommOptions& o) {
    init();
    int size = 0, rank = 0;
    MPI_Comm dup = MPI_COMM_NULL;
    {
        std::lock_guard lock(detail::mpi_mutex());
        if (comm == MPI_COMM_NULL) throw ValueError("MPICommExecutor: the communicator is MPI_COMM_NULL");
        int inter = 0;
        MPI_Comm_test_inter(comm, &inter);
        if (inter) throw ValueError("MPICommExecutor: pass an intracommunicator (e.g. MPI_COMM_WORLD)");
        MPI_Comm_size(comm, &size);
        MPI_Comm_rank(comm, &rank);
        if (root < 0 || root >= size)
            throw ValueError("MPICommExecutor: root " + std::to_string(root) + " is not a rank of a communicator of " +
                             std::to_string(size));
        if (size < 2)
            throw ValueError("MPICommExecutor: the communicator has 1 rank and so no worker: start the program with "
                             "mpirun -n 2 or more");
        // A private communicator: the executor's messages never match the
        // program's own, and errors come back as codes.
        int rc = MPI_Comm_dup(comm, &dup);
        if (rc != MPI_SUCCESS) throw BrokenMPIExecutor("concur::mpi: MPI_Comm_dup failed: " + detail::error_string(rc));
        MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
    }
    workers_ = size - 1;
    if (rank == root) {
        if (o.initializer && !o.initializer.fds().empty()) {
            // The workers are already waiting for calls: release them first.
            detail::EngineConfig c{dup, false, {}, {}};
            for (int r = 0; r < size; ++r)
                if (r != root) c.workers.push_back(r);
            detail::Engine release(std::move(c));
            throw wire::EncodeError("concur::mpi: an initializer argument backed by a descriptor (Pipe, Lock, "
                                    "SharedMemory) cannot cross MPI: pass plain values");
        }
        detail::EngineConfig c;
        c.comm = dup;
        c.intercomm = false;
        for (int r = 0; r < size; ++r)
            if (r != root) c.workers.push_back(r);
        c.initializer = o.initializer;
        engine_ = std::make_unique<detail::Engine>(std::move(c));
        return;
    }
    if (detail::serve(dup, root)) {
        std::lock_guard lock(detail::mpi_mutex());
        MPI_Comm_free(&dup);
    } else {
        std::fprintf(stderr, "concur::mpi: rank %d: an MPI call failed while serving MPICommExecutor's root\n", rank);
    }
}

}  // namespace concur::mpi
