// concur-bench's command line, parsed into Options without side effects so
// that tests can check it; main() acts on the outcome.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "experiment.hpp"

namespace concur_bench {

struct Options {
    Settings settings;
    std::vector<std::string> experiments;  // in run order; all when none was named
    std::string json_path, html_path;
};

struct ParseOutcome {
    std::optional<Options> options;  // set when the run should go ahead
    int exit_code = 0;               // otherwise: 0 for --help, 2 for a usage error
    std::string out, err;            // what to print on stdout / stderr
};

// Never throws for bad input: a usage error comes back as exit_code 2 and a
// message in `err` that says what to do.
ParseOutcome parse_cli(const std::vector<std::string>& args);  // args without argv[0]

}  // namespace concur_bench
