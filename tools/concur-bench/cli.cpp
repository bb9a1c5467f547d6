#include "cli.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "concur/multiprocessing/context.hpp"
#include "experiments.hpp"

namespace concur_bench {

namespace {

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos <= s.size()) {
        std::size_t comma = std::min(s.find(',', pos), s.size());
        if (comma > pos) out.push_back(s.substr(pos, comma - pos));
        pos = comma + 1;
    }
    return out;
}

}  // namespace

ParseOutcome parse_cli(const std::vector<std::string>& args) {
    CLI::App app{"concur-bench: the seeds' concurrency experiments (threads, coroutines, "
                 "processes), measured with concur beside the seeds' Python programs.\n"
                 "With no experiment named, runs them all.",
                 "concur-bench"};
    Options o;
    Settings& s = o.settings;
    std::string methods, start_method;
    int latency_ms = 50;
    std::vector<std::string> urls;
    bool python = false, no_python = false;
    app.add_option("--repeat", s.repeat, "runs per method; median, min and max are reported (default 5)")
        ->check(CLI::Range(1, 1000));
    app.add_option("--workers", s.workers, "pool size (default: one per core; scale runs 1..2x this)")
        ->check(CLI::Range(1u, 512u));
    app.add_option("--methods", methods, "comma-separated methods to run beside sequential (default: all)");
    app.add_option("--latency", latency_ms, "io: the local site server's delay per request, ms (default 50)")
        ->check(CLI::Range(0, 60'000));
    app.add_option("--url", urls, "io: download this site instead of the local server (repeatable)");
    app.add_flag("--seed-sizes", s.seed_sizes, "run the seeds' exact sizes instead of ~1 s runs; "
                                              "Python's CPU rows run only then");
    app.add_flag("--python", python, "require python3 for the Python rows (exit 2 without it)");
    app.add_flag("--no-python", no_python, "do not run the Python programs");
    app.add_option("--json", o.json_path, "write every sample as JSON (schema concur-bench/1, docs/bench-json.md)");
    app.add_option("--html", o.html_path, "write a self-contained HTML report");
    app.add_flag("--quiet", s.quiet, "print only the verdicts; no progress bar");
    app.add_option("--target", s.target_seconds, "seconds a scaled sequential run should take (default 1)")
        ->check(CLI::Range(0.01, 600.0));
    app.add_flag("--tiny", s.tiny, "millisecond sizes, to check that everything runs (tests)");
    app.add_option("--start-method", start_method, "processes' start method: fork, spawn or forkserver")
        ->check(CLI::IsMember({"fork", "spawn", "forkserver"}));
    app.require_subcommand(0);
    app.fallthrough();  // options may follow the experiment: `concur-bench cpu --repeat 3`
    for (const ExperimentInfo& e : experiments()) app.add_subcommand(e.name, e.help);

    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 pops from the back
    ParseOutcome out;
    try {
        app.parse(reversed);
    } catch (const CLI::CallForHelp&) {
        out.out = app.help();
        return out;
    } catch (const CLI::ParseError& e) {
        out.exit_code = 2;
        out.err = fmt::format("concur-bench: {}\n\n{}", e.what(), app.help());
        return out;
    }
    auto usage_error = [&](const std::string& msg) {
        out.exit_code = 2;
        out.err = fmt::format("concur-bench: {}\nRun concur-bench --help for usage.\n", msg);
        return out;
    };
    if (python && no_python) return usage_error("--python and --no-python contradict each other");
    if (s.tiny && s.seed_sizes) return usage_error("--tiny and --seed-sizes contradict each other");
    s.python = python ? PythonMode::on : no_python ? PythonMode::off : PythonMode::automatic;
    s.latency = std::chrono::milliseconds(latency_ms);
    s.start_method = start_method;
    for (const std::string& u : urls)
        if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0)
            return usage_error(fmt::format("--url {}: give an http:// or https:// address", u));
    s.urls = urls;

    for (auto* sub : app.get_subcommands()) o.experiments.push_back(sub->get_name());
    if (o.experiments.empty())
        for (const ExperimentInfo& e : experiments()) o.experiments.push_back(e.name);

    s.methods = split_commas(methods);
    if (!methods.empty() && s.methods.empty()) return usage_error("--methods: name at least one method");
    for (const std::string& m : s.methods) {
        bool known = false;
        std::string choices;
        for (const std::string& name : o.experiments) {
            const ExperimentInfo* e = find_experiment(name);
            known = known || std::find(e->methods.begin(), e->methods.end(), m) != e->methods.end();
            std::ostringstream line;
            for (const std::string& em : e->methods) line << (em == e->methods.front() ? "" : ", ") << em;
            choices += fmt::format("\n  {}: {}", name, line.str());
        }
        if (!known)
            return usage_error(fmt::format("--methods: no experiment run here has a method '{}'; "
                                           "the methods are:{}", m, choices));
    }
    out.options = std::move(o);
    return out;
}

}  // namespace concur_bench
