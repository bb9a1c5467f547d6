// What the example tests share: running an example as a child process and
// reading its output, recognising what the seeds print, and the tiny
// HTTP/1.1 server on 127.0.0.1 the download examples are pointed at.
//
//   test thread --posix_spawn--> example process --stdout/stderr pipes--> test thread
//                                      |
//                                      +--HTTP on 127.0.0.1:<ephemeral>--> TestHttpServer
//                                          (one accept thread, one thread per connection)
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace examples_test {

// ---- running a child process ---------------------------------------------

struct Outcome {
    bool exited = false;  // exited normally (else: killed by `signal`)
    int exit_code = -1;
    int signal = 0;
    bool timed_out = false;
    std::string out, err;
};

// A generous limit that only catches a hung example (so the suite ends);
// nothing here passes or fails by how fast an example is.
inline constexpr auto kHangLimit = std::chrono::minutes(4);

inline Outcome run_example(const std::string& path, const std::vector<std::string>& args) {
    Outcome o;
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
        ADD_FAILURE() << "pipe2: " << std::strerror(errno);
        return o;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);  // dup2 clears O_CLOEXEC
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(path.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (rc != 0) {
        close(out_pipe[0]);
        close(err_pipe[0]);
        ADD_FAILURE() << "cannot run " << path << ": " << std::strerror(rc);
        return o;
    }

    auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    std::string* sinks[2] = {&o.out, &o.err};
    int open_fds = 2;
    while (open_fds > 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            o.timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        int n = poll(fds, 2, 1000);
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[4096];
            ssize_t got = read(fds[i].fd, buf, sizeof buf);
            if (got > 0) {
                sinks[i]->append(buf, static_cast<size_t>(got));
            } else if (got == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    for (auto& f : fds)
        if (f.fd >= 0) close(f.fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        o.exited = true;
        o.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        o.signal = WTERMSIG(status);
    }
    return o;
}

// A server example running in the background: started with SIGINT at its
// default disposition (a shell's background job would ignore it), its first
// stdout line read at once (the "Serving on HOST:PORT" line), the rest
// collected by stop(), which sends SIGINT as Ctrl-C would.
class BackgroundExample {
public:
    BackgroundExample(const std::string& path, const std::vector<std::string>& args) {
        int out_pipe[2];
        if (pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t defaults;
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGINT);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
        std::vector<char*> argv{const_cast<char*>(path.c_str())};
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        int rc = posix_spawn(&pid_, path.c_str(), &actions, &attr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        close(out_pipe[1]);
        out_fd_ = out_pipe[0];
        if (rc != 0) throw std::runtime_error("cannot run " + path + ": " + std::strerror(rc));
    }
    ~BackgroundExample() {
        if (pid_ > 0) stop();
    }
    // The next stdout line (without '\n'); empty after 60 s or at EOF.
    std::string read_line() {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        for (;;) {
            std::size_t nl = pending_.find('\n');
            if (nl != std::string::npos) {
                std::string line = pending_.substr(0, nl);
                pending_.erase(0, nl + 1);
                return line;
            }
            if (std::chrono::steady_clock::now() > deadline) return "";
            pollfd p{out_fd_, POLLIN, 0};
            if (poll(&p, 1, 1000) <= 0) continue;
            char buf[4096];
            ssize_t n = read(out_fd_, buf, sizeof buf);
            if (n <= 0) return "";
            pending_.append(buf, static_cast<std::size_t>(n));
        }
    }
    // The port at the end of a "... HOST:PORT" line.
    static std::string port_of(const std::string& line) { return line.substr(line.rfind(':') + 1); }
    // SIGINT, then everything it still prints, and how it ended.
    Outcome stop() {
        Outcome o;
        kill(pid_, SIGINT);
        o.out = pending_;
        char buf[4096];
        ssize_t n;
        while ((n = read(out_fd_, buf, sizeof buf)) > 0) o.out.append(buf, static_cast<std::size_t>(n));
        close(out_fd_);
        int status = 0;
        while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        o.exited = WIFEXITED(status);
        o.exit_code = o.exited ? WEXITSTATUS(status) : -1;
        o.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        return o;
    }

private:
    pid_t pid_ = -1;
    int out_fd_ = -1;
    std::string pending_;
};

// A blocking loopback client for the chat test: connect, send, read lines.
class LineClient {
public:
    explicit LineClient(int port) {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(port));
        timeval tv{30, 0};  // a hung server fails the test instead of hanging it
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    }
    ~LineClient() { close(fd_); }
    void send_line(const std::string& s) {
        std::string line = s + "\n";
        ASSERT_EQ(send(fd_, line.data(), line.size(), MSG_NOSIGNAL), static_cast<ssize_t>(line.size()));
    }
    // Bytes up to `delim` (included), or what arrived before a timeout/EOF.
    std::string read_until(const std::string& delim) {
        for (;;) {
            std::size_t at = buf_.find(delim);
            if (at != std::string::npos) {
                std::string out = buf_.substr(0, at + delim.size());
                buf_.erase(0, at + delim.size());
                return out;
            }
            char tmp[1024];
            ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
            if (n <= 0) return std::exchange(buf_, "");
            buf_.append(tmp, static_cast<std::size_t>(n));
        }
    }

private:
    int fd_ = -1;
    std::string buf_;
};

inline std::string describe(const Outcome& o) {
    std::string s = o.timed_out ? "hung (killed)"
                    : o.exited  ? "exit " + std::to_string(o.exit_code)
                                : "killed by signal " + std::to_string(o.signal);
    return s + "\n--- stdout ---\n" + o.out + "--- stderr ---\n" + o.err;
}

inline std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string::npos) nl = text.size();
        out.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return out;
}

// Whether `s` is all decimal digits (and not empty).
inline bool is_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Whether `s` is a float as Python prints it: "0.25", "2.0", "1e-05", "1.5e-05".
// (Hand-written: std::regex trips a false -Wmaybe-uninitialized in g++ 12 with
// sanitizers.)
inline bool is_python_float(std::string_view s) {
    std::string_view exponent;
    if (auto e = s.find('e'); e != std::string_view::npos) {
        exponent = s.substr(e + 1);
        s = s.substr(0, e);
        if (exponent.size() < 2 || (exponent[0] != '-' && exponent[0] != '+') ||
            !is_digits(exponent.substr(1)))
            return false;
    }
    auto dot = s.find('.');
    if (dot == std::string_view::npos) return !exponent.empty() && is_digits(s);
    return is_digits(s.substr(0, dot)) && is_digits(s.substr(dot + 1));
}

// Whether `line` is `prefix` + a Python float + `suffix` (a time: any value).
inline bool is_timing_line(std::string_view line, std::string_view prefix, std::string_view suffix) {
    if (line.size() < prefix.size() + suffix.size() || line.substr(0, prefix.size()) != prefix ||
        line.substr(line.size() - suffix.size()) != suffix)
        return false;
    return is_python_float(line.substr(prefix.size(), line.size() - prefix.size() - suffix.size()));
}

// The seed's 1-indexed fib (fib(1) = 0, fib(2) = 1), computed another way.
inline long long expected_fib(int n) {
    long long a = 0, b = 1;  // fib(1), fib(2)
    for (int i = 1; i < n; ++i) {
        long long next = a + b;
        a = b;
        b = next;
    }
    return a;
}

// ---- a tiny HTTP/1.1 server on 127.0.0.1 ---------------------------------

// Answers every GET with kBodySize bytes, keeping the connection open:
// paths starting with /chunked are sent with chunked transfer encoding,
// all others with Content-Length. Paths starting with /once close the
// connection after the answer without saying so (as a server whose
// keep-alive timeout has passed). Counts connections and requests.
class TestHttpServer {
public:
    static constexpr std::size_t kBodySize = 5000;

    TestHttpServer() {
        body_.reserve(kBodySize);
        for (std::size_t i = 0; i < kBodySize; ++i) body_.push_back(static_cast<char>('a' + i % 26));
        listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;  // ephemeral
        socklen_t len = sizeof addr;
        if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            listen(listen_fd_, 64) != 0 ||
            getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            throw std::runtime_error(std::string("test server: ") + std::strerror(errno));
        port_ = ntohs(addr.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    ~TestHttpServer() {
        stopping_ = true;
        shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
        acceptor_.join();
        close(listen_fd_);
        std::vector<std::thread> threads;
        {
            std::lock_guard g(mutex_);
            for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);  // wakes recv()
            threads.swap(threads_);
        }
        for (auto& t : threads) t.join();
    }

    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    // n pages, chunked and Content-Length in turn: the download examples' input.
    std::vector<std::string> pages(int n) const {
        std::vector<std::string> out;
        for (int i = 0; i < n; ++i) out.push_back(url((i % 2 ? "/chunked/" : "/fixed/") + std::to_string(i)));
        return out;
    }
    int connections() const { return connections_; }
    int requests() const { return requests_; }

private:
    void accept_loop() {
        for (;;) {
            int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) {
                if (stopping_) return;
                if (errno == EINTR || errno == ECONNABORTED) continue;
                return;
            }
            ++connections_;
            std::lock_guard g(mutex_);
            open_fds_.push_back(fd);
            threads_.emplace_back([this, fd] { serve(fd); });
        }
    }

    void serve(int fd) {
        std::string in;
        char buf[4096];
        for (;;) {
            std::size_t end = in.find("\r\n\r\n");
            if (end == std::string::npos) {
                ssize_t n = recv(fd, buf, sizeof buf, 0);
                if (n <= 0) break;  // the client closed (or we are stopping)
                in.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            std::string request_line = in.substr(0, in.find("\r\n"));
            in.erase(0, end + 4);
            ++requests_;
            std::string path = request_line.substr(request_line.find(' ') + 1);
            path = path.substr(0, path.find(' '));
            if (!send_all(fd, response_for(path))) break;
            if (path.rfind("/once", 0) == 0) break;
        }
        std::lock_guard g(mutex_);
        open_fds_.erase(std::find(open_fds_.begin(), open_fds_.end(), fd));
        close(fd);
    }

    std::string response_for(const std::string& path) const {
        if (path.rfind("/chunked", 0) == 0) {
            std::string r = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n";
            for (std::size_t at = 0; at < body_.size(); at += 1024) {
                std::size_t n = std::min<std::size_t>(1024, body_.size() - at);
                char size[32];
                std::snprintf(size, sizeof size, "%zx\r\n", n);
                r += size;
                r.append(body_, at, n);
                r += "\r\n";
            }
            return r + "0\r\n\r\n";
        }
        return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
               std::to_string(body_.size()) + "\r\nConnection: keep-alive\r\n\r\n" + body_;
    }

    static bool send_all(int fd, const std::string& data) {
        std::size_t at = 0;
        while (at < data.size()) {
            ssize_t n = send(fd, data.data() + at, data.size() - at, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            at += static_cast<std::size_t>(n);
        }
        return true;
    }

    std::string body_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> connections_{0};
    std::atomic<int> requests_{0};
    std::mutex mutex_;
    std::vector<int> open_fds_;         // under mutex_
    std::vector<std::thread> threads_;  // under mutex_
    std::thread acceptor_;
};

// A 127.0.0.1 port that refuses connections: bound by us (so nobody else
// takes it) but not listening, so the kernel answers a SYN with a reset.
class RefusingPort {
public:
    RefusingPort() {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            throw std::runtime_error(std::string("refusing port: ") + std::strerror(errno));
        port_ = ntohs(addr.sin_port);
    }
    ~RefusingPort() { close(fd_); }
    int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = 0;
};

// With no URL, an example serves seed 002's two sites (80 times each) from
// concur's local site server and downloads them.
inline void expect_the_seed_sites(const Outcome& o, const std::string& done, bool content_length_line) {
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 161u) << describe(o);
    EXPECT_TRUE(is_timing_line(out.back(), done, " seconds")) << out.back();
    int baidu = 0, weibo = 0;
    for (std::size_t i = 0; i + 1 < out.size(); ++i) {
        const std::string& line = out[i];
        std::size_t read = line.find("Read ");
        ASSERT_NE(read, std::string::npos) << line;
        if (line.ends_with("/baidu")) ++baidu;
        if (line.ends_with("/weibo")) ++weibo;
        EXPECT_EQ(line.rfind("http://127.0.0.1:"), line.find(" from ") + 6) << line;
        if (content_length_line) {
            EXPECT_EQ(line.find("None"), std::string::npos) << line;
        }
    }
    EXPECT_EQ(baidu, 80);
    EXPECT_EQ(weibo, 80);
}

}  // namespace examples_test
