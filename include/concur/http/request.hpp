// What a request carries besides its method and URL: requests' keyword
// arguments (params, headers, data, json, timeout, allow_redirects) as one
// aggregate, filled with designated initializers:
//
//   session.post(url, {.json = {{"name", "x"}}, .timeout = 2s});
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "concur/http/headers.hpp"

namespace concur::http {

// Seconds, fractional: `2s`, `500ms` and `1.5s` all convert to it.
using Seconds = std::chrono::duration<double>;

// Query parameters in order; a name may repeat (?a=1&a=2).
using Params = std::vector<std::pair<std::string, std::string>>;

struct RequestOptions {
    // Appended to the URL's query, percent-encoded.
    Params params = {};
    // Merged over the session's headers (a request header replaces a session
    // header of the same name).
    Headers headers = {};
    // The raw body, sent as is (Content-Type only if headers set one).
    std::optional<std::string> data = {};
    // A JSON body (Content-Type: application/json); ignored when data is set.
    std::optional<nlohmann::json> json = {};
    // requests' timeout=: the connect timeout and, separately, the longest
    // the server may stay silent once the request is sent (checked about
    // once a second). Unset: the session's, else none.
    std::optional<Seconds> timeout = {};
    // Overrides `timeout` for the connect phase only (requests' tuple form).
    std::optional<Seconds> connect_timeout = {};
    // Follow redirects (up to the session's max_redirects). Unset: yes, but
    // no for head(), as requests.
    std::optional<bool> allow_redirects = {};
};

}  // namespace concur::http
