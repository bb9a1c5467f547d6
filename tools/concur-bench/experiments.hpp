// The registry of experiments: what the CLI offers as subcommands, which
// methods each one has (for --methods checking), and how to run it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "experiment.hpp"

namespace concur_bench {

struct ExperimentInfo {
    std::string name;
    std::string help;                  // one line, for --help
    std::vector<std::string> methods;  // what --methods may name
    // Runs it; may return more than one Result (cpu under --seed-sizes runs
    // both seeds' sizes). Main thread only; blocks for the whole run.
    std::function<std::vector<Result>(const Settings&)> run;
    int steps = 0;  // rough number of samples, for the progress bar
};

// In the order a full run runs them.
const std::vector<ExperimentInfo>& experiments();
const ExperimentInfo* find_experiment(const std::string& name);

}  // namespace concur_bench
