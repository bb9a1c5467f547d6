// requests.Session on libcurl: one object that makes requests and keeps
// their connections alive for the next ones.
//
// Unlike requests, a Session may be shared by threads. Each request borrows
// an idle libcurl easy handle from the session's pool (or makes one) and
// gives it back when done; a handle keeps its own keep-alive connections,
// so requests made one after another reuse one connection, and N threads
// use about N connections. DNS and TLS session caches are shared between
// the handles through a CURLSH with one mutex per kind of data.
//
//   thread A --request()--> [pool: idle easy handles] <--request()-- thread B
//                 |  borrow                     give back  |
//                 v                                        v
//            easy #1 + its connections         easy #2 + its connections
//                      \______ CURLSH: DNS + TLS sessions (locked) ______/
//
// Cookies are not kept between requests (requests' Session does keep them).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "concur/http/errors.hpp"
#include "concur/http/headers.hpp"
#include "concur/http/request.hpp"
#include "concur/http/response.hpp"

namespace concur::http {

struct SessionOptions {
    // Sent with every request (requests' session.headers).
    Headers headers = {};
    // Used by requests that set no timeout of their own (requests: none).
    std::optional<Seconds> timeout = {};
    // requests' Session.max_redirects.
    long max_redirects = 30;
    // Idle easy handles (each with its connections) kept for reuse; more are
    // made while more threads are in requests at once, and closed after.
    std::size_t pool_size = 16;
};

class Session {
public:
    // Throws RequestException if libcurl cannot be initialised.
    explicit Session(SessionOptions options = {});
    Session(Session&&) noexcept;
    Session& operator=(Session&&) noexcept;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    // Closes every idle connection. No request may be in progress.
    ~Session();

    // Makes one request and reads the whole response. Blocks the calling
    // thread until then (or a timeout); any thread, concurrently with
    // others. A 4xx/5xx status is a Response, not an exception (see
    // Response::raise_for_status). Throws, each naming method, URL and cause:
    // InvalidURL (malformed, no scheme, not http/https), ConnectionError
    // (refused, unresolvable, reset, closed mid-body), ConnectTimeout,
    // ReadTimeout, TooManyRedirects (over max_redirects), RequestException
    // (anything else libcurl reports).
    Response request(std::string_view method, std::string_view url, const RequestOptions& options = {});

    Response get(std::string_view url, const RequestOptions& options = {}) { return request("GET", url, options); }
    Response post(std::string_view url, const RequestOptions& options = {}) { return request("POST", url, options); }
    Response put(std::string_view url, const RequestOptions& options = {}) { return request("PUT", url, options); }
    Response patch(std::string_view url, const RequestOptions& options = {}) { return request("PATCH", url, options); }
    Response delete_(std::string_view url, const RequestOptions& options = {}) { return request("DELETE", url, options); }
    // No body is read; redirects are followed only if allow_redirects says so.
    Response head(std::string_view url, const RequestOptions& options = {}) { return request("HEAD", url, options); }

    // Closes the idle connections now (requests' Session.close()). Requests
    // made afterwards open new ones. Any thread.
    void close();

    // The session's options as given (headers included). Change them only
    // while no other thread uses the session.
    SessionOptions& options() noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace concur::http
