#include "curl_common.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "concur/http/errors.hpp"

namespace concur::http::detail {

void global_init() {
    static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        throw RequestException(std::string("libcurl could not be initialised: ") + curl_easy_strerror(rc));
}

namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

bool unreserved(unsigned char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

void percent_encode(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    for (unsigned char c : s) {
        if (unreserved(c)) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
}

[[noreturn]] void invalid(std::string_view method, std::string_view url, std::string_view why) {
    std::string m;
    m.append(method).append(" ").append(url).append(": ").append(why);
    throw InvalidURL(m);
}

long to_ms(Seconds s) noexcept {
    double ms = std::ceil(s.count() * 1000.0);
    return ms < 1 ? 1 : ms > 2e9 ? 2000000000L : static_cast<long>(ms);
}

}  // namespace

int on_prereq(void* p, char*, char*, int, int) noexcept {
    auto& parts = *static_cast<ResponseParts*>(p);
    parts.last_io = std::chrono::steady_clock::now();
    if (!parts.sent && parts.on_sent) parts.on_sent(parts.on_sent_arg);
    parts.sent = true;
    return CURL_PREREQFUNC_OK;
}

int on_progress(void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
    auto& parts = *static_cast<ResponseParts*>(p);
    if (!parts.sent || !parts.read_timeout) return 0;
    if (std::chrono::steady_clock::now() - parts.last_io < *parts.read_timeout) return 0;
    parts.read_timed_out = true;
    return 1;  // CURLE_ABORTED_BY_CALLBACK
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* p) noexcept {
    auto& parts = *static_cast<ResponseParts*>(p);
    if (parts.read_timeout) parts.last_io = std::chrono::steady_clock::now();
    std::size_t len = size * n;
    std::string_view line(data, len);
    try {
        if (line.size() > 5 && line.substr(0, 5) == "HTTP/") {
            // A new status line: an interim (1xx) or redirected response came
            // before; only the last one's headers are the response's.
            parts.headers = Headers();
            parts.content_length.reset();
            auto sp = line.find(' ');
            std::string_view rest = sp == std::string_view::npos ? std::string_view() : trim(line.substr(sp + 1));
            int code = 0;
            std::size_t i = 0;
            while (i < rest.size() && i < 3 && rest[i] >= '0' && rest[i] <= '9') code = code * 10 + (rest[i++] - '0');
            parts.status = code;
            parts.reason.assign(trim(rest.substr(i)));
            return len;
        }
        auto colon = line.find(':');
        if (colon == std::string_view::npos) return len;  // the blank line, or junk
        std::string_view name = trim(line.substr(0, colon));
        std::string_view value = trim(line.substr(colon + 1));
        if (iequals(name, "content-length")) {
            std::size_t v = 0;
            bool digits = !value.empty();
            for (char c : value) {
                if (c < '0' || c > '9') {
                    digits = false;
                    break;
                }
                v = v * 10 + static_cast<std::size_t>(c - '0');
            }
            if (digits) {
                parts.content_length = v;
                if (parts.reserve_body) parts.body.reserve(std::min<std::size_t>(v, std::size_t{64} << 20));
            }
        }
        parts.headers.add(std::string(name), std::string(value));
        return len;
    } catch (...) {
        return 0;  // out of memory: libcurl fails the transfer with CURLE_WRITE_ERROR
    }
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* p) noexcept {
    auto& parts = *static_cast<ResponseParts*>(p);
    if (parts.read_timeout) parts.last_io = std::chrono::steady_clock::now();
    try {
        parts.body.append(data, size * n);
        return size * n;
    } catch (...) {
        return 0;
    }
}

void HeaderList::append(const std::string& name, const std::string& value) {
    std::string line = name;
    // "Name:" would tell libcurl to drop its own header; "Name;" sends it empty.
    if (value.empty()) line += ";"; else line.append(": ").append(value);
    append_line(line.c_str());
}

void HeaderList::append_line(const char* line) {
    curl_slist* l = curl_slist_append(list_, line);
    if (!l) throw std::bad_alloc();
    list_ = l;
}

void build_headers(HeaderList& out, const Headers& base, const Headers* extra, bool json_body) {
    out.reset();
    bool has_type = false;
    for (const auto& [k, v] : base) {
        if (extra && extra->contains(k)) continue;
        has_type = has_type || iequals(k, "content-type");
        out.append(k, v);
    }
    if (extra) {
        for (const auto& [k, v] : *extra) {
            has_type = has_type || iequals(k, "content-type");
            out.append(k, v);
        }
    }
    if (json_body && !has_type) out.append_line("Content-Type: application/json");
    out.append_line("Expect:");
}

std::string build_url(std::string_view method, std::string_view url, const Params* params) {
    auto sep = url.find("://");
    if (sep == std::string_view::npos || sep == 0) {
        std::string why = "no scheme supplied; perhaps you meant http://";
        why.append(url).append("?");
        invalid(method, url, why);
    }
    std::string_view scheme = url.substr(0, sep);
    if (!iequals(scheme, "http") && !iequals(scheme, "https"))
        invalid(method, url, "unsupported scheme '" + std::string(scheme) + "' (http and https only)");
    if (url.size() == sep + 3) invalid(method, url, "no host");
    if (url.find_first_of(" \r\n\t") != std::string_view::npos)
        invalid(method, url, "the URL contains whitespace; percent-encode it");
    if (!params || params->empty()) return std::string(url);
    auto hash = url.find('#');
    std::string_view head = url.substr(0, hash);
    std::string out(head);
    out.reserve(url.size() + 32 * params->size());
    char joiner = head.find('?') == std::string_view::npos ? '?' : (head.back() == '?' || head.back() == '&' ? 0 : '&');
    for (const auto& [k, v] : *params) {
        if (joiner) out.push_back(joiner);
        joiner = '&';
        percent_encode(out, k);
        out.push_back('=');
        percent_encode(out, v);
    }
    if (hash != std::string_view::npos) out.append(url.substr(hash));
    return out;
}

void configure(CURL* easy, const RequestSpec& spec, Prepared& prep, ResponseParts& parts, char* errbuf) {
    std::string url = build_url(spec.method, spec.url, spec.params);
    errbuf[0] = '\0';
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (curl_easy_setopt(easy, CURLOPT_URL, url.c_str()) != CURLE_OK)
        invalid(spec.method, spec.url, errbuf[0] ? errbuf : "libcurl rejected the URL");
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &parts);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &parts);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "concur-http/0.1");
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");  // whatever libcurl can decode, decoded
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, spec.headers);
    if (spec.follow) {
        curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(easy, CURLOPT_MAXREDIRS, spec.max_redirects);
    }
    if (spec.connect_timeout) curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, to_ms(*spec.connect_timeout));
    parts.clear();
    if (spec.read_timeout) {
        parts.read_timeout = spec.read_timeout;
        curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, &on_prereq);
        curl_easy_setopt(easy, CURLOPT_PREREQDATA, &parts);
        if (spec.progress_checks_read_timeout) {
            curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &on_progress);
            curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &parts);
            curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
        }
    }
    const bool has_body = (spec.data && *spec.data) || (spec.json && *spec.json);
    if (spec.data && *spec.data) prep.body = **spec.data;
    else if (spec.json && *spec.json) prep.body = (*spec.json)->dump();
    else prep.body.clear();

    const std::string_view m = spec.method;
    if (m == "GET" && !has_body) {
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else if (m == "HEAD") {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
        parts.reserve_body = false;
    } else {
        if (has_body || m == "POST") {
            curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(prep.body.size()));
            curl_easy_setopt(easy, CURLOPT_POSTFIELDS, prep.body.data());
        }
        // POST is libcurl's own verb for a body (and turns into GET on a
        // 301/302/303, as browsers and requests do); others are custom.
        if (m != "POST") {
            std::string method(m);
            curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
        }
    }
}

std::exception_ptr read_timeout_error(std::string_view method, std::string_view url, const ResponseParts& parts) {
    std::string m;
    m.append(method).append(" ").append(url).append(": the server sent nothing for ");
    char secs[32];
    std::snprintf(secs, sizeof secs, "%g", parts.read_timeout ? parts.read_timeout->count() : 0.0);
    m.append(secs).append(" s (the read timeout)");
    return std::make_exception_ptr(ReadTimeout(m));
}

std::exception_ptr make_error(CURL* easy, CURLcode code, const char* errbuf, std::string_view method,
                              std::string_view url, const ResponseParts* parts) {
    if (parts && parts->read_timed_out) return read_timeout_error(method, url, *parts);
    std::string m;
    m.append(method).append(" ").append(url).append(": ");
    m.append(errbuf && errbuf[0] ? errbuf : curl_easy_strerror(code));
    // libcurl's "Couldn't connect to server" hides why; the socket's errno
    // says it, as Python's "[Errno 111] Connection refused" does.
    long os_errno = 0;
    if (easy && curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno > 0) {
        char why[160];
        std::snprintf(why, sizeof why, " ([Errno %ld] %s)", os_errno, std::strerror(static_cast<int>(os_errno)));
        m.append(why);
    }
    switch (code) {
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
            return std::make_exception_ptr(InvalidURL(m));
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_BAD_CONTENT_ENCODING:
            return std::make_exception_ptr(ConnectionError(m));
        case CURLE_OPERATION_TIMEDOUT: {
            // libcurl says which phase ran out: "Resolving timed out ...",
            // "Connection timed out ..." / "Failed to connect ..." (connect),
            // "Operation too slow ..." / "Operation timed out ..." (afterwards).
            std::string_view e = errbuf ? errbuf : "";
            bool connecting = e.starts_with("Resolving") || e.starts_with("Connection") || e.starts_with("Failed to connect");
            if (connecting) return std::make_exception_ptr(ConnectTimeout(m));
            return std::make_exception_ptr(ReadTimeout(m));
        }
        case CURLE_TOO_MANY_REDIRECTS:
            return std::make_exception_ptr(TooManyRedirects(m));
        default:
            return std::make_exception_ptr(RequestException(m));
    }
}

std::string effective_url(CURL* easy) {
    char* u = nullptr;
    curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &u);
    return u ? std::string(u) : std::string();
}

}  // namespace concur::http::detail
