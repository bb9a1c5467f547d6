// asyncio::http::ClientSession against real peers (nginx, raw-socket fault
// servers), on both event-loop backends: every test runs once per backend.
#include <dirent.h>
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "concur/asyncio.hpp"
#include "concur/asyncio/http.hpp"
#include "support/nginx.hpp"
#include "support/raw_server.hpp"

using namespace std::chrono_literals;
namespace asyncio = concur::asyncio;
namespace http = concur::asyncio::http;
using asyncio::Task;
using concur::test::Nginx;
using concur::test::RawServer;

namespace {

Nginx& nginx() {
    static Nginx n;
    return n;
}

int open_fds() {
    int n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (readdir(d)) ++n;
        closedir(d);
    }
    return n;
}

// Polls pred on the loop (sleeping between tries) for up to 30 s.
Task<bool> eventually(std::function<bool()> pred) {
    for (int i = 0; i < 6000; ++i) {
        if (pred()) co_return true;
        co_await asyncio::sleep(5ms);
    }
    co_return pred();
}

// The message of the exception E that awaiting `t` throws ("" and a failure otherwise).
template <class E, class T>
Task<std::string> expect_throw(Task<T> t) {
    try {
        co_await t;
    } catch (const E& e) {
        co_return std::string(e.what());
    } catch (const std::exception& e) {
        ADD_FAILURE() << "threw the wrong exception: " << e.what();
        co_return std::string();
    }
    ADD_FAILURE() << "did not throw";
    co_return std::string();
}

class ClientSessionTest : public ::testing::TestWithParam<asyncio::LoopBackend> {
protected:
    template <class T>
    T run(Task<T> t) {
        nginx();  // started outside the loop
        return asyncio::run(std::move(t), {.backend = GetParam()});
    }
};

Task<> gets_a_file(std::string base) {
    http::ClientSession s;
    auto r = co_await s.get(base + "/hello.txt");
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.reason, "OK");
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.url, base + "/hello.txt");
    EXPECT_EQ(r.content_length, std::optional<std::size_t>(std::string(Nginx::kHello).size()));
    EXPECT_EQ(r.headers.get("content-type").value_or(""), "text/plain");
    EXPECT_EQ(co_await r.text(), Nginx::kHello);
    const std::string& bytes = co_await r.read();
    EXPECT_EQ(bytes, Nginx::kHello);
    r.raise_for_status();

    auto j = co_await (co_await s.get(base + "/json")).json();
    EXPECT_EQ(j["name"], "concur");
    auto bad = co_await s.get(base + "/hello.txt");
    EXPECT_THROW(co_await bad.json(), concur::ValueError);

    auto missing = co_await s.get(base + "/status/404");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.reason, "Not Found");
    EXPECT_THROW(missing.raise_for_status(), http::ClientResponseError);
    EXPECT_EQ((co_await s.get(base + "/status/500")).status, 500);
    EXPECT_EQ((co_await s.get(base + "/status/204")).status, 204);

    http::ClientSession strict({.raise_for_status = true});
    auto what = co_await expect_throw<http::ClientResponseError>(strict.get(base + "/status/404"));
    EXPECT_NE(what.find("404 Client Error: Not Found for url: " + base + "/status/404"), std::string::npos) << what;
}

TEST_P(ClientSessionTest, GetsAFileStatusAndJson) {
    int before = open_fds();
    run(gets_a_file(nginx().url("")));
    EXPECT_EQ(open_fds(), before) << "descriptors leaked";
}

Task<> redirects(std::string base) {
    http::ClientSession s;
    auto r = co_await s.get(base + "/redirect2");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.url, base + "/hello.txt");
    auto no = co_await s.get(base + "/redirect", {.allow_redirects = false});
    EXPECT_EQ(no.status, 301);
    EXPECT_EQ((co_await s.head(base + "/redirect")).status, 301);
    auto what = co_await expect_throw<http::TooManyRedirects>(s.get(base + "/loop"));
    EXPECT_NE(what.find("GET " + base + "/loop"), std::string::npos) << what;
    http::ClientSession one({.max_redirects = 1});
    co_await expect_throw<http::TooManyRedirects>(one.get(base + "/redirect2"));
}

TEST_P(ClientSessionTest, FollowsRedirectsUpToTheLimit) { run(redirects(nginx().url(""))); }

Task<> chunked_and_large(std::string base, std::string raw_url) {
    http::ClientSession s;
    auto gz = co_await s.get(base + "/gz/text.txt");
    EXPECT_EQ(gz.content_length, std::nullopt);
    EXPECT_EQ(gz.body(), Nginx::gz_text());
    auto raw = co_await s.get(raw_url);
    EXPECT_EQ(raw.content_length, std::nullopt);
    EXPECT_EQ(raw.body(), "hello, " + std::string(100000, 'c') + "!");
    auto big = co_await s.get(base + "/big.bin");
    EXPECT_EQ(big.content_length, std::optional<std::size_t>(Nginx::kBigSize));
    EXPECT_EQ(big.body().size(), Nginx::kBigSize);
    EXPECT_TRUE(big.body() == concur::test::pattern_body(Nginx::kBigSize));
}

TEST_P(ClientSessionTest, ChunkedAndLargeBodies) {
    RawServer raw(concur::test::serve_chunked({"hello, ", std::string(100000, 'c'), "!"}));
    run(chunked_and_large(nginx().url(""), raw.url()));
}

Task<> sequential(std::string url, int n) {
    http::ClientSession s;
    for (int i = 0; i < n; ++i) EXPECT_EQ((co_await s.get(url)).status, 200);
}

TEST_P(ClientSessionTest, KeepsOneConnectionAlive) {
    auto before = nginx().logged_connections();
    run(sequential(nginx().url("/1k.html"), 20));
    auto after = nginx().logged_connections();
    std::set<long> used;
    for (long c : after)
        if (after.count(c) > before.count(c)) used.insert(c);
    EXPECT_EQ(used.size(), 1u) << "20 requests in sequence should share one connection";

    RawServer raw(concur::test::serve_body("ok"));
    run(sequential(raw.url(), 10));
    EXPECT_EQ(raw.accepted(), 1);
    EXPECT_EQ(raw.requests(), 10);
}

Task<std::size_t> body_size(http::ClientSession& s, std::string url) {
    auto r = co_await s.get(std::move(url));
    co_return r.body().size();
}

Task<> many(std::string url, int n, http::ClientSessionOptions options) {
    http::ClientSession s(options);
    std::vector<Task<std::size_t>> tasks;
    for (int i = 0; i < n; ++i) tasks.push_back(body_size(s, url));
    auto sizes = co_await asyncio::gather(std::move(tasks));
    std::size_t good = 0;
    for (auto z : sizes) good += z == 100;
    EXPECT_EQ(good, static_cast<std::size_t>(n));
}

TEST_P(ClientSessionTest, ThousandRequestsThroughLimit100) {
    RawServer raw(concur::test::serve_body(std::string(100, 'b')));
    run(many(raw.url(), 1000, {.limit = 100}));
    EXPECT_EQ(raw.requests(), 1000);
    EXPECT_LE(raw.max_open(), 100) << "the connector limit was exceeded on the server side";
    EXPECT_GE(raw.max_open(), 2) << "requests should run concurrently";

    RawServer per_host(concur::test::serve_body(std::string(100, 'b')));
    run(many(per_host.url(), 50, {.limit = 0, .limit_per_host = 3}));
    EXPECT_LE(per_host.max_open(), 3);
}

Task<> timeouts(std::string silent, std::string partial) {
    http::ClientSession s({.timeout = {.sock_read = 300ms}});
    auto what = co_await expect_throw<http::SocketTimeoutError>(s.get(silent));
    EXPECT_NE(what.find("GET " + silent), std::string::npos) << what;
    co_await expect_throw<http::ServerTimeoutError>(s.get(partial));
    // total: asyncio.TimeoutError, not a ClientError
    co_await expect_throw<concur::TimeoutError>(s.get(silent, {.timeout = http::ClientTimeout{.total = 300ms}}));
}

TEST_P(ClientSessionTest, Timeouts) {
    RawServer silent(concur::test::stall());
    RawServer partial(concur::test::stall(true));
    run(timeouts(silent.url("/slow"), partial.url("/slow")));
}

Task<> connect_timeout(std::string url) {
    http::ClientSession s({.timeout = {.connect = 300ms}});
    auto what = co_await expect_throw<http::ConnectionTimeoutError>(s.get(url));
    EXPECT_NE(what.find("GET " + url), std::string::npos) << what;
}

TEST_P(ClientSessionTest, ConnectTimeout) {
    concur::test::FullBacklog full;
    run(connect_timeout(full.url()));
}

Task<> faults(std::string refused, std::string cut) {
    http::ClientSession s;
    auto what = co_await expect_throw<http::ClientConnectionError>(s.get(refused));
    EXPECT_NE(what.find("GET " + refused), std::string::npos) << what;
    EXPECT_NE(what.find("Connection refused"), std::string::npos) << what;
    what = co_await expect_throw<http::ClientConnectionError>(s.get(cut));
    EXPECT_NE(what.find("GET " + cut), std::string::npos) << what;
    co_await expect_throw<http::InvalidURL>(s.get("127.0.0.1/x"));
    co_await expect_throw<http::InvalidURL>(s.get("gopher://127.0.0.1/x"));
    co_await expect_throw<http::ClientError>(s.get("http://127.0.0.1:99999/"));
}

TEST_P(ClientSessionTest, RefusedClosedMidBodyAndInvalid) {
    RawServer cut(concur::test::close_mid_body(100000, 1000));
    int port = concur::test::free_port();
    run(faults("http://127.0.0.1:" + std::to_string(port) + "/", cut.url("/cut")));
}

Task<> cancel_mid_download(const RawServer& raw, std::string then_url) {
    http::ClientSession s;
    auto t = asyncio::create_task(s.get(raw.url("/big")));
    EXPECT_TRUE(co_await eventually([&] { return raw.requests() == 1; }));
    co_await asyncio::sleep(50ms);  // part of the body is in
    EXPECT_FALSE(t.done());
    t.cancel();
    co_await expect_throw<concur::CancelledError>(t);
    // The transfer was aborted at once: the server sees its connection closed.
    EXPECT_TRUE(co_await eventually([&] { return raw.finished() == 1; }));
    EXPECT_EQ((co_await s.get(then_url)).status, 200);  // the session still works
}

TEST_P(ClientSessionTest, CancelMidDownloadFreesTheTransfer) {
    RawServer raw(concur::test::stall(true));
    int before = open_fds();
    run(cancel_mid_download(raw, nginx().url("/hello.txt")));
    EXPECT_EQ(open_fds(), before) << "descriptors leaked";
}

Task<> close_session(const RawServer& idle, const RawServer& busy) {
    http::ClientSession s;
    EXPECT_EQ((co_await s.get(idle.url())).status, 200);
    auto pending = asyncio::create_task(s.get(busy.url()));
    EXPECT_TRUE(co_await eventually([&] { return busy.requests() == 1; }));
    co_await s.close();
    EXPECT_TRUE(s.closed());
    auto what = co_await expect_throw<http::ClientConnectionError>(pending);
    EXPECT_NE(what.find("closed"), std::string::npos) << what;
    EXPECT_TRUE(co_await eventually([&] { return idle.finished() == 1 && busy.finished() == 1; }))
        << "close() closes every connection";
    co_await expect_throw<concur::RuntimeError>(s.get(idle.url()));
}

TEST_P(ClientSessionTest, CloseFailsPendingAndClosesConnections) {
    RawServer idle(concur::test::serve_body("ok"));
    RawServer busy(concur::test::stall());
    run(close_session(idle, busy));
}

// main() ends with a request still in flight: the session closes under it,
// then run() cancels the task; nothing may crash or leak.
Task<> leave_pending(const RawServer& busy) {
    http::ClientSession s;
    auto pending = asyncio::create_task(s.get(busy.url()));
    auto queued = asyncio::create_task(s.get(busy.url("/2")));
    EXPECT_TRUE(co_await eventually([&] { return busy.requests() == 2; }));
}

TEST_P(ClientSessionTest, EndsWithRequestsInFlight) {
    RawServer busy(concur::test::stall());
    run(leave_pending(busy));
    EXPECT_TRUE(RawServer::wait_for([&] { return busy.finished() == 2; }));
}

// Built outside the coroutine: g++ 12 mishandles initializer lists in a
// coroutine frame.
http::ClientSessionOptions session_with_header() { return {.headers = {{"X-Session", "1"}}}; }
http::ClientRequestOptions post_options() {
    return {.params = {{"q", "a b"}}, .headers = {{"X-Test", "yes"}}, .json = nlohmann::json{{"k", 1}}};
}

Task<> bodies(std::string url) {
    http::ClientSession s(session_with_header());
    auto r = co_await s.post(url + "p", post_options());
    const std::string& req = r.body();
    EXPECT_EQ(req.rfind("POST /p?q=a%20b HTTP/1.1\r\n", 0), 0u) << req;
    EXPECT_NE(req.find("X-Session: 1\r\n"), std::string::npos) << req;
    EXPECT_NE(req.find("X-Test: yes\r\n"), std::string::npos) << req;
    EXPECT_NE(req.find("Content-Type: application/json\r\n"), std::string::npos) << req;
    EXPECT_EQ(req.substr(req.size() - 7), "{\"k\":1}");
    http::ClientRequestOptions put_opts{.data = "raw body"};
    auto put = co_await s.put(url + "x", std::move(put_opts));
    EXPECT_EQ(put.body().rfind("PUT /x HTTP/1.1\r\n", 0), 0u);
    EXPECT_EQ(put.body().substr(put.body().size() - 8), "raw body");
    EXPECT_EQ((co_await s.delete_(url + "x")).body().rfind("DELETE /x ", 0), 0u);
    http::ClientRequestOptions patch_opts{.data = "p"};
    EXPECT_EQ((co_await s.patch(url + "x", std::move(patch_opts))).body().rfind("PATCH /x ", 0), 0u);
}

TEST_P(ClientSessionTest, SendsMethodsBodiesAndHeaders) {
    RawServer echo(concur::test::echo());
    run(bodies(echo.url("/")));
}

INSTANTIATE_TEST_SUITE_P(Backends, ClientSessionTest,
                         ::testing::Values(asyncio::LoopBackend::io_uring, asyncio::LoopBackend::epoll),
                         [](const auto& info) {
                             return info.param == asyncio::LoopBackend::io_uring ? std::string("io_uring")
                                                                                 : std::string("epoll");
                         });

}  // namespace
