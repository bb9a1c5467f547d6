// concur's side of the multiprocessing benchmarks (bench/multiprocessing/run_all.py
// runs it beside Python's concurrent.futures and multiprocessing):
//
//   bench_multiprocessing rtt [N]        submit -> result() on one warm worker
//                                        (max_workers = 1), and in the same run
//                                        the floor: a 64-byte ping-pong between
//                                        two processes over pipes (and, for
//                                        reference, over a Unix socketpair)
//   bench_multiprocessing map [N] [R]    ex.map(trivial, N items), automatic chunking, 2 workers
//   bench_multiprocessing submit [N] [R] N submits, then every result(), 2 workers
//                                        (map, submit: R runs in one pool, default 3; the
//                                        median is reported, and the first run beside it)
//   bench_multiprocessing cpu [BASE]     the seeds' sum of i*i over 20 numbers n = BASE + x:
//                                        sequential, then 2 worker processes (submit per
//                                        number, map with chunksize 1, map with automatic
//                                        chunking), and for reference two plain fork()ed
//                                        processes; BASE 0 (default) calibrates it so that
//                                        the sequential run takes at least 1 s
//   bench_multiprocessing memory         an idle worker's memory (/proc/PID/smaps_rollup)
//                                        for each start method
//   bench_multiprocessing broken         time from SIGKILL of a worker (tasks pending)
//                                        until the futures fail with BrokenProcessPool
//
// Options (anywhere): --layout default|split|same (rtt: where the processes
// run; see g_layout), --method fork|spawn|forkserver (the pool's start method
// for rtt, map, submit, cpu and broken; default: concur's default,
// forkserver). Each measurement prints one JSON object per line. The timed
// pools are started and warmed up before the clock starts; pool start-up and
// shutdown are not timed.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "concur/futures/process.hpp"
#include "concur/multiprocessing.hpp"
#include "workload.hpp"  // tools/concur-bench: the seeds' cpu_bound

namespace mp = concur::multiprocessing;
namespace futures = concur::futures;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// ---- the functions the workers run (plain functions, as the wire requires) --

int trivial(int x) { return x; }

std::uint64_t cpu_bound(std::uint64_t n) { return concur_bench::cpu_bound(n); }

int sleep_ms(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
}

// ---- helpers -----------------------------------------------------------------

std::string g_method;  // empty: concur's default
// Where the round trip runs (rtt only): "default" (the scheduler's choice),
// "split" (the caller's process on CPU 0, the worker / echoing child on
// CPU 1: every message is a cross-CPU wake-up) or "same" (everything on CPU 0).
std::string g_layout = "default";

void pin(pid_t pid, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (::sched_setaffinity(pid, sizeof set, &set) != 0) std::perror("sched_setaffinity");
}

futures::ProcessPoolOptions pool_options(int workers) {
    futures::ProcessPoolOptions o;
    o.max_workers = workers;
    if (!g_method.empty()) o.mp_context = mp::get_context(g_method);
    return o;
}

std::string method_name() { return g_method.empty() ? mp::get_start_method() : g_method; }

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

double mean(const std::vector<double>& v) {
    return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

void print_latency(const char* impl, const std::vector<double>& us, const std::string& extra = "") {
    std::printf("{\"bench\":\"rtt\",\"impl\":\"%s\",\"layout\":\"%s\",\"n\":%zu,\"mean_us\":%.3f,\"p50_us\":%.3f,\"p90_us\":%.3f,"
                "\"p99_us\":%.3f,\"min_us\":%.3f%s}\n",
                impl, g_layout.c_str(), us.size(), mean(us), percentile(us, 0.5), percentile(us, 0.9), percentile(us, 0.99),
                percentile(us, 0.0), extra.c_str());
    std::fflush(stdout);
}

void read_all(int fd, char* p, std::size_t n) {
    while (n) {
        ssize_t r = ::read(fd, p, n);
        if (r <= 0) {
            if (r < 0 && errno == EINTR) continue;
            std::_Exit(0);  // peer gone
        }
        p += r;
        n -= static_cast<std::size_t>(r);
    }
}

void write_all(int fd, const char* p, std::size_t n) {
    while (n) {
        ssize_t r = ::write(fd, p, n);
        if (r < 0) {
            if (errno == EINTR) continue;
            std::_Exit(1);
        }
        p += r;
        n -= static_cast<std::size_t>(r);
    }
}

// The floor: a forked child echoes 64-byte messages back; the parent times
// each round trip. `sockets`: one Unix stream socketpair instead of two pipes
// (what concur's worker channel is).
std::vector<double> pingpong(long n, long warmup, bool sockets) {
    int down[2], up[2];  // parent -> child, child -> parent
    if (sockets) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
        down[0] = sv[1], down[1] = sv[0], up[0] = sv[0], up[1] = sv[1];
    } else if (::pipe2(down, O_CLOEXEC) != 0 || ::pipe2(up, O_CLOEXEC) != 0) {
        std::abort();
    }
    pid_t pid = ::fork();
    if (pid == 0) {
        if (g_layout == "split") pin(0, 1);
        char buf[64];
        for (long i = 0; i < n + warmup; ++i) {
            read_all(down[0], buf, sizeof buf);
            write_all(up[1], buf, sizeof buf);
        }
        std::_Exit(0);
    }
    char msg[64] = {}, back[64];
    std::vector<double> us;
    us.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n + warmup; ++i) {
        std::memcpy(msg, &i, sizeof i);
        auto t0 = Clock::now();
        write_all(down[1], msg, sizeof msg);
        read_all(up[0], back, sizeof back);
        double d = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
        if (std::memcmp(msg, back, sizeof msg) != 0) std::abort();
        if (i >= warmup) us.push_back(d);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (sockets) {
        ::close(down[0]), ::close(down[1]);
    } else {
        ::close(down[0]), ::close(down[1]), ::close(up[0]), ::close(up[1]);
    }
    return us;
}

// ---- rtt ---------------------------------------------------------------------

int run_rtt(long n) {
    long warmup = std::max(1000L, n / 10);
    // Before any thread or child exists: they inherit it.
    if (g_layout == "split" || g_layout == "same") pin(0, 0);
    // The floor first, then concur, then the floor again: a noisy spell shows
    // as a difference between the two floors. The reported floor is their
    // pooled samples.
    auto pipe1 = pingpong(n / 2, warmup, false);
    std::vector<double> conc;
    {
        futures::ProcessPoolExecutor ex(pool_options(1));
        (void)ex.submit(trivial, 0).result();
        if (g_layout == "split") pin(ex.worker_pids().at(0), 1);
        for (long i = 0; i < warmup; ++i)
            if (ex.submit(trivial, static_cast<int>(i)).result() != i) return 2;
        conc.reserve(static_cast<std::size_t>(n));
        for (long i = 0; i < n; ++i) {
            auto t0 = Clock::now();
            int r = ex.submit(trivial, static_cast<int>(i)).result();
            conc.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
            if (r != i) return 2;
        }
    }
    auto pipe2 = pingpong(n - n / 2, warmup, false);
    auto sock = pingpong(n, warmup, true);
    std::vector<double> pipe = pipe1;
    pipe.insert(pipe.end(), pipe2.begin(), pipe2.end());
    char extra[128];
    std::snprintf(extra, sizeof extra, ",\"first_half_mean_us\":%.3f,\"second_half_mean_us\":%.3f", mean(pipe1),
                  mean(pipe2));
    print_latency("pipe", pipe, extra);
    print_latency("socketpair", sock);
    print_latency("concur", conc, ",\"method\":\"" + method_name() + "\"");
    return 0;
}

// ---- map / submit -------------------------------------------------------------

// Starts both workers and lets the pool's batching settle on tiny calls.
void warm(futures::ProcessPoolExecutor& ex) {
    std::vector<int> xs(20000);
    std::iota(xs.begin(), xs.end(), 0);
    long s = 0;
    for (int r : ex.map(trivial, xs)) s += r;
    std::vector<futures::Future<int>> fs;
    for (int i = 0; i < 2000; ++i) fs.push_back(ex.submit(trivial, i));
    for (auto& f : fs) s += f.result();
    if (s < 0) std::abort();
}

int run_map(long n, int repeat) {
    futures::ProcessPoolExecutor ex(pool_options(2));
    warm(ex);
    std::vector<int> xs(static_cast<std::size_t>(n));
    std::iota(xs.begin(), xs.end(), 0);
    std::vector<double> walls, submits;
    for (int k = 0; k < repeat; ++k) {
        auto t0 = Clock::now();
        long long sum = 0;
        long count = 0;
        auto results = ex.map(trivial, xs);
        submits.push_back(seconds_since(t0));  // ex.map() returns once every chunk is sent
        for (int r : results) sum += r, ++count;
        walls.push_back(seconds_since(t0));
        if (count != n || sum != static_cast<long long>(n) * (n - 1) / 2) {
            std::fprintf(stderr, "map: wrong answer\n");
            return 2;
        }
    }
    double s = percentile(walls, 0.5);
    std::printf("{\"bench\":\"map\",\"impl\":\"concur\",\"method\":\"%s\",\"n\":%ld,\"repeat\":%d,"
                "\"seconds\":%.6f,\"first_s\":%.6f,\"min_s\":%.6f,\"submit_seconds\":%.6f,\"tasks_per_s\":%.0f}\n",
                method_name().c_str(), n, repeat, s, walls[0], percentile(walls, 0), percentile(submits, 0.5), n / s);
    return 0;
}

int run_submit(long n, int repeat) {
    futures::ProcessPoolExecutor ex(pool_options(2));
    warm(ex);
    std::vector<double> walls, submits;
    for (int k = 0; k < repeat; ++k) {
        std::vector<futures::Future<int>> fs;
        fs.reserve(static_cast<std::size_t>(n));
        auto t0 = Clock::now();
        for (long i = 0; i < n; ++i) fs.push_back(ex.submit(trivial, static_cast<int>(i)));
        submits.push_back(seconds_since(t0));
        long long sum = 0;
        for (auto& f : fs) sum += f.result();
        walls.push_back(seconds_since(t0));
        if (sum != static_cast<long long>(n) * (n - 1) / 2) {
            std::fprintf(stderr, "submit: wrong answer\n");
            return 2;
        }
    }
    double s = percentile(walls, 0.5);
    std::printf("{\"bench\":\"submit\",\"impl\":\"concur\",\"method\":\"%s\",\"n\":%ld,\"repeat\":%d,"
                "\"seconds\":%.6f,\"first_s\":%.6f,\"min_s\":%.6f,\"submit_seconds\":%.6f,\"tasks_per_s\":%.0f}\n",
                method_name().c_str(), n, repeat, s, walls[0], percentile(walls, 0), percentile(submits, 0.5), n / s);
    return 0;
}

// ---- cpu -----------------------------------------------------------------------

std::vector<std::uint64_t> numbers_from(std::uint64_t base) {
    std::vector<std::uint64_t> v;
    for (std::uint64_t x = 0; x < 20; ++x) v.push_back(base + x);
    return v;
}

std::uint64_t sequential(const std::vector<std::uint64_t>& numbers) {
    std::uint64_t t = 0;
    for (auto n : numbers) t ^= cpu_bound(n);
    return t;
}

int run_cpu(std::uint64_t base) {
    if (base == 0) {  // calibrate: double from the seed's 5,000,000
        base = 5'000'000;
        while (true) {
            auto t0 = Clock::now();
            (void)sequential(numbers_from(base));
            if (seconds_since(t0) >= 1.0) break;
            base *= 2;
        }
    }
    auto numbers = numbers_from(base);
    auto t0 = Clock::now();
    std::uint64_t want = sequential(numbers);
    double seq = seconds_since(t0);

    futures::ProcessPoolExecutor ex(pool_options(2));
    warm(ex);
    // One submit per number (seed 000's shape, as concur-bench's thread pool).
    t0 = Clock::now();
    std::vector<futures::Future<std::uint64_t>> fs;
    for (auto n : numbers) fs.push_back(ex.submit(cpu_bound, n));
    std::uint64_t got = 0;
    for (auto& f : fs) got ^= f.result();
    double sub = seconds_since(t0);
    if (got != want) return 2;
    // Seed 002's pool.map(cpu_bound, numbers), chunksize 1 and automatic.
    double maps[2];
    std::size_t chunks[2] = {1, 0};
    for (int k = 0; k < 2; ++k) {
        t0 = Clock::now();
        got = 0;
        for (auto r : ex.map(cpu_bound, numbers, futures::ProcessMapOptions{.chunksize = chunks[k]})) got ^= r;
        maps[k] = seconds_since(t0);
        if (got != want) return 2;
    }
    // Reference: how far this machine scales with two plain forked
    // processes, numbers dealt out round-robin, each sum sent back on a pipe.
    t0 = Clock::now();
    got = 0;
    {
        int fds[2][2];
        pid_t kids[2];
        for (int k = 0; k < 2; ++k) {
            if (::pipe2(fds[k], O_CLOEXEC) != 0) return 2;
            kids[k] = ::fork();
            if (kids[k] == 0) {
                std::uint64_t x = 0;
                for (std::size_t i = static_cast<std::size_t>(k); i < numbers.size(); i += 2) x ^= cpu_bound(numbers[i]);
                write_all(fds[k][1], reinterpret_cast<const char*>(&x), sizeof x);
                std::_Exit(0);
            }
            ::close(fds[k][1]);
        }
        for (int k = 0; k < 2; ++k) {
            std::uint64_t x = 0;
            read_all(fds[k][0], reinterpret_cast<char*>(&x), sizeof x);
            got ^= x;
            ::close(fds[k][0]);
            ::waitpid(kids[k], nullptr, 0);
        }
    }
    double plain = seconds_since(t0);
    if (got != want) return 2;
    std::printf("{\"bench\":\"cpu\",\"impl\":\"concur\",\"method\":\"%s\",\"base\":%llu,\"sequential_s\":%.6f,"
                "\"plain_fork_s\":%.6f,\"speedup_plain_fork\":%.4f,"
                "\"submit_s\":%.6f,\"map1_s\":%.6f,\"map_auto_s\":%.6f,\"auto_chunks\":%zu,"
                "\"speedup_submit\":%.4f,\"speedup_map1\":%.4f,\"speedup_map_auto\":%.4f,\"check\":\"%016llx\"}\n",
                method_name().c_str(), static_cast<unsigned long long>(base), seq, plain, seq / plain, sub, maps[0],
                maps[1],
                mp::detail::chunk_ends(numbers.size(), 0, 2).size(), seq / sub, seq / maps[0], seq / maps[1],
                static_cast<unsigned long long>(want));
    return 0;
}

// ---- memory --------------------------------------------------------------------

std::map<std::string, long> smaps_rollup(pid_t pid) {
    std::map<std::string, long> kb;
    std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string key;
        long v = 0;
        if (ls >> key >> v && key.back() == ':') kb[key.substr(0, key.size() - 1)] = v;
    }
    return kb;
}

int run_memory() {
    auto self = smaps_rollup(::getpid());
    std::printf("{\"bench\":\"memory\",\"impl\":\"concur\",\"method\":\"parent\",\"rss_kib\":%ld,\"pss_kib\":%ld,"
                "\"private_kib\":%ld}\n",
                self["Rss"], self["Pss"], self["Private_Clean"] + self["Private_Dirty"]);
    for (const char* method : {"fork", "forkserver", "spawn"}) {
        futures::ProcessPoolExecutor ex{{.max_workers = 1, .mp_context = mp::get_context(method)}};
        for (int i = 0; i < 100; ++i)
            if (ex.submit(trivial, i).result() != i) return 2;
        std::this_thread::sleep_for(300ms);  // idle
        pid_t pid = ex.worker_pids().at(0);
        auto kb = smaps_rollup(pid);
        std::printf("{\"bench\":\"memory\",\"impl\":\"concur\",\"method\":\"%s\",\"pid\":%d,\"rss_kib\":%ld,"
                    "\"pss_kib\":%ld,\"private_clean_kib\":%ld,\"private_dirty_kib\":%ld,\"private_kib\":%ld,"
                    "\"shared_kib\":%ld}\n",
                    method, static_cast<int>(pid), kb["Rss"], kb["Pss"], kb["Private_Clean"], kb["Private_Dirty"],
                    kb["Private_Clean"] + kb["Private_Dirty"], kb["Shared_Clean"] + kb["Shared_Dirty"]);
        std::fflush(stdout);
    }
    return 0;
}

// ---- broken --------------------------------------------------------------------

int run_broken() {
    futures::ProcessPoolExecutor ex(pool_options(2));
    for (int i = 0; i < 4; ++i) (void)ex.submit(trivial, i).result();
    std::vector<futures::Future<int>> fs;
    for (int i = 0; i < 40; ++i) fs.push_back(ex.submit(sleep_ms, 100));
    std::this_thread::sleep_for(30ms);  // both workers are inside a call
    pid_t victim = ex.worker_pids().at(0);
    auto t0 = Clock::now();
    ::kill(victim, SIGKILL);
    double first = -1, all = -1;
    int broken = 0;
    for (std::size_t i = 0; i < fs.size(); ++i) {
        // The last-submitted (certainly pending) future first, then the rest.
        auto& f = i == 0 ? fs.back() : fs[i - 1];
        try {
            (void)f.result(10s);
        } catch (const futures::BrokenProcessPool&) {
            ++broken;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "broken: unexpected %s\n", e.what());
        }
        if (i == 0) first = seconds_since(t0);
    }
    all = seconds_since(t0);
    std::printf("{\"bench\":\"broken\",\"impl\":\"concur\",\"method\":\"%s\",\"futures\":%zu,\"broken\":%d,"
                "\"first_ms\":%.3f,\"all_ms\":%.3f}\n",
                method_name().c_str(), fs.size(), broken, first * 1e3, all * 1e3);
    return broken > 0 ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
    mp::freeze_support();
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--method" && i + 1 < argc) g_method = argv[++i];
        else if (a.rfind("--method=", 0) == 0) g_method = a.substr(9);
        else if (a == "--layout" && i + 1 < argc) g_layout = argv[++i];
        else args.push_back(a);
    }
    if (args.empty()) {
        std::fprintf(stderr, "usage: %s rtt|map|submit|cpu|memory|broken [N] [--method M]\n", argv[0]);
        return 1;
    }
    auto num = [&](long def) { return args.size() > 1 ? std::atol(args[1].c_str()) : def; };
    auto rep = [&](int def) { return args.size() > 2 ? std::atoi(args[2].c_str()) : def; };
    const std::string& cmd = args[0];
    try {
        if (cmd == "rtt") return run_rtt(num(20000));
        if (cmd == "map") return run_map(num(100000), rep(3));
        if (cmd == "submit") return run_submit(num(20000), rep(3));
        if (cmd == "cpu") return run_cpu(static_cast<std::uint64_t>(num(0)));
        if (cmd == "memory") return run_memory();
        if (cmd == "broken") return run_broken();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_multiprocessing %s: %s\n", cmd.c_str(), e.what());
        return 2;
    }
    std::fprintf(stderr, "unknown benchmark %s\n", cmd.c_str());
    return 1;
}
