// examples/seed003_process_pool_as_completed.cpp on MPI: the same program with
// the executor type changed -- ten calls of a busy count() on five worker
// ranks spawned by MPIPoolExecutor, printed as they complete. The output is
// the process-pool version's (in completion order, so the order varies).
//
//   ProcessPoolExecutor version                        this one
//   multiprocessing::freeze_support();                 concur::mpi::freeze_support();
//   futures::ProcessPoolExecutor executor{{...}};      concur::mpi::MPIPoolExecutor executor{{...}};
//
//   run: mpirun -n 1 ./mpi_seed003_as_completed     (spawns 5 ranks: on a
//        machine with fewer cores, add --oversubscribe and export
//        OMPI_MCA_rmaps_base_oversubscribe=1; see docs/cluster.md)
#include <chrono>
#include <cstdio>
#include <vector>

#include "concur/futures.hpp"
#include "concur/mpi.hpp"
#include "support/pyport.hpp"

const std::vector<long> number_list = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

long count(long number) {
    long i = 0;
    for (long r = 0; r < 10000000; ++r) {  // for i in range(0, 10000000):
        i = r;                             //   (Python rebinds i on every pass)
        i = i + 1;                         //   i=i+1
        pyport::do_not_optimize(i);        //   (so the loop is really run)
    }
    return i * number;
}

long evaluate_item(long x) {
    long result_item = count(x);
    return result_item;
}

int main() {
    // Spawned worker ranks run this same binary: they serve from here and
    // never return (mpi4py's `if __name__ == "__main__":`).
    concur::mpi::freeze_support();

    auto start_time_2 = std::chrono::steady_clock::now();
    {
        concur::mpi::MPIPoolExecutor executor{{.max_workers = 5}};
        std::vector<concur::futures::Future<long>> futures;
        for (long item : number_list) futures.push_back(executor.submit(evaluate_item, item));
        for (auto& future : concur::futures::as_completed(futures)) std::printf("%ld\n", future.result());
    }
    std::printf("Process pool execution in %s seconds\n", pyport::str(pyport::seconds_since(start_time_2)).c_str());
}
