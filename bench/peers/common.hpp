// Shared by the parts of bench_peers_thread_pool: the run configuration, the
// sample tables every part fills, and the report that prints them beside
// each other and writes the medians as JSON.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace peers {

struct Config {
    int repeat = 5;
    unsigned cores = 1;       // worker threads for every pool, concur's and the peers'
    uint64_t cpu_base = 0;    // target c: 0 = calibrate to >= 1 s sequential
};

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// One method's samples, one per repetition.
struct Row {
    std::string name;
    std::string key;  // its name in the JSON file
    std::vector<double> samples;
    double median() const;
    double min() const;
    double max() const;
};

// One target's figures. rows[0] is the subject (concur); the others are the
// peers it is compared with.
struct Table {
    std::string key;  // JSON prefix
    std::string title;
    std::string unit;
    bool higher_is_better = true;
    std::vector<Row> rows;

    Row& add(std::string name, std::string key) {
        rows.push_back({std::move(name), std::move(key), {}});
        return rows.back();
    }
    // How many times faster rows[0] is than `peer`, from the medians
    // (> 1: concur is faster), whichever way the unit points.
    double speedup(const Row& peer) const;
};

class Report {
public:
    // Starts the noise meter for the next table: how much CPU the rest of
    // the machine used while it was measured.
    void begin();
    // Prints the table and records its medians for the JSON file.
    void print(const Table& table);
    void note(const std::string& text);
    // Prints "target: <text> -> PASS/FAIL (measured <measured>)" now and again
    // in the summary.
    void target(const std::string& text, bool pass, const std::string& measured);
    void missing_peer(const std::string& peer, const std::string& package);
    void value(const std::string& key, double v) { json_.emplace_back(key, v); }
    void summary() const;
    bool write_json(const std::string& path) const;

private:
    struct Snapshot {
        double busy_s = 0, own_s = 0;
        Clock::time_point at;
    };
    static Snapshot snapshot();
    Snapshot begun_;
    std::vector<std::string> verdicts_;
    std::vector<std::pair<std::string, double>> json_;
};

std::string format_value(double v);

// Aborts the run: a timing of a wrong answer is worth nothing.
void check(bool ok, const std::string& what);

// Lets the previous method's threads go to sleep (TBB and concur workers
// spin briefly before parking) so they do not eat the next method's CPU.
void settle();

void bench_idle(const Config& cfg, Report& report);
void bench_memory(const Config& cfg, Report& report);
void bench_submit(const Config& cfg, Report& report);
void bench_fork_join(const Config& cfg, Report& report);
void bench_cpu(const Config& cfg, Report& report);

}  // namespace peers
