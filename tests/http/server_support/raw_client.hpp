// A plain blocking HTTP/1.1 client on a raw socket, for the site server's
// tests: they must not depend on the clients being written beside it, and
// they need to send what no real client would (garbage, one byte at a time,
// pipelined bursts). Every receive has a timeout, so a server that hangs
// fails the test instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace concur::http::testing {

struct RawResponse {
    int status = 0;
    std::string head;  // status line and headers, CRLFs included
    std::string body;
    std::optional<std::size_t> content_length;
    bool header(std::string_view line) const { return head.find(line) != std::string::npos; }
};

class RawClient {
public:
    explicit RawClient(std::uint16_t port, int timeout_s = 20) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("socket failed");
        timeval tv{timeout_s, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
            ::close(fd_);
            throw std::runtime_error("connect failed: errno " + std::to_string(errno));
        }
    }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;
    ~RawClient() {
        if (fd_ >= 0) ::close(fd_);
    }

    // False if the server closed or reset the connection.
    bool send(std::string_view data) {
        while (!data.empty()) {
            ssize_t k = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (k < 0) {
                if (errno == EINTR) continue;
                return false;
            }
            data.remove_prefix(static_cast<std::size_t>(k));
        }
        return true;
    }
    bool get(std::string_view path) { return send("GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n\r\n"); }

    // The next response (body by Content-Length; HEAD: pass head_only), or
    // nothing if the connection ends (EOF, reset, or the timeout) first.
    std::optional<RawResponse> read_response(bool head_only = false) {
        RawResponse r;
        std::size_t end;
        while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
            if (!fill()) return std::nullopt;
        }
        r.head = buf_.substr(0, end + 4);
        buf_.erase(0, end + 4);
        if (r.head.compare(0, 9, "HTTP/1.1 ") != 0 || r.head.size() < 12) return std::nullopt;
        r.status = std::atoi(r.head.c_str() + 9);
        auto cl = r.head.find("Content-Length: ");
        if (cl != std::string::npos) r.content_length = std::strtoull(r.head.c_str() + cl + 16, nullptr, 10);
        std::size_t want = head_only ? 0 : r.content_length.value_or(0);
        while (buf_.size() < want) {
            if (!fill()) return std::nullopt;
        }
        r.body = buf_.substr(0, want);
        buf_.erase(0, want);
        return r;
    }

    // True once the server ends the connection (EOF or reset) with nothing
    // more sent; false on more data or the timeout.
    bool closed_by_server() {
        if (!buf_.empty()) return false;
        char c;
        for (;;) {
            ssize_t n = ::recv(fd_, &c, 1, 0);
            if (n == 0) return true;
            if (n > 0) return false;
            if (errno == EINTR) continue;
            return errno == ECONNRESET || errno == EPIPE;
        }
    }

    void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
    int fd() const noexcept { return fd_; }

private:
    bool fill() {
        char tmp[16384];
        for (;;) {
            ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
            if (n > 0) {
                buf_.append(tmp, static_cast<std::size_t>(n));
                return true;
            }
            if (n < 0 && errno == EINTR) continue;
            return false;
        }
    }

    int fd_ = -1;
    std::string buf_;
};

}  // namespace concur::http::testing
