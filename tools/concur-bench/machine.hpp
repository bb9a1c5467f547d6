// The machine a report was measured on.
#pragma once

#include <string>

namespace concur_bench {

struct Machine {
    std::string cpu_model;
    unsigned cores = 0;
    std::string kernel;
    std::string compiler;
};

Machine describe_machine();

}  // namespace concur_bench
