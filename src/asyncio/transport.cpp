// The per-connection transport (see transport.hpp for the data flow):
// readiness callbacks, the read conditions, the write path with its
// high/low water marks, and connection_lost.
#include "transport.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "concur/asyncio/task.hpp"

namespace concur::asyncio::detail {

namespace {

// One recv per readiness lands here first: a connection holds no read
// buffer of its own until bytes arrive that no parked read takes.
constexpr std::size_t kScratch = 64 * 1024;
// What an emptied buffer may keep (more is given back).
constexpr std::size_t kKeepWhenParked = 16 * 1024;
constexpr std::size_t kKeepWhenEmpty = 64 * 1024;

char* scratch() {
    thread_local std::unique_ptr<char[]> buf;  // not a TLS array: other threads pay nothing
    if (!buf) buf.reset(new char[kScratch]);
    return buf.get();
}

// write()/writev() on a pipe without SIGPIPE killing the process: the
// signal is blocked for the call and, if the call raised it, consumed
// before unblocking (unless it was already pending from elsewhere).
ssize_t pipe_writev(int fd, const iovec* iov, int count) noexcept {
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t k = ::writev(fd, iov, count);
    int err = errno;
    if (k < 0 && err == EPIPE && !was_pending) {
        timespec zero{};
        while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = err;
    return k;
}

bool would_block(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK; }

Task<> flush_then_close(StreamPtr s) {
    // Holds the last reference while what was written goes out; if the
    // loop cancels or drops this task first, the reference goes and the
    // descriptor is closed with the rest unsent.
    if (!s->lost) {
        ListWait w(s->close_waiters);
        co_await w;
    }
}

}  // namespace

// ---- ReadWait ----------------------------------------------------------------------

ReadWait::~ReadWait() {
    if (linked) s->read_waiter = nullptr;
}

void ReadWait::await_suspend(std::coroutine_handle<> h) {
    task = TaskBase::current();
    if (!task) throw RuntimeError("asyncio streams: await them from a task on the stream's loop");
    if (s->read_waiter)
        throw RuntimeError(std::string(func) + "() called while another coroutine is already waiting for incoming data");
    Suspension::cancel = [](Suspension* x, const std::string*) noexcept {
        auto* self = static_cast<ReadWait*>(x);
        if (self->linked) {
            self->s->read_waiter = nullptr;
            self->linked = false;
        }
        self->cancelled = true;
        self->task->wakeup();
        return true;
    };
    s->read_waiter = this;
    linked = true;
    task->suspend(h, this);  // may cancel at once (a cancel() was pending)
    if (linked) s->reader_parks();
}

void ReadWait::await_resume() {
    try {
        task->check_cancel();
    } catch (...) {
        // Woken with bytes, then cancelled before running: they go back.
        if (has_handoff) {
            has_handoff = false;
            s->rbuf.prepend(handoff.data(), handoff.size());
        }
        throw;
    }
    if (cancelled) std::rethrow_exception(task->make_cancelled_error());
}

// ---- Stream: life ------------------------------------------------------------------

Stream::Stream(EventLoop* l, int f, Kind k, std::size_t lim) : loop(l), fd(f), kind(k), limit(lim) {
    rwatch_.owner = wwatch_.owner = this;
    rwatch_.ready = [](IoWatch* w) noexcept {
        Stream* s = static_cast<Watch*>(w)->owner;
        s->retain();
        s->read_ready();
        s->release();
    };
    wwatch_.ready = [](IoWatch* w) noexcept {
        Stream* s = static_cast<Watch*>(w)->owner;
        s->retain();
        s->write_ready();
        s->release();
    };
    swatch_.owner = this;
    swatch_.received = [](SocketWatch* w, const char* p, int n) noexcept {
        Stream* s = static_cast<SockWatch*>(w)->owner;
        s->retain();
        s->received(p, n);
        s->release();
    };
    swatch_.sent = [](SocketWatch* w, int res) noexcept {
        Stream* s = static_cast<SockWatch*>(w)->owner;
        s->retain();
        s->sent(res);
        s->release();
    };
    if (kind == Kind::socket) {
        sock_io_ = true;
        completions_ = fd >= 0 && loop && loop->socket_completions();
    } else if (fd >= 0) {
        struct stat st{};
        sock_io_ = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
    }
}

Stream::~Stream() {
    close_fd();
    if (server) server_detach(server, this);
}

void Stream::close_fd() noexcept {
    if (fd < 0) return;
    // A send in flight keeps its bytes: the backend frees them when the
    // kernel is done.
    void* block = sending_ ? inflight_.release() : nullptr;
    sending_ = false;
    if (loop) loop->unwatch_fd(fd, block);
    else std::free(block);
    ::close(fd);
    fd = -1;
}

void Stream::last_reference_gone() noexcept {
    // Like Python's StreamWriter.__del__: close, which sends what is still
    // buffered first. Only while the loop runs; otherwise (loop closing)
    // the bytes are dropped with the descriptor.
    if (!lingered_ && !lost && writing_ && loop && running_loop() == loop) {
        lingered_ = true;
        close();
        refs_ = 1;
        try {
            (void)create_task(flush_then_close(StreamPtr::adopt(this)));
        } catch (...) {
            // The reference went with the failed task: already deleted.
        }
        return;
    }
    delete this;
}

void Stream::start() {
    bool r = wants_read();
    if (r && fd >= 0 && loop) {
        if (completions_) loop->receive_fd(fd, &swatch_, true);
        else loop->watch_fd(fd, &rwatch_, nullptr);
        watching_read_ = true;
    }
}

bool Stream::wants_read() const noexcept {
    if (lost || fd < 0) return false;
    switch (kind) {
        case Kind::socket:
        case Kind::pipe_reader: return !eof && !read_paused && !closing;
        case Kind::pipe_writer: return true;  // the reading end closing shows as readable
        case Kind::standalone: return false;
    }
    return false;
}

void Stream::sync_watch() noexcept {
    if (lost || fd < 0 || !loop) return;
    bool r = wants_read(), w = writing_ && !completions_;
    if (r == watching_read_ && w == watching_write_) return;
    try {
        if (completions_) {
            loop->receive_fd(fd, &swatch_, r);
            watching_read_ = r;
            return;
        }
        loop->watch_fd(fd, r ? &rwatch_ : nullptr, w ? &wwatch_ : nullptr);
        watching_read_ = r;
        watching_write_ = w;
    } catch (...) {
        connection_lost(std::current_exception());
    }
}

void Stream::connection_lost(std::exception_ptr exc) noexcept {
    if (lost) return;
    lost = true;
    lost_exc = exc;
    close_fd();
    watching_read_ = watching_write_ = writing_ = false;
    wbuf.clear();
    wbuf.trim(0);
    inflight_.clear();
    inflight_.trim(0);
    write_paused = false;
    // Python's StreamReaderProtocol.connection_lost: EOF, or the error.
    if (exc) reader_exc = exc; else eof = true;
    if (read_waiter) wake_reader();
    drain_waiters.wake_all();
    close_waiters.wake_all();
    if (server) {
        ServerState* st = std::exchange(server, nullptr);
        server_detach(st, this);
    }
}

void Stream::fatal(int err, const char* what) noexcept { connection_lost(make_os_error(err, what)); }

// ---- Stream: reading ----------------------------------------------------------------

bool Stream::satisfied(ReadWait& w) noexcept {
    if (reader_exc || eof) return true;
    switch (w.until) {
        case ReadWait::Until::data: return !rbuf.empty();
        case ReadWait::Until::bytes: return rbuf.size() >= w.n;
        case ReadWait::Until::eof: return false;
        case ReadWait::Until::separator: {
            std::size_t& off = *w.offset;
            std::size_t buflen = rbuf.size(), seplen = w.sep.size();
            if (buflen >= off + seplen) {
                if (memmem(rbuf.data() + off, buflen - off, w.sep.data(), seplen)) return true;
                off = buflen + 1 - seplen;
            }
            return off > limit;  // LimitOverrunError is the reader's to raise
        }
    }
    return true;
}

void Stream::wake_reader() noexcept {
    ReadWait* w = read_waiter;
    read_waiter = nullptr;
    w->linked = false;
    w->task->wakeup();
}

void Stream::read_ready() noexcept {
    if (kind == Kind::pipe_writer) {
        // The reading end closed (Python's _UnixWritePipeTransport._read_ready).
        connection_lost(wbuf.empty() ? nullptr : make_os_error(EPIPE, "write to pipe"));
        return;
    }
    // Reads until a short read (the kernel had no more), unless reading was
    // paused or the stream closed meanwhile: a burst larger than the scratch
    // buffer costs one wake-up, not one per 64 KiB.
    char* buf = scratch();
    for (;;) {
        ssize_t n;
        do {
            n = sock_io_ ? ::recv(fd, buf, kScratch, 0) : ::read(fd, buf, kScratch);
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            if (!would_block(errno)) fatal(errno, sock_io_ ? "recv" : "read");
            return;
        }
        if (n == 0) {
            // A socket stays open for writing (half-close); a pipe is done.
            if (kind == Kind::pipe_reader) connection_lost(nullptr); else feed_eof();
            return;
        }
        try {
            feed(buf, static_cast<std::size_t>(n));
        } catch (...) {
            connection_lost(std::current_exception());
            return;
        }
        if (static_cast<std::size_t>(n) < kScratch || read_paused || lost || closing || fd < 0) return;
    }
}

void Stream::received(const char* p, int n) noexcept {
    if (lost) return;
    if (n < 0) {
        fatal(-n, "recv");
    } else if (n == 0) {
        feed_eof();  // a socket stays open for writing (half-close)
    } else if (!closing) {  // after close() what arrives is dropped, as Python stops reading
        try {
            feed(p, static_cast<std::size_t>(n));
        } catch (...) {
            connection_lost(std::current_exception());
        }
    }
}

void Stream::feed(const char* p, std::size_t n) {
    if (n == 0) return;
    ReadWait* w = read_waiter;
    if (w && w->until == ReadWait::Until::data && rbuf.empty() && !w->has_handoff) {
        std::size_t k = std::min(n, w->want);
        w->handoff.assign(p, k);
        w->has_handoff = true;
        rbuf.append(p + k, n - k);
        wake_reader();
    } else {
        rbuf.append(p, n);
        if (w && satisfied(*w)) wake_reader();
    }
    // Python pauses above 2*limit; a read still waiting needs more, so
    // reading goes on for it (Python resumes in _wait_for_data).
    if (!read_paused && !read_waiter && kind != Kind::standalone && rbuf.size() > 2 * limit) {
        read_paused = true;
        sync_watch();
    }
}

void Stream::feed_eof() noexcept {
    eof = true;
    sync_watch();
    if (read_waiter) wake_reader();
}

void Stream::set_reader_exception(std::exception_ptr e) noexcept {
    reader_exc = std::move(e);
    if (read_waiter) wake_reader();
}

std::string Stream::take(std::size_t n) {
    std::string s = rbuf.take(n);
    consumed();
    return s;
}

void Stream::consumed() noexcept {
    if (read_paused && rbuf.size() <= limit) {
        read_paused = false;
        sync_watch();
    }
    rbuf.trim(kKeepWhenEmpty);
}

void Stream::reader_parks() noexcept {
    if (read_paused) {
        read_paused = false;
        sync_watch();
    }
    rbuf.trim(kKeepWhenParked);
}

// ---- Stream: writing ----------------------------------------------------------------

ssize_t Stream::send_some(const char* p, std::size_t n) noexcept {
    ssize_t k;
    do {
        if (sock_io_) {
            k = ::send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        } else {
            iovec iov{const_cast<char*>(p), n};
            k = pipe_writev(fd, &iov, 1);
        }
    } while (k < 0 && errno == EINTR);
    return k;
}

void Stream::check_writable() const {
    if (kind == Kind::standalone || kind == Kind::pipe_reader)
        throw RuntimeError("this stream is read-only: it has no writer side");
    if (eof_requested) throw RuntimeError("Cannot call write() after write_eof()");
}

void Stream::write(const char* p, std::size_t n) {
    check_writable();
    if (n == 0 || lost || closing) return;
    if (!writing_ && !completions_) {
        ssize_t k = send_some(p, n);
        if (k < 0) {
            if (!would_block(errno)) {
                fatal(errno, sock_io_ ? "send" : "write");
                return;
            }
            k = 0;
        }
        p += k;
        n -= static_cast<std::size_t>(k);
        if (n == 0) return;
    }
    queue(p, n);
}

void Stream::writev(const std::string_view* parts, std::size_t count) {
    check_writable();
    if (lost || closing) return;
    if (completions_) {
        for (std::size_t i = 0; i < count; ++i) wbuf.append(parts[i].data(), parts[i].size());
        after_append();
        return;
    }
    std::size_t skip = 0;  // bytes the kernel took, from the front
    if (!writing_) {
        iovec iov[16];
        int cnt = 0;
        for (std::size_t i = 0; i < count && cnt < 16; ++i) {
            if (parts[i].empty()) continue;
            iov[cnt++] = iovec{const_cast<char*>(parts[i].data()), parts[i].size()};
        }
        if (cnt == 0) return;
        ssize_t k;
        do {
            if (sock_io_) {
                msghdr msg{};
                msg.msg_iov = iov;
                msg.msg_iovlen = static_cast<std::size_t>(cnt);
                k = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
            } else {
                k = pipe_writev(fd, iov, cnt);
            }
        } while (k < 0 && errno == EINTR);
        if (k < 0) {
            if (!would_block(errno)) {
                fatal(errno, sock_io_ ? "sendmsg" : "writev");
                return;
            }
            k = 0;
        }
        skip = static_cast<std::size_t>(k);
    }
    for (std::size_t i = 0; i < count; ++i) {
        std::string_view part = parts[i];
        if (skip >= part.size()) {
            skip -= part.size();
            continue;
        }
        part.remove_prefix(skip);
        skip = 0;
        queue(part.data(), part.size());
    }
}

void Stream::queue(const char* p, std::size_t n) {
    if (n == 0) return;
    wbuf.append(p, n);
    after_append();
}

void Stream::after_append() noexcept {
    if (wbuf.empty()) return;
    if (!writing_) {
        writing_ = true;
        if (!completions_) sync_watch();
    }
    if (!write_paused && write_buffer_size() > high) write_paused = true;  // Python's pause_writing()
    if (completions_) start_send();
}

void Stream::start_send() noexcept {
    if (sending_ || lost || fd < 0) return;
    if (inflight_.empty()) inflight_.swap(wbuf);  // wbuf keeps the emptied block for the next writes
    if (inflight_.empty()) return;
    try {
        loop->send_fd(fd, &swatch_, inflight_.data(), inflight_.size());
        sending_ = true;
    } catch (...) {
        connection_lost(std::current_exception());
    }
}

void Stream::sent(int res) noexcept {
    sending_ = false;
    if (lost) return;
    if (res < 0) {
        fatal(-res, "send");
        return;
    }
    inflight_.consume(static_cast<std::size_t>(res));  // a short send: the rest goes again
    start_send();
    if (lost) return;
    if (write_paused && write_buffer_size() <= low) {  // Python's resume_writing()
        write_paused = false;
        drain_waiters.wake_all();
    }
    if (!sending_) {
        writing_ = false;
        wbuf.trim(kKeepWhenParked);
        inflight_.trim(kKeepWhenParked);
        after_write_drained();
    }
}

void Stream::write_ready() noexcept {
    if (wbuf.empty()) {
        writing_ = false;
        sync_watch();
        return;
    }
    ssize_t k = send_some(wbuf.data(), wbuf.size());
    if (k < 0) {
        if (!would_block(errno)) fatal(errno, sock_io_ ? "send" : "write");
        return;
    }
    wbuf.consume(static_cast<std::size_t>(k));
    if (write_paused && wbuf.size() <= low) {  // Python's resume_writing()
        write_paused = false;
        drain_waiters.wake_all();
    }
    if (wbuf.empty()) {
        writing_ = false;
        wbuf.trim(kKeepWhenParked);
        sync_watch();
        after_write_drained();
    }
}

void Stream::after_write_drained() noexcept {
    if (closing) connection_lost(nullptr);
    else if (eof_requested) shutdown_write();
}

void Stream::shutdown_write() noexcept {
    if (kind == Kind::pipe_writer) {  // a pipe's EOF is its closing
        connection_lost(nullptr);
        return;
    }
    if (::shutdown(fd, SHUT_WR) < 0 && errno != ENOTCONN) fatal(errno, "shutdown");
}

void Stream::write_eof() {
    if (!can_write_eof()) throw RuntimeError("this stream is read-only: it has no writer side");
    if (closing || lost || eof_requested) return;
    eof_requested = true;
    if (!writing_) shutdown_write();
}

void Stream::close() noexcept {
    if (closing) return;
    closing = true;
    if (lost) return;
    if (!writing_) {
        connection_lost(nullptr);
        return;
    }
    sync_watch();  // stops reading; the rest is sent, then connection_lost
}

void Stream::abort() noexcept {
    closing = true;
    connection_lost(nullptr);
}

void Stream::set_write_limits(std::optional<std::size_t> high_opt, std::optional<std::size_t> low_opt) {
    // Python's _set_write_buffer_limits.
    std::size_t hi = high_opt ? *high_opt : low_opt ? 4 * *low_opt : 64 * 1024;
    std::size_t lo = low_opt ? *low_opt : hi / 4;
    if (hi < lo) throw ValueError("high (" + std::to_string(hi) + ") must be >= low (" + std::to_string(lo) + ")");
    high = hi;
    low = lo;
    if (!write_paused && write_buffer_size() > high) {
        write_paused = true;
    } else if (write_paused && write_buffer_size() <= low) {
        write_paused = false;
        drain_waiters.wake_all();
    }
}

std::optional<SocketAddress> Stream::extra_info(std::string_view name) {
    bool peer = name == "peername";
    if (!sock_io_ || (!peer && name != "sockname")) return std::nullopt;
    if (!extra_) extra_ = std::make_unique<Extra>();
    bool& known = peer ? extra_->peer_known : extra_->sock_known;
    std::optional<SocketAddress>& value = peer ? extra_->peer : extra_->sock;
    if (!known && fd >= 0) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        int r = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                     : getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
        if (r == 0) {
            value = socket_address(&ss, len);
            known = true;
        }
    }
    return value;
}

}  // namespace concur::asyncio::detail
