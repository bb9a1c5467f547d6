// What every concur-bench experiment produces: rows of repeated timings of
// one method each, checked against the sequential result, the same methods
// timed in Python when it ran, and a verdict computed from the figures.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace concur_bench {

class Progress;

// How Python rows are chosen: auto runs them where they are affordable and
// comparable (see python_runner.hpp), on requires python3 (exit 2 without
// it), off never runs them.
enum class PythonMode { automatic, on, off };

struct Settings {
    int repeat = 5;           // samples per method; the seeds took the median of five
    unsigned workers = 0;     // 0: one per core (Python's default)
    bool seed_sizes = false;  // the seeds' exact sizes instead of ~1 s runs
    bool tiny = false;        // milliseconds-long sizes, for tests (--tiny)
    double target_seconds = 1.0;  // what a scaled sequential run should take
    bool quiet = false;
    std::vector<std::string> methods;  // empty: all
    std::chrono::milliseconds latency{50};  // io: the local site server's delay per request
    std::vector<std::string> urls;     // io: sites given by the user instead of the local server
    PythonMode python = PythonMode::automatic;
    std::string python_exe;            // empty: $CONCUR_BENCH_PYTHON, else python3 on PATH
    std::string start_method;          // processes' start method (empty: concur's default)
    Progress* progress = nullptr;      // ticked once per measured sample, may be null
};

struct Summary {
    double median = 0, min = 0, max = 0;
};

// Median, min and max of `samples` (the median of an even count is the mean
// of the two middle values, as Python's statistics.median). Empty -> zeros.
Summary summarize(std::vector<double> samples);

// What the check of a row's result found.
enum class Check {
    ok,            // same checksum as the baseline
    wrong,         // a different checksum: the timing is worthless
    lost_updates,  // race's unprotected row: a different count is what it shows
    not_checked,   // nothing to compare (the baseline did not run)
};
const char* check_name(Check c);

struct PythonRow {
    std::string method;
    std::vector<double> wall_s, cpu_s;
    uint64_t checksum = 0;
    Check check = Check::not_checked;  // against the C++ baseline's checksum
    Summary wall() const { return summarize(wall_s); }
};

struct Row {
    std::string method;
    unsigned workers = 1;
    std::vector<double> wall_s;  // one per repetition
    std::vector<double> cpu_s;   // this process's CPU time (user + system) per repetition
    bool cpu_complete = true;    // false: the work ran in other processes, not counted
    uint64_t checksum = 0;
    bool consistent = true;      // every repetition returned the same checksum
    Check check = Check::not_checked;
    bool expect_mismatch = false;  // race's unprotected row
    std::string python_peer;     // the Python row timing the same method, if any
    Summary wall() const { return summarize(wall_s); }
    Summary cpu() const { return summarize(cpu_s); }
};

struct Result {
    std::string name;         // "cpu", "fib", "io", "race", "scale", "sleep"
    std::string title;        // one line saying what was measured
    std::string scale_note;   // how sizes were scaled, if they were
    std::vector<Row> rows;    // the first row is the baseline (sequential)
    std::vector<PythonRow> python;     // the Python programs' rows, when they ran
    std::vector<std::string> skipped;  // rows that could not run here, and why
    std::string verdict;

    // Speedup of `row` over the baseline, from medians (0 if either is 0).
    double speedup(const Row& row) const;
    // Python's median over this row's (how many times faster C++ is), or
    // nullopt when Python did not time this method.
    std::optional<double> vs_python(const Row& row) const;
    const PythonRow* python_row(const std::string& method) const;
    const Row* row(const std::string& method, unsigned workers = 0) const;
    // Sets every row's check against the first row's checksum, and every
    // Python row's. True when no row is `wrong`.
    bool check_rows();
    bool all_ok() const;
};

// Times `fn` `repeat` times; each call returns its checksum. Ticks
// settings.progress once per sample.
Row measure(const Settings& settings, const std::string& method, unsigned workers,
            const std::function<uint64_t()>& fn);

// Process CPU time (user + system) of this process, in seconds.
double process_cpu_seconds();

bool wants(const Settings& s, const std::string& method);

// One per core, or --workers.
unsigned default_workers(const Settings& s);

}  // namespace concur_bench
