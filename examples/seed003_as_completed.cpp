// Seed 003 (shared/seeds/003_38d3fecb11d86e4d.txt), section "## 异步编程"
// (asynchronous programming), the thread-pool half: ten calls of a busy
// count() on a ThreadPoolExecutor(max_workers=5), printed as they complete.
//
//   Python                                    C++
//   with ThreadPoolExecutor(max_workers=5)    { ThreadPoolExecutor executor{{.max_workers = 5}};
//     as executor:
//   [executor.submit(evaluate_item, item)     futures.push_back(
//    for item in number_list]                     executor.submit(evaluate_item, item));
//   for future in as_completed(futures):      for (auto& future : as_completed(futures))
//       print(future.result())                    std::printf("%ld\n", future.result());
//
// Prints 10000000 * x for each x in number_list, in completion order (so the
// order varies), then "Thread pool execution in X seconds".
//
// Where C++ differs: no GIL, so the five workers count in parallel; and the
// 10,000,000-pass loop is kept, but C++ runs it in milliseconds, not seconds.
// The seed's second half, the same with ProcessPoolExecutor, is
// examples/seed003_process_pool_as_completed.cpp.
#include <chrono>
#include <cstdio>
#include <vector>

#include "concur/futures.hpp"
#include "support/pyport.hpp"

using concur::futures::Future;
using concur::futures::ThreadPoolExecutor;

const std::vector<long> number_list = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

long count(long number) {
    long i = 0;
    for (long r = 0; r < 10000000; ++r) {  // for i in range(0, 10000000):
        i = r;                             //   (Python rebinds i on every pass)
        i = i + 1;                         //   i=i+1
        pyport::do_not_optimize(i);        //   (so the loop is really run)
    }
    return i * number;  // i is 10000000 after the last pass
}

long evaluate_item(long x) {
    long result_item = count(x);  // compute the sum, only to spend time
    return result_item;
}

int main() {
    // Thread pool
    auto start_time_1 = std::chrono::steady_clock::now();
    {
        ThreadPoolExecutor executor{{.max_workers = 5}};
        std::vector<Future<long>> futures;
        for (long item : number_list) futures.push_back(executor.submit(evaluate_item, item));
        for (auto& future : concur::futures::as_completed(futures))
            std::printf("%ld\n", future.result());
    }
    std::printf("Thread pool execution in %s seconds\n",
                pyport::str(pyport::seconds_since(start_time_1)).c_str());
    // Process pool: see seed003_process_pool_as_completed.cpp.
}
