// Seed 001 (shared/seeds/001_96dfd8dbdc77782b.txt), the "示例" (example)
// program of the 多进程 part (line 9 of the seed, whose code lost its line
// breaks): action(num) prints the name of the worker process it runs in,
// sleeps num seconds and returns num + 100; it is submitted once on a
// ProcessPoolExecutor(max_workers=3), then mapped over [1, 3, 5].
//
//   usage: seed001_process_pool_action [SCALE]
//          (each sleep lasts num * SCALE seconds; default 1, as the seed)
//
//   Python                                          C++
//   if __name__ == "__main__":                      multiprocessing::freeze_support();  (first in main)
//   multiprocessing.current_process().name          multiprocessing::current_process().name()
//   with ProcessPoolExecutor(max_workers=3) as pool: { ProcessPoolExecutor pool{{.max_workers = 3, ...}};
//   future1 = pool.submit(action, 3)                auto future1 = pool.submit(action, 3);
//   results = pool.map(action, [1, 3, 5])           auto results = pool.map(action, std::vector{1, 3, 5});
//   for r in results: print(f"多个任务返回:{r}")     for (int r : results) std::printf("多个任务返回:%d\n", r);
//
// The seed printed "SpawnProcess-1" (its Python used "spawn"); here the
// default start method is "forkserver" (Python 3.14's default on Linux), so
// the workers are "ForkServerProcess-1" to "-3".
//
// Where C++ differs:
//  * The workers re-execute this binary, so main() begins with
//    freeze_support() (the C++ form of the `if __name__ == "__main__":` guard).
//  * A worker is a fresh process: a global set in main() is not set there.
//    SCALE therefore reaches the workers through the pool's initializer
//    (Python's initializer/initargs), which sets their copy of `sleep_scale`.
//  * A worker's stdout is a pipe, fully buffered: action() flushes after
//    printing so that its line shows when it runs, not when the worker exits.
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "concur/futures/process.hpp"
#include "concur/multiprocessing.hpp"
#include "support/pyport.hpp"

namespace multiprocessing = concur::multiprocessing;
using concur::futures::ProcessPoolExecutor;

double sleep_scale = 1.0;  // seconds per unit of num, in each worker

void set_sleep_scale(double scale) { sleep_scale = scale; }

// 定义一个准备作为进程任务的函数 (a function to run as a process's task)
int action(int num) {
    std::printf("%s\n", multiprocessing::current_process().name().c_str());
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::duration<double>(num * sleep_scale));  // time.sleep(num)
    return num + 100;
}

int main(int argc, char** argv) {
    // The C++ form of the seed's `if __name__ == "__main__":` guard: a worker
    // started by "forkserver" or "spawn" runs its work here and never returns.
    multiprocessing::freeze_support();

    double scale = 1.0;
    if (argc > 1) {
        auto s = pyport::to_float(argv[1]);
        if (argc > 2 || !s || !(*s >= 0)) {
            std::fprintf(stderr, "usage: %s [SCALE]   (each sleep lasts num * SCALE seconds; default 1)\n", argv[0]);
            return 2;
        }
        scale = *s;
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // keep our lines in order with the workers'

    // 创建一个包含3条进程的进程池 (a pool of 3 processes)
    {
        ProcessPoolExecutor pool{{.max_workers = 3, .initializer = {set_sleep_scale, scale}}};
        auto future1 = pool.submit(action, 3);
        future1.result();
        std::printf("单个任务返回:%d\n", future1.result());
        std::printf("------------------------------\n");
        // 使用线程执行map计算 (sic: "compute map with threads" -- processes here)
        auto results = pool.map(action, std::vector<int>{1, 3, 5});
        for (int r : results) std::printf("多个任务返回:%d\n", r);
    }  // the end of `with`: shutdown(wait=true)
}
