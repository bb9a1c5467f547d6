// concur's side of the HTTP client benchmarks (bench/http/clients/run_all.py
// runs it beside its peers):
//
//   bench_http_client_session get URL N INFLIGHT [io_uring|epoll]
//       N GETs of URL through one ClientSession(limit=INFLIGHT), INFLIGHT
//       worker tasks; prints {"req_per_s":..., "seconds":...}
//   bench_http_client_session memory N
//       forks a server that holds every request until N are in, runs N
//       requests through one ClientSession(limit=N), and prints the RSS
//       growth per transfer in flight: {"bytes_per_transfer":...}
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "concur/asyncio.hpp"
#include "concur/asyncio/http.hpp"

namespace asyncio = concur::asyncio;
namespace http = concur::asyncio::http;
using asyncio::Task;

namespace {

Task<> worker(http::ClientSession& s, const std::string& url, int& left, long& bytes) {
    while (left > 0) {
        --left;
        auto r = co_await s.get(url);
        if (r.status != 200) throw std::runtime_error("status " + std::to_string(r.status));
        bytes += static_cast<long>(r.body().size());
    }
}

Task<double> run_gets(std::string url, int n, int inflight) {
    http::ClientSession s({.limit = static_cast<std::size_t>(inflight)});
    int left = 1;
    long bytes = 0;
    co_await worker(s, url, left, bytes);  // warm-up: DNS, first connection
    left = n;
    auto t0 = std::chrono::steady_clock::now();
    std::vector<Task<>> ws;
    for (int i = 0; i < inflight; ++i) ws.push_back(worker(s, url, left, bytes));
    co_await asyncio::gather(std::move(ws));
    co_return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

long rss_bytes() {
    std::ifstream f("/proc/self/statm");
    long pages = 0, resident = 0;
    f >> pages >> resident;
    return resident * sysconf(_SC_PAGESIZE);
}

// The holding server, in a child process so that its memory is not counted.
[[noreturn]] void hold_server(int listen_fd, int n, int ready_fd, int go_fd) {
    int ep = epoll_create1(0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listen_fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
    ev.data.fd = go_fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, go_fd, &ev);
    std::vector<int> held;
    std::vector<std::string> bufs(65536);
    int received = 0;
    static const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n" + std::string(1024, 'x');
    epoll_event evs[256];
    for (;;) {
        int k = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < k; ++i) {
            int fd = evs[i].data.fd;
            if (fd == listen_fd) {
                int c = accept(listen_fd, nullptr, nullptr);
                if (c < 0) continue;
                ev.data.fd = c;
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
            } else if (fd == go_fd) {
                for (int c : held) (void)!write(c, resp.data(), resp.size());
                _exit(0);
            } else {
                char b[4096];
                ssize_t r = read(fd, b, sizeof b);
                if (r <= 0) {
                    close(fd);
                    continue;
                }
                auto& buf = bufs[fd];
                buf.append(b, static_cast<std::size_t>(r));
                if (buf.find("\r\n\r\n") != std::string::npos) {
                    held.push_back(fd);
                    if (++received == n) (void)!write(ready_fd, "r", 1);
                }
            }
        }
    }
}

Task<double> run_memory(std::string url, int n, int ready_fd, int go_fd) {
    http::ClientSession s({.limit = static_cast<std::size_t>(n)});
    long before = rss_bytes();
    std::vector<Task<http::ClientResponse>> tasks;
    for (int i = 0; i < n; ++i) tasks.push_back(asyncio::create_task(s.get(url)));
    // Wait (on the loop) until the server holds all n requests.
    asyncio::Future<> ready;
    asyncio::get_running_loop().add_reader(ready_fd, [&] {
        char c;
        (void)!read(ready_fd, &c, 1);
        if (!ready.done()) ready.set_result();
    });
    co_await ready;
    asyncio::get_running_loop().remove_reader(ready_fd);
    long during = rss_bytes();
    (void)!write(go_fd, "g", 1);
    for (auto& t : tasks) co_await t;
    co_return static_cast<double>(during - before) / n;
}

}  // namespace

int main(int argc, char** argv) {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "get" && argc >= 5) {
        std::optional<asyncio::LoopBackend> backend;
        if (argc > 5) backend = std::string(argv[5]) == "epoll" ? asyncio::LoopBackend::epoll : asyncio::LoopBackend::io_uring;
        int n = std::atoi(argv[3]);
        double secs = asyncio::run(run_gets(argv[2], n, std::atoi(argv[4])), {.backend = backend});
        std::printf("{\"req_per_s\": %.1f, \"seconds\": %.4f}\n", n / secs, secs);
        return 0;
    }
    if (mode == "memory" && argc >= 3) {
        int n = std::atoi(argv[2]);
        int lfd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        listen(lfd, 4096);
        socklen_t len = sizeof a;
        getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
        int ready[2], go[2];
        if (pipe(ready) || pipe(go)) return 1;
        pid_t pid = fork();
        if (pid == 0) hold_server(lfd, n, ready[1], go[0]);
        close(lfd);
        std::string url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/";
        double per = asyncio::run(run_memory(url, n, ready[0], go[1]));
        waitpid(pid, nullptr, 0);
        std::printf("{\"bytes_per_transfer\": %.0f, \"transfers\": %d}\n", per, n);
        return 0;
    }
    std::fprintf(stderr, "usage: %s get URL N INFLIGHT [io_uring|epoll] | memory N\n", argv[0]);
    return 2;
}
