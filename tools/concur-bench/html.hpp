// The --html report: one self-contained page (no network access: inline CSS,
// inline SVG charts, an inline script) with the machine, a bar chart per
// experiment, the scale experiment's speedup curve, the tables and verdicts.
//
// The page checks itself when it loads: its script counts every chart's
// bars and lines against the counts written into the page, and writes
// "BENCH-CHECK-OK charts=N" (or "BENCH-CHECK-FAIL: why") into the element
// #bench-check, so a headless browser's --dump-dom shows whether it rendered.
#pragma once

#include <string>
#include <vector>

#include "experiment.hpp"
#include "machine.hpp"

namespace concur_bench {

std::string render_html(const Machine& m, const Settings& s, const std::vector<Result>& results);

// &, <, >, " and ' as entities.
std::string html_escape(const std::string& s);

}  // namespace concur_bench
