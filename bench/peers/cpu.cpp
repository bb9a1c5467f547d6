// Target c: the seeds' CPU-bound program, sum(i * i for i in range(n)) over
// 20 numbers n = base + x, sequentially and with one submit per number.
//
//   main --submit count(n) x 20--> ThreadPoolExecutor (cores workers)
//   main <--result() x 20, compared number by number with the sequential run
//
// base is calibrated at run time (or given with --cpu-base) and read through
// a volatile, so the compiler cannot fold the work away.
#include <cstdio>
#include <ctime>
#include <thread>
#include <vector>

#include "concur/futures.hpp"
#include "peers/common.hpp"

namespace peers {

namespace {

constexpr int kNumbers = 20;

// One function for both methods, never inlined, so neither gets code the
// other does not. The empty asm keeps the loop scalar: no closed form, no
// vectorisation, the seeds' n multiply-adds. Wrapping 64-bit arithmetic; only
// agreement between the methods matters.
[[gnu::noinline]] uint64_t count(uint64_t n) noexcept {
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; ++i) {
        sum += i * i;
        asm volatile("" : "+r"(sum));
    }
    return sum;
}

std::vector<uint64_t> numbers(uint64_t base) {
    volatile uint64_t opaque = base;
    std::vector<uint64_t> ns;
    for (int x = 0; x < kNumbers; ++x) ns.push_back(opaque + static_cast<uint64_t>(x));
    return ns;
}

std::vector<uint64_t> sequential(const std::vector<uint64_t>& ns) {
    std::vector<uint64_t> out;
    for (uint64_t n : ns) out.push_back(count(n));
    return out;
}

// The pool is built inside the timing, as the seed's `with` block does.
std::vector<uint64_t> threads(const std::vector<uint64_t>& ns, unsigned cores) {
    concur::futures::ThreadPoolExecutor ex{{.max_workers = cores}};
    std::vector<concur::futures::Future<uint64_t>> fs;
    for (uint64_t n : ns) fs.push_back(ex.submit(count, n));
    std::vector<uint64_t> out;
    for (auto& f : fs) out.push_back(f.result());
    return out;
}

double process_cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The machine's own ceiling: one plain std::thread per core, numbers dealt
// out round-robin, no pool at all.
std::vector<uint64_t> raw_threads(const std::vector<uint64_t>& ns, unsigned cores) {
    std::vector<uint64_t> out(ns.size());
    std::vector<std::thread> ts;
    for (unsigned k = 0; k < cores; ++k)
        ts.emplace_back([&, k] {
            for (std::size_t i = k; i < ns.size(); i += cores) out[i] = count(ns[i]);
        });
    for (auto& th : ts) th.join();
    return out;
}

uint64_t calibrate() {
    uint64_t base = 1'000'000;  // the seed's own base
    for (;;) {
        auto t0 = Clock::now();
        sequential(numbers(base));
        if (seconds_since(t0) >= 1.0) return base;
        base *= 2;
    }
}

}  // namespace

void bench_cpu(const Config& cfg, Report& report) {
    uint64_t base = cfg.cpu_base ? cfg.cpu_base : calibrate();
    std::printf("\n   c. base = %llu (%s), numbers = base + 0..19\n",
                static_cast<unsigned long long>(base), cfg.cpu_base ? "--cpu-base" : "calibrated: sequential >= 1 s");
    auto ns = numbers(base);
    const std::vector<uint64_t> want = sequential(ns);

    Table t;
    t.key = "cpu";
    t.title = "c. seed CPU workload: sum(i*i for i < n) for 20 numbers";
    t.unit = "seconds";
    t.higher_is_better = false;
    t.add("concur ThreadPoolExecutor (1 submit/number)", "concur_s");
    t.add("sequential", "sequential_s");
    t.add("std::thread x cores, static split (ref.)", "raw_threads_s");
    // CPU seconds each method consumed: if the pool's equal the sequential
    // run's, concur added no work and a speedup short of 2x is the machine's.
    Row cpu_pool{"", "", {}}, cpu_seq{"", "", {}}, cpu_raw{"", "", {}};
    // The order rotates so that a burst of load from elsewhere on the
    // machine does not always land on the same method.
    for (int rep = 0; rep < cfg.repeat; ++rep) {
        for (int k = 0; k < 3; ++k) {
            int m = (k + rep) % 3;  // 0 pool, 1 sequential, 2 raw threads
            double c0 = process_cpu_s();
            auto t0 = Clock::now();
            auto got = m == 0 ? threads(ns, cfg.cores) : m == 1 ? sequential(ns) : raw_threads(ns, cfg.cores);
            t.rows[static_cast<std::size_t>(m)].samples.push_back(seconds_since(t0));
            (m == 0 ? cpu_pool : m == 1 ? cpu_seq : cpu_raw).samples.push_back(process_cpu_s() - c0);
            check(got == want, m == 0   ? "threads: per-number sums differ from the sequential run"
                               : m == 1 ? "sequential: per-number sums differ between runs"
                                        : "std::thread: per-number sums differ from the sequential run");
            settle();
        }
    }
    report.print(t);
    uint64_t checksum = 0;
    for (uint64_t v : want) checksum ^= v;
    char buf[160];
    std::snprintf(buf, sizeof buf, "checksum (xor of the 20 sums) %016llx, the same for every method in every run",
                  static_cast<unsigned long long>(checksum));
    report.note(buf);
    std::snprintf(buf, sizeof buf,
                  "CPU time (median): pool %.3f s, sequential %.3f s, std::thread %.3f s; pool's CPU/wall = %.2f cores",
                  cpu_pool.median(), cpu_seq.median(), cpu_raw.median(), cpu_pool.median() / t.rows[0].median());
    report.note(buf);
    report.value("cpu.concur_cpu_s", cpu_pool.median());
    report.value("cpu.sequential_cpu_s", cpu_seq.median());
    report.value("cpu.raw_threads_cpu_s", cpu_raw.median());
    report.value("cpu.base", static_cast<double>(base));
    double x = t.speedup(t.rows[1]);
    std::snprintf(buf, sizeof buf, "%.2fx on %u cores; plain std::threads reached %.2fx", x, cfg.cores,
                  t.rows[1].median() / t.rows[2].median());
    report.target("threads >= 1.9x faster than sequential on 2 cores", x >= 1.9, buf);
}

}  // namespace peers
