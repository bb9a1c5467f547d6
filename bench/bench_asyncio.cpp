// concur's side of the asyncio benchmarks (bench/asyncio/run_peers.sh runs it
// beside Boost.Asio, Python asyncio and uvloop, and a plain C epoll server):
//
//   bench_asyncio tasks [N] [REPEAT]     create_task + gather of N trivial tasks
//   bench_asyncio sleep                  gather of 10 sleep(1 s): wall time
//   bench_asyncio task-memory [N]        RSS growth per parked trivial task
//   bench_asyncio echo-server PORT       the streams echo server (one loop thread)
//   bench_asyncio idle-connections [N]   RSS growth per idle connection parked in read()
//
// Each prints one JSON object per line; CONCUR_LOOP picks the loop backend.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "concur/asyncio.hpp"

namespace asyncio = concur::asyncio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

long rss_bytes() {
    long pages = 0, resident = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

std::string backend() {
    asyncio::EventLoop loop;
    return std::string(loop.backend_name());
}

// ---- tasks ------------------------------------------------------------------

asyncio::Task<long> trivial(long i) { co_return i; }

asyncio::Task<long> spawn_and_gather(long n) {
    std::vector<asyncio::Task<long>> tasks;
    tasks.reserve(n);
    for (long i = 0; i < n; ++i) tasks.push_back(asyncio::create_task(trivial(i)));
    auto results = co_await asyncio::gather(std::move(tasks));
    long sum = 0;
    for (long r : results) sum += r;
    co_return sum;
}

int run_tasks(long n, int repeat) {
    std::vector<double> rates;
    for (int r = 0; r < repeat; ++r) {
        auto t0 = Clock::now();
        long sum = asyncio::run(spawn_and_gather(n));
        double s = seconds_since(t0);
        if (sum != n * (n - 1) / 2) {
            std::fprintf(stderr, "bench_asyncio tasks: wrong sum %ld\n", sum);
            return 1;
        }
        rates.push_back(n / s);
    }
    std::printf("{\"bench\":\"tasks\",\"backend\":\"%s\",\"tasks\":%ld,\"median_tasks_per_s\":%.0f,"
                "\"min\":%.0f,\"max\":%.0f}\n",
                backend().c_str(), n, median(rates), *std::min_element(rates.begin(), rates.end()),
                *std::max_element(rates.begin(), rates.end()));
    return 0;
}

// ---- sleep ------------------------------------------------------------------

asyncio::Task<> sleep_one() { co_await asyncio::sleep(1s); }

asyncio::Task<> gather_ten_sleeps() {
    std::vector<asyncio::Task<>> tasks;
    for (int i = 0; i < 10; ++i) tasks.push_back(sleep_one());
    co_await asyncio::gather(std::move(tasks));
}

int run_sleep(int repeat) {
    std::vector<double> walls;
    for (int r = 0; r < repeat; ++r) {
        auto t0 = Clock::now();
        asyncio::run(gather_ten_sleeps());
        walls.push_back(seconds_since(t0));
    }
    std::printf("{\"bench\":\"sleep\",\"backend\":\"%s\",\"median_s\":%.6f,\"max_s\":%.6f}\n", backend().c_str(),
                median(walls), *std::max_element(walls.begin(), walls.end()));
    return 0;
}

// ---- memory of parked tasks --------------------------------------------------

asyncio::Task<> parked(asyncio::Future<> gate) { co_await gate; }

// Two batches of n parked tasks; only the second is measured, so that the
// loop's ready queue (grown once to hold n wake-ups, then reused) is not
// charged to the tasks. The handles' vector is counted: a program keeps its
// tasks somewhere.
asyncio::Task<> park_many(long n, long* growth) {
    asyncio::Future<> gate;
    std::vector<asyncio::Task<>> first, second;
    first.reserve(n);
    for (long i = 0; i < n; ++i) first.push_back(asyncio::create_task(parked(gate)));
    co_await asyncio::sleep(0s);  // every task runs to its co_await and parks
    long before = rss_bytes();
    second.reserve(n);
    for (long i = 0; i < n; ++i) second.push_back(asyncio::create_task(parked(gate)));
    co_await asyncio::sleep(0s);
    *growth = rss_bytes() - before;
    gate.set_result();
    co_await asyncio::gather(std::move(first));
    co_await asyncio::gather(std::move(second));
}

int run_task_memory(long n) {
    long growth = 0;
    asyncio::run(park_many(n, &growth));
    std::printf("{\"bench\":\"task-memory\",\"tasks\":%ld,\"rss_bytes_per_task\":%.1f}\n", n,
                static_cast<double>(growth) / n);
    return 0;
}

// ---- echo server (streams API, one coroutine per connection) ----------------

// Python's echo server from the asyncio docs, as bench/asyncio/echo_python.py
// runs it: read what arrived, write it back, drain.
asyncio::Task<> echo(asyncio::StreamReader reader, asyncio::StreamWriter writer) {
    for (;;) {
        std::string data = co_await reader.read(65536);
        if (data.empty()) break;
        writer.write(data);
        co_await writer.drain();
    }
    writer.close();
}

asyncio::Task<> serve(uint16_t port) {
    auto server = co_await asyncio::start_server(echo, "127.0.0.1", port);
    std::printf("listening %u\n", server.sockets().at(0).port);
    std::fflush(stdout);
    auto stop = std::make_shared<asyncio::Event>();
    auto& loop = asyncio::get_running_loop();
    loop.add_signal_handler(SIGTERM, [stop] { stop->set(); });
    loop.add_signal_handler(SIGINT, [stop] { stop->set(); });
    co_await stop->wait();
    server.close();
    server.close_clients();
}

int run_echo_server(long port) {
    asyncio::run(serve(static_cast<uint16_t>(port)));
    return 0;
}

// ---- memory of idle connections ---------------------------------------------

// n connections to a server in this process, the server's coroutine for each
// parked in read(), the client's in an Event wait: RSS growth per connection
// with both ends counted (an upper bound for what a server pays; kernel
// socket buffers are not in RSS either way).
asyncio::Task<> idle_connections(long n, long* both) {
    long before = rss_bytes();
    long connected = 0;
    auto gate = std::make_shared<asyncio::Event>();
    auto server = co_await asyncio::start_server(
        [gate, &connected](asyncio::StreamReader r, asyncio::StreamWriter w) -> asyncio::Task<> {
            ++connected;
            std::string got = co_await r.read(100);  // parks here until the end
            w.close();
        },
        "127.0.0.1", 0, {.backlog = 4096});
    uint16_t port = server.sockets().at(0).port;
    std::vector<asyncio::Task<>> clients;
    clients.reserve(n);
    for (long i = 0; i < n; ++i) {
        clients.push_back(asyncio::create_task([](uint16_t p, std::shared_ptr<asyncio::Event> g) -> asyncio::Task<> {
            auto rw = co_await asyncio::open_connection("127.0.0.1", p);
            auto& [r, w] = rw;
            co_await g->wait();
            w.close();
            co_await w.wait_closed();
        }(port, gate)));
        if (i % 256 == 255) co_await asyncio::sleep(0s);
    }
    while (connected < n) co_await asyncio::sleep(1ms);
    for (int i = 0; i < 10; ++i) co_await asyncio::sleep(0s);
    *both = rss_bytes() - before;
    gate->set();
    co_await asyncio::gather(std::move(clients));
    server.close();
    co_await server.wait_closed();
}

int run_idle_connections(long n) {
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (static_cast<long>(rl.rlim_cur) < 2 * n + 64) {
        std::fprintf(stderr, "bench_asyncio idle-connections: RLIMIT_NOFILE %ld is too low for %ld connections\n",
                     static_cast<long>(rl.rlim_cur), n);
        return 1;
    }
    long both = 0;
    asyncio::run(idle_connections(n, &both));
    std::printf("{\"bench\":\"idle-connections\",\"connections\":%ld,\"rss_bytes_per_connection\":%.1f}\n", n,
                static_cast<double>(both) / n);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string cmd = argc > 1 ? argv[1] : "";
    auto arg = [&](int i, long def) { return argc > i ? std::atol(argv[i]) : def; };
    try {
        if (cmd == "tasks") return run_tasks(arg(2, 1'000'000), static_cast<int>(arg(3, 5)));
        if (cmd == "sleep") return run_sleep(static_cast<int>(arg(2, 1)));
        if (cmd == "task-memory") return run_task_memory(arg(2, 100'000));
        if (cmd == "echo-server") return run_echo_server(arg(2, 0));
        if (cmd == "idle-connections") return run_idle_connections(arg(2, 10'000));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_asyncio %s: %s\n", cmd.c_str(), e.what());
        return 1;
    }
    std::fprintf(stderr,
                 "usage: bench_asyncio tasks [N] [REPEAT] | sleep [REPEAT] | task-memory [N] | echo-server PORT |"
                 " idle-connections [N]\n");
    return 2;
}
