#include "io_experiment.hpp"

#include <fmt/format.h>

#include <memory>
#include <thread>

#include "io_clients.hpp"
#include "python_runner.hpp"

namespace concur_bench {

std::vector<std::string> io_downloads(const std::vector<std::string>& sites, int times) {
    std::vector<std::string> out;
    for (int t = 0; t < times; ++t) out.insert(out.end(), sites.begin(), sites.end());
    return out;
}

namespace {

std::string verdict(const Result& r, std::size_t downloads) {
    // Verdict from whichever rows ran: C++ ones if any, else Python's.
    auto median = [&](const std::string& m) -> double {
        if (const Row* row = r.row(m)) return row->wall().median;
        if (const PythonRow* p = r.python_row(m)) return p->wall().median;
        return 0;
    };
    double seq = median("sequential"), thr = median("threads"), aio = median("asyncio"),
           prc = median("processes");
    bool cxx = r.rows.size() > 0 && r.rows.front().wall().median > 0;
    std::string who = cxx ? "" : "Python only (the C++ rows did not run): ";
    if (r.rows.empty() && r.python.empty()) return "Not measured (see skipped).";
    if (seq <= 0) return who + "the sequential baseline did not run; no verdict.";
    std::string v = fmt::format("{}{} downloads took {:.2f} s one after another", who, downloads, seq);
    if (thr > 0) v += fmt::format("; 5 threads {:.1f}x faster", seq / thr);
    if (aio > 0) v += fmt::format("; coroutines on one thread {:.1f}x", seq / aio);
    if (prc > 0) v += fmt::format("; processes {:.1f}x", seq / prc);
    if (thr > 0 && aio > 0)
        v += aio <= thr * 1.1 ? " -- on I/O, coroutines match or beat threads with a single thread"
                              : " -- threads beat coroutines here";
    return v + ".";
}

}  // namespace

Result run_io(const Settings& settings) {
    // The seed's 2 x 80 under --seed-sizes; by default 2 x 10, so that the
    // sequential row (one --latency per download) takes about a second, as
    // the other experiments' do.
    int times = settings.tiny ? 2 : settings.seed_sizes ? 80 : 10;
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    unsigned thread_workers = settings.workers ? settings.workers : 5;  // the seed's max_workers=5
    unsigned process_workers = settings.workers ? settings.workers : cores;

    Result r;
    r.name = "io";
    std::unique_ptr<io::LocalSites> local;
    std::vector<std::string> sites = settings.urls;
    if (sites.empty()) {
        if (!io::clients_available()) {
            r.title = fmt::format("{} downloads (2 sites x {}) from the local site server (seed 004)",
                                  2 * times, times);
            r.skipped.push_back(fmt::format("io: {}; the local site server is one of them, so "
                                            "nothing ran (--url SITE runs Python's rows against "
                                            "sites you name)",
                                            io::unavailable_reason()));
            r.verdict = "Not measured: " + io::unavailable_reason() + ".";
            return r;
        }
        local = io::start_local_sites(settings.latency);
        sites = local->urls();
        r.scale_note = fmt::format("local site server on 127.0.0.1, {} ms per request (--latency)",
                                   settings.latency.count());
    }
    if (times != 80)
        r.scale_note += fmt::format("{}each site {} times instead of the seed's 80 (--seed-sizes: 80)",
                                    r.scale_note.empty() ? "" : "; ", times);
    auto downloads = io_downloads(sites, times);
    r.title = fmt::format("{} downloads ({} site{} x {}) (seed 004)", downloads.size(), sites.size(),
                          sites.size() == 1 ? "" : "s", times);

    if (io::clients_available()) {
        auto add = [&](const std::string& method, unsigned w, const std::function<uint64_t()>& fn) {
            r.rows.push_back(measure(settings, method, w, fn));
            r.rows.back().python_peer = method;
        };
        add("sequential", 1, [&] { return io::download_sequential(downloads); });
        if (wants(settings, "threads"))
            add("threads", thread_workers, [&] { return io::download_threads(downloads, thread_workers); });
        if (wants(settings, "asyncio")) add("asyncio", 1, [&] { return io::download_asyncio(downloads); });
        if (wants(settings, "processes")) {
            add("processes", process_workers, [&] {
                return io::download_processes(downloads, process_workers, settings.start_method);
            });
            r.rows.back().cpu_complete = false;
        }
    } else {
        r.skipped.push_back("C++ rows: " + io::unavailable_reason());
    }

    if (python_gate(settings, r, true, "")) {
        std::vector<std::string> args{"--times", std::to_string(times), "--threads",
                                      std::to_string(thread_workers), "--processes",
                                      std::to_string(process_workers)};
        for (const std::string& s : sites) args.insert(args.end(), {"--url", s});
        std::vector<std::string> methods;
        for (const std::string& m : kIoMethods)
            if (m == "sequential" || wants(settings, m)) methods.push_back(m);
        run_python_rows(settings, r, "io.py", args, methods);
    }
    if (!r.rows.empty()) {
        r.check_rows();
    } else {
        // No C++ baseline: check Python's rows against Python's sequential.
        const PythonRow* base = r.python_row("sequential");
        for (PythonRow& p : r.python)
            p.check = !base ? Check::not_checked : p.checksum == base->checksum ? Check::ok : Check::wrong;
    }
    r.verdict = verdict(r, downloads.size());
    return r;
}

}  // namespace concur_bench
