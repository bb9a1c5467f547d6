// One connection of the site server: parse, respond, send, in that order,
// on the loop's thread (see site.hpp for the data flow).
//
// Nothing below destroys the connection in the middle of an operation: a
// fatal error sets dead_, and settle(), the last call of every entry point
// (readable, writable, timer), sends the batch and then decides: destroy,
// linger, or watch for whatever the connection waits for next.
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "site.hpp"

namespace concur::http::server {

namespace {
inline Conn* of(http_parser* p) noexcept { return static_cast<Conn*>(p->data); }
}  // namespace

Conn::Conn(Site& s, int f) : site(s), fd(f), last_tick(s.tick) {
    http_parser_init(&parser_, HTTP_REQUEST);
    parser_.data = this;
    rwatch_.owner = wwatch_.owner = this;
    rwatch_.ready = [](asyncio::detail::IoWatch* w) noexcept { static_cast<Watch*>(w)->owner->on_readable(); };
    wwatch_.ready = [](asyncio::detail::IoWatch* w) noexcept { static_cast<Watch*>(w)->owner->on_writable(); };
    timer_.owner = this;
    timer_.fire = [](asyncio::detail::TimerEntry* t) noexcept { static_cast<Timer*>(t)->owner->on_timer(); };
}

Conn::~Conn() {
    site.loop.cancel_timer(&timer_);
    if (reading_ || writing_) site.loop.unwatch_fd(fd);
    ::close(fd);
    site.counters.closed();
}

bool Conn::start() noexcept { return set_watch(true, false); }

void Conn::destroy() noexcept {
    site.niov = 0;
    site.batch_bytes = 0;
    site.batch_served = site.batch_bad = 0;
    site.unlink(this);
    delete this;
}

bool Conn::set_watch(bool read, bool write) noexcept {
    if (read == reading_ && write == writing_) return true;
    try {
        if (!read && !write) {
            site.loop.unwatch_fd(fd);
        } else {
            site.loop.watch_fd(fd, read ? &rwatch_ : nullptr, write ? &wwatch_ : nullptr);
        }
    } catch (...) {
        return false;
    }
    reading_ = read;
    writing_ = write;
    return true;
}

// ---- reading and parsing ------------------------------------------------------

void Conn::on_readable() noexcept {
    char* buf = site.scratch();
    for (;;) {
        ssize_t n = ::recv(fd, buf, Site::kScratch, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) dead_ = true;  // reset: nobody to answer
            break;
        }
        if (n == 0) {
            peer_eof_ = true;
            if (lingering_) dead_ = true;
            break;
        }
        if (lingering_) continue;  // finish(): what comes now is dropped
        parse(buf, static_cast<std::size_t>(n));
        if (dead_ || paused_ || stuck() || static_cast<std::size_t>(n) < Site::kScratch) break;
    }
    settle();
}

void Conn::parse(const char* p, std::size_t n) noexcept {
    std::size_t done = http_parser_execute(&parser_, &site.settings, p, n);
    auto err = HTTP_PARSER_ERRNO(&parser_);
    if (dead_ || closing_) return;
    if (err == HPE_PAUSED) {
        try {
            in_.append(p + done, n - done);
        } catch (...) {
            dead_ = true;
        }
        return;
    }
    if (err != HPE_OK) {
        respond(site.bad_request, false, true, true);
        return;
    }
    // CONNECT or "Upgrade:": answered as a plain request, but what follows
    // is not HTTP; the connection ends after the answer.
    if (parser_.upgrade) closing_ = true;
}

int Conn::on_message_begin(http_parser* p) noexcept {
    Conn* c = of(p);
    c->url_.clear();
    c->header_bytes_ = 0;
    return 0;
}

int Conn::on_url(http_parser* p, const char* at, std::size_t n) noexcept {
    Conn* c = of(p);
    if (on_header_bytes(p, at, n) != 0) return 1;
    try {
        c->url_.append(at, n);
    } catch (...) {
        return 1;
    }
    return 0;
}

int Conn::on_header_bytes(http_parser* p, const char*, std::size_t n) noexcept {
    Conn* c = of(p);
    c->header_bytes_ += n;
    return c->header_bytes_ > c->site.options.max_header_bytes ? 1 : 0;
}

int Conn::on_message_complete(http_parser* p) noexcept {
    Conn* c = of(p);
    Site& s = c->site;
    std::uint32_t what;
    bool head_only = false;
    if (p->method == HTTP_GET) {
        what = s.route(c->url_);
    } else if (p->method == HTTP_HEAD) {
        what = s.route(c->url_);
        head_only = true;
    } else {
        what = s.not_allowed;
    }
    c->last_tick = s.tick;
    c->respond(what, head_only, http_should_keep_alive(p) == 0, false);
    if (c->dead_ || c->stuck()) {
        http_parser_pause(p, 1);
        c->paused_ = true;
    }
    return 0;
}

// ---- responding -----------------------------------------------------------------

void Conn::respond(std::uint32_t what, bool head_only, bool close, bool bad) noexcept {
    if (close) closing_ = true;
    Pending r{{}, what, head_only, close, bad};
    if (site.options.latency.count() == 0) {
        emit(r);
        return;
    }
    r.due = asyncio::Clock::now() + site.options.latency;
    queue_[(qhead_ + qlen_) % kQueue] = r;
    if (++qlen_ == 1) arm_timer();
}

void Conn::arm_timer() noexcept {
    timer_.when = queue_[qhead_].due;
    if (timer_.queued()) return;
    try {
        site.loop.add_timer(&timer_);
    } catch (...) {
        dead_ = true;
    }
}

void Conn::on_timer() noexcept {
    auto now = asyncio::Clock::now();
    while (qlen_ > 0 && queue_[qhead_].due <= now) {
        emit(queue_[qhead_]);
        qhead_ = (qhead_ + 1) % kQueue;
        --qlen_;
    }
    if (qlen_ > 0) arm_timer();
    settle();
}

void Conn::emit(const Pending& r) noexcept {
    const Rendered& x = site.renders[r.what];
    const std::string& all = r.close ? x.close : x.keep;
    std::size_t len = r.head_only ? (r.close ? x.close_head : x.keep_head) : all.size();
    // A batch ends at 64 responses or 256 KiB: what a stuck client can
    // leave in out_ stays about that size.
    if (site.niov == Site::kBatch || site.batch_bytes >= Site::kBatchBytes) flush();
    site.iov[site.niov++] = iovec{const_cast<char*>(all.data()), len};
    site.batch_bytes += len;
    if (r.bad) ++site.batch_bad; else ++site.batch_served;
}

void Conn::flush() noexcept {
    if (site.niov == 0) return;
    std::size_t skip = 0;
    // Counted before the send: a client that got its response then sees it counted.
    site.counters.served(site.batch_served);
    site.counters.bad(site.batch_bad);
    if (!dead_ && out_off_ == out_.size()) {
        msghdr msg{};
        msg.msg_iov = site.iov.data();
        msg.msg_iovlen = static_cast<std::size_t>(site.niov);
        ssize_t k;
        do {
            k = site.niov == 1 ? ::send(fd, site.iov[0].iov_base, site.iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT)
                               : ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        } while (k < 0 && errno == EINTR);
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK) dead_ = true;
        if (k > 0) {
            skip = static_cast<std::size_t>(k);
            last_tick = site.tick;
        }
    }
    if (!dead_) {
        try {
            for (int i = 0; i < site.niov; ++i) {
                std::size_t len = site.iov[i].iov_len;
                if (skip >= len) {
                    skip -= len;
                    continue;
                }
                out_.append(static_cast<const char*>(site.iov[i].iov_base) + skip, len - skip);
                skip = 0;
            }
        } catch (...) {
            dead_ = true;
        }
    }
    site.niov = 0;
    site.batch_bytes = 0;
    site.batch_served = site.batch_bad = 0;
}

void Conn::on_writable() noexcept {
    std::size_t left = out_.size() - out_off_;
    if (left > 0) {
        ssize_t k;
        do {
            k = ::send(fd, out_.data() + out_off_, left, MSG_NOSIGNAL | MSG_DONTWAIT);
        } while (k < 0 && errno == EINTR);
        if (k < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            dead_ = true;
        } else {
            out_off_ += static_cast<std::size_t>(k);
            last_tick = site.tick;
        }
    }
    if (out_off_ == out_.size()) {
        out_off_ = 0;
        out_.clear();
        if (out_.capacity() > 64 * 1024) std::string().swap(out_);
    }
    settle();
}

// ---- deciding what comes next -----------------------------------------------------

void Conn::settle() noexcept {
    for (;;) {
        flush();
        if (dead_) {
            destroy();
            return;
        }
        if (lingering_) break;
        bool owed = out_off_ != out_.size() || qlen_ > 0;
        if (!owed && closing_) {
            finish();
            if (dead_) {
                destroy();
                return;
            }
            break;
        }
        if (!owed && peer_eof_ && (!paused_ || in_.empty())) {
            destroy();
            return;
        }
        if (paused_ && !stuck()) {
            // Parse what came while output was stuck, before reading more.
            paused_ = false;
            http_parser_pause(&parser_, 0);
            std::string held;
            held.swap(in_);
            parse(held.data(), held.size());
            continue;  // flush what it answered
        }
        break;
    }
    bool read = lingering_ || (!paused_ && !stuck() && !peer_eof_);
    bool write = out_off_ != out_.size();
    if (!set_watch(read, write)) destroy();
}

void Conn::finish() noexcept {
    lingering_ = true;
    last_tick = site.tick;
    in_.clear();
    if (peer_eof_ || ::shutdown(fd, SHUT_WR) < 0) dead_ = true;
}

}  // namespace concur::http::server
