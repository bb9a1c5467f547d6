// Seed 001 (shared/seeds/001_96dfd8dbdc77782b.txt): "10 queries that each
// sleep 1 s to mimic a database call", four ways: sequential, a thread pool,
// asyncio, and asyncio on the other loop backend (the seed's asyncio+uvloop
// row; here the two loops are io_uring and epoll). The process-pool row is
// the last program of examples/seed001_multiprocessing_fragments.cpp.
//
//   usage: seed001_query [sequential|threads|asyncio|asyncio-epoll|asyncio-io_uring] [SECONDS]
//          (default: every method, 1 s per query)
//
//   Python                                        C++
//   def query(num): print(num); time.sleep(1)     void query(int num)
//   with futures.ThreadPoolExecutor() as ex:      futures::ThreadPoolExecutor executor;
//       for f in ex.map(query, range(10)): pass   for (auto& r : executor.map(query, range)) {}
//   async def query(num): ...await asyncio.sleep(1)  asyncio::Task<> query_async(int num)
//   print(f"时间差:{end_time-start_time}")         std::printf("时间差:%s\n", ...)
//
// Where C++ differs: ThreadPoolExecutor() defaults to min(32, cores + 4)
// workers, as Python's does, so on a 2-core machine 6 threads take 2 rounds
// (2 s); the seed's 4-core machine had 8 workers and also took 2 s.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "concur/asyncio.hpp"
#include "concur/futures.hpp"
#include "support/pyport.hpp"

namespace asyncio = concur::asyncio;
using namespace std::chrono_literals;

static std::chrono::duration<double> g_sleep = 1s;

void query(int num) {
    std::printf("%d\n", num);
    std::fflush(stdout);
    std::this_thread::sleep_for(g_sleep);
}

void main_sequential() {
    for (int h = 0; h < 10; ++h) query(h);
}

void main_threads() {
    concur::futures::ThreadPoolExecutor executor;
    std::vector<int> range;
    for (int i = 0; i < 10; ++i) range.push_back(i);
    for (auto& future : executor.map(query, range)) (void)future;
}

asyncio::Task<> query_async(int num) {
    std::printf("%d\n", num);
    std::fflush(stdout);
    co_await asyncio::sleep(g_sleep);
}

asyncio::Task<> main_asyncio() {
    std::vector<asyncio::Task<>> tasks;
    for (int h = 0; h < 10; ++h) tasks.push_back(query_async(h));
    co_await asyncio::gather(std::move(tasks));
}

void timed(const char* label, void (*fn)()) {
    std::printf("== %s\n", label);
    auto start_time = std::chrono::steady_clock::now();
    fn();
    std::printf("时间差:%s\n", pyport::str(pyport::seconds_since(start_time)).c_str());
}

int main(int argc, char** argv) {
    std::string method = argc > 1 ? argv[1] : "all";
    if (argc > 2) {
        auto s = pyport::to_float(argv[2]);
        if (!s || *s < 0) {
            std::fprintf(stderr, "seed001_query: SECONDS must be a non-negative number, not '%s'\n", argv[2]);
            return 2;
        }
        g_sleep = std::chrono::duration<double>(*s);
    }
    bool all = method == "all", known = false;
    if (all || method == "sequential") known = true, timed("sequential", main_sequential);
    if (all || method == "threads") known = true, timed("threads", main_threads);
    for (auto [name, backend] : {std::pair{"asyncio", asyncio::LoopBackend::automatic},
                                 std::pair{"asyncio-io_uring", asyncio::LoopBackend::io_uring},
                                 std::pair{"asyncio-epoll", asyncio::LoopBackend::epoll}}) {
        if (!(all || method == name)) continue;
        known = true;
        std::printf("== %s\n", name);
        auto start_time = std::chrono::steady_clock::now();
        try {
            asyncio::run(main_asyncio(), {.backend = backend});
        } catch (const concur::RuntimeError& e) {  // io_uring forbidden here
            std::printf("skipped: %s\n", e.what());
            continue;
        }
        std::printf("时间差:%s\n", pyport::str(pyport::seconds_since(start_time)).c_str());
    }
    if (!known) {
        std::fprintf(stderr,
                     "usage: seed001_query [sequential|threads|asyncio|asyncio-io_uring|asyncio-epoll] [SECONDS]\n");
        return 2;
    }
}
