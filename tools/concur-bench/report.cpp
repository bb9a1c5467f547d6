#include "report.hpp"

#include <fmt/format.h>

#include "python_runner.hpp"

namespace concur_bench {

std::string format_ratio(std::optional<double> x) {
    if (!x) return "-";
    return *x >= 100 ? fmt::format("{:.0f}x", *x) : fmt::format("{:.2f}x", *x);
}

namespace {
std::string check_text(const Row& row, uint64_t expected) {
    switch (row.check) {
        case Check::ok: return "ok";
        case Check::wrong: return "WRONG RESULT";
        case Check::lost_updates: return fmt::format("lost {}", expected - row.checksum);
        case Check::not_checked: return "-";
    }
    return "-";
}
}  // namespace

void print_table(std::FILE* out, const Result& r) {
    fmt::print(out, "\n== {}: {} ==\n", r.name, r.title);
    if (!r.scale_note.empty()) fmt::print(out, "   ({})\n", r.scale_note);
    if (!r.rows.empty()) {
        fmt::print(out, "{:<17} {:>7} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9}  {}\n", "method", "workers",
                   "wall s", "min", "max", "CPU s", "speedup", "vs Python", "check");
        uint64_t expected = r.rows.front().checksum;
        bool partial_cpu = false;
        for (const Row& row : r.rows) {
            Summary w = row.wall(), c = row.cpu();
            partial_cpu = partial_cpu || !row.cpu_complete;
            fmt::print(out, "{:<17} {:>7} {:>9.4f} {:>9.4f} {:>9.4f} {:>7.3f}{} {:>7.2f}x {:>9}  {}\n",
                       row.method, row.workers, w.median, w.min, w.max, c.median,
                       row.cpu_complete ? " " : "*", r.speedup(row), format_ratio(r.vs_python(row)),
                       check_text(row, expected));
        }
        if (partial_cpu) fmt::print(out, "   * CPU s of this process only: the work ran in worker processes\n");
    }
    if (!r.python.empty()) {
        fmt::print(out, "Python (same sizes):");
        for (const PythonRow& p : r.python)
            fmt::print(out, " {} {:.3f} s{};", p.method, p.wall().median,
                       p.check == Check::ok ? "" : fmt::format(" ({})", check_name(p.check)));
        fmt::print(out, "\n");
    }
    for (const std::string& why : r.skipped) fmt::print(out, "skipped: {}\n", why);
    fmt::print(out, "verdict: {}\n", r.verdict);
}

nlohmann::json to_json(const Machine& m, const Settings& s, const std::vector<Result>& results) {
    nlohmann::json j;
    j["schema"] = kSchema;
    j["machine"] = {{"cpu_model", m.cpu_model}, {"cores", m.cores},
                    {"kernel", m.kernel},       {"compiler", m.compiler},
                    {"loop_backend", m.loop_backend}};
    std::string python_exe, python_version;
    if (s.python != PythonMode::off) {
        const PythonEnv& env = find_python(s);
        python_exe = env.exe;
        python_version = env.version;
    }
    j["settings"] = {{"repeat", s.repeat},
                     {"workers", s.workers},
                     {"seed_sizes", s.seed_sizes},
                     {"tiny", s.tiny},
                     {"target_seconds", s.target_seconds},
                     {"methods", s.methods},
                     {"latency_ms", s.latency.count()},
                     {"urls", s.urls},
                     {"python", s.python == PythonMode::on    ? "on"
                                : s.python == PythonMode::off ? "off"
                                                              : "auto"},
                     {"python_exe", python_exe},
                     {"python_version", python_version}};
    j["experiments"] = nlohmann::json::array();
    for (const Result& r : results) {
        nlohmann::json e = {{"name", r.name},       {"title", r.title},     {"scale_note", r.scale_note},
                            {"verdict", r.verdict}, {"skipped", r.skipped}, {"rows", nlohmann::json::array()},
                            {"python_rows", nlohmann::json::array()}};
        for (const Row& row : r.rows) {
            Summary w = row.wall();
            auto vs = r.vs_python(row);
            e["rows"].push_back({{"method", row.method},
                                 {"workers", row.workers},
                                 {"wall_s", row.wall_s},
                                 {"cpu_s", row.cpu_s},
                                 {"cpu_complete", row.cpu_complete},
                                 {"median_s", w.median},
                                 {"min_s", w.min},
                                 {"max_s", w.max},
                                 {"cpu_median_s", row.cpu().median},
                                 {"speedup", r.speedup(row)},
                                 {"python_method", row.python_peer.empty() ? nlohmann::json(nullptr)
                                                                           : nlohmann::json(row.python_peer)},
                                 {"vs_python", vs ? nlohmann::json(*vs) : nlohmann::json(nullptr)},
                                 {"checksum", row.checksum},
                                 {"check", check_name(row.check)}});
        }
        for (const PythonRow& p : r.python) {
            Summary w = p.wall();
            e["python_rows"].push_back({{"method", p.method},
                                        {"wall_s", p.wall_s},
                                        {"cpu_s", p.cpu_s},
                                        {"median_s", w.median},
                                        {"min_s", w.min},
                                        {"max_s", w.max},
                                        {"checksum", p.checksum},
                                        {"check", check_name(p.check)}});
        }
        j["experiments"].push_back(std::move(e));
    }
    return j;
}

}  // namespace concur_bench
