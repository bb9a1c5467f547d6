// The machine a report was measured on.
#pragma once

#include <string>

namespace concur_bench {

struct Machine {
    std::string cpu_model;
    unsigned cores = 0;
    std::string kernel;
    std::string compiler;
    std::string loop_backend;  // what asyncio::run picks here by default: "io_uring" or "epoll"
};

// Reads /proc/cpuinfo and uname, and opens (then closes) an event loop to
// learn its backend. Main thread; never throws.
Machine describe_machine();

}  // namespace concur_bench
