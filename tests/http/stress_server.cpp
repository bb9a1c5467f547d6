// The site server under 5,000 concurrent connections from one test client
// (a plain epoll loop of non-blocking sockets): every connection gets its
// page, twice, over the same connection, with the default 50 ms latency
// pending on all of them at once. Both loop backends.
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include <chrono>
#include <concur/http/server.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "server_support/raw_client.hpp"

namespace {

using namespace std::chrono_literals;
using concur::asyncio::LoopBackend;
namespace http = concur::http;

constexpr int kConnections = 5000;
constexpr int kRounds = 2;

// Both ends live in this process: two descriptors per connection.
bool raise_fd_limit(rlim_t want) {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return false;
    if (rl.rlim_cur >= want) return true;
    if (rl.rlim_max < want) return false;
    rl.rlim_cur = want;
    return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

struct Client {
    int fd = -1;
    bool connected = false;
    int done = 0;  // responses received
    std::string in;
    std::size_t sent = 0;
};

class SiteServerStress : public ::testing::TestWithParam<LoopBackend> {};

TEST_P(SiteServerStress, FiveThousandConcurrentKeepAliveConnections) {
    if (!raise_fd_limit(2 * kConnections + 200))
        GTEST_SKIP() << "RLIMIT_NOFILE's hard limit is below " << 2 * kConnections + 200;
    http::SiteOptions o;
    o.backend = GetParam();
    http::SiteServer site(o);
    const std::string request = "GET /dice HTTP/1.1\r\nHost: stress\r\n\r\n";
    const std::string body = http::page_body("/dice", 512);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    ASSERT_GE(ep, 0);
    std::vector<Client> clients(kConnections);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(site.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < kConnections; ++i) {
        Client& c = clients[i];
        c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ASSERT_GE(c.fd, 0) << "socket " << i << ": " << std::strerror(errno);
        int r = ::connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ASSERT_TRUE(r == 0 || errno == EINPROGRESS) << std::strerror(errno);
        epoll_event ev{};
        ev.events = EPOLLOUT | EPOLLIN;
        ev.data.u32 = static_cast<std::uint32_t>(i);
        ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev), 0);
    }

    int finished = 0, failures = 0;
    auto deadline = std::chrono::steady_clock::now() + 120s;
    std::vector<epoll_event> evs(512);
    char buf[8192];
    while (finished + failures < kConnections && std::chrono::steady_clock::now() < deadline) {
        int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 1000);
        for (int k = 0; k < n; ++k) {
            Client& c = clients[evs[k].data.u32];
            if (c.fd < 0) continue;
            auto fail = [&] {
                ++failures;
                epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
                ::close(c.fd);
                c.fd = -1;
            };
            if (!c.connected && (evs[k].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) {
                    fail();
                    continue;
                }
                c.connected = true;
                epoll_event ev{};
                ev.events = EPOLLIN;
                ev.data.u32 = evs[k].data.u32;
                epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
                if (::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
                    fail();
                    continue;
                }
            }
            if (!(evs[k].events & EPOLLIN)) continue;
            ssize_t got = ::recv(c.fd, buf, sizeof buf, 0);
            if (got <= 0) {
                if (got < 0 && errno == EAGAIN) continue;
                fail();
                continue;
            }
            c.in.append(buf, static_cast<std::size_t>(got));
            auto end = c.in.find("\r\n\r\n");
            if (end == std::string::npos || c.in.size() < end + 4 + body.size()) continue;
            if (c.in.compare(0, 15, "HTTP/1.1 200 OK") != 0 || c.in.substr(end + 4) != body) {
                fail();
                continue;
            }
            c.in.clear();
            if (++c.done == kRounds) {
                ++finished;
                continue;  // kept open: every connection is open at the end
            }
            if (::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
                fail();
        }
    }
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(finished, kConnections);
    EXPECT_EQ(site.connections_accepted(), static_cast<std::uint64_t>(kConnections));
    EXPECT_EQ(site.requests_served(), static_cast<std::uint64_t>(kConnections) * kRounds);
    EXPECT_EQ(site.connections_open(), static_cast<std::uint64_t>(kConnections));

    // Meanwhile the site still answers a newcomer, and stops with all open.
    concur::http::testing::RawClient extra(site.port());
    ASSERT_TRUE(extra.get("/baidu"));
    auto r = extra.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    site.stop();
    for (Client& c : clients)
        if (c.fd >= 0) ::close(c.fd);
    ::close(ep);
}

INSTANTIATE_TEST_SUITE_P(Backends, SiteServerStress, ::testing::Values(LoopBackend::io_uring, LoopBackend::epoll),
                         [](const ::testing::TestParamInfo<LoopBackend>& info) {
                             return std::string(info.param == LoopBackend::io_uring ? "io_uring" : "epoll");
                         });

}  // namespace
