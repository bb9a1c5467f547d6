// concur-bench: the seed experiments as one command.
//
//   concur-bench                 every experiment (so far: cpu, sleep)
//   concur-bench cpu             one experiment
//   concur-bench --repeat 5 --workers 2 --seed-sizes --json out.json --quiet
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cpu_experiment.hpp"
#include "sleep_experiment.hpp"
#include "machine.hpp"
#include "report.hpp"

using namespace concur_bench;

int main(int argc, char** argv) {
    CLI::App app{"concur-bench: the seeds' concurrency experiments (threads, coroutines, "
                 "processes), measured with concur"};
    Settings s;
    std::string json_path;
    std::string methods;
    app.add_option("--repeat", s.repeat, "samples per method (median, min and max are reported)")
        ->check(CLI::Range(1, 1000));
    app.add_option("--workers", s.workers, "workers for the pools (default: one per core)")
        ->check(CLI::Range(1u, 4096u));
    app.add_flag("--seed-sizes", s.seed_sizes, "run the seeds' exact sizes instead of ~1 s runs");
    app.add_option("--methods", methods, "comma-separated methods to run (default: all)");
    app.add_option("--json", json_path, "write every sample as JSON (schema concur-bench/1)");
    app.add_flag("--quiet", s.quiet, "print only the verdicts");
    app.require_subcommand(0, 1);
    auto* cpu = app.add_subcommand("cpu", "CPU-bound: sum of i*i over 20 numbers (seeds 000, 002)");
    auto* sleep = app.add_subcommand("sleep", "I/O-bound waiting: 10 queries that sleep (seed 001)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return 2;  // usage errors exit 2, as the issue and POSIX tools do
    }
    for (std::size_t pos = 0; !methods.empty() && pos <= methods.size();) {
        std::size_t comma = methods.find(',', pos);
        if (comma == std::string::npos) comma = methods.size();
        s.methods.push_back(methods.substr(pos, comma - pos));
        pos = comma + 1;
    }

    Machine machine = describe_machine();
    if (!s.quiet)
        fmt::print("concur-bench on {} ({} cores), {}, {}\n", machine.cpu_model, machine.cores,
                   machine.kernel, machine.compiler);

    std::vector<Result> results;
    bool all = app.get_subcommands().empty();
    if (all || cpu->parsed()) results.push_back(run_cpu(s));
    if (all || sleep->parsed()) results.push_back(run_sleep(s));

    for (const Result& r : results) {
        if (s.quiet)
            fmt::print("{}: {}\n", r.name, r.verdict);
        else
            print_table(stdout, r);
    }
    if (!json_path.empty()) {
        std::ofstream out(json_path);
        if (!out) {
            fmt::print(stderr, "concur-bench: cannot write {}\n", json_path);
            return 1;
        }
        out << to_json(machine, s, results).dump(2) << "\n";
    }
    for (const Result& r : results)
        for (const Row& row : r.rows)
            if (!row.checksum_ok) {
                fmt::print(stderr, "concur-bench: {} / {} computed a wrong result\n", r.name, row.method);
                return 1;
            }
    return 0;
}
