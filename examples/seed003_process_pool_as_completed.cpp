// Seed 003 (shared/seeds/003_38d3fecb11d86e4d.txt), section "## 异步编程"
// (asynchronous programming), the process-pool half (lines 117-123 of the
// seed, with number_list, evaluate_item and count from lines 96-108): ten
// calls of a busy count() on a ProcessPoolExecutor(max_workers=5), printed
// as they complete. The thread-pool half is examples/seed003_as_completed.cpp.
//
//   Python                                          C++
//   if __name__ == "__main__":                      multiprocessing::freeze_support();  (first in main)
//   with concurrent.futures.ProcessPoolExecutor(    { concur::futures::ProcessPoolExecutor executor{{.max_workers = 5}};
//           max_workers=5) as executor:
//   [executor.submit(evaluate_item, item)           futures.push_back(
//    for item in number_list]                           executor.submit(evaluate_item, item));
//   for future in as_completed(futures):            for (auto& future : concur::futures::as_completed(futures))
//       print(future.result())                          std::printf("%ld\n", future.result());
//
// Prints 10000000 * x for each x in number_list, in completion order (so the
// order varies), then "Process pool execution in X seconds".
//
// Where C++ differs: the workers re-execute this binary (the default start
// method is "forkserver"), so main() begins with freeze_support(), the C++
// form of the seed's `if __name__ == "__main__":` guard; and the
// 10,000,000-pass loop is kept, but C++ runs it in milliseconds, not seconds.
#include <chrono>
#include <cstdio>
#include <vector>

#include "concur/futures.hpp"
#include "concur/futures/process.hpp"
#include "concur/multiprocessing.hpp"
#include "support/pyport.hpp"

namespace multiprocessing = concur::multiprocessing;

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
    long result_item = count(x);  // 计算总和，这里只是为了消耗时间 (compute the sum, only to spend time)
    return result_item;           // 打印输入和输出结果 (print the input and the result)
}

int main() {
    // The C++ form of the seed's `if __name__ == "__main__":` guard: a worker
    // started by "forkserver" or "spawn" runs its work here and never returns.
    multiprocessing::freeze_support();

    // 进程池 (process pool)
    auto start_time_2 = std::chrono::steady_clock::now();
    {
        concur::futures::ProcessPoolExecutor executor{{.max_workers = 5}};
        std::vector<concur::futures::Future<long>> futures;
        for (long item : number_list) futures.push_back(executor.submit(evaluate_item, item));
        for (auto& future : concur::futures::as_completed(futures)) std::printf("%ld\n", future.result());
    }
    std::printf("Process pool execution in %s seconds\n", pyport::str(pyport::seconds_since(start_time_2)).c_str());
}
