// bench_peers_thread_pool: concur's ThreadPoolExecutor beside Boost.Asio,
// oneTBB and std::async, in one process on one machine (issue 2's targets).
//
//   usage: bench_peers_thread_pool [--repeat N] [--json FILE] [--only LIST]
//                                  [--cpu-base N]
//     --repeat N    runs of every method per target (default 5); the tables
//                   show median, min and max
//     --json FILE   writes the medians as a flat JSON object
//     --only LIST   comma-separated subset of idle,memory,submit,fib,cpu
//     --cpu-base N  base of target c instead of calibrating it
//
// Every pool gets the same number of threads: the hardware's core count.
// The verdicts are information; the exit status is 0 unless an answer was
// wrong (2) or the arguments were (1).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>

#include "peers/common.hpp"

namespace {

void usage() {
    std::fprintf(stderr,
                 "usage: bench_peers_thread_pool [--repeat N] [--json FILE] "
                 "[--only idle,memory,submit,fib,cpu] [--cpu-base N]\n");
    std::exit(1);
}

std::string read_file(const char* path, const char* key) {
    std::FILE* f = std::fopen(path, "r");
    if (!f) return "?";
    char line[512];
    std::string out = "?";
    while (std::fgets(line, sizeof line, f)) {
        std::string s(line);
        if (key == nullptr || s.starts_with(key)) {
            auto colon = s.find(':');
            out = key && colon != std::string::npos ? s.substr(colon + 2) : s;
            if (!out.empty() && out.back() == '\n') out.pop_back();
            break;
        }
    }
    std::fclose(f);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    peers::Config cfg;
    cfg.cores = std::thread::hardware_concurrency();
    if (cfg.cores == 0) cfg.cores = 1;
    std::string json, only = "idle,memory,submit,fib,cpu";
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) usage();
        if (a == "--repeat")
            cfg.repeat = std::atoi(argv[++i]);
        else if (a == "--json")
            json = argv[++i];
        else if (a == "--only")
            only = argv[++i];
        else if (a == "--cpu-base")
            cfg.cpu_base = std::strtoull(argv[++i], nullptr, 10);
        else
            usage();
    }
    if (cfg.repeat < 1) usage();
    auto wanted = [&](const char* name) { return ("," + only + ",").find(std::string(",") + name + ",") != std::string::npos; };

    std::printf("bench_peers_thread_pool: %d runs per method, %u worker threads per pool\n", cfg.repeat,
                cfg.cores);
    std::printf("cpu: %s; kernel: %s\n", read_file("/proc/cpuinfo", "model name").c_str(),
                read_file("/proc/sys/kernel/osrelease", nullptr).c_str());
#if defined(__clang__)
    std::printf("compiler: clang %s\n", __clang_version__);
#else
    std::printf("compiler: g++ %s\n", __VERSION__);
#endif
    // The machine may be shared: the load says how much the figures can be trusted.
    std::printf("load average at start: %s\n", read_file("/proc/loadavg", nullptr).c_str());

    peers::Report report;
    // idle and memory first: no peer has started threads yet.
    using Part = void (*)(const peers::Config&, peers::Report&);
    const std::pair<const char*, Part> parts[] = {
        {"idle", peers::bench_idle}, {"memory", peers::bench_memory}, {"submit", peers::bench_submit},
        {"fib", peers::bench_fork_join}, {"cpu", peers::bench_cpu}};
    for (auto [name, part] : parts) {
        if (!wanted(name)) continue;
        report.begin();
        part(cfg, report);
    }
    report.summary();
    std::printf("load average at end: %s\n", read_file("/proc/loadavg", nullptr).c_str());
    if (!json.empty() && !report.write_json(json)) {
        std::fprintf(stderr, "cannot write %s\n", json.c_str());
        return 1;
    }
    return 0;
}
