// The scale experiment: the cpu workload on ThreadPoolExecutor(w) and on
// multiprocessing::Pool(w) for w = 1..2N (see cpu_experiment.cpp's diagram).
#include "scale_experiment.hpp"

#include <fmt/format.h>

#include <thread>

#include "cpu_experiment.hpp"
#include "python_runner.hpp"
#include "sizes.hpp"

namespace concur_bench {

namespace {

std::string verdict(const Result& r, unsigned cores, unsigned max_workers) {
    std::string v;
    for (const char* method : {"threads", "processes"}) {
        const Row* best = nullptr;
        for (const Row& row : r.rows)
            if (row.method == method && (!best || r.speedup(row) > r.speedup(*best))) best = &row;
        if (!best) continue;
        const Row* at_cores = r.row(method, cores);
        v += fmt::format("{}{} peak at {:.2f}x with {} worker{}", v.empty() ? "" : "; ", method,
                         r.speedup(*best), best->workers, best->workers == 1 ? "" : "s");
        if (at_cores && cores > 1)
            v += fmt::format(" ({:.0f}% of ideal at {} workers)",
                             100.0 * r.speedup(*at_cores) / double(cores), cores);
    }
    if (v.empty()) return "Only the sequential method ran.";
    const Row* over = r.row("threads", max_workers);
    const Row* at = r.row("threads", cores);
    if (over && at && max_workers > cores)
        v += fmt::format(". Past {} workers there are no more cores: {} threads ran at {:.2f}x, "
                         "{} than {}",
                         cores, max_workers, r.speedup(*over),
                         r.speedup(*over) >= r.speedup(*at) * 0.95 ? "no better" : "worse", cores);
    return v + ".";
}

}  // namespace

Result run_scale(const Settings& settings) {
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    unsigned n = default_workers(settings);
    unsigned max_workers = 2 * n;
    CpuSize size = cpu_size(settings, 5'000'000, settings.target_seconds / 2);
    auto numbers = numbers_from(size.base);

    Result r;
    r.name = "scale";
    r.scale_note = size.note;
    r.title = fmt::format("speedup of the CPU workload (20 numbers n = {} + x) on 1..{} workers",
                          size.base, max_workers);
    r.rows.push_back(measure(settings, "sequential", 1, [&] { return cpu_sequential(numbers); }));
    if (wants(settings, "threads"))
        for (unsigned w = 1; w <= max_workers; ++w)
            r.rows.push_back(measure(settings, "threads", w, [&] { return cpu_thread_pool(numbers, w); }));
    if (wants(settings, "processes"))
        for (unsigned w = 1; w <= max_workers; ++w) {
            r.rows.push_back(measure(settings, "processes", w,
                                     [&] { return cpu_process_pool(settings, numbers, w); }));
            r.rows.back().cpu_complete = false;
        }
    if (settings.python != PythonMode::off)
        r.skipped.push_back("Python rows: the seeds have no scaling experiment (see cpu for "
                            "Python's threads and processes)");
    r.check_rows();
    r.verdict = verdict(r, cores, max_workers);
    return r;
}

}  // namespace concur_bench
