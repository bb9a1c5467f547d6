// Small HTTP/1.1 servers on raw sockets, for what nginx will not do on
// demand: chunked bodies written by hand, stalls past the client's timeout,
// closing in the middle of a body, and counting connections (open now, most
// open at once) on the server side.
//
//   accept thread --new socket--> one thread per connection runs Behavior(conn)
//   destructor: shutdown() on the listener and every socket, join every thread
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace concur::test {

class RawServer;

class RawConn {
public:
    RawConn(int fd, RawServer& server) : fd_(fd), server_(server) {}
    RawServer& server() { return server_; }

    // Reads one request (head + Content-Length body) into `out`; false at EOF.
    bool read_request(std::string* out = nullptr) {
        for (;;) {
            auto end = buf_.find("\r\n\r\n");
            if (end != std::string::npos) {
                std::size_t len = content_length(std::string_view(buf_).substr(0, end));
                std::size_t total = end + 4 + len;
                while (buf_.size() < total)
                    if (!fill()) return false;
                if (out) out->assign(buf_, 0, total);
                buf_.erase(0, total);
                return true;
            }
            if (!fill()) return false;
        }
    }
    bool send(std::string_view s) {
        while (!s.empty()) {
            ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            s.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
    // Blocks until the client closes (or the server stops).
    void wait_closed() {
        char c[4096];
        while (::recv(fd_, c, sizeof c, 0) > 0) {
        }
    }

private:
    bool fill() {
        char c[16384];
        ssize_t n = ::recv(fd_, c, sizeof c, 0);
        if (n <= 0) return false;
        buf_.append(c, static_cast<std::size_t>(n));
        return true;
    }
    static std::size_t content_length(std::string_view head) {
        for (std::size_t pos = 0; pos < head.size();) {
            auto eol = head.find("\r\n", pos);
            std::string_view line = head.substr(pos, eol == std::string_view::npos ? head.npos : eol - pos);
            if (line.size() > 15 && ::strncasecmp(line.data(), "content-length:", 15) == 0)
                return std::stoul(std::string(line.substr(15)));
            if (eol == std::string_view::npos) break;
            pos = eol + 2;
        }
        return 0;
    }
    int fd_;
    RawServer& server_;
    std::string buf_;
};

class RawServer {
public:
    using Behavior = std::function<void(RawConn&)>;

    explicit RawServer(Behavior behavior) : behavior_(std::move(behavior)) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(listen_fd_, 4096);
        socklen_t len = sizeof a;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    RawServer(const RawServer&) = delete;
    RawServer& operator=(const RawServer&) = delete;
    ~RawServer() {
        stopping_ = true;
        ::shutdown(listen_fd_, SHUT_RDWR);
        acceptor_.join();
        {
            std::lock_guard g(mu_);
            for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
        }
        for (auto& t : workers_) t.join();
        ::close(listen_fd_);
    }

    int port() const noexcept { return port_; }
    std::string url(const std::string& path = "/") const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    int accepted() const noexcept { return accepted_.load(); }
    int open_now() const noexcept { return open_.load(); }
    int max_open() const noexcept { return max_open_.load(); }
    // Connections the client closed (or that ended) so far.
    int finished() const noexcept { return finished_.load(); }
    int requests() const noexcept { return requests_.load(); }
    void count_request() noexcept { requests_.fetch_add(1); }

    // Polls `pred` until true or `limit` passes (generous: the machine is loaded).
    static bool wait_for(const std::function<bool()>& pred, std::chrono::seconds limit = std::chrono::seconds(30)) {
        auto until = std::chrono::steady_clock::now() + limit;
        while (!pred()) {
            if (std::chrono::steady_clock::now() > until) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return true;
    }

private:
    void accept_loop() {
        for (;;) {
            int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) {
                if (stopping_ || (errno != EINTR && errno != ECONNABORTED)) return;
                continue;
            }
            int now = open_.fetch_add(1) + 1;
            int prev = max_open_.load();
            while (now > prev && !max_open_.compare_exchange_weak(prev, now)) {
            }
            accepted_.fetch_add(1);
            std::lock_guard g(mu_);
            open_fds_.insert(fd);
            workers_.emplace_back([this, fd] {
                RawConn conn(fd, *this);
                try {
                    behavior_(conn);
                } catch (...) {
                }
                {
                    std::lock_guard g2(mu_);
                    open_fds_.erase(fd);
                }
                open_.fetch_sub(1);
                ::close(fd);
                finished_.fetch_add(1);
            });
        }
    }

    Behavior behavior_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> accepted_{0}, open_{0}, max_open_{0}, finished_{0}, requests_{0};
    std::mutex mu_;
    std::set<int> open_fds_;
    std::vector<std::thread> workers_;
    std::thread acceptor_;
};

// A listener whose accept queue is full and never drained: the kernel drops
// further SYNs, so a connection attempt hangs until the client's connect
// timeout.
class FullBacklog {
public:
    FullBacklog() {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(listen_fd_, 0);
        socklen_t len = sizeof a;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        for (int i = 0; i < 3; ++i) {
            int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            (void)::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
            fillers_.push_back(c);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FullBacklog(const FullBacklog&) = delete;
    FullBacklog& operator=(const FullBacklog&) = delete;
    ~FullBacklog() {
        for (int c : fillers_) ::close(c);
        ::close(listen_fd_);
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

private:
    int listen_fd_ = -1;
    int port_ = 0;
    std::vector<int> fillers_;
};

// ---- behaviors ---------------------------------------------------------------

inline std::string response_head(int status, const std::string& reason, const std::string& extra) {
    return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n" + extra + "\r\n";
}

// Keep-alive: answers every request on the connection with `body`.
inline RawServer::Behavior serve_body(std::string body) {
    return [body = std::move(body)](RawConn& c) {
        std::string head = response_head(200, "OK", "Content-Length: " + std::to_string(body.size()) + "\r\n");
        while (c.read_request()) {
            c.server().count_request();
            if (!c.send(head + body)) return;
        }
    };
}

// Answers with the request itself (head and body) as the body.
inline RawServer::Behavior echo() {
    return [](RawConn& c) {
        std::string req;
        while (c.read_request(&req)) {
            c.server().count_request();
            c.send(response_head(200, "OK", "Content-Length: " + std::to_string(req.size()) + "\r\n") + req);
        }
    };
}

// A chunked body sent as `chunks`.
inline RawServer::Behavior serve_chunked(std::vector<std::string> chunks) {
    return [chunks = std::move(chunks)](RawConn& c) {
        while (c.read_request()) {
            c.server().count_request();
            c.send(response_head(200, "OK", "Transfer-Encoding: chunked\r\n"));
            for (const auto& ch : chunks) {
                char size[32];
                std::snprintf(size, sizeof size, "%zx\r\n", ch.size());
                c.send(std::string(size) + ch + "\r\n");
            }
            c.send("0\r\n\r\n");
        }
    };
}

// Promises `promised` bytes, sends `sent`, then closes.
inline RawServer::Behavior close_mid_body(std::size_t promised, std::size_t sent) {
    return [=](RawConn& c) {
        if (!c.read_request()) return;
        c.server().count_request();
        c.send(response_head(200, "OK", "Content-Length: " + std::to_string(promised) + "\r\n") +
               std::string(sent, 'x'));
    };
}

// Reads the request, then says nothing (or only the head and part of the
// body) until the client gives up.
inline RawServer::Behavior stall(bool send_head_and_part = false) {
    return [=](RawConn& c) {
        if (!c.read_request()) return;
        c.server().count_request();
        if (send_head_and_part)
            c.send(response_head(200, "OK", "Content-Length: 10000000\r\n") + std::string(100000, 'x'));
        c.wait_closed();
    };
}

}  // namespace concur::test
