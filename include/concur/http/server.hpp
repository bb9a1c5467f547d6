// The local site server: named pages of given sizes over HTTP/1.1, with an
// added latency per response, so that the seeds' download experiments (and
// the clients' tests) have sites to fetch on a machine without internet.
//
//   // on a loop you run yourself:
//   co_await http::serve({.port = 8000, .latency = 50ms});   // until cancelled
//
//   // or on a thread of its own (tests, examples, benchmarks):
//   http::SiteServer site;                 // listening when this returns
//   Session{}.get(site.url("/baidu"));
//   site.requests_served();                // counted on the server's side
//
// One event loop serves every connection: readiness from the loop's backend
// (io_uring or epoll), requests parsed in place by nodejs's http-parser, each
// response pre-rendered (head and body in one block) and every response a
// read produced written with one send/sendmsg. Keep-alive
// and pipelining as HTTP/1.1 has them. A malformed request, or one whose
// request line and headers exceed max_header_bytes, gets 400 and its
// connection is closed; an unknown path gets 404; a method other than GET or
// HEAD gets 405. A connection that completes no request for idle_timeout
// (a slow client, an idle keep-alive) is closed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "concur/asyncio/loop.hpp"
#include "concur/asyncio/task.hpp"

namespace concur::http {

// One page of the site: GET `path` gives `size` bytes of page_body(path, size).
struct Page {
    std::string path;  // starts with '/'; matched exactly, the query string ignored
    std::size_t size = 0;
    std::string content_type = "text/html; charset=utf-8";
};

// The seeds' four sites, one page each, at sizes like the real home pages as
// a plain client gets them: /baidu (2,381 bytes), /weibo (7,168), /jython
// (24,576) and /dice (512).
std::vector<Page> default_pages();

// The deterministic content of a page: an HTML document of exactly `size`
// bytes that names `path` and numbers its lines, so that a client can check
// every byte it received. Never throws but std::bad_alloc.
std::string page_body(std::string_view path, std::size_t size);

struct SiteOptions {
    std::string host = "127.0.0.1";  // a numeric IPv4/IPv6 address, or "localhost"
    std::uint16_t port = 0;          // 0: a free port (see SiteServer::port / on_listening)
    std::vector<Page> pages = default_pages();
    // Added to every response, on a timer (the loop never blocks): a round
    // trip across the internet. Responses on one connection keep their order.
    std::chrono::milliseconds latency{50};
    // The most bytes a request's target URL, header names and header values
    // may hold together; more gets 400 (http-parser's own 80 KiB limit on
    // the raw head applies too).
    std::size_t max_header_bytes = 16 * 1024;
    // A connection that completes no request (and takes no response bytes)
    // for this long is closed: idle keep-alives and slow clients alike.
    std::chrono::milliseconds idle_timeout{30'000};
    int backlog = 4096;
    // SiteServer only: the backend of its loop (default: CONCUR_LOOP, else
    // automatic, as asyncio::EventLoop()).
    std::optional<asyncio::LoopBackend> backend = {};
};

// What a site has done so far. Written by the serving loop's thread, read
// from any thread (each figure is exact on its own; two figures read one
// after the other may be a request apart).
class SiteStats {
public:
    // Connections accepted since the site started.
    std::uint64_t connections_accepted() const noexcept { return accepted_.load(std::memory_order_relaxed); }
    // Connections open now.
    std::uint64_t connections_open() const noexcept { return open_.load(std::memory_order_relaxed); }
    // Responses to complete requests (200, 404 and 405 alike), counted
    // just before the response is written (a client that has read a
    // response finds it counted).
    std::uint64_t requests_served() const noexcept { return served_.load(std::memory_order_relaxed); }
    // 400 responses: malformed or oversized requests.
    std::uint64_t bad_requests() const noexcept { return bad_.load(std::memory_order_relaxed); }
    // The port the site listens on; 0 until it does.
    std::uint16_t port() const noexcept { return port_.load(std::memory_order_acquire); }

private:
    friend class SiteCounters;
    // One writer (the loop thread): a plain store of load()+1, no lock prefix.
    std::atomic<std::uint64_t> accepted_{0}, open_{0}, served_{0}, bad_{0};
    std::atomic<std::uint16_t> port_{0};
};

// Serves the site on the running loop until the calling task is cancelled,
// then closes the listening socket and every connection (responses not yet
// sent are dropped) and throws CancelledError. Binds and listens before its
// first suspension; on_listening(port) is then called on the loop's thread.
// `stats`, when given, is kept up to date. Loop thread; suspends the task.
// Throws ValueError for bad options (a host that is not numeric, a page
// path without a leading '/', two pages with one path, max_header_bytes 0),
// OSError (EADDRINUSE, ...) if it cannot listen.
asyncio::Task<> serve(SiteOptions options, std::shared_ptr<SiteStats> stats = nullptr,
                      std::function<void(std::uint16_t port)> on_listening = {});

// serve() on a thread of its own with its own event loop. Every member may
// be called from any thread.
class SiteServer {
public:
    // Starts the thread and blocks until the site listens. Throws what
    // serve() throws before listening, RuntimeError if the loop's backend
    // cannot start.
    explicit SiteServer(SiteOptions options = {});
    SiteServer(const SiteServer&) = delete;
    SiteServer& operator=(const SiteServer&) = delete;
    // stop().
    ~SiteServer();

    // Cancels serve() and joins the thread: blocks until every connection
    // is closed. Idempotent.
    void stop();

    std::uint16_t port() const noexcept { return port_; }
    const std::string& host() const noexcept { return host_; }
    // "http://127.0.0.1:PORT/baidu" for url("/baidu"); `path` should start with '/'.
    std::string url(std::string_view path = "/") const;
    // One URL per page, in the order of the options' pages.
    std::vector<std::string> urls() const;
    const std::vector<Page>& pages() const noexcept { return pages_; }

    std::uint64_t connections_accepted() const noexcept { return stats_->connections_accepted(); }
    std::uint64_t connections_open() const noexcept { return stats_->connections_open(); }
    std::uint64_t requests_served() const noexcept { return stats_->requests_served(); }
    std::uint64_t bad_requests() const noexcept { return stats_->bad_requests(); }
    const SiteStats& stats() const noexcept { return *stats_; }

private:
    void run(SiteOptions options, std::promise<std::uint16_t>& listening);

    std::shared_ptr<SiteStats> stats_ = std::make_shared<SiteStats>();
    std::vector<Page> pages_;
    std::string host_;
    std::uint16_t port_ = 0;
    std::mutex mu_;                          // guards loop_ and stopped_
    asyncio::EventLoop* loop_ = nullptr;     // while serve() runs
    asyncio::Task<>* task_ = nullptr;        // touched on the loop's thread only
    bool stopped_ = false;
    std::mutex join_mu_;                     // serializes the join
    std::thread thread_;
};

}  // namespace concur::http
