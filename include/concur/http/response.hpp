// requests.Response: a finished HTTP exchange, body included. A plain value
// (copyable, movable); no thread safety of its own.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "concur/http/headers.hpp"

namespace concur::http {

struct Response {
    int status_code = 0;
    // The status line's reason phrase ("Not Found"); the standard phrase
    // when the server sent none (HTTP/2).
    std::string reason;
    // Case-insensitive; of the final response when redirects were followed.
    Headers headers;
    // The body's bytes, decoded from Content-Encoding (gzip, deflate).
    std::string content;
    // The final URL, after redirects.
    std::string url;
    // From sending the request to the end of the body.
    std::chrono::microseconds elapsed{0};

    // status_code < 400, as requests.
    bool ok() const noexcept { return status_code > 0 && status_code < 400; }
    // The body as text. concur does not transcode: UTF-8 (or whatever the
    // server sent) as bytes.
    const std::string& text() const noexcept { return content; }
    // The body parsed as JSON. Throws concur::ValueError (requests'
    // JSONDecodeError is a ValueError too) naming the URL and the parse error.
    nlohmann::json json() const;
    // Throws HTTPError ("404 Client Error: Not Found for url: ...") for a
    // status of 400 or more; does nothing otherwise.
    void raise_for_status() const;
};

// The standard reason phrase of an HTTP status code ("" if unknown).
std::string_view reason_phrase(int status_code) noexcept;

namespace detail {
// Shared by Response and asyncio::http::ClientResponse.
[[noreturn]] void throw_http_error(int status, const std::string& reason, const std::string& url);
nlohmann::json parse_json(const std::string& body, const std::string& url);
}  // namespace detail

}  // namespace concur::http
