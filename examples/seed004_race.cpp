// Seed 004 (shared/seeds/004_7bf92765f8bfe5b7.txt, "Speed Up Your Python
// Program With Concurrency"), section "竞态条件 Race Conditions": 5000 calls,
// each adding 1 to a shared counter 100 times, on a
// ThreadPoolExecutor(max_workers=5000) through executor.map.
//
//   Python                                    C++
//   counter += 1                              value = counter.load(); counter.store(value + 1)
//   with ThreadPoolExecutor(max_workers=5000) { ThreadPoolExecutor executor{{.max_workers = 5000}};
//       executor.map(increment_counter, ...)      executor.map(increment_counter, fake_data).list(); }
//   with lock: counter += 1                   std::lock_guard guard(lock); ...
//
// Prints the unprotected total (nearly always short of 500000: updates were
// lost), then the total with a threading::Lock around each update (always
// 500000).
//
// Where C++ differs:
//  * The seed's program prints nothing, and (as it says) may show no loss in
//    thousands of runs, because the GIL rarely switches threads inside
//    `counter += 1`; it is still a bug. In C++ the threads run in parallel.
//  * A plain `long` incremented from several threads would be undefined
//    behaviour (a data race: anything may happen, and ThreadSanitizer rightly
//    aborts). An atomic read with a relaxed load and written back with a
//    relaxed store is defined, and loses updates exactly as Python's
//    read-add-write does: two threads load the same value, both store
//    value + 1.
//  * Two additions make the loss near certain rather than occasional (each
//    is explained where it is): work_between_read_and_write(), and .list()
//    after map() so that the calls run before shutdown().
//  * The fix is the seed's own advice, a lock around the update;
//    counter.fetch_add(1) would be the lock-free one.
//
// The article's threading download program is seed 002's (same realpython
// code, other sites): see seed002_download_threads.cpp.
#include <atomic>
#include <cstdio>
#include <mutex>
#include <numeric>
#include <vector>

#include "concur/futures.hpp"
#include "concur/threading.hpp"
#include "support/pyport.hpp"

using concur::futures::ThreadPoolExecutor;

std::atomic<long> counter{0};
concur::threading::Lock lock;

// The time between reading the counter and writing it back: a few dozen
// instructions, standing for the work a real update does there. Without it
// the two steps are so close that a lost update needs a rare coincidence
// (about half the runs show none); with it, nearly every run loses some.
void work_between_read_and_write() {
    for (int k = 0; k < 50; ++k) pyport::do_not_optimize(k);
}

void increment_counter(int /*fake_value*/) {
    for (int i = 0; i < 100; ++i) {
        long value = counter.load(std::memory_order_relaxed);  // counter += 1,
        work_between_read_and_write();                         // in two steps
        counter.store(value + 1, std::memory_order_relaxed);
    }
}

void increment_counter_with_lock(int /*fake_value*/) {
    for (int i = 0; i < 100; ++i) {
        std::lock_guard guard(lock);  // with lock:
        long value = counter.load(std::memory_order_relaxed);
        work_between_read_and_write();
        counter.store(value + 1, std::memory_order_relaxed);
    }
}

template <class F>
long run(F increment) {
    std::vector<int> fake_data(5000);
    std::iota(fake_data.begin(), fake_data.end(), 0);  // [x for x in range(5000)]
    counter = 0;
    {
        ThreadPoolExecutor executor{{.max_workers = 5000}};
        // .list() waits for the calls inside the `with` block. Python starts
        // its threads in submit(); concur's pool starts extra workers from
        // the running ones, and none after shutdown(), so the whole burst
        // would otherwise run on one worker and show no race at all.
        executor.map(increment, fake_data).list();
    }  // shutdown(wait=True)
    return counter;
}

int main() {
    long expected = 5000 * 100;
    long unprotected = run(increment_counter);
    std::printf("without a lock: counter = %ld (expected %ld, %ld updates lost)\n", unprotected,
                expected, expected - unprotected);
    long locked = run(increment_counter_with_lock);
    std::printf("with a lock:    counter = %ld (expected %ld, %ld updates lost)\n", locked, expected,
                expected - locked);
}
