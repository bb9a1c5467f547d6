// Running the project's Python programs (tools/concur-bench/python/) beside
// the C++ rows: each program times the seed's methods itself and prints one
// JSON line per method, which become a Result's python rows.
//
//   concur-bench --(args, sizes, methods)--> python3 python/<exp>.py
//        ^                                         | stdout+stderr, one pipe
//        +-- "@@concur-bench {json}" lines <-------+
//
// Python runs at the sizes the C++ rows ran, so "vs Python" compares the same
// work. Which experiments run Python by default, and why the others do not,
// is decided by each experiment through python_gate().
#pragma once

#include <string>
#include <vector>

#include "experiment.hpp"

namespace concur_bench {

struct PythonEnv {
    std::string exe;      // what was run; empty when none was found
    std::string version;  // "3.11.2"
    std::string why_not;  // why there is no usable interpreter, when exe is empty
};

// Finds the interpreter: settings.python_exe, else $CONCUR_BENCH_PYTHON, else
// python3 on PATH; runs it once to ask its version (cached per name).
// Blocks on that child process. Main thread only.
const PythonEnv& find_python(const Settings& settings);

// Where the Python programs are: $CONCUR_BENCH_PYTHON_DIR, else the source
// tree's tools/concur-bench/python (compiled in).
std::string python_dir();

// Decides whether the Python rows of an experiment run. Adds the reason to
// r.skipped and returns false when they do not: --no-python, no interpreter,
// or (in auto mode) `affordable` false, where `why_not_affordable` says why.
bool python_gate(const Settings& settings, Result& r, bool affordable,
                 const std::string& why_not_affordable);

// Runs python_dir()/<script> with `args` plus --repeat and --methods, and
// appends its rows to r.python. A failure (exit status, unparsable output)
// adds a skipped line with the program's last output line instead of rows.
// Blocks until the program exits.
void run_python_rows(const Settings& settings, Result& r, const std::string& script,
                     const std::vector<std::string>& args, const std::vector<std::string>& methods);

// Runs argv (argv[0] looked up on PATH) with stdout and stderr on one pipe;
// returns its exit status (127 when it could not start) and output.
struct Captured {
    int status = 127;
    std::string output;
};
Captured run_capture(const std::vector<std::string>& argv);

}  // namespace concur_bench
