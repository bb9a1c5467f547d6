// concur::mpi: Python's mpi4py.futures on Open MPI -- MPIPoolExecutor (spawned
// worker ranks) and MPICommExecutor (the ranks of an `mpirun -n N` job). Their
// results are ordinary futures::Future (wait, as_completed, co_await).
// Running on several hosts, under Slurm, and what crosses: docs/cluster.md.
#pragma once

#include "concur/futures.hpp"
#include "concur/mpi/executor.hpp"
#include "concur/mpi/map_result.hpp"
#include "concur/mpi/runtime.hpp"
