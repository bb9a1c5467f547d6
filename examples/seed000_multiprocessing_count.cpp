// Seed 000 (shared/seeds/000_0a90a151f4575642.txt), section "## multiprocessing"
// (lines 74-102 of the seed): 20 processes, each computing
// sum(i * i for i in range(number)) for number = 1_000_000 + x, started
// together and joined; prints the wall time.
//
//   usage: seed000_multiprocessing_count [HOW_MANY [BASE]]
//          (default 20 numbers from 1000000, as the seed)
//
//   Python                                                  C++
//   if __name__ == '__main__':                              multiprocessing::freeze_support();  (first in main)
//   multiprocessing.Process(target=count, args=(number,))   processes.emplace_back(count, number)
//   process.start() / process.join()                        process.start() / process.join()
//   time.perf_counter()                                     std::chrono::steady_clock::now()
//
// Where C++ differs:
//  * The default start method is "forkserver" (Python 3.14's default on
//    Linux), which re-executes this binary: freeze_support() is the C++ form
//    of the seed's `if __name__ == '__main__':` guard.
//  * Process is neither copyable nor movable, so the list of processes is a
//    std::deque built in place.
//  * Python never looks at how a child ended, so a child that failed would go
//    unnoticed; here a child with a non-zero exit code is reported and the
//    program exits with status 1.
#include <chrono>
#include <cstdio>
#include <deque>
#include <vector>

#include "concur/multiprocessing.hpp"
#include "support/pyport.hpp"

namespace multiprocessing = concur::multiprocessing;

long long count(long long number) {
    long long result = 0;
    for (long long i = 0; i < number; ++i) {
        result += i * i;
        pyport::do_not_optimize(result);  // really loop, as Python does (no closed form)
    }
    return result;  // discarded by Process, as in Python
}

bool cacluate_count(const std::vector<long long>& numbers) {  // sic: the seed's spelling
    std::deque<multiprocessing::Process> processes;
    for (long long number : numbers) processes.emplace_back(count, number);
    for (auto& process : processes) process.start();
    for (auto& process : processes) process.join();
    bool ok = true;  // not in the seed: see "Where C++ differs"
    for (auto& process : processes)
        if (process.exitcode() != 0) {
            std::fprintf(stderr, "%s exited with code %d\n", process.name().c_str(), process.exitcode().value_or(-1));
            ok = false;
        }
    return ok;
}

int main(int argc, char** argv) {
    // The C++ form of the seed's `if __name__ == '__main__':` guard: a child
    // started by "forkserver" or "spawn" runs its work here and never returns.
    multiprocessing::freeze_support();

    long how_many = 20, base = 1000000;
    if (argc > 1) {
        auto n = pyport::to_int(argv[1]);
        auto b = argc > 2 ? pyport::to_int(argv[2]) : std::optional<long>(base);
        if (argc > 3 || !n || *n < 0 || !b || *b < 0) {
            std::fprintf(stderr, "usage: %s [HOW_MANY [BASE]]   (default 20 1000000)\n", argv[0]);
            return 2;
        }
        how_many = *n;
        base = *b;
    }

    auto begin_time = std::chrono::steady_clock::now();
    std::vector<long long> numbers;
    for (long long x = 0; x < how_many; ++x) numbers.push_back(base + x);
    bool ok = cacluate_count(numbers);
    double cost = pyport::seconds_since(begin_time);
    std::printf("Total cost time is:  %s\n", pyport::str(cost).c_str());  // print('...: ', t)
    return ok ? 0 : 1;
}
