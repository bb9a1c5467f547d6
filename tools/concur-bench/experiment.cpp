#include "experiment.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>

namespace concur_bench {

Summary summarize(std::vector<double> samples) {
    if (samples.empty()) return {};
    std::sort(samples.begin(), samples.end());
    std::size_t n = samples.size();
    double median = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
    return {median, samples.front(), samples.back()};
}

double Result::speedup(const Row& row) const {
    double base = rows.empty() ? 0 : rows.front().wall().median;
    double mine = row.wall().median;
    return mine > 0 ? base / mine : 0;
}

namespace {
double process_cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto secs = [](timeval tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; };
    return secs(ru.ru_utime) + secs(ru.ru_stime);
}
}  // namespace

Row measure(const std::string& method, unsigned workers, int repeat,
            const std::function<uint64_t()>& fn) {
    Row row;
    row.method = method;
    row.workers = workers;
    for (int i = 0; i < repeat; ++i) {
        double cpu0 = process_cpu_seconds();
        auto t0 = std::chrono::steady_clock::now();
        uint64_t sum = fn();
        auto t1 = std::chrono::steady_clock::now();
        row.cpu_s.push_back(process_cpu_seconds() - cpu0);
        row.wall_s.push_back(std::chrono::duration<double>(t1 - t0).count());
        if (i == 0) row.checksum = sum;
        else if (sum != row.checksum) row.checksum_ok = false;
    }
    return row;
}

bool wants(const Settings& s, const std::string& method) {
    return s.methods.empty() ||
           std::find(s.methods.begin(), s.methods.end(), method) != s.methods.end();
}

}  // namespace concur_bench
