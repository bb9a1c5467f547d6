// Runs every seed port in examples/ as a child process, with small arguments,
// and checks what its user relies on: the exit status and the values it
// prints (never how long it took). The download examples talk to a tiny
// HTTP server that this test runs on 127.0.0.1 (it counts connections and
// serves chunked pages and dropped keep-alives), or, given no URL, to
// concur's own site server that they start themselves.
//
//   test thread --posix_spawn--> example process --stdout/stderr pipes--> test thread
//                                      |
//                                      +--HTTP on 127.0.0.1:<ephemeral>--> TestHttpServer
//                                          (one accept thread, one thread per connection)
//
// The example paths come from CMake (tests/examples/CMakeLists.txt) as
// EXAMPLE_<STEM> macros. The multiprocessing examples start their children
// with the default start method, "forkserver", so their worker names
// ("ForkServerProcess-1", "ForkServerPoolWorker-2") are checked as such.
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

namespace {

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
constexpr auto kHangLimit = std::chrono::minutes(4);

Outcome run_example(const std::string& path, const std::vector<std::string>& args) {
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

std::string describe(const Outcome& o) {
    std::string s = o.timed_out ? "hung (killed)"
                    : o.exited  ? "exit " + std::to_string(o.exit_code)
                                : "killed by signal " + std::to_string(o.signal);
    return s + "\n--- stdout ---\n" + o.out + "--- stderr ---\n" + o.err;
}

std::vector<std::string> lines(const std::string& text) {
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
bool is_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Whether `s` is a float as Python prints it: "0.25", "2.0", "1e-05", "1.5e-05".
// (Hand-written: std::regex trips a false -Wmaybe-uninitialized in g++ 12 with
// sanitizers.)
bool is_python_float(std::string_view s) {
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
bool is_timing_line(std::string_view line, std::string_view prefix, std::string_view suffix) {
    if (line.size() < prefix.size() + suffix.size() || line.substr(0, prefix.size()) != prefix ||
        line.substr(line.size() - suffix.size()) != suffix)
        return false;
    return is_python_float(line.substr(prefix.size(), line.size() - prefix.size() - suffix.size()));
}

// The seed's 1-indexed fib (fib(1) = 0, fib(2) = 1), computed another way.
long long expected_fib(int n) {
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

// ---- the tests -------------------------------------------------------------

TEST(Helpers, RecogniseWhatTheExamplesPrint) {
    for (auto good : {"0.043357638", "2.0", "1e-05", "1.5e-05", "12.25"})
        EXPECT_TRUE(is_python_float(good)) << good;
    for (auto bad : {"", "2", ".5", "1.", "1e5", "1.0e", "x1.0", "1.0 "})
        EXPECT_FALSE(is_python_float(bad)) << bad;
    EXPECT_TRUE(is_timing_line("Threads took 0.5 seconds.", "Threads took ", " seconds."));
    EXPECT_FALSE(is_timing_line("Threads took  seconds.", "Threads took ", " seconds."));
    EXPECT_EQ(expected_fib(1), 0);
    EXPECT_EQ(expected_fib(2), 1);
    EXPECT_EQ(expected_fib(40), 63245986);  // the seed's "fib(40)"
}

TEST(Seed000, TwentyThreadsCountAndReportTheTime) {
    Outcome o = run_example(EXAMPLE_SEED000_THREADING_COUNT, {});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 1u) << describe(o);
    EXPECT_TRUE(is_timing_line(out[0], "Total cost time is:  ", "")) << out[0];
}

TEST(Seed000, TwentyAsyncioTasksCountAndReportTheTime) {
    Outcome o = run_example(EXAMPLE_SEED000_ASYNCIO_COUNT, {});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 1u) << describe(o);
    EXPECT_TRUE(is_timing_line(out[0], "Total cost time is:  ", "")) << out[0];
}

// Each method prints its header, the ten query numbers (any order for the
// thread pool, 0..9 in order for the sequential and asyncio runs), and a
// time line.
TEST(Seed001, EveryMethodRunsTheTenQueries) {
    Outcome o = run_example(EXAMPLE_SEED001_QUERY, {"all", "0.01"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    std::vector<std::string> headers;
    for (std::size_t i = 0; i < out.size();) {
        ASSERT_EQ(out[i].rfind("== ", 0), 0u) << describe(o);
        std::string method = out[i].substr(3);
        headers.push_back(method);
        ++i;
        if (i < out.size() && out[i].rfind("skipped: ", 0) == 0) {  // io_uring forbidden here
            ++i;
            continue;
        }
        ASSERT_LE(i + 11, out.size()) << describe(o);
        std::vector<int> nums;
        for (int k = 0; k < 10; ++k, ++i) {
            ASSERT_TRUE(is_digits(out[i])) << out[i];
            nums.push_back(std::stoi(out[i]));
        }
        if (method != "threads") {
            EXPECT_EQ(nums, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})) << method;
        } else {
            std::sort(nums.begin(), nums.end());
            EXPECT_EQ(nums, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
        }
        EXPECT_TRUE(is_timing_line(out[i], "时间差:", "")) << out[i];
        ++i;
    }
    EXPECT_EQ(headers, (std::vector<std::string>{"sequential", "threads", "asyncio", "asyncio-io_uring",
                                                 "asyncio-epoll"}));
}

TEST(Seed001, BadArgumentsPrintUsage) {
    Outcome o = run_example(EXAMPLE_SEED001_QUERY, {"fibers"});
    EXPECT_TRUE(o.exited && o.exit_code == 2) << describe(o);
    EXPECT_NE(o.err.find("usage:"), std::string::npos) << describe(o);
    o = run_example(EXAMPLE_SEED001_QUERY, {"asyncio", "-1"});
    EXPECT_TRUE(o.exited && o.exit_code == 2) << describe(o);
}

TEST(Seed002, FibWithoutThreadsPrintsBothValuesInOrder) {
    Outcome o = run_example(EXAMPLE_SEED002_FIB, {"25", "26"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 3u) << describe(o);
    EXPECT_EQ(expected_fib(25), 46368);  // the seed's own numbering
    EXPECT_EQ(out[0], "fib(25) is " + std::to_string(expected_fib(25)));
    EXPECT_EQ(out[1], "fib(26) is " + std::to_string(expected_fib(26)));
    EXPECT_TRUE(is_timing_line(out[2], "Completed in ", " seconds.")) << out[2];
}

TEST(Seed002, FibWithThreadsPrintsBothValues) {
    Outcome o = run_example(EXAMPLE_SEED002_FIB_THREADS, {"27", "24"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 3u) << describe(o);
    std::vector<std::string> values(out.begin(), out.begin() + 2);  // either order
    std::sort(values.begin(), values.end());
    EXPECT_EQ(values, (std::vector<std::string>{"fib(24) is " + std::to_string(expected_fib(24)),
                                                "fib(27) is " + std::to_string(expected_fib(27))}));
    EXPECT_TRUE(is_timing_line(out[2], "Threads took ", " seconds.")) << out[2];
}

TEST(Seed002, FibRejectsBadArguments) {
    for (auto* example : {EXAMPLE_SEED002_FIB, EXAMPLE_SEED002_FIB_THREADS}) {
        for (auto args : {std::vector<std::string>{"0", "1"}, {"x", "3"}, {"5"}}) {
            Outcome o = run_example(example, args);
            EXPECT_TRUE(o.exited && o.exit_code == 2) << describe(o);
            EXPECT_EQ(o.out, "");
            EXPECT_FALSE(o.err.empty());
        }
    }
}

TEST(Seed003, ThreadWithTargetSaysHello) {
    Outcome o = run_example(EXAMPLE_SEED003_THREAD, {"0"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    std::sort(out.begin(), out.end());  // which line comes first is up to the scheduler
    EXPECT_EQ(out, (std::vector<std::string>{"egon say hello", "主线程"})) << describe(o);
}

TEST(Seed003, ThreadSubclassPrintsItsOwnName) {
    Outcome o = run_example(EXAMPLE_SEED003_THREAD_SUBCLASS, {"0"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    std::sort(out.begin(), out.end());
    EXPECT_EQ(out, (std::vector<std::string>{"egon say hello", "主线程"})) << describe(o);

    o = run_example(EXAMPLE_SEED003_THREAD_SUBCLASS, {"0.01", "Thread-Alex"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    out = lines(o.out);
    std::sort(out.begin(), out.end());
    EXPECT_EQ(out, (std::vector<std::string>{"Thread-Alex say hello", "主线程"})) << describe(o);
}

TEST(Seed003, AsCompletedPrintsEveryResult) {
    Outcome o = run_example(EXAMPLE_SEED003_AS_COMPLETED, {});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 11u) << describe(o);
    // count(x) loops i over range(10_000_000), adds 1 to the last i: 10_000_000 * x.
    std::vector<long> got, want;
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(is_digits(out[static_cast<size_t>(i)])) << out[static_cast<size_t>(i)];
        got.push_back(std::stol(out[static_cast<size_t>(i)]));
        want.push_back(10'000'000L * (i + 1));
    }
    std::sort(got.begin(), got.end());  // completion order varies
    EXPECT_EQ(got, want);
    EXPECT_TRUE(is_timing_line(out[10], "Thread pool execution in ", " seconds")) << out[10];
}

TEST(Seed004, RaceLosesUpdatesOnlyWithoutTheLock) {
    Outcome o = run_example(EXAMPLE_SEED004_RACE, {});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);  // a TSan report would exit 66
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 2u) << describe(o);
    long unprotected = -1, lost = -1, locked = -1, locked_lost = -1;
    ASSERT_EQ(std::sscanf(out[0].c_str(),
                          "without a lock: counter = %ld (expected 500000, %ld updates lost)",
                          &unprotected, &lost), 2)
        << out[0];
    EXPECT_LE(unprotected, 500000);  // losses are likely, but not certain
    EXPECT_EQ(lost, 500000 - unprotected);
    ASSERT_EQ(std::sscanf(out[1].c_str(),
                          "with a lock:    counter = %ld (expected 500000, %ld updates lost)",
                          &locked, &locked_lost), 2)
        << out[1];
    EXPECT_EQ(locked, 500000);
    EXPECT_EQ(locked_lost, 0);
}

TEST(Seed002Download, DownloadsEveryPageOnKeepAliveSessions) {
    TestHttpServer server;
    std::vector<std::string> urls;
    for (int i = 0; i < 20; ++i)
        urls.push_back(server.url((i % 2 ? "/chunked/" : "/fixed/") + std::to_string(i)));
    Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_THREADS, urls);
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 21u) << describe(o);
    EXPECT_TRUE(is_timing_line(out.back(), "Downloaded 20 in ", " seconds")) << out.back();
    out.pop_back();
    std::vector<std::string> want;
    for (const auto& url : urls)
        want.push_back("Read " + std::to_string(TestHttpServer::kBodySize) + " from " + url);
    std::sort(out.begin(), out.end());  // the pool finishes them in any order
    std::sort(want.begin(), want.end());
    EXPECT_EQ(out, want);
    EXPECT_EQ(server.requests(), 20);
    // One session, hence one connection, per worker thread: at most 5.
    EXPECT_GE(server.connections(), 1);
    EXPECT_LE(server.connections(), 5);
}

TEST(Seed002Download, ReconnectsWhenTheServerDroppedAKeepAliveConnection) {
    TestHttpServer server;
    std::vector<std::string> urls;
    for (int i = 0; i < 12; ++i) urls.push_back(server.url("/once/" + std::to_string(i)));
    Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_THREADS, urls);
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 13u) << describe(o);
    EXPECT_TRUE(is_timing_line(out.back(), "Downloaded 12 in ", " seconds")) << out.back();
    EXPECT_EQ(server.requests(), 12);
    EXPECT_EQ(server.connections(), 12);  // each request on a fresh connection
}

TEST(Seed002Download, RefusedConnectionIsAClearErrorNotACrash) {
    RefusingPort refusing;
    std::string url = "http://127.0.0.1:" + std::to_string(refusing.port()) + "/";
    for (const char* example : {EXAMPLE_SEED002_DOWNLOAD_THREADS, EXAMPLE_SEED002_DOWNLOAD_SEQUENTIAL}) {
        Outcome o = run_example(example, {url, url, url});
        ASSERT_TRUE(o.exited) << describe(o);
        EXPECT_EQ(o.exit_code, 1) << describe(o);
        EXPECT_NE(o.err.find(url), std::string::npos) << describe(o);
        EXPECT_NE(o.err.find("refused"), std::string::npos) << describe(o);
        EXPECT_EQ(o.out.find("Downloaded"), std::string::npos) << describe(o);
    }
}

TEST(Seed002Download, MalformedUrlIsAClearError) {
    for (std::string bad : {"127.0.0.1/page", "http://", "http://127.0.0.1:99999/", "gopher://127.0.0.1/"}) {
        Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_THREADS, {bad});
        ASSERT_TRUE(o.exited) << describe(o);
        EXPECT_EQ(o.exit_code, 1) << describe(o);
        EXPECT_NE(o.err.find(bad), std::string::npos) << describe(o);
    }
}

TEST(Seed002Download, SequentialReadsEveryPageOnOneConnection) {
    TestHttpServer server;
    std::vector<std::string> urls;
    for (int i = 0; i < 20; ++i)
        urls.push_back(server.url((i % 2 ? "/chunked/" : "/fixed/") + std::to_string(i)));
    Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_SEQUENTIAL, urls);
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 21u) << describe(o);
    EXPECT_TRUE(is_timing_line(out.back(), "Downloaded 20 in ", " seconds")) << out.back();
    for (std::size_t i = 0; i < urls.size(); ++i)  // in order: one after the other
        EXPECT_EQ(out[i], "Read " + std::to_string(TestHttpServer::kBodySize) + " from " + urls[i]);
    EXPECT_EQ(server.requests(), 20);
    EXPECT_EQ(server.connections(), 1);  // one Session: one keep-alive connection
}

// With no URL, an example serves seed 002's two sites (80 times each) from
// concur's local site server and downloads them.
void expect_the_seed_sites(const Outcome& o, const std::string& done, bool content_length_line) {
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

TEST(Seed002Download, NoUrlDownloadsTheSeedSitesFromTheLocalServer) {
    expect_the_seed_sites(run_example(EXAMPLE_SEED002_DOWNLOAD_THREADS, {}), "Downloaded 160 in ", false);
}

}  // namespace

// ---- asyncio examples --------------------------------------------------------

TEST(AsyncioEcho, ClientGetsItsMessageBackAndCtrlCStopsTheServer) {
    BackgroundExample server(EXAMPLE_ASYNCIO_ECHO_SERVER, {"0"});
    std::string serving = server.read_line();
    ASSERT_EQ(serving.rfind("Serving on 127.0.0.1:", 0), 0u) << serving;
    std::string port = BackgroundExample::port_of(serving);

    Outcome c = run_example(EXAMPLE_ASYNCIO_ECHO_CLIENT, {port, "hello concur"});
    ASSERT_TRUE(c.exited && c.exit_code == 0) << describe(c);
    EXPECT_EQ(lines(c.out), (std::vector<std::string>{"Send: 'hello concur'", "Received: 'hello concur'",
                                                      "Close the connection"}));
    EXPECT_EQ(server.read_line().rfind("Received hello concur from 127.0.0.1:", 0), 0u);
    EXPECT_EQ(server.read_line(), "Send: hello concur");
    EXPECT_EQ(server.read_line(), "Close the connection");

    Outcome s = server.stop();
    EXPECT_TRUE(s.exited && s.exit_code == 0) << describe(s);
    EXPECT_NE(s.out.find("KeyboardInterrupt: server stopped"), std::string::npos) << describe(s);
}

TEST(AsyncioEcho, RefusedConnectionIsAClearError) {
    // Port 1 on loopback: nothing listens there.
    Outcome c = run_example(EXAMPLE_ASYNCIO_ECHO_CLIENT, {"1"});
    EXPECT_TRUE(c.exited && c.exit_code == 1) << describe(c);
    EXPECT_NE(c.err.find("ConnectionRefusedError"), std::string::npos) << describe(c);
}

TEST(AsyncioChat, LinesGoToTheOtherClients) {
    BackgroundExample server(EXAMPLE_ASYNCIO_CHAT_SERVER, {"0"});
    std::string serving = server.read_line();
    ASSERT_EQ(serving.rfind("Serving on 127.0.0.1:", 0), 0u) << serving;
    int port = std::stoi(BackgroundExample::port_of(serving));

    LineClient alice(port), bob(port);
    EXPECT_EQ(alice.read_until("? "), "name? ");
    alice.send_line("alice");
    EXPECT_EQ(server.read_line(), "alice joined");  // alice is registered before bob joins
    EXPECT_EQ(bob.read_until("? "), "name? ");
    bob.send_line("bob");
    EXPECT_EQ(alice.read_until("\n"), "* bob joined\n");
    bob.send_line("hi alice");
    EXPECT_EQ(alice.read_until("\n"), "bob: hi alice\n");
    alice.send_line("hi bob");
    EXPECT_EQ(bob.read_until("\n"), "alice: hi bob\n");

    // Ctrl-C with both still connected: the server closes them and exits.
    Outcome s = server.stop();
    EXPECT_TRUE(s.exited && s.exit_code == 0) << describe(s);
    EXPECT_NE(s.out.find("bob joined"), std::string::npos) << describe(s);
    EXPECT_NE(s.out.find("server stopped"), std::string::npos) << describe(s);
}

TEST(Seed002Asyncio, DownloadsEveryPageWithATaskEach) {
    TestHttpServer server;
    std::vector<std::string> urls;
    for (int i = 0; i < 20; ++i)
        urls.push_back(server.url((i % 2 ? "/chunked/" : "/fixed/") + std::to_string(i)));
    Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_ASYNCIO, urls);
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 21u) << describe(o);
    EXPECT_TRUE(is_timing_line(out.back(), "Downloaded 20 sites in ", " seconds")) << out.back();
    out.pop_back();
    std::vector<std::string> want;
    for (int i = 0; i < 20; ++i)  // aiohttp's content_length: None for a chunked page
        want.push_back("Read " + (i % 2 ? std::string("None") : std::to_string(TestHttpServer::kBodySize)) +
                       " from " + urls[static_cast<std::size_t>(i)]);
    std::sort(out.begin(), out.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(out, want);
    EXPECT_EQ(server.requests(), 20);
}

TEST(Seed002Asyncio, AFailedDownloadIsReportedNotHidden) {
    TestHttpServer server;
    std::string good = server.url("/fixed/1");
    Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_ASYNCIO, {good, "http://127.0.0.1:1/x"});
    EXPECT_TRUE(o.exited && o.exit_code == 1) << describe(o);
    EXPECT_NE(o.err.find("http://127.0.0.1:1/x"), std::string::npos) << describe(o);
    EXPECT_NE(o.out.find("Read 5000 from " + good), std::string::npos) << describe(o);
}

TEST(Seed002Asyncio, NoUrlDownloadsTheSeedSitesFromTheLocalServer) {
    expect_the_seed_sites(run_example(EXAMPLE_SEED002_DOWNLOAD_ASYNCIO, {}), "Downloaded 160 sites in ", true);
}

// ---- multiprocessing examples ------------------------------------------------

namespace {

// Python's os.cpu_count() as concur::multiprocessing::cpu_count() sees it
// (the affinity mask): how many workers a Pool() starts by default.
int affinity_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    return CPU_COUNT(&set);
}

// Whether `s` is `prefix` followed by a number in 1..max ("ForkServerProcess-2").
bool is_numbered(std::string_view s, std::string_view prefix, int max) {
    if (s.substr(0, prefix.size()) != prefix || !is_digits(s.substr(prefix.size()))) return false;
    int n = std::stoi(std::string(s.substr(prefix.size())));
    return n >= 1 && n <= max;
}

// sum(i * i for i in range(n)), the plain way, as Python's unbounded int
// would print it.
__extension__ typedef unsigned __int128 uint128;
std::string sequential_square_sum(long n) {
    uint128 sum = 0;
    for (long i = 0; i < n; ++i) sum += static_cast<uint128>(i) * static_cast<uint128>(i);
    std::string digits;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(sum % 10)));
        sum /= 10;
    } while (sum != 0);
    return digits;
}

TEST(Seed000Multiprocessing, TwentyProcessesCountAndReportTheTime) {
    Outcome o = run_example(EXAMPLE_SEED000_MULTIPROCESSING_COUNT, {"20", "100000"});
    // Exit 0 also says every child exited 0 (the example checks their exit codes).
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 1u) << describe(o);
    EXPECT_TRUE(is_timing_line(out[0], "Total cost time is:  ", "")) << out[0];
    EXPECT_EQ(o.err, "") << describe(o);
}

TEST(Seed000Multiprocessing, BadArgumentsPrintUsage) {
    for (auto args : {std::vector<std::string>{"x"}, {"-1"}, {"3", "y"}, {"1", "2", "3"}}) {
        Outcome o = run_example(EXAMPLE_SEED000_MULTIPROCESSING_COUNT, args);
        EXPECT_TRUE(o.exited && o.exit_code == 2) << describe(o);
        EXPECT_NE(o.err.find("usage:"), std::string::npos) << describe(o);
        EXPECT_EQ(o.out, "");
    }
}

// submit(action, 3): one worker name, then 103; map(action, [1, 3, 5]): three
// worker names (each printed when its call starts, so in any order with the
// results) and 101, 103, 105 in input order.
TEST(Seed001ProcessPool, ActionPrintsItsWorkerAndReturnsNumPlus100) {
    Outcome o = run_example(EXAMPLE_SEED001_PROCESS_POOL_ACTION, {"0.01"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 9u) << describe(o);
    EXPECT_TRUE(is_numbered(out[0], "ForkServerProcess-", 3)) << out[0];
    EXPECT_EQ(out[1], "单个任务返回:103");
    EXPECT_EQ(out[2], std::string(30, '-'));
    std::vector<std::string> results;
    int names = 0;
    for (std::size_t i = 3; i < out.size(); ++i) {
        if (out[i].rfind("多个任务返回:", 0) == 0) {
            results.push_back(out[i]);
        } else {
            EXPECT_TRUE(is_numbered(out[i], "ForkServerProcess-", 3)) << out[i];
            ++names;
        }
    }
    EXPECT_EQ(names, 3) << describe(o);
    EXPECT_EQ(results, (std::vector<std::string>{"多个任务返回:101", "多个任务返回:103", "多个任务返回:105"}));
    EXPECT_EQ(o.err, "") << describe(o);

    o = run_example(EXAMPLE_SEED001_PROCESS_POOL_ACTION, {"-1"});
    EXPECT_TRUE(o.exited && o.exit_code == 2) << describe(o);
    EXPECT_NE(o.err.find("usage:"), std::string::npos) << describe(o);
}

TEST(Seed001Fragments, EveryFragmentRunsThenTheQueriesOnAProcessPool) {
    Outcome o = run_example(EXAMPLE_SEED001_MULTIPROCESSING_FRAGMENTS, {"0.01"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    const std::vector<std::string> fragments = {
        "== 多进程引用模块",
        "Process-1 exitcode: 0",  // Python's name for multiprocessing.Process's first child
        "== 数据通信: Queue",
        "item: 1",
        "== 数据通信: Lock",
        "locked inside `with lock`: True",
        "locked after it: False",
        "== 池化技术",
        "results: [1, 2, 3]",
        "result: 1",
        "== 多进程",
    };
    ASSERT_EQ(out.size(), fragments.size() + 11) << describe(o);
    EXPECT_EQ(std::vector<std::string>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(fragments.size())),
              fragments);
    std::vector<int> nums;  // the workers print them as they run: any order
    for (std::size_t i = fragments.size(); i + 1 < out.size(); ++i) {
        ASSERT_TRUE(is_digits(out[i])) << out[i];
        nums.push_back(std::stoi(out[i]));
    }
    std::sort(nums.begin(), nums.end());
    EXPECT_EQ(nums, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    EXPECT_TRUE(is_timing_line(out.back(), "时间差:", "")) << out.back();
    EXPECT_EQ(o.err, "") << describe(o);
}

TEST(Seed002DownloadPool, EveryPageIsReadByAPoolWorkerWithItsOwnSession) {
    TestHttpServer server;
    std::vector<std::string> urls;
    for (int i = 0; i < 20; ++i)
        urls.push_back(server.url((i % 2 ? "/chunked/" : "/fixed/") + std::to_string(i)));
    Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_POOL, urls);
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 21u) << describe(o);
    EXPECT_TRUE(is_timing_line(out.back(), "Downloaded 20 in ", " seconds")) << out.back();
    out.pop_back();
    const int workers = affinity_cpus();  // Pool() starts cpu_count() workers
    std::vector<std::string> reads, want;
    for (const auto& line : out) {
        std::size_t colon = line.find(":Read ");
        ASSERT_NE(colon, std::string::npos) << line;
        EXPECT_TRUE(is_numbered(line.substr(0, colon), "ForkServerPoolWorker-", workers)) << line;
        reads.push_back(line.substr(colon + 1));
    }
    for (const auto& url : urls)
        want.push_back("Read " + std::to_string(TestHttpServer::kBodySize) + " from " + url);
    std::sort(reads.begin(), reads.end());  // the workers finish them in any order
    std::sort(want.begin(), want.end());
    EXPECT_EQ(reads, want);
    EXPECT_EQ(server.requests(), 20);
    // One global session, hence one keep-alive connection, per worker process.
    EXPECT_GE(server.connections(), 1);
    EXPECT_LE(server.connections(), workers);
}

TEST(Seed002DownloadPool, AFailedDownloadIsAClearErrorFromTheWorker) {
    RefusingPort refusing;
    std::string url = "http://127.0.0.1:" + std::to_string(refusing.port()) + "/";
    Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_POOL, {url, url, url});
    ASSERT_TRUE(o.exited) << describe(o);
    EXPECT_EQ(o.exit_code, 1) << describe(o);
    EXPECT_NE(o.err.find(url), std::string::npos) << describe(o);
    EXPECT_NE(o.err.find("refused"), std::string::npos) << describe(o);
    EXPECT_EQ(o.out.find("Downloaded"), std::string::npos) << describe(o);
}

TEST(Seed002DownloadPool, NoUrlDownloadsTheSeedSitesFromTheLocalServer) {
    Outcome o = run_example(EXAMPLE_SEED002_DOWNLOAD_POOL, {});
    expect_the_seed_sites(o, "Downloaded 160 in ", false);
    EXPECT_NE(o.out.find("ForkServerPoolWorker-"), std::string::npos) << describe(o);
}

TEST(Seed002CpuPool, SumsMatchASequentialComputation) {
    Outcome o = run_example(EXAMPLE_SEED002_CPU_POOL, {"8", "30000"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 9u) << describe(o);
    for (long x = 0; x < 8; ++x) {  // pool.map keeps the input order
        long n = 30000 + x;
        EXPECT_EQ(out[static_cast<std::size_t>(x)],
                  "cpu_bound(" + std::to_string(n) + ") = " + sequential_square_sum(n));
    }
    EXPECT_TRUE(is_timing_line(out.back(), "Duration ", " seconds")) << out.back();

    // The seed's first number: a sum past 2^64, printed as Python prints it.
    o = run_example(EXAMPLE_SEED002_CPU_POOL, {"1", "5000000"});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    out = lines(o.out);
    ASSERT_EQ(out.size(), 2u) << describe(o);
    EXPECT_EQ(out[0], "cpu_bound(5000000) = 41666654166667500000");

    o = run_example(EXAMPLE_SEED002_CPU_POOL, {"two"});
    EXPECT_TRUE(o.exited && o.exit_code == 2) << describe(o);
    EXPECT_NE(o.err.find("usage:"), std::string::npos) << describe(o);
}

// Each MyProcess is started and joined before the next: one line each, in order.
TEST(Seed003ProcessSubclass, EachChildRunsTheOverriddenRunAndKnowsItsName) {
    Outcome o = run_example(EXAMPLE_SEED003_PROCESS_SUBCLASS, {});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    std::vector<std::string> want;
    for (int i = 1; i <= 5; ++i)
        want.push_back("called run method in process: ForkServerProcess-" + std::to_string(i));
    EXPECT_EQ(lines(o.out), want) << describe(o);
    EXPECT_EQ(o.err, "") << describe(o);
}

TEST(Seed003ProcessPoolAsCompleted, PrintsEveryResult) {
    Outcome o = run_example(EXAMPLE_SEED003_PROCESS_POOL_AS_COMPLETED, {});
    ASSERT_TRUE(o.exited && o.exit_code == 0) << describe(o);
    auto out = lines(o.out);
    ASSERT_EQ(out.size(), 11u) << describe(o);
    // count(x) loops i over range(10_000_000), adds 1 to the last i: 10_000_000 * x.
    std::vector<long> got, want;
    for (std::size_t i = 0; i < 10; ++i) {
        ASSERT_TRUE(is_digits(out[i])) << out[i];
        got.push_back(std::stol(out[i]));
        want.push_back(10'000'000L * static_cast<long>(i + 1));
    }
    std::sort(got.begin(), got.end());  // completion order varies
    EXPECT_EQ(got, want);
    EXPECT_TRUE(is_timing_line(out[10], "Process pool execution in ", " seconds")) << out[10];
}

}  // namespace
