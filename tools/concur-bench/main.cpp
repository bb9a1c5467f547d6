// concur-bench: the seed experiments as one command.
//
//   concur-bench                       every experiment, defaults (~2 min on 2 cores)
//   concur-bench cpu                   one experiment (cpu fib io sleep race scale)
//   concur-bench --seed-sizes --repeat 5 --json out.json --html out.html
//
// Exit status: 0 when every result checked out, 1 when a method computed a
// wrong result or a report could not be written, 2 for a usage error.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "concur/multiprocessing/context.hpp"
#include "experiments.hpp"
#include "html.hpp"
#include "machine.hpp"
#include "progress.hpp"
#include "python_runner.hpp"
#include "report.hpp"

using namespace concur_bench;

namespace {

bool write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    out.close();
    if (out) return true;
    fmt::print(stderr, "concur-bench: cannot write {}\n", path);
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    // The process pools' workers re-execute this binary (forkserver, spawn):
    // in them this runs their work and never returns.
    concur::multiprocessing::freeze_support();

    ParseOutcome parsed = parse_cli(std::vector<std::string>(argv + 1, argv + argc));
    std::fputs(parsed.out.c_str(), stdout);
    std::fputs(parsed.err.c_str(), stderr);
    if (!parsed.options) return parsed.exit_code;
    Options& o = *parsed.options;
    Settings& s = o.settings;

    if (s.python == PythonMode::on && find_python(s).exe.empty()) {
        fmt::print(stderr, "concur-bench: --python: {}\n", find_python(s).why_not);
        return 2;
    }
    Machine machine = describe_machine();
    if (!s.quiet)
        fmt::print("concur-bench on {} ({} cores), {}, {}, event loop {}\n", machine.cpu_model,
                   machine.cores, machine.kernel, machine.compiler, machine.loop_backend);
    std::fflush(stdout);

    Progress progress(stderr, Progress::wanted(stderr, s.quiet));
    s.progress = &progress;
    std::vector<Result> results;
    for (const std::string& name : o.experiments) {
        const ExperimentInfo* e = find_experiment(name);
        progress.begin(name, e->steps * s.repeat + 1);
        for (Result& r : e->run(s)) {
            progress.finish();
            if (s.quiet) fmt::print("{}: {}\n", r.name, r.verdict);
            else print_table(stdout, r);
            std::fflush(stdout);
            results.push_back(std::move(r));
        }
    }
    progress.finish();

    bool ok = true;
    if (!o.json_path.empty()) ok = write_file(o.json_path, to_json(machine, s, results).dump(2) + "\n") && ok;
    if (!o.html_path.empty()) ok = write_file(o.html_path, render_html(machine, s, results)) && ok;
    for (const Result& r : results)
        for (const Row& row : r.rows)
            if (row.check == Check::wrong) {
                fmt::print(stderr, "concur-bench: {} / {} computed a wrong result\n", r.name, row.method);
                ok = false;
            }
    for (const Result& r : results)
        for (const PythonRow& p : r.python)
            if (p.check == Check::wrong) {
                fmt::print(stderr, "concur-bench: Python's {} / {} computed a different result\n", r.name,
                           p.method);
                ok = false;
            }
    return ok ? 0 : 1;
}
