// The --json report follows its documented schema (docs/bench-json.md,
// "concur-bench/1"): every key with its type, every sample, and figures
// that agree with the samples they summarise.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "python_runner.hpp"
#include "race_experiment.hpp"
#include "report.hpp"
#include "sleep_experiment.hpp"

using namespace concur_bench;
using nlohmann::json;

namespace {

void expect_type(const json& j, const char* key, json::value_t type, bool nullable = false) {
    ASSERT_TRUE(j.contains(key)) << "missing key " << key << " in " << j.dump().substr(0, 200);
    if (nullable && j.at(key).is_null()) return;
    json::value_t t = j.at(key).type();
    // Whole numbers may be written signed or unsigned; both are "integer".
    auto integer = [](json::value_t v) {
        return v == json::value_t::number_integer || v == json::value_t::number_unsigned;
    };
    if (type == json::value_t::number_float)
        EXPECT_TRUE(j.at(key).is_number()) << key;
    else if (integer(type))
        EXPECT_TRUE(integer(t)) << key;
    else
        EXPECT_EQ(t, type) << key;
}

void expect_samples(const json& row, std::size_t repeat) {
    using V = json::value_t;
    for (const char* k : {"wall_s", "cpu_s"}) {
        expect_type(row, k, V::array);
        EXPECT_EQ(row.at(k).size(), repeat) << k;
        for (const json& x : row.at(k)) EXPECT_TRUE(x.is_number());
    }
    for (const char* k : {"median_s", "min_s", "max_s"}) expect_type(row, k, V::number_float);
    std::vector<double> wall = row.at("wall_s").get<std::vector<double>>();
    Summary s = summarize(wall);
    EXPECT_DOUBLE_EQ(row.at("median_s").get<double>(), s.median);
    EXPECT_DOUBLE_EQ(row.at("min_s").get<double>(), s.min);
    EXPECT_DOUBLE_EQ(row.at("max_s").get<double>(), s.max);
    expect_type(row, "checksum", V::number_unsigned);
    expect_type(row, "check", V::string);
    std::string check = row.at("check");
    EXPECT_TRUE(check == "ok" || check == "wrong" || check == "lost-updates" || check == "not-checked") << check;
}

// Checks a whole document against docs/bench-json.md.
void expect_schema(const json& j, std::size_t repeat) {
    using V = json::value_t;
    EXPECT_EQ(j.at("schema"), "concur-bench/1");
    const json& m = j.at("machine");
    for (const char* k : {"cpu_model", "kernel", "compiler", "loop_backend"}) expect_type(m, k, V::string);
    expect_type(m, "cores", V::number_unsigned);
    const json& s = j.at("settings");
    expect_type(s, "repeat", V::number_integer);
    EXPECT_EQ(s.at("repeat").get<std::size_t>(), repeat);
    expect_type(s, "workers", V::number_unsigned);
    for (const char* k : {"seed_sizes", "tiny"}) expect_type(s, k, V::boolean);
    expect_type(s, "target_seconds", V::number_float);
    for (const char* k : {"methods", "urls"}) expect_type(s, k, V::array);
    expect_type(s, "latency_ms", V::number_integer);
    for (const char* k : {"python", "python_exe", "python_version"}) expect_type(s, k, V::string);
    ASSERT_TRUE(j.at("experiments").is_array());
    for (const json& e : j.at("experiments")) {
        for (const char* k : {"name", "title", "scale_note", "verdict"}) expect_type(e, k, V::string);
        for (const char* k : {"skipped", "rows", "python_rows"}) expect_type(e, k, V::array);
        for (const json& row : e.at("rows")) {
            expect_type(row, "method", V::string);
            expect_type(row, "workers", V::number_unsigned);
            expect_type(row, "cpu_complete", V::boolean);
            expect_type(row, "cpu_median_s", V::number_float);
            expect_type(row, "speedup", V::number_float);
            expect_type(row, "python_method", V::string, true);
            expect_type(row, "vs_python", V::number_float, true);
            expect_samples(row, repeat);
        }
        for (const json& p : e.at("python_rows")) {
            expect_type(p, "method", V::string);
            expect_samples(p, repeat);
        }
    }
}

}  // namespace

TEST(BenchJson, ToJsonFollowsTheDocumentedSchema) {
    Settings s;
    s.tiny = true;
    s.repeat = 3;
    s.start_method = "fork";  // this binary's main() is GoogleTest's: no freeze_support()
    std::vector<Result> results{run_race(s), run_sleep(s)};
    json j = to_json(describe_machine(), s, results);
    expect_schema(j, 3);
    ASSERT_EQ(j.at("experiments").size(), 2u);
    EXPECT_EQ(j["experiments"][0]["name"], "race");
    EXPECT_EQ(j["experiments"][0]["rows"][0]["method"], "sequential");
    EXPECT_EQ(j["experiments"][0]["rows"][0]["checksum"], 20000u);
}

TEST(BenchJson, TheBinaryWritesItWithEveryExperiment) {
    auto path = std::filesystem::temp_directory_path() / ("bench-json-" + std::to_string(::getpid()) + ".json");
    Captured c = run_capture({CONCUR_BENCH_EXE, "--tiny", "--repeat", "2", "--quiet", "--json", path.string()});
    ASSERT_EQ(c.status, 0) << c.output;
    std::ifstream in(path);
    json j = json::parse(in);
    std::filesystem::remove(path);
    expect_schema(j, 2);
    std::vector<std::string> names;
    for (const json& e : j.at("experiments")) names.push_back(e.at("name"));
    EXPECT_EQ(names, (std::vector<std::string>{"cpu", "fib", "io", "sleep", "race", "scale"}));
}

TEST(BenchJson, AnUnwritablePathIsAnErrorNotACrash) {
    Captured c = run_capture({CONCUR_BENCH_EXE, "--tiny", "--repeat", "1", "--quiet", "--no-python",
                              "--json", "/nonexistent-dir/x.json", "race"});
    EXPECT_EQ(c.status, 1) << c.output;
    EXPECT_NE(c.output.find("cannot write"), std::string::npos) << c.output;
}
