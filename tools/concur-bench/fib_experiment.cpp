// The fib experiment's methods:
//
//   sequential   main thread: fib(n1) then fib(n2)
//   threads      two Threads, each writes its own result variable, joined
//   processes    ProcessPoolExecutor(2): n out, fib(n) back as futures
#include "fib_experiment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "concur/futures.hpp"
#include "concur/futures/process.hpp"
#include "concur/multiprocessing.hpp"
#include "concur/threading.hpp"
#include "python_runner.hpp"
#include "sizes.hpp"
#include "workload.hpp"

namespace concur_bench {

namespace {

constexpr double kPhi = 1.618033988749895;  // fib(n+1)'s cost over fib(n)'s

// fibs_no_threading: print_fib(40); print_fib(41).
uint64_t sequential(int n1, int n2) { return fib(n1) + fib(n2); }

// fibs_with_threads: a Thread each, started, joined.
uint64_t threads(int n1, int n2) {
    uint64_t a = 0, b = 0;
    concur::threading::Thread first([&a, n1] { a = fib(n1); });
    concur::threading::Thread second([&b, n2] { b = fib(n2); });
    first.start();
    second.start();
    first.join();
    second.join();
    return a + b;
}

// The seed implies but does not show this one: a worker process each.
uint64_t processes(const Settings& s, int n1, int n2) {
    concur::futures::ProcessPoolExecutor ex{{.max_workers = 2, .mp_context = mp_context(s)}};
    auto a = ex.submit(fib, n1);
    auto b = ex.submit(fib, n2);
    return a.result() + b.result();
}

// The n whose pair (n, n+1) takes about `target` seconds, from a timing of
// (30, 31): each step up costs phi times more.
int calibrate(double target) {
    double t0 = thread_cpu_seconds();  // CPU time: see cpu_size()
    uint64_t sink = sequential(30, 31);
    asm volatile("" : : "r"(sink));
    double t = thread_cpu_seconds() - t0;
    int n = 30 + int(std::lround(std::log(target / std::max(t, 1e-6)) / std::log(kPhi)));
    return std::clamp(n, 30, 50);
}

std::string verdict(const Result& r, int n1, int n2) {
    const Row* t = r.row("threads");
    const Row* p = r.row("processes");
    // fib(n2) alone is the best two workers can do: phi/(1+phi) of the pair.
    double ideal = (1 + kPhi) / kPhi;
    std::string v = fmt::format("fib({}) + fib({}): ", n1, n2);
    if (t)
        v += fmt::format("two threads ran {:.2f}x sequential (at best {:.2f}x, the time of fib({}) "
                         "alone){}",
                         r.speedup(*t), ideal, n2,
                         r.speedup(*t) > 1.2 ? ", so in C++ threads do help CPU-bound work -- the "
                                               "seed's Python threads (64.0 s vs 64.5 s) did not"
                                             : ", no real gain: the machine's second core was "
                                               "busy or missing");
    if (p) v += fmt::format("{}two processes {:.2f}x", t ? "; " : "", r.speedup(*p));
    if (t && p)
        v += fmt::format(" -- {}", r.speedup(*t) >= r.speedup(*p)
                                       ? "threads match or beat processes, which pay for starting"
                                       : "processes edged out threads this time");
    if (t) {
        if (auto py = r.vs_python(*t)) v += fmt::format("; C++ threads were {:.0f}x faster than Python's", *py);
    }
    return v + ".";
}

}  // namespace

Result run_fib(const Settings& settings) {
    int n1 = 40;
    Result r;
    r.name = "fib";
    if (settings.tiny) {
        n1 = 20;
        r.scale_note = "tiny sizes (--tiny): fib(20) and fib(21)";
    } else if (!settings.seed_sizes) {
        n1 = calibrate(settings.target_seconds);
        r.scale_note = n1 == 40 ? fmt::format("the seed's sizes already take about {:.1f} s",
                                              settings.target_seconds)
                                : fmt::format("fib({}) and fib({}) instead of the seed's fib(40) and "
                                              "fib(41) ({:.2f}x the work) so that the sequential "
                                              "run takes about {:.1f} s; --seed-sizes runs the seed's",
                                              n1, n1 + 1, std::pow(kPhi, n1 - 40), settings.target_seconds);
    }
    int n2 = n1 + 1;
    r.title = fmt::format("fib({}) and fib({}), recursive (seed 002)", n1, n2);
    auto add = [&](const std::string& method, unsigned w, const std::function<uint64_t()>& fn) {
        r.rows.push_back(measure(settings, method, w, fn));
        r.rows.back().python_peer = method;
    };
    add("sequential", 1, [&] { return sequential(n1, n2); });
    if (wants(settings, "threads")) add("threads", 2, [&] { return threads(n1, n2); });
    if (wants(settings, "processes")) {
        add("processes", 2, [&] { return processes(settings, n1, n2); });
        r.rows.back().cpu_complete = false;
    }
    if (python_gate(settings, r, settings.seed_sizes || settings.tiny,
                    fmt::format("run with --seed-sizes (Python's fib({}) + fib({}) takes about a "
                                "minute per run: 64.5 s in the seed)", n1, n2))) {
        std::vector<std::string> methods;
        for (const Row& row : r.rows) methods.push_back(row.method);
        run_python_rows(settings, r, "fib.py", {"--n", std::to_string(n1), std::to_string(n2)}, methods);
    }
    r.check_rows();
    r.verdict = verdict(r, n1, n2);
    return r;
}

}  // namespace concur_bench
