// start_server / start_unix_server and Python's asyncio.Server.
//
//   listening socket readable --accept4 (up to backlog per wake)--> Stream
//     --> handler(reader, writer): a Task<> runs as a task of its own
//   Server.close(): stop listening; wait_closed(): until closed and every
//   accepted connection is gone (each Stream detaches when its fd closes)
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>

#include "concur/asyncio/streams.hpp"
#include "concur/asyncio/tasks.hpp"
#include "connect.hpp"
#include "transport.hpp"

namespace concur::asyncio::detail {

class ServerState {
public:
    struct Listener : IoWatch {
        ServerState* st = nullptr;
        int fd = -1;
        bool tcp = true;
        bool listening = false;
        SocketAddress addr;
        // A Unix socket's file, removed on close if it is still ours.
        std::string path;
        dev_t dev = 0;
        ino_t ino = 0;
    };

    ServerState(EventLoop& l, ClientCallback c, const ServerOptions& o)
        : loop(l), cb(std::move(c)), limit(o.limit), backlog(o.backlog) {
        retry.owner = this;
        retry.fire = [](TimerEntry* t) noexcept {
            ServerState* st = static_cast<Retry*>(t)->owner;
            if (st->serving) st->watch_listeners(true);
        };
    }
    ServerState(const ServerState&) = delete;
    ~ServerState() { close(); }

    void retain() noexcept { ++refs; }
    void release() noexcept {
        if (--refs == 0) delete this;
    }
    void add_handle() noexcept {
        ++handles;
        ++refs;
    }
    void drop_handle() noexcept {
        if (--handles == 0) close();
        release();
    }

    Listener& add_listener(int fd, bool tcp) {
        auto l = std::make_unique<Listener>();
        l->st = this;
        l->fd = fd;
        l->tcp = tcp;
        l->ready = [](IoWatch* w) noexcept {
            auto* self = static_cast<Listener*>(w);
            ServerState* st = self->st;
            st->retain();  // a callback may drop the last Server handle
            st->accept_ready(*self);
            st->release();
        };
        listeners.push_back(std::move(l));
        return *listeners.back();
    }

    void start_serving() {
        if (closed) throw RuntimeError("server is closed");
        if (serving) return;
        for (auto& l : listeners) {
            if (!l->listening) {
                if (::listen(l->fd, backlog) < 0) raise_os_error(errno, "listen on " + l->addr.to_string());
                l->listening = true;
            }
        }
        serving = true;
        watch_listeners(true);
    }

    void watch_listeners(bool on) noexcept {
        for (auto& l : listeners) {
            if (l->fd < 0) continue;
            if (on) {
                try {
                    loop.watch_fd(l->fd, l.get(), nullptr);
                } catch (...) {
                    report("Cannot watch a listening socket", std::current_exception());
                }
            } else {
                loop.unwatch_fd(l->fd);
            }
        }
    }

    void close() noexcept {
        if (closed) return;
        closed = true;
        serving = false;
        loop.cancel_timer(&retry);
        for (auto& l : listeners) {
            if (l->fd < 0) continue;
            loop.unwatch_fd(l->fd);
            // The io_uring backend withdraws its poll on the next loop
            // iteration, and until then the socket outlives close() and
            // still takes connections (reset later, where Python's peer
            // sees ECONNREFUSED). shutdown() stops listening now.
            if (l->listening) ::shutdown(l->fd, SHUT_RDWR);
            ::close(l->fd);
            l->fd = -1;
            struct stat st{};
            if (!l->path.empty() && l->path[0] != '\0' && ::stat(l->path.c_str(), &st) == 0 &&
                st.st_dev == l->dev && st.st_ino == l->ino)
                ::unlink(l->path.c_str());
        }
        forever.wake_all();
        if (active == 0) closed_waiters.wake_all();
    }

    void for_each_client(void (Stream::*fn)() noexcept) {
        std::vector<StreamPtr> all;
        for (Stream* s = clients; s; s = s->server_next) all.emplace_back(s);
        for (auto& s : all) ((*s).*fn)();
    }

    void accept_ready(Listener& l) noexcept {
        for (int i = 0; i < backlog && !closed; ++i) {
            int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                int err = errno;
                if (err == EINTR) continue;
                if (err == EAGAIN || err == EWOULDBLOCK || err == ECONNABORTED) return;
                if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                    // Python's accept_retry_delay: stop accepting for a
                    // second rather than spin on a full descriptor table.
                    report("socket.accept() out of system resource", make_os_error(err, "accept"));
                    watch_listeners(false);
                    retry.when = Clock::now() + std::chrono::seconds(1);
                    if (!retry.queued()) loop.add_timer(&retry);
                    return;
                }
                report("Error on accept()", make_os_error(err, "accept"));
                return;
            }
            accepted(fd, l.tcp);
        }
    }

    void accepted(int fd, bool tcp) noexcept {
        if (tcp) set_nodelay(fd);
        Stream* s;
        try {
            s = new Stream(&loop, fd, Stream::Kind::socket, limit);
        } catch (...) {
            ::close(fd);
            report("Cannot set up an accepted connection", std::current_exception());
            return;
        }
        StreamPtr owner = StreamPtr::adopt(s);
        // Python's Server._attach.
        s->server = this;
        retain();
        s->server_next = clients;
        if (clients) clients->server_prev = s;
        clients = s;
        ++active;
        try {
            s->start();
            s->retain();
            StreamReader reader(s);
            s->retain();
            StreamWriter writer(s);
            if (cb.coro) {
                Task<> body = cb.coro(std::move(reader), writer);
                (void)create_task(run_client(ServerPtr(this), std::move(body), std::move(writer)));
            } else {
                cb.plain(std::move(reader), std::move(writer));
            }
        } catch (...) {
            report("Exception in client_connected_cb", std::current_exception());
            s->abort();
        }
    }

    void detach(Stream* s) noexcept {
        if (s->server_prev) s->server_prev->server_next = s->server_next; else clients = s->server_next;
        if (s->server_next) s->server_next->server_prev = s->server_prev;
        s->server_prev = s->server_next = nullptr;
        s->server = nullptr;
        --active;
        if (closed && active == 0) closed_waiters.wake_all();
        release();
    }

    void report(const char* message, std::exception_ptr e) noexcept {
        try {
            ExceptionContext ctx{message, std::move(e)};
            loop.call_exception_handler(ctx);
        } catch (...) {
        }
    }

    class ServerPtr {
    public:
        explicit ServerPtr(ServerState* s) noexcept : s_(s) { s_->retain(); }
        ServerPtr(const ServerPtr& o) noexcept : ServerPtr(o.s_) {}
        ServerPtr& operator=(const ServerPtr&) = delete;
        ~ServerPtr() { s_->release(); }
        ServerState* operator->() const noexcept { return s_; }
        ServerState* get() const noexcept { return s_; }

    private:
        ServerState* s_;
    };

    // The client task: Python's client_connected_cb task plus the done
    // callback start_server attaches to it (report a failure, then close;
    // close when cancelled). Holds the server so the handler stays alive.
    static Task<> run_client(ServerPtr st, Task<> body, StreamWriter writer) {
        std::exception_ptr failure;
        try {
            co_await std::move(body);
            co_return;
        } catch (const CancelledError&) {
            writer.close();
            throw;
        } catch (...) {
            failure = std::current_exception();
        }
        st->report("Unhandled exception in client_connected_cb", failure);
        writer.close();
    }

    EventLoop& loop;
    ClientCallback cb;
    std::size_t limit;
    int backlog;
    std::vector<std::unique_ptr<Listener>> listeners;
    uint32_t refs = 1;
    uint32_t handles = 0;
    bool serving = false;
    bool closed = false;
    bool serving_forever = false;
    std::size_t active = 0;
    Stream* clients = nullptr;
    WaitList closed_waiters;  // wait_closed()
    WaitList forever;         // serve_forever()
    struct Retry : TimerEntry {
        ServerState* owner = nullptr;
    } retry;
};

void server_detach(ServerState* st, Stream* s) noexcept { st->detach(s); }

namespace {

using ServerPtr = ServerState::ServerPtr;

Task<> wait_closed_impl(ServerPtr st) {
    while (!(st->closed && st->active == 0)) {
        ListWait w(st->closed_waiters);
        co_await w;
    }
}

Task<> serve_forever_impl(ServerPtr st) {
    if (st->serving_forever) throw RuntimeError("the server is already being awaited on serve_forever()");
    if (st->closed) throw RuntimeError("the server is closed");
    st->start_serving();
    st->serving_forever = true;
    std::exception_ptr cancelled;
    try {
        ListWait w(st->forever);
        co_await w;  // woken only by close()
    } catch (const CancelledError&) {
        cancelled = std::current_exception();
    }
    st->serving_forever = false;
    st->close();
    co_await wait_closed_impl(st);
    if (cancelled) std::rethrow_exception(cancelled);
    throw CancelledError("the server was closed");  // Python cancels serve_forever's future
}

Task<> start_serving_impl(ServerPtr st) {
    st->start_serving();
    co_return;
}

int open_listener(ServerState& st, const Resolved& a, const ServerOptions& o) {
    int fd = ::socket(a.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    auto& l = st.add_listener(fd, a.family != AF_UNIX);  // closed with the state from here on
    int one = 1;
    if (a.family != AF_UNIX) {
        if (o.reuse_address) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (o.reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
            raise_os_error(errno, "setsockopt(SO_REUSEPORT)");
        // As Python: an IPv6 socket serves IPv6 only, its IPv4 twin the rest.
        if (a.family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&a.addr), a.len) < 0)
        raise_os_error(errno, "error while attempting to bind on address " + socket_address(&a.addr, a.len).to_string());
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) l.addr = socket_address(&ss, len);
    return fd;
}

}  // namespace

Task<Server> start_tcp_server(ClientCallback cb, std::string host, uint16_t port, ServerOptions options) {
    if (options.limit == 0) throw ValueError("Limit cannot be <= 0");
    EventLoop& loop = get_running_loop();
    std::vector<Resolved> addrs = co_await resolve(std::move(host), port, options.family, true);
    ServerPtr st(new ServerState(loop, std::move(cb), options));
    st->release();  // ServerPtr took its own reference
    int last_err = 0;
    for (const Resolved& a : addrs) {
        int fd = open_listener(*st.get(), a, options);
        // Python skips address families the kernel does not support.
        if (fd == -EAFNOSUPPORT) {
            last_err = EAFNOSUPPORT;
            continue;
        }
        if (fd < 0) raise_os_error(-fd, "socket");
    }
    if (st->listeners.empty()) raise_os_error(last_err ? last_err : EADDRNOTAVAIL, "start_server");
    if (options.start_serving) st->start_serving();
    st->retain();
    co_return Server(st.get());
}

Task<Server> start_unix_server(ClientCallback cb, std::string path, ServerOptions options) {
    if (options.limit == 0) throw ValueError("Limit cannot be <= 0");
    EventLoop& loop = get_running_loop();
    Resolved a{};
    if (!unix_address(path, a))
        throw OSError(ENAMETOOLONG, "start_unix_server('" + path + "'): the path is empty or too long for AF_UNIX");
    // Python removes a stale socket file left by an earlier server.
    struct stat st_path{};
    if (path[0] != '\0' && ::stat(path.c_str(), &st_path) == 0 && S_ISSOCK(st_path.st_mode)) ::unlink(path.c_str());
    ServerPtr st(new ServerState(loop, std::move(cb), options));
    st->release();
    int fd = open_listener(*st.get(), a, options);
    if (fd < 0) raise_os_error(-fd, "socket");
    auto& l = *st->listeners.back();
    l.path = path;
    if (path[0] != '\0' && ::stat(path.c_str(), &st_path) == 0) {
        l.dev = st_path.st_dev;
        l.ino = st_path.st_ino;
    }
    if (l.addr.host.empty()) l.addr.host = path;
    if (options.start_serving) st->start_serving();
    st->retain();
    co_return Server(st.get());
}

}  // namespace concur::asyncio::detail

namespace concur::asyncio {

Server::Server(detail::ServerState* adopt) noexcept : st_(adopt) { ++st_->handles; }
Server::Server(const Server& o) noexcept : st_(o.st_) {
    if (st_) st_->add_handle();
}
Server::~Server() {
    if (st_) st_->drop_handle();
}

void Server::close() { st_->close(); }
void Server::close_clients() { st_->for_each_client(&detail::Stream::close); }
void Server::abort_clients() { st_->for_each_client(&detail::Stream::abort); }
Task<> Server::wait_closed() { return detail::wait_closed_impl(detail::ServerPtr(st_)); }
Task<> Server::serve_forever() { return detail::serve_forever_impl(detail::ServerPtr(st_)); }
Task<> Server::start_serving() { return detail::start_serving_impl(detail::ServerPtr(st_)); }
bool Server::is_serving() const noexcept { return st_->serving; }
std::vector<SocketAddress> Server::sockets() const {
    std::vector<SocketAddress> out;
    if (st_->closed) return out;
    for (auto& l : st_->listeners) out.push_back(l->addr);
    return out;
}

}  // namespace concur::asyncio
