// The progress bar on stderr: drawn only when stderr is a terminal and the
// run is not --quiet, so pipes, files and CI logs never see it.
#pragma once

#include <cstdio>
#include <string>

namespace concur_bench {

class Progress {
public:
    // enabled=false makes every call a no-op. Not thread-safe: one
    // experiment runs at a time, from main's thread.
    Progress(std::FILE* out, bool enabled) : out_(out), enabled_(enabled) {}
    ~Progress() { finish(); }

    // Whether a bar belongs on `out`: a TTY, and not quiet.
    static bool wanted(std::FILE* out, bool quiet);

    void begin(const std::string& experiment, int total_steps);
    void step(const std::string& what);
    void finish();  // clears the bar's line

private:
    void draw();
    std::FILE* out_;
    bool enabled_;
    bool drawn_ = false;
    std::string experiment_, what_;
    int total_ = 0, done_ = 0;
};

}  // namespace concur_bench
