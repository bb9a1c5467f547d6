// Turning results into what a person reads (tables and verdicts on stdout)
// and what a program reads (JSON, schema "concur-bench/1").
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiment.hpp"
#include "machine.hpp"

namespace concur_bench {

void print_table(std::FILE* out, const Result& r);

// {"schema": "concur-bench/1", "machine": {...}, "settings": {...},
//  "experiments": [{"name", "title", "scale_note", "verdict",
//                   "rows": [{"method", "workers", "wall_s": [..], "cpu_s": [..],
//                             "median_s", "min_s", "max_s", "cpu_median_s",
//                             "speedup", "checksum", "checksum_ok"}]}]}
nlohmann::json to_json(const Machine& m, const Settings& s, const std::vector<Result>& results);

}  // namespace concur_bench
