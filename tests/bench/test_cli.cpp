// concur-bench's command line: what runs for each argument list, and that
// bad arguments get a usage message and exit status 2 -- from parse_cli and
// from the real binary.
#include <gtest/gtest.h>

#include <cstdlib>

#include "cli.hpp"
#include "experiments.hpp"
#include "python_runner.hpp"

using namespace concur_bench;

namespace {

ParseOutcome parse(std::vector<std::string> args) { return parse_cli(args); }

void expect_usage_error(std::vector<std::string> args, const std::string& says) {
    ParseOutcome o = parse(args);
    EXPECT_FALSE(o.options.has_value());
    EXPECT_EQ(o.exit_code, 2);
    EXPECT_NE(o.err.find(says), std::string::npos) << o.err;
}

}  // namespace

TEST(BenchCli, NoArgumentsRunsEveryExperimentWithDefaults) {
    ParseOutcome o = parse({});
    ASSERT_TRUE(o.options);
    std::vector<std::string> all;
    for (const ExperimentInfo& e : experiments()) all.push_back(e.name);
    EXPECT_EQ(o.options->experiments, all);
    const Settings& s = o.options->settings;
    EXPECT_EQ(s.repeat, 5);
    EXPECT_EQ(s.workers, 0u);
    EXPECT_FALSE(s.seed_sizes);
    EXPECT_EQ(s.latency.count(), 50);
    EXPECT_EQ(s.python, PythonMode::automatic);
    EXPECT_TRUE(s.methods.empty());
    EXPECT_TRUE(o.options->json_path.empty());
}

TEST(BenchCli, EveryExperimentIsASubcommand) {
    for (const char* name : {"cpu", "fib", "io", "sleep", "race", "scale"}) {
        ParseOutcome o = parse({name});
        ASSERT_TRUE(o.options) << name << ": " << o.err;
        EXPECT_EQ(o.options->experiments, std::vector<std::string>{name});
    }
}

TEST(BenchCli, OptionsReachTheSettings) {
    ParseOutcome o = parse({"--repeat", "3", "--workers", "4", "--methods", "threads,processes",
                            "--latency", "20", "--url", "http://a.example/", "--url", "https://b.example/",
                            "--no-python", "--json", "x.json", "--html", "x.html", "--quiet",
                            "--seed-sizes", "io"});
    ASSERT_TRUE(o.options) << o.err;
    const Options& opt = *o.options;
    EXPECT_EQ(opt.settings.repeat, 3);
    EXPECT_EQ(opt.settings.workers, 4u);
    EXPECT_EQ(opt.settings.methods, (std::vector<std::string>{"threads", "processes"}));
    EXPECT_EQ(opt.settings.latency.count(), 20);
    EXPECT_EQ(opt.settings.urls, (std::vector<std::string>{"http://a.example/", "https://b.example/"}));
    EXPECT_EQ(opt.settings.python, PythonMode::off);
    EXPECT_TRUE(opt.settings.quiet);
    EXPECT_TRUE(opt.settings.seed_sizes);
    EXPECT_EQ(opt.json_path, "x.json");
    EXPECT_EQ(opt.html_path, "x.html");
    EXPECT_EQ(opt.experiments, std::vector<std::string>{"io"});
    EXPECT_EQ(parse({"--python"}).options->settings.python, PythonMode::on);
}

TEST(BenchCli, OptionsMayFollowTheExperimentAndExperimentsChain) {
    ParseOutcome o = parse({"race", "--repeat", "2", "sleep", "--no-python"});
    ASSERT_TRUE(o.options) << o.err;
    EXPECT_EQ(o.options->experiments, (std::vector<std::string>{"race", "sleep"}));
    EXPECT_EQ(o.options->settings.repeat, 2);
    EXPECT_EQ(o.options->settings.python, PythonMode::off);
}

TEST(BenchCli, HelpExitsZeroAndListsTheExperiments) {
    ParseOutcome o = parse({"--help"});
    EXPECT_FALSE(o.options);
    EXPECT_EQ(o.exit_code, 0);
    for (const char* name : {"cpu", "fib", "io", "sleep", "race", "scale", "--seed-sizes", "--json"})
        EXPECT_NE(o.out.find(name), std::string::npos) << name;
}

TEST(BenchCli, BadArgumentsAreUsageErrors) {
    expect_usage_error({"--repeat", "0"}, "--repeat");
    expect_usage_error({"--repeat", "many"}, "--repeat");
    expect_usage_error({"--workers", "-1"}, "--workers");
    expect_usage_error({"--no-such-option"}, "no-such-option");
    expect_usage_error({"nosuchexperiment"}, "nosuchexperiment");
    expect_usage_error({"--latency", "-5"}, "--latency");
    expect_usage_error({"--url", "ftp://x"}, "http://");
    expect_usage_error({"--python", "--no-python"}, "contradict");
    expect_usage_error({"--tiny", "--seed-sizes"}, "contradict");
    expect_usage_error({"--methods", "warp-drive"}, "warp-drive");
    expect_usage_error({"--methods", ","}, "at least one");
    // A method of another experiment than the one named.
    expect_usage_error({"--methods", "lock", "cpu"}, "lock");
    expect_usage_error({"--start-method", "teleport"}, "start-method");
}

TEST(BenchCli, MethodsOfAnyExperimentRunAreAccepted) {
    EXPECT_TRUE(parse({"--methods", "lock,asyncio-epoll"}).options);
    EXPECT_TRUE(parse({"--methods", "lock", "race"}).options);
}

TEST(BenchCli, TheBinaryExitsTwoWithUsageOnBadArguments) {
    Captured c = run_capture({CONCUR_BENCH_EXE, "--repeat", "zero"});
    EXPECT_EQ(c.status, 2) << c.output;
    EXPECT_NE(c.output.find("--repeat"), std::string::npos) << c.output;
    c = run_capture({CONCUR_BENCH_EXE, "frobnicate"});
    EXPECT_EQ(c.status, 2) << c.output;
    c = run_capture({CONCUR_BENCH_EXE, "--help"});
    EXPECT_EQ(c.status, 0) << c.output;
}

TEST(BenchCli, PythonRequiredButMissingExitsTwo) {
    ::setenv("CONCUR_BENCH_PYTHON", "/nonexistent/python3", 1);
    Captured c = run_capture({CONCUR_BENCH_EXE, "--python", "--tiny", "--repeat", "1", "race"});
    ::unsetenv("CONCUR_BENCH_PYTHON");
    EXPECT_EQ(c.status, 2) << c.output;
    EXPECT_NE(c.output.find("no Python interpreter"), std::string::npos) << c.output;
}
