#include "experiment.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "progress.hpp"

namespace concur_bench {

Summary summarize(std::vector<double> samples) {
    if (samples.empty()) return {};
    std::sort(samples.begin(), samples.end());
    std::size_t n = samples.size();
    double median = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
    return {median, samples.front(), samples.back()};
}

const char* check_name(Check c) {
    switch (c) {
        case Check::ok: return "ok";
        case Check::wrong: return "wrong";
        case Check::lost_updates: return "lost-updates";
        case Check::not_checked: return "not-checked";
    }
    return "not-checked";
}

double Result::speedup(const Row& r) const {
    double base = rows.empty() ? 0 : rows.front().wall().median;
    double mine = r.wall().median;
    return mine > 0 && base > 0 ? base / mine : 0;
}

const PythonRow* Result::python_row(const std::string& method) const {
    for (const PythonRow& p : python)
        if (p.method == method) return &p;
    return nullptr;
}

const Row* Result::row(const std::string& method, unsigned workers) const {
    for (const Row& r : rows)
        if (r.method == method && (workers == 0 || r.workers == workers)) return &r;
    return nullptr;
}

std::optional<double> Result::vs_python(const Row& r) const {
    const PythonRow* p = r.python_peer.empty() ? nullptr : python_row(r.python_peer);
    if (!p || p->wall_s.empty() || p->check == Check::wrong) return std::nullopt;
    double mine = r.wall().median;
    if (mine <= 0) return std::nullopt;
    return p->wall().median / mine;
}

bool Result::check_rows() {
    if (rows.empty()) return true;
    uint64_t expected = rows.front().checksum;
    for (Row& r : rows) {
        if (!r.consistent) r.check = Check::wrong;
        else if (r.checksum == expected) r.check = Check::ok;
        else r.check = r.expect_mismatch ? Check::lost_updates : Check::wrong;
    }
    for (PythonRow& p : python) {
        // Python's unprotected race row may lose updates too (rarely, under the GIL).
        const Row* peer = nullptr;
        for (const Row& r : rows)
            if (r.python_peer == p.method) peer = &r;
        if (p.checksum == expected) p.check = Check::ok;
        else p.check = peer && peer->expect_mismatch ? Check::lost_updates : Check::wrong;
    }
    return all_ok();
}

bool Result::all_ok() const {
    for (const Row& r : rows)
        if (r.check == Check::wrong) return false;
    for (const PythonRow& p : python)
        if (p.check == Check::wrong) return false;
    return true;
}

double process_cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto secs = [](timeval tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; };
    return secs(ru.ru_utime) + secs(ru.ru_stime);
}

Row measure(const Settings& settings, const std::string& method, unsigned workers,
            const std::function<uint64_t()>& fn) {
    Row row;
    row.method = method;
    row.workers = workers;
    for (int i = 0; i < settings.repeat; ++i) {
        if (settings.progress) settings.progress->step(method);
        double cpu0 = process_cpu_seconds();
        auto t0 = std::chrono::steady_clock::now();
        uint64_t sum = fn();
        auto t1 = std::chrono::steady_clock::now();
        row.cpu_s.push_back(process_cpu_seconds() - cpu0);
        row.wall_s.push_back(std::chrono::duration<double>(t1 - t0).count());
        if (i == 0) row.checksum = sum;
        else if (sum != row.checksum) row.consistent = false;
    }
    return row;
}

bool wants(const Settings& s, const std::string& method) {
    return s.methods.empty() ||
           std::find(s.methods.begin(), s.methods.end(), method) != s.methods.end();
}

unsigned default_workers(const Settings& s) {
    return s.workers ? s.workers : std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace concur_bench
