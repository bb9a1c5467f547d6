// The site: its listening socket, its connections, and the sweep that
// closes the idle ones. Loop thread only.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "concur/asyncio/streams.hpp"
#include "concur/errors.hpp"
#include "site.hpp"

namespace concur::http::server {

Site::Site(asyncio::EventLoop& l, SiteOptions o, std::shared_ptr<SiteStats> stats)
    : loop(l), counters(std::move(stats)), options(std::move(o)), scratch_(new char[kScratch]) {
    if (options.max_header_bytes == 0) throw ValueError("SiteOptions.max_header_bytes must be at least 1");
    if (options.latency.count() < 0) throw ValueError("SiteOptions.latency must not be negative");
    if (options.idle_timeout.count() <= 0) throw ValueError("SiteOptions.idle_timeout must be positive");
    if (options.backlog <= 0) throw ValueError("SiteOptions.backlog must be positive");
    render_all();

    settings.on_message_begin = &Conn::on_message_begin;
    settings.on_url = &Conn::on_url;
    settings.on_header_field = &Conn::on_header_bytes;
    settings.on_header_value = &Conn::on_header_bytes;
    settings.on_message_complete = &Conn::on_message_complete;

    // The sweep runs four times per idle_timeout (at most once a second, at
    // least every 5 ms): a connection is closed between 1 and 1.25 timeouts
    // (or 1 s over) after its last progress.
    auto tick = std::clamp<asyncio::Clock::duration>(
        std::chrono::duration_cast<asyncio::Clock::duration>(options.idle_timeout) / 4,
        std::chrono::milliseconds(5), std::chrono::seconds(1));
    tick_len_ = tick;
    idle_ticks_ = static_cast<std::uint32_t>((options.idle_timeout + tick - std::chrono::nanoseconds(1)) / tick);
    if (idle_ticks_ == 0) idle_ticks_ = 1;

    listen_on(options.host, options.port);
    lwatch_.site = this;
    lwatch_.ready = [](asyncio::detail::IoWatch* w) noexcept { static_cast<Listener*>(w)->site->accept_ready(); };
    sweep_.site = retry_.site = this;
    sweep_.fire = [](asyncio::detail::TimerEntry* t) noexcept { static_cast<Tick*>(t)->site->sweep(); };
    retry_.fire = [](asyncio::detail::TimerEntry* t) noexcept {
        Site* s = static_cast<Tick*>(t)->site;
        try {
            s->loop.watch_fd(s->lfd_, &s->lwatch_, nullptr);
        } catch (...) {
            s->retry_.when = asyncio::Clock::now() + std::chrono::milliseconds(100);
            s->loop.add_timer(&s->retry_);
        }
    };
    try {
        loop.watch_fd(lfd_, &lwatch_, nullptr);
        sweep_.when = asyncio::Clock::now() + tick_len_;
        loop.add_timer(&sweep_);
    } catch (...) {
        loop.unwatch_fd(lfd_);
        ::close(lfd_);
        throw;
    }
    counters.listening(port_);
}

Site::~Site() {
    loop.cancel_timer(&sweep_);
    loop.cancel_timer(&retry_);
    loop.unwatch_fd(lfd_);
    ::shutdown(lfd_, SHUT_RDWR);  // io_uring withdraws its poll a step later: stop listening now
    ::close(lfd_);
    while (conns_) {
        Conn* c = conns_;
        unlink(c);
        delete c;
    }
}

void Site::listen_on(const std::string& host_in, std::uint16_t port) {
    std::string host = host_in == "localhost" ? "127.0.0.1" : host_in;
    sockaddr_storage ss{};
    socklen_t len;
    int family;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        family = v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        family = v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof *v6;
    } else {
        throw ValueError("SiteOptions.host must be a numeric IPv4 or IPv6 address or \"localhost\", not '" +
                         host_in + "'");
    }
    std::string where = family == AF_INET6 ? std::string("[") : std::string();
    where += host;
    if (family == AF_INET6) where += ']';
    where += ':';
    where += std::to_string(port);
    lfd_ = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd_ < 0) asyncio::detail::raise_os_error(errno, "socket for " + where);
    int one = 1;
    ::setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(lfd_, reinterpret_cast<sockaddr*>(&ss), len) < 0 || ::listen(lfd_, options.backlog) < 0) {
        int err = errno;
        ::close(lfd_);
        asyncio::detail::raise_os_error(err, "listen on " + where);
    }
    sockaddr_storage got{};
    socklen_t glen = sizeof got;
    ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&got), &glen);
    port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&got)->sin_port
                                    : reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
}

void Site::accept_ready() noexcept {
    // A bounded batch per wake-up: a flood of connections does not starve
    // the requests of those already open.
    for (int i = 0; i < 256; ++i) {
        int fd = ::accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            if (err == EINTR || err == ECONNABORTED) continue;
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                // Out of descriptors: stop accepting for a moment rather
                // than spin; the backlog holds the rest meanwhile.
                loop.unwatch_fd(lfd_);
                retry_.when = asyncio::Clock::now() + std::chrono::milliseconds(100);
                try {
                    if (!retry_.queued()) loop.add_timer(&retry_);
                } catch (...) {
                }
            }
            return;
        }
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        Conn* c;
        try {
            c = new Conn(*this, fd);
        } catch (...) {
            ::close(fd);
            continue;
        }
        c->next = conns_;
        if (conns_) conns_->prev = c;
        conns_ = c;
        counters.accepted();
        if (!c->start()) c->destroy();
    }
}

void Site::unlink(Conn* c) noexcept {
    if (c->prev) c->prev->next = c->next; else conns_ = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = nullptr;
}

void Site::sweep() noexcept {
    ++tick;
    for (Conn* c = conns_; c;) {
        Conn* next = c->next;
        std::uint32_t age = tick - c->last_tick;
        // A lingering close waits for the client's EOF one or two ticks.
        if (age >= (c->lingering() ? std::min<std::uint32_t>(2, idle_ticks_) : idle_ticks_)) c->destroy();
        c = next;
    }
    sweep_.when = asyncio::Clock::now() + tick_len_;
    try {
        loop.add_timer(&sweep_);
    } catch (...) {
    }
}

}  // namespace concur::http::server
