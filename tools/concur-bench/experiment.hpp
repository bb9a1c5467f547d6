// What every concur-bench experiment produces: rows of repeated timings of
// one method each, checked against the sequential result, and a verdict
// computed from the figures.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace concur_bench {

struct Settings {
    int repeat = 5;           // samples per method; the seeds took the median of five
    unsigned workers = 0;     // 0: one per core
    bool seed_sizes = false;  // the seeds' exact sizes instead of ~1 s runs
    double target_seconds = 1.0;  // what a scaled sequential run should take
    bool quiet = false;
    std::vector<std::string> methods;  // empty: all
};

struct Summary {
    double median = 0, min = 0, max = 0;
};

// Median, min and max of `samples` (the median of an even count is the mean
// of the two middle values, as Python's statistics.median). Empty -> zeros.
Summary summarize(std::vector<double> samples);

struct Row {
    std::string method;
    unsigned workers = 1;
    std::vector<double> wall_s;  // one per repetition
    std::vector<double> cpu_s;   // process CPU time (user + system) per repetition
    uint64_t checksum = 0;
    bool checksum_ok = true;     // equals the sequential row's
    Summary wall() const { return summarize(wall_s); }
    Summary cpu() const { return summarize(cpu_s); }
};

struct Result {
    std::string name;         // "cpu", "sleep"
    std::string title;        // one line saying what was measured
    std::string scale_note;   // how sizes were scaled, if they were
    std::vector<Row> rows;    // the first row is the baseline (sequential)
    std::vector<std::string> skipped;  // methods that could not run here, and why
    std::string verdict;

    // Speedup of `row` over the baseline, from medians.
    double speedup(const Row& row) const;
};

// Times `fn` `repeat` times; each call returns its checksum.
Row measure(const std::string& method, unsigned workers, int repeat,
            const std::function<uint64_t()>& fn);

bool wants(const Settings& s, const std::string& method);

}  // namespace concur_bench
