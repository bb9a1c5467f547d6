#include "python_runner.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "progress.hpp"

extern char** environ;

#ifndef CONCUR_BENCH_PYTHON_SOURCE_DIR
#define CONCUR_BENCH_PYTHON_SOURCE_DIR "tools/concur-bench/python"
#endif

namespace concur_bench {

Captured run_capture(const std::vector<std::string>& argv) {
    Captured c;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return c;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        c.output = fmt::format("cannot run {}: {}", argv[0], std::strerror(rc));
        return c;
    }
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        c.output.append(buf, std::size_t(n));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    c.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return c;
}

const PythonEnv& find_python(const Settings& settings) {
    static std::map<std::string, PythonEnv> cache;
    std::string exe = settings.python_exe;
    if (exe.empty()) {
        const char* env = std::getenv("CONCUR_BENCH_PYTHON");
        // Debian's own interpreter first: scripts/setup installs uvloop,
        // aiohttp and requests as Debian packages, which a pyenv or venv
        // python3 earlier on PATH would not see.
        if (env && *env) exe = env;
        else if (::access("/usr/bin/python3", X_OK) == 0) exe = "/usr/bin/python3";
        else exe = "python3";
    }
    auto it = cache.find(exe);
    if (it != cache.end()) return it->second;
    PythonEnv& e = cache[exe];
    Captured c = run_capture({exe, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"});
    if (c.status != 0) {
        e.why_not = fmt::format("no Python interpreter ({} did not run; install python3 or set "
                                "CONCUR_BENCH_PYTHON)", exe);
        return e;
    }
    e.exe = exe;
    e.version = c.output.substr(0, c.output.find('\n'));
    return e;
}

std::string python_dir() {
    const char* env = std::getenv("CONCUR_BENCH_PYTHON_DIR");
    return env && *env ? env : CONCUR_BENCH_PYTHON_SOURCE_DIR;
}

bool python_gate(const Settings& settings, Result& r, bool affordable,
                 const std::string& why_not_affordable) {
    if (settings.python == PythonMode::off) {
        r.skipped.push_back("Python rows: --no-python");
        return false;
    }
    const PythonEnv& env = find_python(settings);
    if (env.exe.empty()) {
        r.skipped.push_back("Python rows: " + env.why_not);
        return false;
    }
    if (!affordable) {
        r.skipped.push_back("Python rows: " + why_not_affordable);
        return false;
    }
    return true;
}

void run_python_rows(const Settings& settings, Result& r, const std::string& script,
                     const std::vector<std::string>& args, const std::vector<std::string>& methods) {
    if (methods.empty()) return;
    const PythonEnv& env = find_python(settings);
    // -B: no __pycache__ written into the source tree.
    std::vector<std::string> argv{env.exe, "-B", python_dir() + "/" + script,
                                  "--repeat", std::to_string(settings.repeat), "--methods"};
    std::string joined;
    for (const std::string& m : methods) joined += (joined.empty() ? "" : ",") + m;
    argv.push_back(joined);
    argv.insert(argv.end(), args.begin(), args.end());
    if (settings.progress) settings.progress->step("python " + joined);
    Captured c = run_capture(argv);
    std::istringstream lines(c.output);
    std::string last, line;
    std::vector<PythonRow> rows;
    bool parse_error = false;
    while (std::getline(lines, line)) {
        static const std::string marker = "@@concur-bench ";
        if (line.rfind(marker, 0) != 0) {
            if (!line.empty()) last = line;
            continue;
        }
        try {
            auto j = nlohmann::json::parse(line.substr(marker.size()));
            if (j.contains("skipped")) {
                r.skipped.push_back(fmt::format("Python {}: {}", j.at("method").get<std::string>(),
                                                j.at("skipped").get<std::string>()));
                continue;
            }
            PythonRow p;
            p.method = j.at("method").get<std::string>();
            p.wall_s = j.at("wall_s").get<std::vector<double>>();
            p.cpu_s = j.at("cpu_s").get<std::vector<double>>();
            p.checksum = j.at("checksum").get<uint64_t>();
            rows.push_back(std::move(p));
        } catch (const nlohmann::json::exception& e) {
            parse_error = true;
            last = e.what();
        }
    }
    if (c.status != 0 || parse_error || rows.empty()) {
        r.skipped.push_back(fmt::format("Python rows: {} {} failed (status {}): {}", env.exe, script,
                                        c.status, last.empty() ? "no output" : last));
        return;
    }
    for (PythonRow& p : rows) r.python.push_back(std::move(p));
}

}  // namespace concur_bench
