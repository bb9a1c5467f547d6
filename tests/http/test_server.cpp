// The local site server, through raw sockets: pages, keep-alive, pipelining,
// latency, errors, slow clients, shutdown; every test on both loop backends
// (the backend is chosen in-process through SiteOptions::backend).
#include <gtest/gtest.h>

#include <chrono>
#include <concur/asyncio.hpp>
#include <concur/http/server.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server_support/raw_client.hpp"

namespace {

using namespace std::chrono_literals;
using concur::asyncio::LoopBackend;
using concur::http::SiteOptions;
using concur::http::SiteServer;
using concur::http::testing::RawClient;
namespace http = concur::http;
namespace asyncio = concur::asyncio;

class SiteServerTest : public ::testing::TestWithParam<LoopBackend> {
protected:
    SiteOptions options(std::chrono::milliseconds latency = 0ms) const {
        SiteOptions o;
        o.latency = latency;
        o.backend = GetParam();
        return o;
    }
};

std::string backend_name(const ::testing::TestParamInfo<LoopBackend>& info) {
    return info.param == LoopBackend::io_uring ? "io_uring" : "epoll";
}

TEST(SitePages, BodiesAreDeterministicAndExactlySized) {
    for (std::size_t size : {0u, 1u, 10u, 60u, 100u, 1024u, 24576u}) {
        std::string a = http::page_body("/x", size);
        EXPECT_EQ(a.size(), size);
        EXPECT_EQ(a, http::page_body("/x", size));
    }
    EXPECT_NE(http::page_body("/a", 512), http::page_body("/b", 512));
    auto pages = http::default_pages();
    ASSERT_EQ(pages.size(), 4u);
    EXPECT_EQ(pages[0].path, "/baidu");
    EXPECT_EQ(pages[3].path, "/dice");
}

TEST_P(SiteServerTest, ServesEveryPageWithItsContentLength) {
    SiteServer site(options());
    ASSERT_NE(site.port(), 0);
    EXPECT_EQ(site.url("/baidu"), "http://127.0.0.1:" + std::to_string(site.port()) + "/baidu");
    RawClient c(site.port());
    for (const auto& page : site.pages()) {
        ASSERT_TRUE(c.get(page.path));
        auto r = c.read_response();
        ASSERT_TRUE(r) << page.path;
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->content_length, page.size);
        EXPECT_EQ(r->body, http::page_body(page.path, page.size)) << page.path;
        EXPECT_TRUE(r->header("Content-Type: text/html"));
    }
    // HEAD: the same head, no body; a query string is ignored.
    ASSERT_TRUE(c.send("HEAD /dice?x=1 HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto h = c.read_response(true);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 200);
    EXPECT_EQ(h->content_length, 512u);
    ASSERT_TRUE(c.get("/dice"));  // the next response starts right after the head
    auto d = c.read_response();
    ASSERT_TRUE(d);
    EXPECT_EQ(d->body.size(), 512u);
}

TEST_P(SiteServerTest, KeepAliveServesManyRequestsOnOneConnection) {
    SiteServer site(options());
    {
        RawClient c(site.port());
        for (int i = 0; i < 25; ++i) {
            ASSERT_TRUE(c.get(i % 2 ? "/baidu" : "/weibo"));
            auto r = c.read_response();
            ASSERT_TRUE(r);
            EXPECT_EQ(r->status, 200);
            EXPECT_TRUE(r->header("Connection: keep-alive"));
        }
    }
    EXPECT_EQ(site.connections_accepted(), 1u);
    EXPECT_EQ(site.requests_served(), 25u);
}

TEST_P(SiteServerTest, PipelinedRequestsAreAnsweredInOrder) {
    for (auto latency : {0ms, 20ms}) {
        SiteServer site(options(latency));
        RawClient c(site.port());
        std::string burst;
        std::vector<std::string> paths;
        for (int i = 0; i < 100; ++i) {  // more than the server's queue of delayed responses
            paths.push_back(i % 3 == 0 ? "/dice" : i % 3 == 1 ? "/baidu" : "/missing");
            burst += "GET " + paths.back() + " HTTP/1.1\r\nHost: t\r\n\r\n";
        }
        ASSERT_TRUE(c.send(burst));
        for (const auto& p : paths) {
            auto r = c.read_response();
            ASSERT_TRUE(r) << p;
            if (p == "/missing") {
                EXPECT_EQ(r->status, 404);
            } else {
                EXPECT_EQ(r->status, 200);
                EXPECT_NE(r->body.find("<title>" + p + "</title>"), std::string::npos);
            }
        }
        EXPECT_EQ(site.requests_served(), 100u);
        EXPECT_EQ(site.connections_accepted(), 1u);
    }
}

TEST_P(SiteServerTest, PipelinedFloodFromAClientThatReadsLateIsServedInOrder) {
    // 3,000 pipelined requests (about 40 MB of responses) sent by one thread
    // while this one starts reading only later: the server must stop reading
    // while its output is stuck, then go on where it stopped.
    for (auto latency : {0ms, 5ms}) {
        SiteServer site(options(latency));
        RawClient c(site.port(), 60);
        constexpr int kN = 3000;
        std::thread sender([&] {
            std::string burst;
            for (int i = 0; i < kN; ++i)
                burst += i % 2 ? "GET /dice HTTP/1.1\r\n\r\n" : "GET /jython HTTP/1.1\r\n\r\n";
            c.send(burst);
        });
        std::this_thread::sleep_for(100ms);
        int ok = 0;
        for (int i = 0; i < kN; ++i) {
            auto r = c.read_response();
            if (!r) break;
            if (r->status == 200 && r->body.size() == (i % 2 ? 512u : 24576u)) ++ok;
        }
        sender.join();
        EXPECT_EQ(ok, kN);
        EXPECT_EQ(site.requests_served(), static_cast<std::uint64_t>(kN));
    }
}

TEST_P(SiteServerTest, ClientsThatResetMidResponseDoNotDisturbOthers) {
    SiteServer site(options());
    for (int i = 0; i < 50; ++i) {
        RawClient c(site.port());
        for (int k = 0; k < 20; ++k) c.get("/jython");
        linger lg{1, 0};  // close() sends RST
        ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    RawClient good(site.port());
    ASSERT_TRUE(good.get("/baidu"));
    auto r = good.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, http::page_body("/baidu", 2381));
}

TEST_P(SiteServerTest, LatencyDelaysEachResponse) {
    SiteServer site(options(100ms));
    RawClient c(site.port());
    for (int i = 0; i < 2; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        ASSERT_TRUE(c.get("/dice"));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
    }
}

TEST_P(SiteServerTest, ManyConnectionsWaitOutTheirLatencyTogether) {
    // The delay is a timer per connection: all 20 are pending at once and
    // every one is answered (no upper bound on time is asserted here; the
    // benchmark measures that).
    SiteServer site(options(300ms));
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 20; ++i) {
        clients.push_back(std::make_unique<RawClient>(site.port()));
        ASSERT_TRUE(clients.back()->get("/dice"));
    }
    for (auto& c : clients) {
        auto r = c->read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
    }
    EXPECT_EQ(site.requests_served(), 20u);
}

TEST_P(SiteServerTest, UnknownPathIs404AndOtherMethods405) {
    SiteServer site(options());
    RawClient c(site.port());
    ASSERT_TRUE(c.get("/nope"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    ASSERT_TRUE(c.send("POST /baidu HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"));
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 405);
    EXPECT_TRUE(r->header("Allow: GET, HEAD"));
    ASSERT_TRUE(c.get("http://example.com/dice"));  // absolute form
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(site.requests_served(), 3u);
}

TEST_P(SiteServerTest, MalformedRequestGets400AndCloseWhileOthersGoOn) {
    SiteServer site(options());
    RawClient good(site.port());
    ASSERT_TRUE(good.get("/dice"));
    ASSERT_TRUE(good.read_response());
    for (const char* junk : {"HELLO THERE\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n", "\x01\x02\x03 garbage\r\n\r\n",
                             "GET /dice HTTP/1.1\r\nContent-Length: x\r\n\r\n"}) {
        RawClient bad(site.port());
        ASSERT_TRUE(bad.send(junk));
        auto r = bad.read_response();
        ASSERT_TRUE(r) << junk;
        EXPECT_EQ(r->status, 400);
        EXPECT_TRUE(r->header("Connection: close"));
        EXPECT_TRUE(bad.closed_by_server());
        ASSERT_TRUE(good.get("/baidu"));
        auto g = good.read_response();
        ASSERT_TRUE(g);
        EXPECT_EQ(g->status, 200);
    }
    EXPECT_EQ(site.bad_requests(), 4u);
}

TEST_P(SiteServerTest, OversizedHeadersGet400) {
    SiteOptions o = options();
    o.max_header_bytes = 4096;
    SiteServer site(o);
    {
        RawClient c(site.port());  // under the limit: served
        ASSERT_TRUE(c.send("GET /dice HTTP/1.1\r\nX-Big: " + std::string(3000, 'a') + "\r\n\r\n"));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
    }
    for (std::string big : {"GET /dice HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n",
                            "GET /" + std::string(5000, 'u') + " HTTP/1.1\r\n\r\n"}) {
        RawClient c(site.port());
        c.send(big);  // the server may close before it has all of it
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 400);
        EXPECT_TRUE(c.closed_by_server());
    }
    // The default limit, 16 KiB.
    SiteServer dflt(options());
    RawClient c(dflt.port());
    c.send("GET /dice HTTP/1.1\r\nX-Big: " + std::string(17 * 1024, 'a') + "\r\n\r\n");
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
}

TEST_P(SiteServerTest, SlowClientDoesNotBlockAFastOne) {
    SiteServer site(options());
    RawClient slow(site.port());
    std::string req = "GET /baidu HTTP/1.1\r\nHost: slow\r\n\r\n";
    // Half the request, one byte at a time, then the fast client's turn.
    for (std::size_t i = 0; i < req.size() / 2; ++i) ASSERT_TRUE(slow.send(req.substr(i, 1)));
    RawClient fast(site.port());
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(fast.get("/dice"));
        auto r = fast.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
    }
    for (std::size_t i = req.size() / 2; i < req.size(); ++i) {
        ASSERT_TRUE(slow.send(req.substr(i, 1)));
        std::this_thread::sleep_for(1ms);
    }
    auto r = slow.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(site.requests_served(), 21u);
}

TEST_P(SiteServerTest, IdleAndSlowlorisConnectionsTimeOut) {
    SiteOptions o = options();
    o.idle_timeout = 200ms;
    SiteServer site(o);
    RawClient idle(site.port());
    RawClient loris(site.port());
    ASSERT_TRUE(loris.send("GET /dice HTTP/1.1\r\n"));
    // A header line every 20 ms, never the end of the request.
    bool closed = false;
    for (int i = 0; i < 500 && !closed; ++i) {
        closed = !loris.send("X-A: b\r\n");
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(closed || loris.closed_by_server());
    EXPECT_TRUE(idle.closed_by_server());  // within the client's 20 s receive timeout
    // A keep-alive connection that made a request is closed as well, after it.
    RawClient used(site.port());
    ASSERT_TRUE(used.get("/dice"));
    ASSERT_TRUE(used.read_response());
    EXPECT_TRUE(used.closed_by_server());
}

TEST_P(SiteServerTest, Http10AndConnectionCloseEndTheConnection) {
    SiteServer site(options());
    for (const char* req : {"GET /dice HTTP/1.0\r\n\r\n", "GET /dice HTTP/1.1\r\nConnection: close\r\n\r\n"}) {
        RawClient c(site.port());
        ASSERT_TRUE(c.send(req));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_TRUE(r->header("Connection: close"));
        EXPECT_EQ(r->body.size(), 512u);
        EXPECT_TRUE(c.closed_by_server());
    }
    // HTTP/1.0 asking for keep-alive gets it.
    RawClient c(site.port());
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(c.send("GET /dice HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_TRUE(r->header("Connection: keep-alive"));
    }
}

TEST_P(SiteServerTest, HalfClosedClientStillGetsItsResponses) {
    SiteServer site(options(20ms));
    RawClient c(site.port());
    ASSERT_TRUE(c.send("GET /dice HTTP/1.1\r\n\r\nGET /baidu HTTP/1.1\r\n\r\n"));
    c.shutdown_write();
    auto a = c.read_response();
    auto b = c.read_response();
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->body.size(), 512u);
    EXPECT_EQ(b->body.size(), 2381u);
    EXPECT_TRUE(c.closed_by_server());
}

TEST_P(SiteServerTest, StopsCleanlyWithConnectionsOpen) {
    auto site = std::make_unique<SiteServer>(options(10s));
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 30; ++i) {
        clients.push_back(std::make_unique<RawClient>(site->port()));
        if (i % 3 == 0) clients.back()->get("/dice");        // a response still delayed
        if (i % 3 == 1) clients.back()->send("GET /di");     // half a request
    }
    while (site->connections_accepted() < 30) std::this_thread::sleep_for(1ms);
    EXPECT_EQ(site->connections_open(), 30u);
    site->stop();
    site->stop();  // idempotent
    for (auto& c : clients) EXPECT_TRUE(c->closed_by_server());
    EXPECT_EQ(site->connections_open(), 0u);
    EXPECT_EQ(site->requests_served(), 0u);
}

TEST_P(SiteServerTest, BadOptionsAreRejected) {
    auto with = [&](auto change) {
        SiteOptions o = options();
        change(o);
        return o;
    };
    EXPECT_THROW(SiteServer(with([](SiteOptions& o) { o.pages = {{"nolead", 1}}; })), concur::ValueError);
    EXPECT_THROW(SiteServer(with([](SiteOptions& o) { o.pages = {{"/a", 1}, {"/a", 2}}; })), concur::ValueError);
    EXPECT_THROW(SiteServer(with([](SiteOptions& o) { o.host = "example.com"; })), concur::ValueError);
    EXPECT_THROW(SiteServer(with([](SiteOptions& o) { o.max_header_bytes = 0; })), concur::ValueError);
    SiteServer first(options());
    EXPECT_THROW(SiteServer(with([&](SiteOptions& o) { o.port = first.port(); })), concur::OSError);
}

// serve() on a loop the caller runs, with asyncio streams as the client.
TEST_P(SiteServerTest, ServeRunsOnTheCallersLoopUntilCancelled) {
    auto stats = std::make_shared<http::SiteStats>();
    asyncio::EventLoop loop(GetParam());
    auto main = [](std::shared_ptr<http::SiteStats> st) -> asyncio::Task<std::string> {
        std::uint16_t port = 0;
        SiteOptions o;
        o.latency = 10ms;
        auto server = asyncio::create_task(http::serve(o, st, [&](std::uint16_t p) { port = p; }));
        while (port == 0) co_await asyncio::sleep(1ms);
        auto [reader, writer] = co_await asyncio::open_connection("127.0.0.1", port);
        writer.write("GET /dice HTTP/1.1\r\nHost: t\r\n\r\n");
        std::string head = co_await reader.readuntil("\r\n\r\n");
        std::string body = co_await reader.readexactly(512);
        server.cancel();
        try {
            co_await server;
        } catch (const asyncio::CancelledError&) {
        }
        std::string rest = co_await reader.read();  // the site closed the connection
        co_return head + body + rest;
    };
    std::string got = loop.run_until_complete(main(stats));
    loop.close();
    EXPECT_EQ(got.substr(0, 15), "HTTP/1.1 200 OK");
    EXPECT_NE(got.find(http::page_body("/dice", 512)), std::string::npos);
    EXPECT_EQ(stats->requests_served(), 1u);
    EXPECT_EQ(stats->connections_open(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, SiteServerTest, ::testing::Values(LoopBackend::io_uring, LoopBackend::epoll),
                         backend_name);

}  // namespace
