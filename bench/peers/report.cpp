#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <thread>

#include <unistd.h>

#include "peers/common.hpp"

namespace peers {

namespace {
std::vector<double> sorted(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v;
}
}  // namespace

double Row::median() const {
    if (samples.empty()) return NAN;
    auto v = sorted(samples);
    std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
double Row::min() const { return samples.empty() ? NAN : sorted(samples).front(); }
double Row::max() const { return samples.empty() ? NAN : sorted(samples).back(); }

double Table::speedup(const Row& peer) const {
    double c = rows.front().median(), p = peer.median();
    return higher_is_better ? c / p : p / c;
}

std::string format_value(double v) {
    char buf[32];
    double a = std::fabs(v);
    if (a >= 1e9)
        std::snprintf(buf, sizeof buf, "%.3f G", v / 1e9);
    else if (a >= 1e6)
        std::snprintf(buf, sizeof buf, "%.3f M", v / 1e6);
    else if (a >= 1e4)
        std::snprintf(buf, sizeof buf, "%.1f k", v / 1e3);
    else
        std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

Report::Snapshot Report::snapshot() {
    Snapshot s;
    s.at = Clock::now();
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    s.own_s = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
    // /proc/stat "cpu": user nice system idle iowait irq softirq steal ...
    if (std::FILE* f = std::fopen("/proc/stat", "r")) {
        unsigned long long v[8] = {};
        if (std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                        &v[4], &v[5], &v[6], &v[7]) == 8)
            s.busy_s = static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
                       static_cast<double>(sysconf(_SC_CLK_TCK));
        std::fclose(f);
    }
    return s;
}

void Report::begin() { begun_ = snapshot(); }

void Report::print(const Table& t) {
    std::printf("\n== %s\n   (%s, %s is better; median, min and max of %zu runs)\n",
                t.title.c_str(), t.unit.c_str(), t.higher_is_better ? "higher" : "lower",
                t.rows.front().samples.size());
    std::printf("   %-40s %12s %12s %12s %14s\n", "method", "median", "min", "max",
                "concur/peer");
    for (const Row& r : t.rows) {
        std::string ratio = "";
        if (&r != &t.rows.front()) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.2fx", t.speedup(r));
            ratio = buf;
        }
        std::printf("   %-40s %12s %12s %12s %14s\n", r.name.c_str(),
                    format_value(r.median()).c_str(), format_value(r.min()).c_str(),
                    format_value(r.max()).c_str(), ratio.c_str());
        value(t.key + "." + r.key, r.median());
    }
    Snapshot end = snapshot();
    double wall = std::chrono::duration<double>(end.at - begun_.at).count();
    double others = std::max(0.0, (end.busy_s - begun_.busy_s) - (end.own_s - begun_.own_s)) / wall;
    std::printf("   noise: other processes kept %.2f of %u cores busy during this table\n", others,
                std::thread::hardware_concurrency());
    value(t.key + ".noise_other_cores_busy", others);
    std::fflush(stdout);
}

void Report::note(const std::string& text) {
    std::printf("   %s\n", text.c_str());
    std::fflush(stdout);
}

void Report::target(const std::string& text, bool pass, const std::string& measured) {
    std::string line =
        "target: " + text + " -> " + (pass ? "PASS" : "FAIL") + " (measured " + measured + ")";
    std::printf("   %s\n", line.c_str());
    std::fflush(stdout);
    verdicts_.push_back(line);
}

void Report::missing_peer(const std::string& peer, const std::string& package) {
    std::string line = "peer " + peer + " not built: install " + package;
    std::printf("   %s\n", line.c_str());
    if (std::find(verdicts_.begin(), verdicts_.end(), line) == verdicts_.end()) verdicts_.push_back(line);
}

void Report::summary() const {
    std::printf("\n== summary (concur/peer is how many times faster concur is)\n");
    for (const auto& v : verdicts_) std::printf("   %s\n", v.c_str());
    std::fflush(stdout);
}

bool Report::write_json(const std::string& path) const {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) return false;
    std::fprintf(f, "{\n");
    for (std::size_t i = 0; i < json_.size(); ++i)
        std::fprintf(f, "  \"%s\": %.6g%s\n", json_[i].first.c_str(), json_[i].second,
                     i + 1 < json_.size() ? "," : "");
    std::fprintf(f, "}\n");
    return std::fclose(f) == 0;
}

void check(bool ok, const std::string& what) {
    if (ok) return;
    std::fprintf(stderr, "bench_peers_thread_pool: wrong result: %s\n", what.c_str());
    std::exit(2);
}

void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }

}  // namespace peers
