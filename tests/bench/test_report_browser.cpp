// The --html report opened in a real headless Chromium: the page must render
// every chart (its own script counts the bars and curves against the counts
// written into the page and leaves "BENCH-CHECK-OK" in the DOM) and log
// nothing to the console. The screenshot is kept beside the test binary's
// working directory (the build folder) as bench-report.png.
//
// Skips, saying why, when chromium is not installed.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "python_runner.hpp"

using namespace concur_bench;
namespace fs = std::filesystem;

namespace {

std::string find_chromium() {
    if (const char* env = std::getenv("CONCUR_CHROMIUM"); env && *env) return env;
    for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
        if (::access(p, X_OK) == 0) return p;
    return "";
}

std::vector<std::string> chromium_args(const std::string& exe, const fs::path& profile) {
    return {exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--user-data-dir=" + profile.string(), "--window-size=1200,3000",
            "--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0"};
}

}  // namespace

TEST(ReportInBrowser, EveryChartRendersWithoutConsoleErrors) {
    std::string chromium = find_chromium();
    if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (Debian: chromium); set CONCUR_CHROMIUM to use another";

    fs::path dir = fs::temp_directory_path() / ("bench-html-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::path page = dir / "report.html";
    Captured bench = run_capture({CONCUR_BENCH_EXE, "--tiny", "--repeat", "2", "--quiet", "--html", page.string()});
    ASSERT_EQ(bench.status, 0) << bench.output;

    auto args = chromium_args(chromium, dir / "profile");
    args.push_back("--dump-dom");
    args.push_back("file://" + page.string());
    Captured dom = run_capture(args);
    ASSERT_EQ(dom.status, 0) << dom.output.substr(0, 4000);
    // The page's own check: 6 experiments' bar charts plus scale's curve.
    // (std::regex would be shorter, but g++ 12's sanitizer builds warn inside it.)
    std::size_t fail = dom.output.find("BENCH-CHECK-FAIL");
    ASSERT_EQ(fail, std::string::npos) << dom.output.substr(fail, dom.output.find('<', fail) - fail);
    const std::string ok = "BENCH-CHECK-OK charts=";
    std::size_t at = dom.output.find(ok);
    ASSERT_NE(at, std::string::npos) << "the page's check never ran:\n" << dom.output.substr(0, 4000);
    EXPECT_EQ(dom.output.substr(at + ok.size(), 2), "7<") << dom.output.substr(at, 40);
    // Console messages reach chromium's log as "INFO:CONSOLE:84] ..." (older
    // versions: "CONSOLE(84)"); the page logs nothing when all is well, so
    // any is an error or a warning to look at.
    std::istringstream log(dom.output);
    for (std::string line; std::getline(log, line);)
        EXPECT_EQ(line.find(":CONSOLE"), std::string::npos) << line;

    fs::path shot = fs::current_path() / "bench-report.png";
    args = chromium_args(chromium, dir / "profile");
    args.push_back("--screenshot=" + shot.string());
    args.push_back("file://" + page.string());
    Captured png = run_capture(args);
    EXPECT_EQ(png.status, 0) << png.output.substr(0, 4000);
    EXPECT_TRUE(fs::exists(shot) && fs::file_size(shot) > 10000) << shot;
    std::printf("screenshot: %s\n", shot.c_str());
    fs::remove_all(dir);
}
