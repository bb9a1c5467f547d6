// Initializing and finalizing MPI, and the entry of a spawned worker.
#include "concur/mpi/runtime.hpp"

#include "concur/mpi/detail/mpi_c.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "protocol.hpp"

namespace concur::mpi {

namespace detail {

std::mutex& mpi_mutex() {
    static std::mutex* m = new std::mutex();  // never destroyed: used until exit
    return *m;
}

std::string error_string(int code) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
    return std::string(text, static_cast<std::size_t>(length));
}

}  // namespace detail

namespace {

std::atomic<bool> g_freeze_support{false};
std::atomic<bool> g_ready{false};

void finalize_at_exit() {
    std::lock_guard lock(detail::mpi_mutex());
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}

// A process spawned by MPIPoolExecutor: serve the parent, then leave. Exit
// status 0 unless MPI failed: Open MPI aborts the whole job when a spawned
// rank exits with another status.
[[noreturn]] void run_spawned_worker(MPI_Comm parent) {
    {
        std::lock_guard lock(detail::mpi_mutex());
        MPI_Comm_set_errhandler(parent, MPI_ERRORS_RETURN);
    }
    bool ok = detail::serve(parent, 0);
    {
        std::lock_guard lock(detail::mpi_mutex());
        if (ok) MPI_Comm_disconnect(&parent);
    }
    std::exit(ok ? 0 : 1);  // atexit finalizes MPI
}

MPI_Comm initialize() {
    static std::mutex init_mutex;
    std::lock_guard once(init_mutex);
    std::lock_guard lock(detail::mpi_mutex());
    int initialized = 0;
    MPI_Initialized(&initialized);
    int provided = 0;
    if (!initialized) {
        int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
        if (rc != MPI_SUCCESS)
            throw RuntimeError("concur::mpi: MPI_Init_thread failed: " + detail::error_string(rc) +
                               " (run the program under mpirun, or check the Open MPI installation)");
        std::atexit(finalize_at_exit);
    } else {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (finalized) throw RuntimeError("concur::mpi: MPI was already finalized");
        MPI_Query_thread(&provided);
    }
    if (provided < MPI_THREAD_SERIALIZED)
        throw RuntimeError("concur::mpi: MPI offers less than MPI_THREAD_SERIALIZED; initialize it with "
                           "MPI_Init_thread(..., MPI_THREAD_MULTIPLE, ...) or let concur do it");
    g_ready.store(true, std::memory_order_release);
    MPI_Comm parent = MPI_COMM_NULL;
    MPI_Comm_get_parent(&parent);
    return parent;
}

}  // namespace

void freeze_support() {
    g_freeze_support.store(true, std::memory_order_relaxed);
    MPI_Comm parent = initialize();
    if (parent != MPI_COMM_NULL) run_spawned_worker(parent);
}

void init() {
    if (g_ready.load(std::memory_order_acquire)) return;
    MPI_Comm parent = initialize();
    if (parent != MPI_COMM_NULL && !g_freeze_support.load(std::memory_order_relaxed)) {
        // Spawned by an MPIPoolExecutor, but main() ran on to here: the
        // user's code before this point has run once more, in this worker.
        std::fprintf(stderr,
                     "concur::mpi: this process was spawned as an MPIPoolExecutor worker but main() did not "
                     "call concur::mpi::freeze_support() first; serving anyway\n");
        run_spawned_worker(parent);
    }
}

int world_rank() {
    init();
    std::lock_guard lock(detail::mpi_mutex());
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int world_size() {
    init();
    std::lock_guard lock(detail::mpi_mutex());
    int size = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
}

}  // namespace concur::mpi
