// Seed 002 (shared/seeds/002_be869974bb936a39.txt), section "执行CPU密集型任务时，
// thread和普通情况没有区别" (CPU-bound work: threads are no better), first
// program `fibs_no_threading`: fib(40) then fib(41), one after the other.
// Its threaded twin is seed002_fib_threads.cpp.
//
//   usage: seed002_fib [N1 N2]     (default 40 41, as the seed)
//
// Where C++ differs: Python's nested `def fib` becomes a file-level function;
// the seed measured 64.5 s, this runs in about a second.
#include <chrono>
#include <cstdio>

#include "support/pyport.hpp"

// The seed's fib is 1-indexed: fib(1) = 0, fib(2) = 1, fib(3) = 1, ...
long long fib(int n) {
    if (n == 1) {
        return 0;
    } else if (n == 2) {
        return 1;
    } else {
        return fib(n - 1) + fib(n - 2);
    }
}

void print_fib(int number) { std::printf("fib(%d) is %lld\n", number, fib(number)); }

void fibs_no_threading(int first, int second) {
    print_fib(first);
    print_fib(second);
}

int main(int argc, char** argv) {
    int numbers[2] = {40, 41};
    if (argc != 1 && argc != 3) {
        std::fprintf(stderr, "usage: %s [N1 N2]   (fib(N1) and fib(N2), default 40 41)\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; ++i) {
        auto n = pyport::to_int(argv[i]);
        if (!n || *n < 1 || *n > 92) {  // fib(0) never ends; fib(93) overflows
            std::fprintf(stderr, "%s: N must be an integer in 1..92, not '%s'\n", argv[0], argv[i]);
            return 2;
        }
        numbers[i - 1] = static_cast<int>(*n);
    }

    auto start = std::chrono::steady_clock::now();

    fibs_no_threading(numbers[0], numbers[1]);

    double took = pyport::seconds_since(start);

    std::printf("Completed in %s seconds.\n", pyport::str(took).c_str());
}
