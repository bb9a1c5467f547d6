// StreamReader / StreamWriter / Transport: Python's streams.py read and
// drain logic over the per-connection Stream (transport.cpp), and the pipe
// streams subprocess uses.
//
// Each public read is a coroutine that takes a counted reference to the
// stream into its frame (so a read scheduled as a task of its own keeps the
// stream alive after the handle that started it is gone) and loops: check
// the buffer, else park one ReadWait until the condition may hold.
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "concur/asyncio/streams.hpp"
#include "concur/asyncio/tasks.hpp"
#include "transport.hpp"

namespace concur::asyncio {

namespace detail {

void retain(Stream* s) noexcept { s->retain(); }
void release(Stream* s) noexcept { s->release(); }

namespace {

using Until = ReadWait::Until;

[[noreturn]] void rethrow(const std::exception_ptr& e) { std::rethrow_exception(e); }

Task<std::string> read_impl(StreamPtr s, std::ptrdiff_t n) {
    if (s->reader_exc) rethrow(s->reader_exc);
    if (n == 0) co_return std::string();
    if (n < 0) {
        // To EOF. The buffer grows as long as it takes (reading never
        // pauses under a parked read), as Python's loop of read(limit).
        while (!s->eof && !s->reader_exc) {
            ReadWait w(s.get(), Until::eof, "read");
            co_await w;
        }
        if (s->reader_exc) rethrow(s->reader_exc);
        co_return s->take(s->rbuf.size());
    }
    while (s->rbuf.empty() && !s->eof && !s->reader_exc) {
        ReadWait w(s.get(), Until::data, "read");
        w.want = static_cast<std::size_t>(n);
        co_await w;
        if (w.has_handoff) {
            w.has_handoff = false;
            co_return std::move(w.handoff);
        }
    }
    if (s->rbuf.empty() && s->reader_exc) rethrow(s->reader_exc);
    co_return s->take(std::min(static_cast<std::size_t>(n), s->rbuf.size()));
}

Task<std::string> readexactly_impl(StreamPtr s, std::size_t n) {
    if (s->reader_exc) rethrow(s->reader_exc);
    if (n == 0) co_return std::string();
    while (s->rbuf.size() < n) {
        if (s->reader_exc) rethrow(s->reader_exc);
        if (s->eof) {
            std::string partial = s->take(s->rbuf.size());
            throw IncompleteReadError(std::move(partial), n);
        }
        ReadWait w(s.get(), Until::bytes, "readexactly");
        w.n = n;
        co_await w;
    }
    co_return s->take(n);
}

// readuntil, and readline when `line` (which returns the partial line at
// EOF and turns an overrun into ValueError after dropping the line).
Task<std::string> readuntil_impl(StreamPtr s, std::string sep, bool line) {
    const std::size_t seplen = sep.size();
    if (seplen == 0) throw ValueError("Separator should be at least one-byte string");
    if (s->reader_exc) rethrow(s->reader_exc);
    // Bytes [0, offset) of the buffer are known not to start the separator.
    std::size_t offset = 0;
    std::size_t isep = 0;
    const char* overrun = nullptr;
    std::size_t consumed = 0;
    for (;;) {
        std::size_t buflen = s->rbuf.size();
        if (buflen >= offset + seplen) {
            const char* base = s->rbuf.data();
            if (const void* hit = memmem(base + offset, buflen - offset, sep.data(), seplen)) {
                isep = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
                if (isep > s->limit) {
                    overrun = "Separator is found, but chunk is longer than limit";
                    consumed = isep;
                }
                break;
            }
            offset = buflen + 1 - seplen;
        }
        if (offset > s->limit) {
            overrun = "Separator is not found, and chunk exceed the limit";
            consumed = offset;
            break;
        }
        if (s->eof) {
            std::string chunk = s->take(buflen);
            if (line) co_return chunk;
            throw IncompleteReadError(std::move(chunk), SIZE_MAX);
        }
        ReadWait w(s.get(), Until::separator, line ? "readline" : "readuntil");
        w.sep = sep;
        w.offset = &offset;
        co_await w;
        if (s->reader_exc) rethrow(s->reader_exc);
    }
    if (overrun) {
        if (!line) throw LimitOverrunError(overrun, consumed);
        // Python's readline: drop the long line (or all of it so far).
        auto& b = s->rbuf;
        if (b.size() >= consumed + seplen && std::memcmp(b.data() + consumed, sep.data(), seplen) == 0) {
            b.consume(consumed + seplen);
        } else {
            b.clear();
        }
        s->consumed();
        throw ValueError(overrun);
    }
    co_return s->take(isep + seplen);
}

Task<> drain_impl(StreamPtr s) {
    if (s->kind == Stream::Kind::socket && s->reader_exc) rethrow(s->reader_exc);
    // Python yields here so that a write loop on a closing stream lets
    // connection_lost run and then sees it.
    if (s->is_closing()) co_await asyncio::sleep(std::chrono::seconds(0));
    if (s->lost) throw ConnectionResetError("Connection lost");
    if (!s->write_paused) co_return;
    {
        ListWait w(s->drain_waiters);
        co_await w;
    }
    if (s->lost && s->lost_exc) rethrow(s->lost_exc);
}

Task<> wait_closed_impl(StreamPtr s) {
    if (!s->lost) {
        ListWait w(s->close_waiters);
        co_await w;
    }
    if (s->lost_exc) rethrow(s->lost_exc);
}

Stream* make_standalone(std::size_t limit) {
    if (limit == 0) throw ValueError("Limit cannot be <= 0");
    return new Stream(running_loop(), -1, Stream::Kind::standalone, limit);
}

void set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) raise_os_error(errno, "fcntl(F_GETFL)");
    if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) raise_os_error(errno, "fcntl(F_SETFL)");
}

// Wraps fd in a started Stream; on any failure fd is closed (the stream
// was to own it).
Stream* adopt_pipe(int fd, Stream::Kind kind, std::size_t limit) {
    Stream* s = nullptr;
    try {
        if (fd < 0) throw ValueError("invalid file descriptor " + std::to_string(fd));
        if (limit == 0) throw ValueError("Limit cannot be <= 0");
        EventLoop& loop = get_running_loop();
        set_nonblocking(fd);
        s = new Stream(&loop, fd, kind, limit);
    } catch (...) {
        if (fd >= 0) ::close(fd);
        throw;
    }
    StreamPtr owner = StreamPtr::adopt(s);  // closes fd if start() throws
    s->start();
    return owner.detach();
}

}  // namespace

StreamReader make_pipe_reader(int fd, std::size_t limit) {
    return StreamReader(adopt_pipe(fd, Stream::Kind::pipe_reader, limit));
}

StreamWriter make_pipe_writer(int fd) {
    return StreamWriter(adopt_pipe(fd, Stream::Kind::pipe_writer, kDefaultStreamLimit));
}

}  // namespace detail

// ---- StreamReader ------------------------------------------------------------------

StreamReader::StreamReader() : s_(detail::make_standalone(kDefaultStreamLimit)) {}
StreamReader::StreamReader(std::size_t limit) : s_(detail::make_standalone(limit)) {}

Task<std::string> StreamReader::read(std::ptrdiff_t n) { return detail::read_impl(detail::StreamPtr(s_), n); }
Task<std::string> StreamReader::readline() { return detail::readuntil_impl(detail::StreamPtr(s_), "\n", true); }
Task<std::string> StreamReader::readexactly(std::size_t n) {
    return detail::readexactly_impl(detail::StreamPtr(s_), n);
}
Task<std::string> StreamReader::readuntil(std::string_view separator) {
    return detail::readuntil_impl(detail::StreamPtr(s_), std::string(separator), false);
}

bool StreamReader::at_eof() const noexcept { return s_->eof && s_->rbuf.empty(); }
std::size_t StreamReader::limit() const noexcept { return s_->limit; }
std::exception_ptr StreamReader::exception() const noexcept { return s_->reader_exc; }
void StreamReader::set_exception(std::exception_ptr e) { s_->set_reader_exception(std::move(e)); }
void StreamReader::feed_data(std::string_view data) {
    if (s_->eof) throw RuntimeError("feed_data() after feed_eof()");
    s_->feed(data.data(), data.size());
}
void StreamReader::feed_eof() { s_->feed_eof(); }

// ---- Transport ------------------------------------------------------------------------

void Transport::close() { s_->close(); }
void Transport::abort() { s_->abort(); }
bool Transport::is_closing() const noexcept { return s_->is_closing(); }
std::size_t Transport::get_write_buffer_size() const noexcept { return s_->write_buffer_size(); }
std::pair<std::size_t, std::size_t> Transport::get_write_buffer_limits() const noexcept {
    return {s_->low, s_->high};
}
void Transport::set_write_buffer_limits(std::optional<std::size_t> high, std::optional<std::size_t> low) {
    s_->set_write_limits(high, low);
}
std::optional<SocketAddress> Transport::get_extra_info(std::string_view name) const {
    return s_->extra_info(name);
}
int Transport::fileno() const noexcept { return s_->fd; }

// ---- StreamWriter ------------------------------------------------------------------------

void StreamWriter::write(std::string_view data) { s_->write(data.data(), data.size()); }
void StreamWriter::write_parts(const std::string_view* parts, std::size_t count) { s_->writev(parts, count); }
Task<> StreamWriter::drain() { return detail::drain_impl(detail::StreamPtr(s_)); }
bool StreamWriter::can_write_eof() const noexcept { return s_->can_write_eof(); }
void StreamWriter::write_eof() { s_->write_eof(); }
void StreamWriter::close() { s_->close(); }
bool StreamWriter::is_closing() const noexcept { return s_->is_closing(); }
Task<> StreamWriter::wait_closed() { return detail::wait_closed_impl(detail::StreamPtr(s_)); }
std::optional<SocketAddress> StreamWriter::get_extra_info(std::string_view name) const {
    return s_->extra_info(name);
}
Transport StreamWriter::transport() const noexcept {
    s_->retain();
    return Transport(s_);
}

}  // namespace concur::asyncio
