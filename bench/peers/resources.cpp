// Target d: what a pool costs when it is not computing.
//
//   memory: workers blocked on a gate --> main submits 1,000,000 calls that
//           stay queued --> RSS growth / 1e6 = bytes per pending future
//   idle:   a pool that has run work, then sleeps --> process CPU time over 2 s
//
// Both run before any peer has started threads in this process, so the
// process-wide figures are concur's alone.
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <thread>
#include <vector>

#include "concur/futures.hpp"
#include "peers/common.hpp"

namespace peers {

namespace {

constexpr int kPending = 1'000'000;

long rss_bytes() {
    long pages_total = 0, pages_resident = 0;
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return -1;
    int got = std::fscanf(f, "%ld %ld", &pages_total, &pages_resident);
    std::fclose(f);
    return got == 2 ? pages_resident * sysconf(_SC_PAGESIZE) : -1;
}

double process_cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int process_threads() {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    int n = -1;
    while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "Threads: %d", &n) == 1) break;
    std::fclose(f);
    return n;
}

}  // namespace

void bench_memory(const Config& cfg, Report& report) {
    namespace futures = concur::futures;
    auto call = [i = 0] { return i; };  // the callable's type; each submit captures its own i
    using Call = decltype(call);
    using Task = concur::detail::CallTask<int, Call>;

    Table t;
    t.key = "memory";
    t.title = "d1. memory of 1,000,000 pending futures (workers blocked, calls queued)";
    t.unit = "bytes per future";
    t.higher_is_better = false;
    t.add("concur: RSS growth / 1e6 (statm)", "rss_bytes_per_future");
    Row heap{"", "", {}};  // malloc's own count, a cross-check of the RSS figure
    for (int rep = 0; rep < cfg.repeat; ++rep) {
        futures::ThreadPoolExecutor ex{{.max_workers = cfg.cores}};
        std::atomic<bool> gate{false};
        std::atomic<unsigned> blocked{0};
        std::vector<futures::Future<void>> blockers;
        for (unsigned k = 0; k < cfg.cores; ++k)
            blockers.push_back(ex.submit([&] {
                blocked.fetch_add(1);
                gate.wait(false);
            }));
        auto t0 = Clock::now();
        while (blocked.load() < cfg.cores) {
            check(seconds_since(t0) < 10, "memory: the workers never all started");
            std::this_thread::yield();
        }

        malloc_trim(0);  // the baseline must not count freed-but-resident memory as free
        long rss0 = rss_bytes();
        std::size_t heap0 = mallinfo2().uordblks;
        std::vector<futures::Future<int>> fs;
        fs.reserve(kPending);  // the handles are part of what a caller keeps
        for (int i = 0; i < kPending; ++i) fs.push_back(ex.submit([i] { return i; }));
        long rss1 = rss_bytes();
        std::size_t heap1 = mallinfo2().uordblks;
        t.rows[0].samples.push_back(static_cast<double>(rss1 - rss0) / kPending);
        heap.samples.push_back(static_cast<double>(heap1 - heap0) / kPending);

        gate.store(true);
        gate.notify_all();
        futures::wait(fs);
        check(fs[kPending - 1].result() == kPending - 1, "memory: last pending future");
    }
    report.print(t);
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "callable (lambda capturing an int) %zu bytes; one allocation per submit: "
                  "CallTask (state + job + callable) %zu bytes; Future handle %zu bytes",
                  sizeof(Call), sizeof(Task), sizeof(futures::Future<int>));
    report.note(buf);
    std::snprintf(buf, sizeof buf, "cross-check: heap in use (mallinfo2) grew %.1f bytes per future (median)",
                  heap.median());
    report.note(buf);
    report.value("memory.heap_bytes_per_future", heap.median());
    double beyond = t.rows[0].median() - static_cast<double>(sizeof(Call));
    report.value("memory.callable_bytes", static_cast<double>(sizeof(Call)));
    report.value("memory.rss_bytes_per_future_beyond_callable", beyond);
    std::snprintf(buf, sizeof buf, "%.1f bytes (RSS) - %zu callable = %.1f", t.rows[0].median(),
                  sizeof(Call), beyond);
    report.target("<= 128 bytes per pending future beyond the callable", beyond <= 128, buf);
}

void bench_idle(const Config& cfg, Report& report) {
    namespace futures = concur::futures;
    Table t;
    t.key = "idle";
    t.title = "d2. idle pool: process CPU over 2 s after the pool ran work";
    t.unit = "% of one core";
    t.higher_is_better = false;
    t.add("concur ThreadPoolExecutor", "concur_cpu_percent");
    int threads = 0;
    std::size_t workers = 0;
    for (int rep = 0; rep < cfg.repeat; ++rep) {
        futures::ThreadPoolExecutor ex{{.max_workers = cfg.cores}};
        std::vector<futures::Future<int>> fs;
        for (int i = 0; i < 10'000; ++i) fs.push_back(ex.submit([i] { return i; }));
        futures::wait(fs);
        workers = ex.num_threads();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        threads = process_threads();
        double cpu0 = process_cpu_s();
        auto t0 = Clock::now();
        std::this_thread::sleep_for(std::chrono::seconds(2));
        double cpu = process_cpu_s() - cpu0;
        t.rows[0].samples.push_back(cpu / seconds_since(t0) * 100);
    }
    report.print(t);
    char buf[160];
    std::snprintf(buf, sizeof buf, "the process had %d threads (main + %zu started workers) while measured",
                  threads, workers);
    report.note(buf);
    double pct = t.rows[0].median();
    std::snprintf(buf, sizeof buf, "%.3f%% of a core", pct);
    report.target("idle pool < 1% of a core", pct < 1.0, buf);
}

}  // namespace peers
