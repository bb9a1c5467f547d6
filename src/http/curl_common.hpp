// What http::Session and asyncio::http::ClientSession share: turning a
// request into libcurl options, collecting a response from libcurl's
// callbacks, and turning a CURLcode into the exception requests would raise.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "concur/http/headers.hpp"
#include "concur/http/request.hpp"

namespace concur::http::detail {

// curl_global_init, once per process, before the first handle.
void global_init();

// One response as libcurl delivers it: header lines, then body bytes.
struct ResponseParts {
    int status = 0;
    std::string reason;
    Headers headers;
    std::string body;
    std::optional<std::size_t> content_length;
    bool reserve_body = true;  // false for HEAD: its Content-Length has no body behind it

    // The read timeout: the longest silence once the request is on its way.
    // libcurl's low-speed check averages over seconds, so concur keeps time
    // itself: last_io moves on every byte received.
    std::optional<Seconds> read_timeout;
    std::chrono::steady_clock::time_point last_io{};
    bool sent = false;
    bool read_timed_out = false;
    // Called once the request is about to be sent (the async client arms its timer).
    void (*on_sent)(void* arg) noexcept = nullptr;
    void* on_sent_arg = nullptr;

    void clear() {
        status = 0;
        reason.clear();
        headers = Headers();
        body = std::string();
        content_length.reset();
        reserve_body = true;
        read_timeout.reset();
        sent = false;
        read_timed_out = false;
        on_sent = nullptr;
    }
};

// CURLOPT_HEADERFUNCTION / CURLOPT_WRITEFUNCTION; userdata is a ResponseParts.
std::size_t on_header(char* data, std::size_t size, std::size_t n, void* parts) noexcept;
std::size_t on_body(char* data, std::size_t size, std::size_t n, void* parts) noexcept;

// A curl_slist owned by one object.
class HeaderList {
public:
    HeaderList() = default;
    HeaderList(const HeaderList&) = delete;
    HeaderList& operator=(const HeaderList&) = delete;
    ~HeaderList() { reset(); }
    void reset() noexcept {
        curl_slist_free_all(list_);
        list_ = nullptr;
    }
    void append(const std::string& name, const std::string& value);
    void append_line(const char* line);
    curl_slist* get() const noexcept { return list_; }

private:
    curl_slist* list_ = nullptr;
};

// The header lines of `base` overridden by `extra`, plus "Expect:" (no
// 100-continue round trip) and, for a JSON body without a Content-Type, one.
void build_headers(HeaderList& out, const Headers& base, const Headers* extra, bool json_body);

// Everything a request needs beyond the handle; what libcurl points into
// (body, header list) lives here until the transfer ends.
struct Prepared {
    std::string body;
    HeaderList own_headers;
};

struct RequestSpec {
    std::string_view method;
    std::string_view url;
    const Params* params = nullptr;
    const std::optional<std::string>* data = nullptr;
    const std::optional<nlohmann::json>* json = nullptr;
    curl_slist* headers = nullptr;  // built with build_headers
    bool follow = true;
    long max_redirects = 30;
    std::optional<Seconds> connect_timeout;
    std::optional<Seconds> read_timeout;
    // Check the read timeout from libcurl's progress callback (blocking
    // transfers; libcurl calls it about once a second when idle).
    bool progress_checks_read_timeout = false;
};

// The URL with `params` appended; throws InvalidURL if it has no scheme or
// one other than http/https.
std::string build_url(std::string_view method, std::string_view url, const Params* params);

// Sets the request's options on a handle fresh from curl_easy_reset. The
// body (if any) is moved into `prep`. Throws InvalidURL.
void configure(CURL* easy, const RequestSpec& spec, Prepared& prep, ResponseParts& parts, char* errbuf);

// The exception for a transfer that ended with `code`: ConnectionError,
// ConnectTimeout, ReadTimeout, TooManyRedirects, InvalidURL or
// RequestException, its message "METHOD URL: cause ([Errno N] reason)",
// the errno part when the socket had one (read from `easy`, may be null).
std::exception_ptr make_error(CURL* easy, CURLcode code, const char* errbuf, std::string_view method,
                              std::string_view url, const ResponseParts* parts = nullptr);
// The ReadTimeout of a transfer silent for longer than parts.read_timeout.
std::exception_ptr read_timeout_error(std::string_view method, std::string_view url, const ResponseParts& parts);

// The URL libcurl ended on (after redirects).
std::string effective_url(CURL* easy);

}  // namespace concur::http::detail
