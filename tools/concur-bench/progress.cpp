#include "progress.hpp"

#include <unistd.h>

#include <algorithm>

namespace concur_bench {

bool Progress::wanted(std::FILE* out, bool quiet) { return !quiet && ::isatty(::fileno(out)) == 1; }

void Progress::begin(const std::string& experiment, int total_steps) {
    experiment_ = experiment;
    total_ = std::max(1, total_steps);
    done_ = 0;
    what_.clear();
    draw();
}

void Progress::step(const std::string& what) {
    // The step counted is the one starting now; the bar shows work finished.
    if (!what_.empty()) ++done_;
    what_ = what;
    draw();
}

void Progress::draw() {
    if (!enabled_) return;
    constexpr int width = 30;
    int shown = std::min(done_, total_);
    int filled = shown * width / total_;
    std::string bar(std::size_t(filled), '#');
    bar.append(std::size_t(width - filled), '.');
    std::fprintf(out_, "\r\033[K[%s] %-6s %3d%% %s", bar.c_str(), experiment_.c_str(),
                 shown * 100 / total_, what_.c_str());
    std::fflush(out_);
    drawn_ = true;
}

void Progress::finish() {
    if (!enabled_ || !drawn_) return;
    std::fprintf(out_, "\r\033[K");
    std::fflush(out_);
    drawn_ = false;
}

}  // namespace concur_bench
