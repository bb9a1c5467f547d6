// open_connection / open_unix_connection: name resolution that never blocks
// the loop, and non-blocking connect.
//
//   numeric host --inet_pton--> address            (on the loop, at once)
//   name --getaddrinfo on the default executor--> addresses
//        (the task awaits the concurrent future; the loop keeps running)
//   each address: socket, connect (EINPROGRESS) --wait writable--> SO_ERROR
#include "connect.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "concur/asyncio/tasks.hpp"
#include "concur/asyncio/threads.hpp"
#include "transport.hpp"

namespace concur::asyncio::detail {

namespace {

std::optional<std::vector<Resolved>> resolve_numeric(const std::string& host, uint16_t port, int family) {
    Resolved r{};
    if (family != AF_INET6) {
        auto* in = reinterpret_cast<sockaddr_in*>(&r.addr);
        if (inet_pton(AF_INET, host.c_str(), &in->sin_addr) == 1) {
            in->sin_family = AF_INET;
            in->sin_port = htons(port);
            r.len = sizeof(sockaddr_in);
            r.family = AF_INET;
            return std::vector<Resolved>(1, r);
        }
    }
    if (family != AF_INET) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&r.addr);
        if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons(port);
            r.len = sizeof(sockaddr_in6);
            r.family = AF_INET6;
            return std::vector<Resolved>(1, r);
        }
    }
    return std::nullopt;
}

// Closes a socket unless it was handed on.
struct FdCloser {
    int fd;
    explicit FdCloser(int f) noexcept : fd(f) {}
    FdCloser(const FdCloser&) = delete;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
    int release() noexcept { return std::exchange(fd, -1); }
};

// Waits for a connecting socket to become writable.
struct FdWritable : Suspension, IoWatch {
    EventLoop& loop;
    int fd;
    TaskBase* task = nullptr;
    bool watching = false;
    bool cancelled = false;
    FdWritable(EventLoop& l, int f) noexcept : loop(l), fd(f) {}
    FdWritable(const FdWritable&) = delete;
    ~FdWritable() { stop(); }
    void stop() noexcept {
        if (watching) {
            watching = false;
            loop.unwatch_fd(fd);
        }
    }
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        task = TaskBase::current();
        if (!task) throw RuntimeError("asyncio streams: connect from a task on the running loop");
        IoWatch::ready = [](IoWatch* w) noexcept {
            auto* self = static_cast<FdWritable*>(w);
            self->stop();
            self->task->wakeup();
        };
        Suspension::cancel = [](Suspension* s, const std::string*) noexcept {
            auto* self = static_cast<FdWritable*>(s);
            self->stop();
            self->cancelled = true;
            self->task->wakeup();
            return true;
        };
        loop.watch_fd(fd, nullptr, this);
        watching = true;
        task->suspend(h, this);
    }
    void await_resume() {
        task->check_cancel();
        if (cancelled) std::rethrow_exception(task->make_cancelled_error());
    }
};

int errno_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const OSError& x) {
        return x.errno_value();
    } catch (const TimeoutError&) {
        return ETIMEDOUT;
    } catch (...) {
        return -1;
    }
}

std::string what_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "unknown error";
    }
}

// Python's create_connection: one error is thrown as is; several become
// OSError("Multiple exceptions: ..."), except that errors which all share
// one errno are thrown as the first (so ConnectionRefusedError survives
// "localhost" resolving to both ::1 and 127.0.0.1).
[[noreturn]] void throw_connect_errors(const std::vector<std::exception_ptr>& errors) {
    if (errors.empty()) throw OSError(0, "open_connection: no address to connect to");
    int first = errno_of(errors[0]);
    bool same = std::all_of(errors.begin(), errors.end(), [&](const auto& e) { return errno_of(e) == first; });
    if (errors.size() == 1 || same) std::rethrow_exception(errors[0]);
    std::string msg = "Multiple exceptions: ";
    for (std::size_t i = 0; i < errors.size(); ++i) msg += (i ? ", " : "") + what_of(errors[i]);
    throw OSError(0, msg);
}

Task<std::pair<StreamReader, StreamWriter>> connect_stream(std::vector<Resolved> addrs, std::size_t limit) {
    EventLoop& loop = get_running_loop();
    std::vector<std::exception_ptr> errors;
    for (const Resolved& a : addrs) {
        const auto* sa = reinterpret_cast<const sockaddr*>(&a.addr);
        bool tcp = a.family != AF_UNIX;
        std::string where = "connect to " + socket_address(&a.addr, a.len).to_string();
        FdCloser sock{::socket(a.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
        if (sock.fd < 0) {
            errors.push_back(make_os_error(errno, "socket"));
            continue;
        }
        if (tcp) set_nodelay(sock.fd);
        int err = 0;
        for (;;) {
            if (::connect(sock.fd, sa, a.len) == 0) break;
            err = errno;
            if (err == EINTR) continue;
            if (err == EINPROGRESS) {
                FdWritable w(loop, sock.fd);
                co_await w;
                socklen_t len = sizeof err;
                if (getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
            } else if (err == EAGAIN && !tcp) {
                // A Unix listener's backlog is full: connect() does not
                // queue, so try again shortly.
                co_await asyncio::sleep(std::chrono::milliseconds(1));
                continue;
            }
            break;
        }
        if (err) {
            errors.push_back(make_os_error(err, where));
            continue;
        }
        auto* s = new Stream(&loop, sock.fd, Stream::Kind::socket, limit);
        sock.release();
        StreamPtr owner = StreamPtr::adopt(s);
        s->start();
        s->retain();
        StreamReader reader(s);
        StreamWriter writer(owner.detach());
        co_return std::pair<StreamReader, StreamWriter>(std::move(reader), std::move(writer));
    }
    throw_connect_errors(errors);
}

}  // namespace

std::vector<Resolved> getaddrinfo_blocking(std::string host, uint16_t port, int family, bool passive) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    std::string service = std::to_string(port);
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
    std::string where = "getaddrinfo('" + host + "')";
    if (rc == EAI_SYSTEM) raise_os_error(errno, where);
    if (rc != 0) throw OSError(rc, where + ": [Errno " + std::to_string(rc) + "] " + gai_strerror(rc));
    std::vector<Resolved> out;
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
        Resolved r{};
        std::memcpy(&r.addr, ai->ai_addr, ai->ai_addrlen);
        r.len = ai->ai_addrlen;
        r.family = ai->ai_family;
        bool dup = std::any_of(out.begin(), out.end(), [&](const Resolved& o) {
            return o.len == r.len && std::memcmp(&o.addr, &r.addr, r.len) == 0;
        });
        if (!dup) out.push_back(r);
    }
    freeaddrinfo(res);
    return out;
}

Task<std::vector<Resolved>> resolve(std::string host, uint16_t port, int family, bool passive) {
    if (!host.empty()) {
        if (auto r = resolve_numeric(host, port, family)) co_return std::move(*r);
    } else if (passive) {
        co_return getaddrinfo_blocking(host, port, family, true);  // wildcard addresses: no lookup
    }
    std::vector<Resolved> r = co_await to_thread(&getaddrinfo_blocking, std::move(host), port, family, passive);
    co_return r;
}

bool unix_address(const std::string& path, Resolved& out) {
    auto* un = reinterpret_cast<sockaddr_un*>(&out.addr);
    if (path.empty() || path.size() >= sizeof un->sun_path) return false;
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.data(), path.size());
    // An abstract name ('\0' first) is exactly its bytes; a path ends at
    // its NUL.
    out.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path[0] == '\0' ? 0 : 1));
    out.family = AF_UNIX;
    return true;
}

}  // namespace concur::asyncio::detail

namespace concur::asyncio {

Task<std::pair<StreamReader, StreamWriter>> open_connection(std::string host, uint16_t port, ConnectOptions options) {
    if (host.empty()) throw ValueError("open_connection(): a host is needed (\"127.0.0.1\", \"localhost\", ...)");
    if (options.limit == 0) throw ValueError("Limit cannot be <= 0");
    std::vector<detail::Resolved> addrs = co_await detail::resolve(std::move(host), port, options.family, false);
    co_return co_await detail::connect_stream(std::move(addrs), options.limit);
}

Task<std::pair<StreamReader, StreamWriter>> open_unix_connection(std::string path, ConnectOptions options) {
    if (options.limit == 0) throw ValueError("Limit cannot be <= 0");
    detail::Resolved a{};
    if (!detail::unix_address(path, a))
        throw OSError(ENAMETOOLONG, "open_unix_connection('" + path + "'): the path is empty or too long for AF_UNIX");
    std::vector<detail::Resolved> addrs(1, a);
    co_return co_await detail::connect_stream(std::move(addrs), options.limit);
}

}  // namespace concur::asyncio
