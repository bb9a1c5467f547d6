// The seed CPU workload across MPI ranks: examples/seed002_cpu_pool.cpp
// (cpu_bound(number) = sum(i * i for i < number), number = 5_000_000 + x for
// x < 20) with the pool replaced by MPI workers. Same output as that program:
// "cpu_bound(N) = SUM" for each number in order, then the duration.
//
//   usage: mpirun -n 3 ./mpi_seed002_cpu [HOW_MANY [BASE]]
//            rank 0 is the client, ranks 1 and 2 compute (MPICommExecutor)
//          mpirun -n 1 ./mpi_seed002_cpu [HOW_MANY [BASE]]
//            spawns CONCUR_MPI_WORKERS (default 2) worker ranks (MPIPoolExecutor)
//
//   seed002_cpu_pool.cpp                        here
//   multiprocessing::freeze_support();          concur::mpi::freeze_support();
//   multiprocessing::Pool pool;                 mpi::MPIPoolExecutor pool{{.max_workers = 2}};
//   return pool.map(cpu_bound, numbers);        return pool.map(cpu_bound, numbers, {.chunksize = 1}).list();
//
// chunksize 1: twenty calls of ~50 ms each are long enough to send one at a
// time, and that spreads them evenly whatever the ranks' speeds.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "concur/mpi.hpp"
#include "support/pyport.hpp"

namespace mpi = concur::mpi;

__extension__ typedef unsigned __int128 uint128;  // (__extension__: no -Wpedantic warning)

std::string str(uint128 n) {  // Python's str(int), for a non-negative one
    std::string digits;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(n % 10)));
        n /= 10;
    } while (n != 0);
    return digits;
}

std::string cpu_bound(long number) {
    uint128 sum = 0;
    for (long i = 0; i < number; ++i) {
        sum += static_cast<uint128>(static_cast<unsigned long>(i) * static_cast<unsigned long>(i));
        pyport::do_not_optimize(i);  // really loop, as Python does (no closed form)
    }
    return str(sum);
}

int main(int argc, char** argv) {
    mpi::freeze_support();  // spawned workers serve from here and never return

    long how_many = 20, base = 5000000;
    if (argc > 1) {
        auto n = pyport::to_int(argv[1]);
        auto b = argc > 2 ? pyport::to_int(argv[2]) : std::optional<long>(base);
        if (argc > 3 || !n || *n < 0 || !b || *b < 0 || *b + *n > (1L << 32)) {
            std::fprintf(stderr, "usage: %s [HOW_MANY [BASE]]   (default 20 5000000; BASE + HOW_MANY <= 2^32)\n",
                         argv[0]);
            return 2;
        }
        how_many = *n;
        base = *b;
    }
    std::vector<long> numbers;
    for (long x = 0; x < how_many; ++x) numbers.push_back(base + x);

    auto run = [&](auto& pool) {
        auto start_time = std::chrono::steady_clock::now();
        std::vector<std::string> sums = pool.map(cpu_bound, numbers, mpi::MapOptions{.chunksize = 1}).list();
        double duration = pyport::seconds_since(start_time);
        for (std::size_t k = 0; k < numbers.size(); ++k)
            std::printf("cpu_bound(%ld) = %s\n", numbers[k], sums[k].c_str());
        std::printf("Duration %s seconds\n", pyport::str(duration).c_str());
    };
    if (mpi::world_size() > 1) {
        mpi::MPICommExecutor pool(MPI_COMM_WORLD, 0);  // ranks 1.. serve inside the constructor
        if (pool) run(pool);
    } else {
        const char* env = std::getenv("CONCUR_MPI_WORKERS");
        int workers = env ? std::atoi(env) : 2;
        mpi::MPIPoolExecutor pool{{.max_workers = workers > 0 ? workers : 2}};
        run(pool);
    }
}
