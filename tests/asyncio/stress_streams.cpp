// 10,000 loopback connections open at once through one echo server on one
// loop: each sends its own message and checks the echo while all are open.
//
// Descriptors: 2 per connection (client and server ends) in one process,
// plus a few. Where RLIMIT_NOFILE's hard limit is too low for that, the
// server runs in a forked child (its own loop, its own 10,000 descriptors)
// and the clients in this process:
//
//   parent (clients, one loop) --10,000 TCP connections--> child (server, one loop)
//   child --pipe: "port P\n", then "rss B\n" once every connection echoed--> parent
//   parent --closes its pipe end--> child: close the server, exit 0 if all echoed
//
// The child's RSS growth per connection (handlers parked in read()) is the
// "idle connection" memory figure; it is printed, and checked outside
// sanitizer builds.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support.hpp"

namespace asyncio = concur::asyncio;
using asyncio::StreamReader;
using asyncio::StreamWriter;
using asyncio::Task;
using namespace std::chrono_literals;

namespace {

constexpr int kConnections = 10000;
constexpr int kWave = 500;  // connects in flight at once: the accept queue never overflows
constexpr int kReserve = 64;

long rss_bytes() {
    long pages = 0, resident = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

std::string message_for(int i) { return "connection " + std::to_string(i) + " says hello\n"; }

// The server side: echoes, and counts connections whose first message came back.
struct EchoServer {
    int echoed = 0;
    int target = 0;
    long rss_before = 0;
    long rss_after = 0;
    std::function<void()> on_all_echoed;

    Task<> handle(StreamReader r, StreamWriter w) {
        bool first = true;
        for (;;) {
            std::string data = co_await r.read(4096);
            if (data.empty()) break;
            w.write(data);
            co_await w.drain();
            if (first && ++echoed == target) {
                rss_after = rss_bytes();
                if (on_all_echoed) on_all_echoed();
            }
            first = false;
        }
        w.close();
    }
};

Task<int> check_echo(StreamReader r, StreamWriter w, int i) {
    std::string msg = message_for(i);
    w.write(msg);
    co_await w.drain();
    std::string back = co_await r.readline();
    co_return back == msg ? 1 : 0;
}

// Opens n connections (all held open), then runs every echo at once.
// Returns how many echoes came back right.
Task<int> run_clients(uint16_t port, int n) {
    std::vector<std::pair<StreamReader, StreamWriter>> conns;
    conns.reserve(n);
    for (int i = 0; i < n; i += kWave) {
        std::vector<Task<std::pair<StreamReader, StreamWriter>>> wave;
        for (int j = i; j < std::min(n, i + kWave); ++j) wave.push_back(asyncio::open_connection("127.0.0.1", port));
        auto opened = co_await asyncio::gather(std::move(wave));
        for (auto& c : opened) conns.push_back(std::move(c));
    }
    std::vector<Task<int>> echoes;
    echoes.reserve(n);
    for (int i = 0; i < n; ++i) echoes.push_back(check_echo(conns[i].first, conns[i].second, i));
    auto results = co_await asyncio::gather(std::move(echoes));
    int ok = 0;
    for (int r : results) ok += r;
    for (auto& c : conns) c.second.close();
    co_return ok;
}

asyncio::ServerOptions server_options() {
    asyncio::ServerOptions o;
    o.backlog = 4096;
    return o;
}

#if defined(CONCUR_SANITIZE_address) || defined(CONCUR_SANITIZE_thread)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Server and clients on one loop in this process.
void run_in_one_process() {
    EchoServer srv;
    srv.target = kConnections;
    int ok = asyncio::testing::run([&]() -> Task<int> {
        srv.rss_before = rss_bytes();
        auto handler = [&](StreamReader r, StreamWriter w) { return srv.handle(std::move(r), std::move(w)); };
        asyncio::Server server = co_await asyncio::start_server(handler, "127.0.0.1", 0, server_options());
        int good = co_await run_clients(server.sockets().at(0).port, kConnections);
        server.close();
        co_await server.wait_closed();
        co_return good;
    }());
    EXPECT_EQ(ok, kConnections);
    EXPECT_EQ(srv.echoed, kConnections);
    double per_pair = double(srv.rss_after - srv.rss_before) / kConnections;
    std::printf("one process: RSS growth per connection (both ends, parked): %.0f bytes\n", per_pair);
    ::testing::Test::RecordProperty("rss_bytes_per_connection_pair", std::to_string(static_cast<long>(per_pair)));
}

// The child: serve until the parent closes `stop_fd`; report the port and
// the RSS growth on `report_fd`. Exit status 0 if every connection echoed.
int child_server(int report_fd, int stop_fd) {
    EchoServer srv;
    srv.target = kConnections;
    srv.on_all_echoed = [&] {
        std::string line = "rss " + std::to_string(srv.rss_after - srv.rss_before) + "\n";
        (void)!write(report_fd, line.data(), line.size());
    };
    try {
        asyncio::run([&]() -> Task<> {
            srv.rss_before = rss_bytes();
            auto handler = [&](StreamReader r, StreamWriter w) { return srv.handle(std::move(r), std::move(w)); };
            asyncio::Server server = co_await asyncio::start_server(handler, "127.0.0.1", 0, server_options());
            std::string line = "port " + std::to_string(server.sockets().at(0).port) + "\n";
            (void)!write(report_fd, line.data(), line.size());
            StreamReader stop = asyncio::detail::make_pipe_reader(stop_fd);
            (void)co_await stop.read();  // EOF: the parent is done
            server.close();
            co_await server.wait_closed();
        }());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "stress server: %s\n", e.what());
        return 2;
    }
    return srv.echoed == kConnections ? 0 : 1;
}

// Reads one "<key> <number>\n" line from a blocking pipe.
long read_report(int fd, const char* key) {
    std::string line;
    char c;
    while (read(fd, &c, 1) == 1 && c != '\n') line += c;
    std::string prefix = std::string(key) + " ";
    if (line.rfind(prefix, 0) != 0) return -1;
    return std::atol(line.c_str() + prefix.size());
}

void run_with_a_server_process() {
    int report[2], stop[2];
    ASSERT_EQ(pipe2(report, O_CLOEXEC), 0);
    ASSERT_EQ(pipe2(stop, O_CLOEXEC), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(report[0]);
        close(stop[1]);
        _exit(child_server(report[1], stop[0]));
    }
    close(report[1]);
    close(stop[0]);
    long port = read_report(report[0], "port");
    ASSERT_GT(port, 0) << "the server process did not start";
    int ok = asyncio::testing::run(run_clients(static_cast<uint16_t>(port), kConnections));
    long rss = read_report(report[0], "rss");
    close(stop[1]);  // the server process closes and exits
    close(report[0]);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "server process status " << status;
    EXPECT_EQ(ok, kConnections);
    ASSERT_GT(rss, 0) << "the server process did not report its memory";
    double per_conn = double(rss) / kConnections;
    std::printf("server process: RSS growth per idle connection (handler parked in read): %.0f bytes\n", per_conn);
    ::testing::Test::RecordProperty("server_rss_bytes_per_connection", std::to_string(static_cast<long>(per_conn)));
    if (!kSanitized) {
        EXPECT_LE(per_conn, 8 * 1024) << "a parked connection should cost at most 8 KiB";
    }
}

}  // namespace

TEST(StreamsStress, TenThousandConcurrentEchoConnections) {
    rlimit lim{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
    if (lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lim), 0);
    }
    const rlim_t base = static_cast<rlim_t>(asyncio::testing::open_fds());
    const rlim_t one_process = 2 * kConnections + base + kReserve;
    const rlim_t per_side = kConnections + base + kReserve;
    auto t0 = std::chrono::steady_clock::now();
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < per_side) {
        GTEST_SKIP() << "needs RLIMIT_NOFILE hard limit >= " << per_side << " (" << one_process
                     << " for both ends in one process); this machine allows " << lim.rlim_max;
    }
    if (lim.rlim_max == RLIM_INFINITY || lim.rlim_max >= one_process) {
        run_in_one_process();
    } else {
        std::printf("RLIMIT_NOFILE hard limit %lu < %lu: the server runs in a child process\n",
                    static_cast<unsigned long>(lim.rlim_max), static_cast<unsigned long>(one_process));
        run_with_a_server_process();
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%d connections echoed in %.2f s\n", kConnections, secs);
    EXPECT_LT(secs, 60.0);
}
