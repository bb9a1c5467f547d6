// Seed 001 (shared/seeds/001_96dfd8dbdc77782b.txt), the multiprocessing
// fragments of the 多进程 (multiple processes) part, run one after another
// (the seed's code lost its line breaks; the fragments are on lines 5-8 and
// the timing program "多进程" on line 34):
//   1. 多进程引用模块  Process(target=func, args=(100,)); start(); join()
//   2. 数据通信        q = multiprocessing.Queue(); q.put(1); item = q.get()
//   3. (same part)    lock = Lock(); with lock: pass
//   4. 池化技术        with ProcessPoolExecutor() as executor:
//                        results = executor.map(func, [1, 2, 3])   # 方法1
//                        future = executor.submit(func, 1)         # 方法2
//                        result = future.result()
//   5. 多进程          10 queries that each print their number and sleep 1 s,
//                     mapped over a futures.ProcessPoolExecutor(), timed.
//
//   usage: seed001_multiprocessing_fragments [SECONDS]
//          (how long each query sleeps; default 1, as the seed)
//
//   Python                                    C++
//   if __name__ == '__main__':                multiprocessing::freeze_support();  (first in main)
//   Process(target=func, args=(100,))         multiprocessing::Process t{func, 100};
//   multiprocessing.Queue()                   multiprocessing::Queue<int> q;
//   with lock: pass                           { std::lock_guard guard(lock); }
//   with ProcessPoolExecutor() as executor:   { futures::ProcessPoolExecutor executor; ... }
//   print(f"时间差:{end_time-start_time}")     std::printf("时间差:%s\n", ...)
//
// Where C++ differs:
//  * The fragments compute values and print nothing; here each prints what
//    it got (after a "== <the seed's heading>" line), so that a run shows
//    they worked.
//  * The default start method is "forkserver", which re-executes this binary:
//    main() begins with freeze_support(), the C++ form of the seed's
//    `if __name__ == '__main__':` guard.
//  * A worker is a fresh process, so SECONDS reaches the query workers
//    through the pool's initializer (Python's initializer/initargs); and a
//    worker's stdout is a pipe, so query() flushes after printing.
//  * ProcessPoolExecutor() has cpu_count() workers, as Python's: on a 2-core
//    machine the 10 one-second queries take 5 rounds (5 s).
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "concur/futures/process.hpp"
#include "concur/multiprocessing.hpp"
#include "support/pyport.hpp"

namespace multiprocessing = concur::multiprocessing;
namespace futures = concur::futures;

std::string str(const std::vector<int>& v) {  // Python's str(list)
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
}

// ---- 1. 多进程引用模块 (the multiprocessing module: Process) -------------------

int func(int num) { return num; }

void process_fragment() {
    multiprocessing::Process t{func, 100};
    t.start();
    t.join();
    std::printf("%s exitcode: %d\n", t.name().c_str(), t.exitcode().value_or(-1));
}

// ---- 2. 数据通信 (communication): Queue ----------------------------------------

void queue_fragment() {
    multiprocessing::Queue<int> q;
    q.put(1);
    int item = q.get();
    std::printf("item: %d\n", item);
}

// ---- 3. 数据通信: Lock -----------------------------------------------------------

void lock_fragment() {
    multiprocessing::Lock lock;
    {
        std::lock_guard guard(lock);  // with lock:
        std::printf("locked inside `with lock`: %s\n", lock.locked() ? "True" : "False");  //  pass
    }
    std::printf("locked after it: %s\n", lock.locked() ? "True" : "False");
}

// ---- 4. 池化技术 (pooling) -------------------------------------------------------

void pool_fragment() {
    futures::ProcessPoolExecutor executor;
    // 方法1 (way 1)
    auto results = executor.map(func, std::vector<int>{1, 2, 3});
    // 方法2 (way 2)
    auto future = executor.submit(func, 1);
    int result = future.result();
    std::printf("results: %s\n", str(results.list()).c_str());
    std::printf("result: %d\n", result);
}

// ---- 5. 多进程 (the query program on a process pool) ---------------------------

double query_seconds = 1.0;  // set in each worker by set_query_seconds

void set_query_seconds(double seconds) { query_seconds = seconds; }

void query(int num) {
    std::printf("%d\n", num);
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::duration<double>(query_seconds));  // time.sleep(1)
}

void main_(double seconds) {  // the seed's main()
    futures::ProcessPoolExecutor executor{{.initializer = {set_query_seconds, seconds}}};
    std::vector<int> range;
    for (int i = 0; i < 10; ++i) range.push_back(i);  // range(10)
    for (auto& future : executor.map(query, range)) (void)future;  // pass
}

int main(int argc, char** argv) {
    // The C++ form of the seed's `if __name__ == '__main__':` guard: a child
    // started by "forkserver" or "spawn" runs its work here and never returns.
    multiprocessing::freeze_support();

    double seconds = 1.0;
    if (argc > 1) {
        auto s = pyport::to_float(argv[1]);
        if (argc > 2 || !s || !(*s >= 0)) {
            std::fprintf(stderr, "usage: %s [SECONDS]   (how long each query sleeps; default 1)\n", argv[0]);
            return 2;
        }
        seconds = *s;
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // keep our lines in order with the workers'

    std::printf("== 多进程引用模块\n");
    process_fragment();
    std::printf("== 数据通信: Queue\n");
    queue_fragment();
    std::printf("== 数据通信: Lock\n");
    lock_fragment();
    std::printf("== 池化技术\n");
    pool_fragment();

    std::printf("== 多进程\n");
    auto start_time = std::chrono::steady_clock::now();  // time.perf_counter()
    main_(seconds);
    std::printf("时间差:%s\n", pyport::str(pyport::seconds_since(start_time)).c_str());
}
