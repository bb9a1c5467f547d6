#include "report.hpp"

#include <fmt/format.h>

namespace concur_bench {

void print_table(std::FILE* out, const Result& r) {
    fmt::print(out, "\n== {}: {} ==\n", r.name, r.title);
    if (!r.scale_note.empty()) fmt::print(out, "   ({})\n", r.scale_note);
    fmt::print(out, "{:<17} {:>7} {:>10} {:>8} {:>8} {:>8} {:>8}  {}\n", "method", "workers",
               "wall s", "min", "max", "CPU s", "speedup", "check");
    for (const Row& row : r.rows) {
        Summary w = row.wall(), c = row.cpu();
        fmt::print(out, "{:<17} {:>7} {:>10.3f} {:>8.3f} {:>8.3f} {:>8.3f} {:>7.2f}x  {}\n",
                   row.method, row.workers, w.median, w.min, w.max, c.median, r.speedup(row),
                   row.checksum_ok ? "ok" : "WRONG RESULT");
    }
    for (const std::string& why : r.skipped) fmt::print(out, "skipped: {}\n", why);
    fmt::print(out, "verdict: {}\n", r.verdict);
}

nlohmann::json to_json(const Machine& m, const Settings& s, const std::vector<Result>& results) {
    nlohmann::json j;
    j["schema"] = "concur-bench/1";
    j["machine"] = {{"cpu_model", m.cpu_model},
                    {"cores", m.cores},
                    {"kernel", m.kernel},
                    {"compiler", m.compiler}};
    j["settings"] = {{"repeat", s.repeat},
                     {"workers", s.workers},
                     {"seed_sizes", s.seed_sizes},
                     {"target_seconds", s.target_seconds}};
    j["experiments"] = nlohmann::json::array();
    for (const Result& r : results) {
        nlohmann::json e = {{"name", r.name},
                            {"title", r.title},
                            {"scale_note", r.scale_note},
                            {"verdict", r.verdict},
                            {"skipped", r.skipped},
                            {"rows", nlohmann::json::array()}};
        for (const Row& row : r.rows) {
            Summary w = row.wall();
            e["rows"].push_back({{"method", row.method},
                                 {"workers", row.workers},
                                 {"wall_s", row.wall_s},
                                 {"cpu_s", row.cpu_s},
                                 {"median_s", w.median},
                                 {"min_s", w.min},
                                 {"max_s", w.max},
                                 {"cpu_median_s", row.cpu().median},
                                 {"speedup", r.speedup(row)},
                                 {"checksum", row.checksum},
                                 {"checksum_ok", row.checksum_ok}});
        }
        j["experiments"].push_back(std::move(e));
    }
    return j;
}

}  // namespace concur_bench
