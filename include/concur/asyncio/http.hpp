// aiohttp's ClientSession on libcurl, driven by concur's event loop:
//
//   asyncio::Task<std::string> fetch(asyncio::http::ClientSession& s, std::string url) {
//       auto r = co_await s.get(url);
//       r.raise_for_status();
//       co_return co_await r.text();
//   }
//
// One libcurl multi handle per session, on the multi-socket API: libcurl says
// which sockets to watch (CURLMOPT_SOCKETFUNCTION -> loop.watch_fd) and when
// to wake it (CURLMOPT_TIMERFUNCTION -> a loop timer); the loop calls
// curl_multi_socket_action when one is ready. No thread per request.
//
//   task: co_await get(url) --> easy handle (pooled) --curl_multi_add_handle--> multi
//   loop: fd ready / timer  --> curl_multi_socket_action --> done --> task woken
//
// A session belongs to the loop of its first request and its thread; its
// requests must run on that loop. Destroy (or close) it before the loop
// closes, as aiohttp warns of an unclosed session.
//
// g++ 12 miscompiles a braced temporary that holds a std::string inside a
// co_await expression (`co_await s.post(url, {.data = "x"})` frees a
// pointer into the caller's frame; clang is fine). With g++ 12, name the
// options first: `ClientRequestOptions o{.data = "x"}; co_await s.post(url, std::move(o));`
//
// Unlike aiohttp, the body is read before get() returns (the response comes
// back complete); read(), text() and json() then return at once. sock_read
// and total therefore cover the body too.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "concur/asyncio/task.hpp"
#include "concur/errors.hpp"
#include "concur/http/errors.hpp"
#include "concur/http/headers.hpp"
#include "concur/http/request.hpp"

namespace concur::asyncio::http {

using concur::http::Headers;
using concur::http::Params;
using concur::http::Seconds;

// aiohttp's exception names, the same classes as concur::http's (one catch
// clause serves both clients). A total timeout is concur::TimeoutError
// (asyncio.TimeoutError), as in aiohttp.
using ClientError = concur::http::RequestException;
using ClientConnectionError = concur::http::ConnectionError;
using ClientResponseError = concur::http::HTTPError;
using ServerTimeoutError = concur::http::Timeout;
using ConnectionTimeoutError = concur::http::ConnectTimeout;
using SocketTimeoutError = concur::http::ReadTimeout;
using TooManyRedirects = concur::http::TooManyRedirects;
using InvalidURL = concur::http::InvalidURL;

// aiohttp.ClientTimeout. Unset means no limit.
struct ClientTimeout {
    // The whole request: waiting for a pooled connection, connecting,
    // sending, and reading the whole body. Exceeded: concur::TimeoutError.
    std::optional<Seconds> total = std::chrono::minutes(5);
    // Connecting to the peer (aiohttp's connect and sock_connect are one
    // here: libcurl queues a request over the limit before it connects).
    // Exceeded: ConnectionTimeoutError (a ServerTimeoutError).
    std::optional<Seconds> connect = {};
    std::optional<Seconds> sock_connect = {};
    // The longest the server may stay silent once the request is sent.
    // Exceeded: SocketTimeoutError (a ServerTimeoutError).
    std::optional<Seconds> sock_read = {};
};

struct ClientSessionOptions {
    // aiohttp's TCPConnector(limit=, limit_per_host=): connections open at
    // once, in all and per host (0: no limit). Requests over the limit wait.
    std::size_t limit = 100;
    std::size_t limit_per_host = 0;
    ClientTimeout timeout = {};
    // Sent with every request.
    Headers headers = {};
    // aiohttp's raise_for_status=True: every response is checked.
    bool raise_for_status = false;
    // aiohttp's max_redirects (per request, when following them).
    long max_redirects = 10;
};

struct ClientRequestOptions {
    Params params = {};
    Headers headers = {};
    std::optional<std::string> data = {};
    std::optional<nlohmann::json> json = {};
    bool allow_redirects = true;
    // Replaces the session's timeouts for this request.
    std::optional<ClientTimeout> timeout = {};
};

namespace detail {
// co_await on a value already there (read(), text(), json()).
template <class T>
struct Ready {
    T value;
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    T await_resume() { return std::move(value); }
};
struct ReadyRef {
    const std::string* value;
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    const std::string& await_resume() const noexcept { return *value; }
};
class SessionImpl;
struct Transfer;
}  // namespace detail

// aiohttp.ClientResponse, complete with its body. A plain value.
class ClientResponse {
public:
    int status = 0;
    std::string reason;
    Headers headers;
    // The final URL, after redirects.
    std::string url;
    std::string method;
    // The Content-Length header's value; none when absent (chunked).
    std::optional<std::size_t> content_length;

    bool ok() const noexcept { return status < 400; }
    // `co_await r.read()`: the body's bytes (a reference into this response).
    detail::ReadyRef read() const noexcept { return {&body_}; }
    // `co_await r.text()`: the body as text (bytes as sent, not transcoded).
    detail::Ready<std::string> text() const { return {body_}; }
    // `co_await r.json()`: the body parsed; throws concur::ValueError if it is not JSON.
    detail::Ready<nlohmann::json> json() const;
    // Throws ClientResponseError (http::HTTPError) for a status >= 400.
    void raise_for_status() const;
    // The body without co_await.
    const std::string& body() const noexcept { return body_; }

private:
    friend class detail::SessionImpl;
    std::string body_;
};

class ClientSession {
public:
    // Makes the session; it binds to a loop at its first request. Never
    // blocks. Throws http::RequestException if libcurl cannot start.
    explicit ClientSession(ClientSessionOptions options = {});
    ClientSession(const ClientSession&) = delete;
    ClientSession& operator=(const ClientSession&) = delete;
    // Closes the session (see close()). Loop thread.
    ~ClientSession();

    // Makes one request; the task finishes when the whole response is in.
    // Loop thread, inside a task. A 4xx/5xx status is a response (unless
    // raise_for_status is set). Throws, naming method, URL and cause:
    // InvalidURL, ClientConnectionError (refused, reset, closed mid-body,
    // session closed), ConnectionTimeoutError / SocketTimeoutError,
    // TooManyRedirects, ClientResponseError (raise_for_status), ClientError
    // (anything else), concur::TimeoutError (the total timeout),
    // RuntimeError (used from another loop). Cancelling the task aborts the
    // transfer at once (its connection is closed, not reused).
    Task<ClientResponse> request(std::string method, std::string url, ClientRequestOptions options = {});

    Task<ClientResponse> get(std::string url, ClientRequestOptions options = {}) {
        return request("GET", std::move(url), std::move(options));
    }
    Task<ClientResponse> post(std::string url, ClientRequestOptions options = {}) {
        return request("POST", std::move(url), std::move(options));
    }
    Task<ClientResponse> put(std::string url, ClientRequestOptions options = {}) {
        return request("PUT", std::move(url), std::move(options));
    }
    Task<ClientResponse> patch(std::string url, ClientRequestOptions options = {}) {
        return request("PATCH", std::move(url), std::move(options));
    }
    Task<ClientResponse> delete_(std::string url, ClientRequestOptions options = {}) {
        return request("DELETE", std::move(url), std::move(options));
    }
    // aiohttp's head() does not follow redirects unless told to.
    Task<ClientResponse> head(std::string url, ClientRequestOptions options = {.allow_redirects = false}) {
        return request("HEAD", std::move(url), std::move(options));
    }

    // aiohttp's `await session.close()`: fails requests still in progress
    // with ClientConnectionError and closes every connection. Idempotent;
    // requests afterwards throw RuntimeError. Loop thread; never suspends.
    Task<> close();
    bool closed() const noexcept;

    const ClientSessionOptions& options() const noexcept;

private:
    std::unique_ptr<detail::SessionImpl> impl_;
};

}  // namespace concur::asyncio::http
