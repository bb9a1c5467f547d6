// The parts of asyncio::http::ClientSession behind its header: one
// Transfer per request in flight (a pooled easy handle and what libcurl
// writes into), the awaiter a task suspends on, and the session (multi
// handle, socket watches, libcurl's timer). Loop thread only.
#pragma once

#include <curl/curl.h>

#include <coroutine>
#include <exception>
#include <string>
#include <vector>

#include "concur/asyncio/detail/task_base.hpp"
#include "concur/asyncio/http.hpp"
#include "curl_common.hpp"

namespace concur::asyncio::http {

namespace cd = concur::http::detail;
namespace ad = concur::asyncio::detail;

namespace detail {

struct Awaiter;

struct Transfer {
    CURL* easy = nullptr;
    SessionImpl* owner = nullptr;  // null once the session was closed under it
    Awaiter* waiter = nullptr;
    std::string method;
    std::string url;
    cd::ResponseParts parts;
    cd::Prepared prep;
    std::exception_ptr error;
    bool done = false;
    bool raise_for_status = false;
    // The socket libcurl last asked the loop to watch for this transfer
    // (until it said REMOVE): the connection an abort must see closed.
    curl_socket_t sock = CURL_SOCKET_BAD;
    // The handle holds the options of a plain GET with the session's
    // defaults: the next such request only needs a new URL.
    bool plain_get = false;
    struct TotalTimer : ad::TimerEntry {
        Transfer* t = nullptr;
    } total, read;
    Transfer* prev = nullptr;  // the session's list of transfers in progress
    Transfer* next = nullptr;
    char errbuf[CURL_ERROR_SIZE];

    Transfer() { total.t = read.t = this; }
    ~Transfer() {
        if (easy) curl_easy_cleanup(easy);
    }
};

struct Awaiter : ad::Suspension {
    Transfer* t;
    ad::TaskBase* task = nullptr;
    bool cancelled = false;
    explicit Awaiter(Transfer* tr) noexcept : t(tr) {}
    Awaiter(const Awaiter&) = delete;
    ~Awaiter();
    bool await_ready() const noexcept { return t->done; }
    void await_suspend(std::coroutine_handle<> h);
    ClientResponse await_resume();
};

class SessionImpl {
public:
    explicit SessionImpl(ClientSessionOptions o);
    ~SessionImpl() { close(); }

    Transfer* start(std::string& method, std::string& url, const ClientRequestOptions& o);
    // Takes `t` out of the multi handle and ends it with `error` (null: the
    // caller frees it and nobody is told).
    void abort(Transfer* t, std::exception_ptr error) noexcept;
    // The awaiter is done with `t`: back to the pool, or freed.
    static void release(Transfer* t) noexcept;
    static ClientResponse take_response(Transfer* t);
    void close() noexcept;

    ClientSessionOptions options;
    bool closed = false;

private:
    struct SockWatch {
        struct Side : ad::IoWatch {
            SockWatch* sock = nullptr;
            int flag = 0;
        } r, w;
        SessionImpl* impl = nullptr;
        curl_socket_t fd = -1;
        SockWatch* prev = nullptr;
        SockWatch* next = nullptr;
    };
    struct CurlTimer : ad::TimerEntry {
        SessionImpl* impl = nullptr;
    };

    static int on_socket(CURL*, curl_socket_t s, int what, void* self, void* sockp) noexcept;
    static int on_timer(CURLM*, long ms, void* self) noexcept;
    static void on_ready(ad::IoWatch* w) noexcept;
    void action(curl_socket_t fd, int events) noexcept;
    void finish_done() noexcept;
    void unlink(Transfer* t) noexcept;
    void forget(SockWatch* s) noexcept;

    CURLM* multi_ = nullptr;
    EventLoop* loop_ = nullptr;
    cd::HeaderList base_headers_;
    std::vector<Transfer*> idle_;
    std::size_t idle_max_;
    Transfer* active_ = nullptr;
    SockWatch* socks_ = nullptr;
    CurlTimer timer_;
};

}  // namespace detail
}  // namespace concur::asyncio::http
