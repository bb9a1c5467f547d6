// A minimal HTTP/1.1 GET on asyncio streams for seed 004's asyncio download,
// until concur's aiohttp-like ClientSession (libcurl, a later issue) exists.
// One connection per request ("Connection: close"); the URL is parsed by
// support/http_get.hpp's parse_url (http:// only).
//
//   co_await get(url) --open_connection--> "GET target HTTP/1.1" + Host
//        readuntil("\r\n\r\n") -> status line, headers
//        body: Content-Length bytes | chunked | until EOF
//
// Errors: http_get::HttpError for a malformed URL or response; the streams'
// own exceptions (ConnectionRefusedError, IncompleteReadError, ...) pass
// through unchanged.
#pragma once

#include <cctype>
#include <optional>
#include <string>

#include "concur/asyncio.hpp"
#include "http_get.hpp"

namespace async_http_get {

struct Response {
    int status = 0;
    std::optional<std::size_t> content_length;  // aiohttp's response.content_length (None if absent)
    std::string body;
};

inline std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

inline concur::asyncio::Task<Response> get(std::string url) {
    namespace asyncio = concur::asyncio;
    http_get::Url u = http_get::parse_url(url);
    auto streams = co_await asyncio::open_connection(u.host, static_cast<uint16_t>(std::stoi(u.port)));
    auto& [reader, writer] = streams;
    writer.write("GET " + u.target + " HTTP/1.1\r\nHost: " + u.host_header + "\r\nConnection: close\r\n\r\n");
    co_await writer.drain();

    std::string head = co_await reader.readuntil("\r\n\r\n");
    Response r;
    if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12)
        throw http_get::HttpError("malformed status line from " + url);
    r.status = std::stoi(head.substr(9, 3));
    bool chunked = false;
    for (std::size_t pos = head.find("\r\n") + 2; pos < head.size();) {
        std::size_t eol = head.find("\r\n", pos);
        std::string line = head.substr(pos, eol - pos);
        pos = eol + 2;
        std::size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = lower(line.substr(0, colon));
        std::string value = line.substr(line.find_first_not_of(' ', colon + 1));
        if (name == "content-length") r.content_length = std::stoul(value);
        if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos) chunked = true;
    }
    if (chunked) {
        for (;;) {
            std::string size_line = co_await reader.readuntil("\r\n");
            std::size_t n = std::stoul(size_line, nullptr, 16);
            if (n == 0) {
                co_await reader.readuntil("\r\n");  // the empty trailer
                break;
            }
            r.body += co_await reader.readexactly(n);
            co_await reader.readexactly(2);  // CRLF after the chunk
        }
    } else if (r.content_length) {
        r.body = co_await reader.readexactly(*r.content_length);
    } else {
        r.body = co_await reader.read();  // to EOF
    }
    writer.close();
    co_await writer.wait_closed();
    co_return r;
}

}  // namespace async_http_get
