// http::Session against real peers: Debian's nginx, and raw-socket servers
// for chunked bodies and faults (tests/http/support/).
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "concur/http.hpp"
#include "support/nginx.hpp"
#include "support/raw_server.hpp"

using namespace std::chrono_literals;
namespace http = concur::http;
using concur::test::Nginx;
using concur::test::RawServer;

namespace {

Nginx& nginx() {
    static Nginx n;  // one per test program: starting nginx costs more than a test
    return n;
}

template <class E, class F>
std::string expect_throw(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "threw the wrong exception: " << e.what();
        return "";
    }
    ADD_FAILURE() << "did not throw";
    return "";
}

TEST(Session, GetsAFile) {
    http::Session s;
    auto r = s.get(nginx().url("/hello.txt"));
    EXPECT_EQ(r.status_code, 200);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.reason, "OK");
    EXPECT_EQ(r.text(), Nginx::kHello);
    EXPECT_EQ(r.headers.get("content-type").value_or(""), "text/plain");
    EXPECT_EQ(r.headers.get("CONTENT-LENGTH").value_or(""), std::to_string(r.content.size()));
    EXPECT_EQ(r.url, nginx().url("/hello.txt"));
    EXPECT_GT(r.elapsed.count(), 0);
    r.raise_for_status();
}

TEST(Session, StatusCodesAndRaiseForStatus) {
    http::Session s;
    auto r = s.get(nginx().url("/status/404"));
    EXPECT_EQ(r.status_code, 404);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.reason, "Not Found");
    auto what = expect_throw<http::HTTPError>([&] { r.raise_for_status(); });
    EXPECT_NE(what.find("404 Client Error: Not Found for url: " + nginx().url("/status/404")), std::string::npos)
        << what;
    try {
        r.raise_for_status();
    } catch (const http::HTTPError& e) {
        EXPECT_EQ(e.status_code(), 404);
    }
    auto r500 = s.get(nginx().url("/status/500"));
    EXPECT_EQ(r500.status_code, 500);
    EXPECT_THROW(r500.raise_for_status(), http::RequestException);
    auto r204 = s.get(nginx().url("/status/204"));
    EXPECT_EQ(r204.status_code, 204);
    EXPECT_TRUE(r204.content.empty());
}

TEST(Session, FollowsRedirectsUpToTheLimit) {
    http::Session s;
    auto r = s.get(nginx().url("/redirect2"));
    EXPECT_EQ(r.status_code, 200);
    EXPECT_EQ(r.url, nginx().url("/hello.txt"));
    EXPECT_EQ(r.text(), Nginx::kHello);

    auto no = s.get(nginx().url("/redirect"), {.allow_redirects = false});
    EXPECT_EQ(no.status_code, 301);
    EXPECT_EQ(no.headers.get("location").value_or(""), nginx().url("/hello.txt"));

    auto what = expect_throw<http::TooManyRedirects>([&] { s.get(nginx().url("/loop")); });
    EXPECT_NE(what.find("GET " + nginx().url("/loop")), std::string::npos) << what;

    http::Session few({.max_redirects = 1});
    EXPECT_THROW(few.get(nginx().url("/redirect2")), http::TooManyRedirects);
    EXPECT_EQ(few.get(nginx().url("/redirect")).status_code, 200);
}

TEST(Session, HeadReadsNoBody) {
    http::Session s;
    auto r = s.head(nginx().url("/big.bin"));
    EXPECT_EQ(r.status_code, 200);
    EXPECT_TRUE(r.content.empty());
    EXPECT_EQ(r.headers.get("content-length").value_or(""), std::to_string(Nginx::kBigSize));
    EXPECT_EQ(s.head(nginx().url("/redirect")).status_code, 301);  // requests: no redirects for head()
}

TEST(Session, LargeBody) {
    http::Session s;
    auto r = s.get(nginx().url("/big.bin"));
    ASSERT_EQ(r.content.size(), Nginx::kBigSize);
    EXPECT_TRUE(r.content == concur::test::pattern_body(Nginx::kBigSize));
}

TEST(Session, ChunkedBodies) {
    http::Session s;
    auto gz = s.get(nginx().url("/gz/text.txt"));  // nginx gzips on the fly, chunked
    EXPECT_EQ(gz.headers.get("transfer-encoding").value_or(""), "chunked");
    EXPECT_EQ(gz.text(), Nginx::gz_text());

    RawServer raw(concur::test::serve_chunked({"hello, ", std::string(100000, 'c'), "!"}));
    auto r = s.get(raw.url());
    EXPECT_EQ(r.content, "hello, " + std::string(100000, 'c') + "!");
    EXPECT_FALSE(r.headers.contains("content-length"));
}

TEST(Session, JsonAndQueryParameters) {
    http::Session s;
    auto j = s.get(nginx().url("/json")).json();
    EXPECT_EQ(j["name"], "concur");
    EXPECT_EQ(j["n"], 3);
    EXPECT_THROW(s.get(nginx().url("/hello.txt")).json(), concur::ValueError);

    RawServer echo(concur::test::echo());
    auto r = s.post(echo.url("/p?x=1"), {.params = {{"q", "a b&c"}, {"q", "2"}},
                                          .headers = {{"X-Test", "yes"}},
                                          .json = nlohmann::json{{"k", 1}}});
    const auto& req = r.content;
    EXPECT_EQ(req.rfind("POST /p?x=1&q=a%20b%26c&q=2 HTTP/1.1\r\n", 0), 0u) << req;
    EXPECT_NE(req.find("X-Test: yes\r\n"), std::string::npos) << req;
    EXPECT_NE(req.find("Content-Type: application/json\r\n"), std::string::npos) << req;
    EXPECT_EQ(req.substr(req.size() - 7), "{\"k\":1}");

    auto put = s.put(echo.url("/x"), {.data = "raw body"});
    EXPECT_EQ(put.content.rfind("PUT /x HTTP/1.1\r\n", 0), 0u);
    EXPECT_EQ(put.content.substr(put.content.size() - 8), "raw body");
    EXPECT_EQ(s.delete_(echo.url("/x")).content.rfind("DELETE /x ", 0), 0u);
    EXPECT_EQ(s.patch(echo.url("/x"), {.data = "p"}).content.rfind("PATCH /x ", 0), 0u);
    EXPECT_EQ(s.request("OPTIONS", echo.url("/x")).content.rfind("OPTIONS /x ", 0), 0u);
}

TEST(Session, KeepsOneConnectionAlive) {
    http::Session s;
    auto before = nginx().logged_connections();
    for (int i = 0; i < 20; ++i) ASSERT_EQ(s.get(nginx().url("/1k.html")).status_code, 200);
    auto after = nginx().logged_connections();
    std::set<long> used;
    for (long c : after)
        if (after.count(c) > before.count(c)) used.insert(c);
    EXPECT_EQ(used.size(), 1u) << "20 requests in sequence should share one connection";

    RawServer raw(concur::test::serve_body("ok"));
    for (int i = 0; i < 10; ++i) ASSERT_EQ(s.get(raw.url()).content, "ok");
    EXPECT_EQ(raw.accepted(), 1);
    EXPECT_EQ(raw.requests(), 10);
}

TEST(Session, ConnectionRefused) {
    http::Session s;
    int port = concur::test::free_port();
    std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
    auto what = expect_throw<http::ConnectionError>([&] { s.get(url); });
    EXPECT_NE(what.find("GET " + url), std::string::npos) << what;
    // Says why, as requests' "[Errno 111] Connection refused" does.
    EXPECT_NE(what.find("Connection refused"), std::string::npos) << what;
}

TEST(Session, ReadTimeout) {
    RawServer raw(concur::test::stall());
    http::Session s;
    auto what = expect_throw<http::ReadTimeout>([&] { s.get(raw.url("/slow"), {.timeout = 1s}); });
    EXPECT_NE(what.find("GET " + raw.url("/slow")), std::string::npos) << what;
    RawServer partial(concur::test::stall(true));
    EXPECT_THROW(s.get(partial.url(), {.timeout = 1s}), http::Timeout);
}

TEST(Session, ConnectTimeout) {
    concur::test::FullBacklog full;
    http::Session s;
    auto what = expect_throw<http::ConnectTimeout>([&] { s.get(full.url(), {.timeout = 500ms}); });
    EXPECT_NE(what.find("GET " + full.url()), std::string::npos) << what;
}

TEST(Session, ServerClosesMidBody) {
    RawServer raw(concur::test::close_mid_body(100000, 1000));
    http::Session s;
    auto what = expect_throw<http::ConnectionError>([&] { s.get(raw.url("/cut")); });
    EXPECT_NE(what.find("GET " + raw.url("/cut")), std::string::npos) << what;
}

TEST(Session, InvalidUrls) {
    http::Session s;
    auto what = expect_throw<http::InvalidURL>([&] { s.get("example.com/x"); });
    EXPECT_NE(what.find("http://example.com/x"), std::string::npos) << what;
    EXPECT_THROW(s.get("ftp://127.0.0.1/x"), http::InvalidURL);
    EXPECT_THROW(s.get("http://"), http::InvalidURL);
    EXPECT_THROW(s.get("http://bad host/"), http::InvalidURL);
    EXPECT_THROW(s.get("http://127.0.0.1:99999/"), http::RequestException);
}

TEST(Session, SharedByThreads) {
    http::Session s;
    constexpr int kThreads = 6, kEach = 40;
    std::atomic<int> good{0};
    // nginx is started here, on the main thread: it dies with the thread that started it.
    const std::string urls[2] = {nginx().url("/json"), nginx().url("/hello.txt")};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                try {
                    auto r = s.get(urls[i % 2], {.params = {{"t", std::to_string(t)}}});
                    if (r.status_code == 200 && !r.content.empty()) good.fetch_add(1);
                } catch (const std::exception& e) {
                    ADD_FAILURE() << e.what();
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(good.load(), kThreads * kEach);
}

TEST(Session, SessionHeadersAndClose) {
    RawServer echo(concur::test::echo());
    http::Session s({.headers = {{"X-Session", "1"}, {"X-Both", "session"}}});
    auto r = s.get(echo.url(), {.headers = {{"x-both", "request"}}});
    EXPECT_NE(r.content.find("X-Session: 1\r\n"), std::string::npos);
    EXPECT_NE(r.content.find("x-both: request\r\n"), std::string::npos);
    EXPECT_EQ(r.content.find("session\r\n"), std::string::npos);
    s.close();
    EXPECT_TRUE(RawServer::wait_for([&] { return echo.finished() == 1; })) << "close() closes the connection";
    EXPECT_EQ(s.get(echo.url()).status_code, 200);
}

}  // namespace
