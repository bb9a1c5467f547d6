// The small parts the stream transport is built from: its byte buffer,
// the wait lists drain()/wait_closed()/serve_forever() park on, socket
// address conversion and errno -> exception mapping.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <new>

#include "transport.hpp"

namespace concur::asyncio::detail {

// ---- ByteBuffer -----------------------------------------------------------------

void ByteBuffer::append(const char* p, std::size_t n) {
    if (n == 0) return;
    if (cap_ - tail_ < n) {
        std::size_t sz = size();
        if (head_ > 0 && sz + n <= cap_ && sz <= cap_ / 2) {
            std::memmove(data_, data_ + head_, sz);
        } else {
            std::size_t cap = cap_ ? cap_ : 512;
            while (cap < sz + n) cap *= 2;
            char* d;
            if (head_ == 0) {
                d = static_cast<char*>(std::realloc(data_, cap));
                if (!d) throw std::bad_alloc();
            } else {
                d = static_cast<char*>(std::malloc(cap));
                if (!d) throw std::bad_alloc();
                std::memcpy(d, data_ + head_, sz);
                std::free(data_);
            }
            data_ = d;
            cap_ = cap;
        }
        head_ = 0;
        tail_ = sz;
    }
    std::memcpy(data_ + tail_, p, n);
    tail_ += n;
}

void ByteBuffer::prepend(const char* p, std::size_t n) {
    if (n == 0) return;
    if (head_ >= n) {
        head_ -= n;
        std::memcpy(data_ + head_, p, n);
        return;
    }
    std::size_t sz = size();
    std::size_t cap = std::max<std::size_t>(cap_, 512);
    while (cap < sz + n) cap *= 2;
    auto* d = static_cast<char*>(std::malloc(cap));
    if (!d) throw std::bad_alloc();
    std::memcpy(d, p, n);
    if (sz) std::memcpy(d + n, data_ + head_, sz);
    std::free(data_);
    data_ = d;
    cap_ = cap;
    head_ = 0;
    tail_ = sz + n;
}

// ---- waiting ----------------------------------------------------------------------

void WaitList::push(WaitNode* n) noexcept {
    n->prev = tail_;
    n->next = nullptr;
    if (tail_) tail_->next = n; else head_ = n;
    tail_ = n;
    n->linked = true;
}

void WaitList::remove(WaitNode* n) noexcept {
    if (!n->linked) return;
    if (n->prev) n->prev->next = n->next; else head_ = n->next;
    if (n->next) n->next->prev = n->prev; else tail_ = n->prev;
    n->prev = n->next = nullptr;
    n->linked = false;
}

void WaitList::wake_all() noexcept {
    WaitNode* n = head_;
    head_ = tail_ = nullptr;
    while (n) {
        WaitNode* next = n->next;
        n->prev = n->next = nullptr;
        n->linked = false;
        n->task->wakeup();
        n = next;
    }
}

void ListWait::await_suspend(std::coroutine_handle<> h) {
    task = TaskBase::current();
    if (!task) throw RuntimeError("asyncio streams: await them from a task on the stream's loop");
    Suspension::cancel = [](Suspension* s, const std::string*) noexcept {
        auto* self = static_cast<ListWait*>(s);
        self->list->remove(self);
        self->cancelled = true;
        self->task->wakeup();
        return true;
    };
    list->push(this);
    task->suspend(h, this);
}

void ListWait::await_resume() {
    task->check_cancel();
    if (cancelled) std::rethrow_exception(task->make_cancelled_error());
}

// ---- sockets --------------------------------------------------------------------------

void set_nodelay(int fd) noexcept {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

SocketAddress socket_address(const void* sa, unsigned len) {
    SocketAddress a;
    const auto* base = static_cast<const sockaddr*>(sa);
    a.family = base->sa_family;
    char text[INET6_ADDRSTRLEN] = {};
    if (base->sa_family == AF_INET) {
        const auto* in = static_cast<const sockaddr_in*>(sa);
        inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        a.host = text;
        a.port = ntohs(in->sin_port);
    } else if (base->sa_family == AF_INET6) {
        const auto* in6 = static_cast<const sockaddr_in6*>(sa);
        inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
        a.host = text;
        a.port = ntohs(in6->sin6_port);
    } else if (base->sa_family == AF_UNIX) {
        const auto* un = static_cast<const sockaddr_un*>(sa);
        std::size_t off = offsetof(sockaddr_un, sun_path);
        std::size_t n = len > off ? len - off : 0;
        if (n > 0 && un->sun_path[0] != '\0') n = strnlen(un->sun_path, n);  // else abstract: keep the '\0'
        a.host.assign(un->sun_path, n);
    }
    return a;
}

std::exception_ptr make_os_error(int err, std::string_view context) noexcept {
    try {
        char buf[256];
        const char* text = strerror_r(err, buf, sizeof buf);
        std::string msg(context);
        msg += ": [Errno " + std::to_string(err) + "] " + text;
        switch (err) {
            case EPIPE:
            case ESHUTDOWN: return std::make_exception_ptr(BrokenPipeError(err, msg));
            case ECONNABORTED: return std::make_exception_ptr(ConnectionAbortedError(err, msg));
            case ECONNREFUSED: return std::make_exception_ptr(ConnectionRefusedError(err, msg));
            case ECONNRESET: return std::make_exception_ptr(ConnectionResetError(err, msg));
            case ETIMEDOUT: return std::make_exception_ptr(TimeoutError(msg));
            default: return std::make_exception_ptr(OSError(err, msg));
        }
    } catch (...) {
        return std::current_exception();
    }
}

void raise_os_error(int err, std::string_view context) { std::rethrow_exception(make_os_error(err, context)); }

}  // namespace concur::asyncio::detail

namespace concur::asyncio {

std::string SocketAddress::to_string() const {
    if (family == AF_INET6) return "[" + host + "]:" + std::to_string(port);
    if (family == AF_INET) return host + ":" + std::to_string(port);
    return host;
}

}  // namespace concur::asyncio
