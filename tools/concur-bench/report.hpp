// Turning results into what a person reads (tables and verdicts on stdout)
// and what a program reads (JSON, schema "concur-bench/1", documented in
// docs/bench-json.md).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiment.hpp"
#include "machine.hpp"

namespace concur_bench {

inline constexpr const char* kSchema = "concur-bench/1";

// One table per experiment: method, workers, wall s (median, min, max),
// CPU s, speedup vs sequential, vs Python, check; then the Python-only rows,
// the skipped rows with their reasons, and the verdict.
void print_table(std::FILE* out, const Result& r);

// "12.3x" for a ratio, "-" for none; how tables and the HTML show a ratio.
std::string format_ratio(std::optional<double> x);

nlohmann::json to_json(const Machine& m, const Settings& s, const std::vector<Result>& results);

}  // namespace concur_bench
