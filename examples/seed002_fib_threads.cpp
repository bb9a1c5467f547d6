// Seed 002 (shared/seeds/002_be869974bb936a39.txt), section "执行CPU密集型任务时，
// thread和普通情况没有区别" (CPU-bound work: threads are no better), second
// program `fibs_with_threads`: fib(40) and fib(41) on two threading.Thread.
//
//   usage: seed002_fib_threads [N1 N2]     (default 40 41, as the seed)
//
// Where C++ differs: there is no GIL. In the seed both threads took turns on
// one core, 64.0 s against 64.5 s without threads; here they run on two
// cores at once, so the pair takes about as long as fib(41) alone (compare
// with seed002_fib). Which line prints first is up to the scheduler.
#include <chrono>
#include <cstdio>

#include "concur/threading.hpp"
#include "support/pyport.hpp"

using concur::threading::Thread;

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

void fibs_with_threads(int first, int second) {
    Thread fortieth_thread(print_fib, first);
    Thread forty_first_thread(print_fib, second);

    fortieth_thread.start();
    forty_first_thread.start();

    fortieth_thread.join();
    forty_first_thread.join();
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

    auto start_threads = std::chrono::steady_clock::now();

    fibs_with_threads(numbers[0], numbers[1]);

    double took = pyport::seconds_since(start_threads);

    std::printf("Threads took %s seconds.\n", pyport::str(took).c_str());
}
