// Seed 000 (shared/seeds/000_0a90a151f4575642.txt), section "## threading":
// 20 threads, each computing sum(i * i for i in range(number)) for
// number = 1_000_000 + x, started together and joined; prints the wall time.
//
//   Python                                          C++
//   threading.Thread(target=count, args=(number,))  threads.emplace_back(count, number)
//   thread.start() / thread.join()                  thread.start() / thread.join()
//   time.perf_counter()                             std::chrono::steady_clock::now()
//
// Where C++ differs: there is no GIL, so the 20 counts run in parallel on
// every core (the seed measured 5.9 s for threads, the same as asyncio on one
// core, and 1.5 s with 4 processes); and Thread is neither copyable nor
// movable, so the list of threads is a std::deque built in place. The asyncio
// and multiprocessing sections of this seed are ported with those modules.
#include <cstdio>
#include <deque>
#include <vector>

#include "concur/threading.hpp"
#include "support/pyport.hpp"

using concur::threading::Thread;

long long count(long long number) {
    long long result = 0;
    for (long long i = 0; i < number; ++i) {
        result += i * i;
        pyport::do_not_optimize(result);  // really loop, as Python does (no closed form)
    }
    return result;  // discarded by Thread, as in Python
}

void cacluate_count(const std::vector<long long>& numbers) {  // sic: the seed's spelling
    std::deque<Thread> threads;
    for (long long number : numbers) threads.emplace_back(count, number);
    for (Thread& thread : threads) thread.start();
    for (Thread& thread : threads) thread.join();
}

int main() {
    auto begin_time = std::chrono::steady_clock::now();
    std::vector<long long> numbers;
    for (long long x = 0; x < 20; ++x) numbers.push_back(1000000 + x);
    cacluate_count(numbers);
    double cost = pyport::seconds_since(begin_time);
    std::printf("Total cost time is:  %s\n", pyport::str(cost).c_str());  // print('...: ', t)
}
