// ClientSession under load with cancellations: 1,500 requests through
// limit=50, a third of them to a server that never finishes its responses;
// those (and some others) are cancelled while queued or mid-body. Nothing may
// crash, leak (ASan/LSan, descriptors) or stay open on the server side.
#include <dirent.h>
#include <gtest/gtest.h>

#include "concur/asyncio.hpp"
#include "concur/asyncio/http.hpp"
#include "support/raw_server.hpp"

using namespace std::chrono_literals;
namespace asyncio = concur::asyncio;
namespace http = concur::asyncio::http;
using asyncio::Task;
using concur::test::RawServer;

namespace {

int open_fds() {
    int n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (readdir(d)) ++n;
        closedir(d);
    }
    return n;
}

Task<> storm(std::string fast, std::string slow, const RawServer& slow_server) {
    constexpr int kN = 1500;
    http::ClientSession s({.limit = 50});
    std::vector<Task<http::ClientResponse>> tasks;
    for (int i = 0; i < kN; ++i) tasks.push_back(asyncio::create_task(s.get(i % 3 == 0 ? slow : fast)));
    for (int i = 0; i < 200 && slow_server.requests() == 0; ++i) co_await asyncio::sleep(10ms);
    co_await asyncio::sleep(20ms);
    for (int i = 0; i < kN; ++i)
        if (i % 3 == 0 || i % 7 == 0) tasks[i].cancel();
    int ok = 0, cancelled = 0;
    for (auto& t : tasks) {
        try {
            ok += (co_await t).status == 200;
        } catch (const concur::CancelledError&) {
            ++cancelled;
        }
    }
    EXPECT_EQ(ok + cancelled, kN);
    EXPECT_GE(cancelled, kN / 3);
    EXPECT_EQ((co_await s.get(fast)).status, 200) << "the session still works";
    for (int i = 0; i < 3000 && slow_server.finished() != slow_server.accepted(); ++i) co_await asyncio::sleep(10ms);
    EXPECT_EQ(slow_server.finished(), slow_server.accepted()) << "cancelled transfers left connections open";
}

class ClientSessionStress : public ::testing::TestWithParam<asyncio::LoopBackend> {};

TEST_P(ClientSessionStress, CancellationsUnderLoad) {
    RawServer fast(concur::test::serve_body(std::string(2000, 'f')));
    RawServer slow(concur::test::stall(true));
    int before = open_fds();
    asyncio::run(storm(fast.url(), slow.url(), slow), {.backend = GetParam()});
    // The server's ends of the connections close on its own threads.
    EXPECT_TRUE(RawServer::wait_for([&] { return fast.finished() == fast.accepted(); }));
    EXPECT_EQ(open_fds(), before) << "descriptors leaked";
}

INSTANTIATE_TEST_SUITE_P(Backends, ClientSessionStress,
                         ::testing::Values(asyncio::LoopBackend::io_uring, asyncio::LoopBackend::epoll),
                         [](const auto& info) {
                             return info.param == asyncio::LoopBackend::io_uring ? std::string("io_uring")
                                                                                 : std::string("epoll");
                         });

}  // namespace
