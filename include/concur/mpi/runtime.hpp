// The MPI runtime as concur uses it: who initializes MPI, how a spawned worker
// finds its way to the worker loop, and the error a broken MPI executor gives.
//
// MPI is initialized once per process, by the first of freeze_support() and
// an executor's constructor, with MPI_Init_thread(MPI_THREAD_MULTIPLE); it is
// finalized at exit if concur initialized it (a program that called MPI_Init
// itself finalizes it itself, and must have asked for at least
// MPI_THREAD_SERIALIZED). Every MPI call concur makes is serialized on one
// process-wide mutex, so a program that also calls MPI from its own threads
// while an executor runs needs MPI_THREAD_MULTIPLE.
#pragma once

#include "concur/errors.hpp"

namespace concur::mpi {

// A worker rank failed where MPI let the client see it (an MPI call on the
// executor's communicator returned an error under MPI_ERRORS_RETURN), the
// workers could not be spawned, or a worker's initializer threw. Every
// pending and running future of that executor fails with it, and the executor
// refuses new work. (What Open MPI does when a rank dies is usually harsher:
// see docs/cluster.md.)
class BrokenMPIExecutor : public futures::BrokenExecutor {
public:
    using futures::BrokenExecutor::BrokenExecutor;
};

// Must be the first statement of main() in a program that uses
// MPIPoolExecutor: the workers it spawns run this same binary, and this is
// where they turn into workers (the C++ form of mpi4py's
// `if __name__ == "__main__":` guard). In a process spawned by an
// MPIPoolExecutor it serves calls until the executor shuts down, then
// finalizes MPI and exits(0) without returning. Elsewhere it initializes MPI
// (if not yet) and returns. Blocks only in a worker. Thread: main's, before
// other threads use MPI. Throws RuntimeError if MPI cannot be initialized or
// offers less than MPI_THREAD_SERIALIZED.
void freeze_support();

// Initializes MPI if nobody has (see above); idempotent. Returns at once
// after the first call. Throws as freeze_support(). Any thread, but the first
// call should be main's.
void init();

// This process's rank in MPI_COMM_WORLD (initializes MPI if needed).
int world_rank();
// MPI_COMM_WORLD's size (initializes MPI if needed).
int world_size();

}  // namespace concur::mpi
