// A minimal blocking HTTP/1.1 client for the download seeds, until concur::http
// (libcurl, a later issue) exists: GET on http:// URLs, one keep-alive TCP
// connection per Session, as requests.Session keeps one per host.
//
//   Session::get(url) --parse_url--> host, port, target
//        |  open connection to the same host:port? reuse it
//        |  else getaddrinfo(host) + connect() to each address in turn
//        v
//   "GET target HTTP/1.1", Host, Connection: keep-alive  --send-->  server
//   status line + headers  <--recv--
//   body: Content-Length bytes | chunked | until the server closes
//
// A reused connection that the server has meanwhile closed is reconnected
// once, transparently (as urllib3 does). No TLS, redirects, proxies or
// compression: https:// URLs are refused with a clear error.
//
// Thread safety: none; use one Session per thread (requests.Session is not
// thread-safe either), e.g. through concur::threading::local<Session>.
// Errors: get() throws HttpError, whose message names the URL and says what
// failed ("cannot connect to 127.0.0.1:9 (http://127.0.0.1:9/): Connection
// refused"). Every socket call times out after `timeout` (30 s by default).
#pragma once

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace http_get {

// Anything that went wrong in a request: bad URL, name resolution,
// connection, timeout, or a malformed response.
class HttpError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Response {
    int status_code = 0;  // 200, 404, ... (not an error: as requests, get() does not raise on them)
    std::string reason;   // "OK"
    std::string content;  // the body, decoded from chunked transfer if needed
};

// The parts of an http:// URL that a request needs.
struct Url {
    std::string host;    // a name, an IPv4 address, or an IPv6 address without brackets
    std::string port;    // "80" unless given
    std::string target;  // path and query, "/" if empty; the #fragment is dropped
    std::string host_header;
};

// Throws HttpError for anything but http://host[:port][/path][?query][#fragment].
inline Url parse_url(const std::string& url) {
    auto bad = [&](const char* why) {
        return HttpError("malformed URL '" + url + "': " + why +
                         " (expected http://host[:port]/path)");
    };
    std::string_view rest = url;
    auto starts_with_nocase = [](std::string_view s, std::string_view prefix) {
        if (s.size() < prefix.size()) return false;
        for (std::size_t i = 0; i < prefix.size(); ++i)
            if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
        return true;
    };
    if (starts_with_nocase(rest, "https://"))
        throw HttpError("unsupported URL '" + url +
                        "': this minimal client speaks only http://, not https://");
    if (!starts_with_nocase(rest, "http://")) throw bad("no http:// scheme");
    rest.remove_prefix(7);
    std::size_t end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end);
    std::string_view path = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    if (authority.find('@') != std::string_view::npos) throw bad("user names are not supported");

    Url u;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos) throw bad("unterminated '[' in the host");
        u.host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') throw bad("junk after ']'");
            port = after.substr(1);
            if (port.empty()) throw bad("empty port");
        }
    } else {
        std::size_t colon = authority.find(':');
        u.host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            if (port.empty()) throw bad("empty port");
        }
    }
    if (u.host.empty()) throw bad("no host");
    for (char c : u.host)
        if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
            throw bad("space in the host");
    if (!port.empty()) {
        unsigned long n = 0;
        for (char c : port) {
            if (c < '0' || c > '9' || n > 65535) throw bad("the port is not a number in 1..65535");
            n = n * 10 + static_cast<unsigned long>(c - '0');
        }
        if (n < 1 || n > 65535) throw bad("the port is not a number in 1..65535");
        u.port = std::to_string(n);
    } else {
        u.port = "80";
    }
    path = path.substr(0, path.find('#'));
    for (char c : path)
        if (c == ' ' || std::iscntrl(static_cast<unsigned char>(c)))
            throw bad("space or control character in the path");
    // (push_back/append, not "/" + s: g++ 12 -O3 gives a false -Wrestrict there)
    if (path.empty() || path.front() == '?') u.target.push_back('/');
    u.target.append(path);
    bool v6 = u.host.find(':') != std::string::npos;
    if (v6) u.host_header.push_back('[');
    u.host_header.append(u.host);
    if (v6) u.host_header.push_back(']');
    if (u.port != "80") u.host_header.append(":").append(u.port);
    return u;
}

// requests.Session for plain HTTP: keeps its connection open between get()s.
class Session {
public:
    explicit Session(std::chrono::milliseconds timeout = std::chrono::seconds(30))
        : timeout_(timeout) {}
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session() { close(); }

    // Blocks until the whole response has arrived. Throws HttpError.
    Response get(const std::string& url) {
        Url u = parse_url(url);
        std::string request = "GET " + u.target + " HTTP/1.1\r\nHost: " + u.host_header +
                              "\r\nUser-Agent: concur-example\r\nAccept: */*\r\n"
                              "Connection: keep-alive\r\n\r\n";
        for (int attempt = 0;; ++attempt) {
            bool reused = fd_ >= 0 && peer_ == u.host + " " + u.port;
            if (!reused) connect(u, url);
            received_ = 0;
            try {
                send_all(request, url);
                return read_response(url);
            } catch (const Lost& lost) {
                close();
                // The server may close an idle keep-alive connection at any
                // time; if it did so before answering, retry once afresh.
                if (reused && received_ == 0 && attempt == 0) continue;
                throw HttpError(std::string(lost.what()) + " (" + url + ")");
            } catch (...) {
                close();
                throw;
            }
        }
    }

private:
    // The connection ended early (EOF, reset, broken pipe).
    class Lost : public std::runtime_error {
    public:
        using std::runtime_error::runtime_error;
    };

    static std::string errno_text(int err) { return std::strerror(err); }

    void connect(const Url& u, const std::string& url) {
        close();
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* list = nullptr;
        if (int rc = ::getaddrinfo(u.host.c_str(), u.port.c_str(), &hints, &list); rc != 0)
            throw HttpError("cannot resolve host '" + u.host + "' (" + url + "): " +
                            (rc == EAI_SYSTEM ? errno_text(errno) : ::gai_strerror(rc)));
        int err = 0;
        for (addrinfo* ai = list; ai; ai = ai->ai_next) {
            int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
            if (fd < 0) {
                err = errno;
                continue;
            }
            // SO_SNDTIMEO also bounds connect() on Linux.
            timeval tv{};
            tv.tv_sec = static_cast<time_t>(timeout_.count() / 1000);
            tv.tv_usec = static_cast<suseconds_t>((timeout_.count() % 1000) * 1000);
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
            int rc;
            do rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
            while (rc != 0 && errno == EINTR);
            if (rc == 0) {
                fd_ = fd;
                break;
            }
            err = errno == EINPROGRESS || errno == EAGAIN ? ETIMEDOUT : errno;
            ::close(fd);
        }
        ::freeaddrinfo(list);
        if (fd_ < 0)
            throw HttpError("cannot connect to " + u.host_header + (u.port == "80" ? ":80" : "") +
                            " (" + url + "): " + errno_text(err));
        peer_ = u.host + " " + u.port;
        buf_.clear();
    }

    void close() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        peer_.clear();
        buf_.clear();
    }

    void send_all(std::string_view data, const std::string& url) {
        while (!data.empty()) {
            ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EPIPE || errno == ECONNRESET) throw Lost("connection closed by the server");
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    throw HttpError("timed out sending the request (" + url + ")");
                throw HttpError("cannot send the request (" + url + "): " + errno_text(errno));
            }
            data.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    // Appends what the socket has to buf_; false at end of stream.
    bool fill(const std::string& url) {
        char chunk[16384];
        for (;;) {
            ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n > 0) {
                buf_.append(chunk, static_cast<std::size_t>(n));
                received_ += static_cast<std::size_t>(n);
                return true;
            }
            if (n == 0) return false;
            if (errno == EINTR) continue;
            if (errno == ECONNRESET) throw Lost("connection reset by the server");
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                throw HttpError("timed out waiting for the server (" + url + ")");
            throw HttpError("cannot read the response (" + url + "): " + errno_text(errno));
        }
    }

    // One CRLF-terminated line, without the CRLF.
    std::string read_line(const std::string& url) {
        std::size_t scanned = 0;
        for (;;) {
            std::size_t pos = buf_.find("\r\n", scanned);
            if (pos != std::string::npos) {
                std::string line = buf_.substr(0, pos);
                buf_.erase(0, pos + 2);
                return line;
            }
            if (buf_.size() > 65536) throw HttpError("response line too long (" + url + ")");
            scanned = buf_.empty() ? 0 : buf_.size() - 1;
            if (!fill(url)) throw Lost("connection closed before the response was complete");
        }
    }

    void read_exactly(std::size_t n, std::string& out, const std::string& url) {
        while (buf_.size() < n)
            if (!fill(url)) throw Lost("connection closed before the whole body arrived");
        out.append(buf_, 0, n);
        buf_.erase(0, n);
    }

    static std::string lower(std::string s) {
        for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
    }
    static std::string trim(std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
        return std::string(s);
    }
    static bool parse_size(std::string_view s, int base, std::size_t& out) {
        if (s.empty() || s.size() > 15) return false;
        std::size_t v = 0;
        for (char c : s) {
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : base == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                         : -1;
            if (d < 0) return false;
            v = v * static_cast<std::size_t>(base) + static_cast<std::size_t>(d);
        }
        out = v;
        return true;
    }

    Response read_response(const std::string& url) {
        Response r;
        std::string transfer_encoding, content_length, connection;
        bool http10 = false;
        for (;;) {  // skips interim 1xx responses
            std::string status = read_line(url);
            // "HTTP/1.1 200 OK"
            if (status.size() < 12 || status.compare(0, 7, "HTTP/1.") != 0 || status[8] != ' ' ||
                !std::isdigit(static_cast<unsigned char>(status[9])) ||
                !std::isdigit(static_cast<unsigned char>(status[10])) ||
                !std::isdigit(static_cast<unsigned char>(status[11])))
                throw HttpError("not an HTTP/1.x response: '" + status.substr(0, 40) + "' (" +
                                url + ")");
            http10 = status[7] == '0';
            r.status_code = std::stoi(status.substr(9, 3));
            r.reason = status.size() > 13 ? status.substr(13) : "";
            transfer_encoding.clear();
            content_length.clear();
            connection.clear();
            for (std::string line; !(line = read_line(url)).empty();) {
                std::size_t colon = line.find(':');
                if (colon == std::string::npos) throw HttpError("malformed header line (" + url + ")");
                std::string name = lower(trim(std::string_view(line).substr(0, colon)));
                std::string value = trim(std::string_view(line).substr(colon + 1));
                if (name == "transfer-encoding") transfer_encoding = lower(value);
                else if (name == "content-length") content_length = value;
                else if (name == "connection") connection = lower(value);
            }
            if (r.status_code >= 200 || r.status_code == 101) break;
        }

        bool keep_alive = http10 ? connection.find("keep-alive") != std::string::npos
                                 : connection.find("close") == std::string::npos;
        if (r.status_code == 204 || r.status_code == 304) {
            // no body
        } else if (transfer_encoding.find("chunked") != std::string::npos) {
            for (;;) {
                std::string size_line = read_line(url);
                std::size_t size = 0;
                if (!parse_size(trim(size_line.substr(0, size_line.find(';'))), 16, size))
                    throw HttpError("malformed chunk size '" + size_line.substr(0, 20) + "' (" +
                                    url + ")");
                if (size == 0) break;
                read_exactly(size, r.content, url);
                if (!read_line(url).empty()) throw HttpError("malformed chunk end (" + url + ")");
            }
            while (!read_line(url).empty()) {  // trailers
            }
        } else if (!content_length.empty()) {
            std::size_t size = 0;
            if (!parse_size(content_length, 10, size))
                throw HttpError("malformed Content-Length '" + content_length + "' (" + url + ")");
            read_exactly(size, r.content, url);
        } else {  // the body ends when the server closes the connection
            while (fill(url)) {
            }
            r.content = std::move(buf_);
            keep_alive = false;
        }
        if (!keep_alive) close();
        return r;
    }

    std::chrono::milliseconds timeout_;
    int fd_ = -1;
    std::string peer_;            // "host port" of the open connection
    std::string buf_;             // received, not yet consumed
    std::size_t received_ = 0;    // bytes received for the current request
};

}  // namespace http_get
