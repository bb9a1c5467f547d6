#include "concur/http/response.hpp"

#include "concur/errors.hpp"
#include "concur/http/errors.hpp"

namespace concur::http {

std::string_view reason_phrase(int code) noexcept {
    switch (code) {
        case 100: return "Continue";
        case 101: return "Switching Protocols";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 203: return "Non-Authoritative Information";
        case 204: return "No Content";
        case 205: return "Reset Content";
        case 206: return "Partial Content";
        case 300: return "Multiple Choices";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 303: return "See Other";
        case 304: return "Not Modified";
        case 307: return "Temporary Redirect";
        case 308: return "Permanent Redirect";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 402: return "Payment Required";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 406: return "Not Acceptable";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 410: return "Gone";
        case 411: return "Length Required";
        case 412: return "Precondition Failed";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 416: return "Range Not Satisfiable";
        case 418: return "I'm a Teapot";
        case 422: return "Unprocessable Content";
        case 429: return "Too Many Requests";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        default: return "";
    }
}

namespace detail {

void throw_http_error(int status, const std::string& reason, const std::string& url) {
    std::string m = std::to_string(status);
    m += status < 500 ? " Client Error: " : " Server Error: ";
    m.append(reason).append(" for url: ").append(url);
    throw HTTPError(status, m);
}

nlohmann::json parse_json(const std::string& body, const std::string& url) {
    try {
        return nlohmann::json::parse(body);
    } catch (const nlohmann::json::parse_error& e) {
        throw ValueError("the body of " + url + " is not JSON: " + e.what());
    }
}

}  // namespace detail

nlohmann::json Response::json() const { return detail::parse_json(content, url); }

void Response::raise_for_status() const {
    if (status_code >= 400) detail::throw_http_error(status_code, reason, url);
}

}  // namespace concur::http
