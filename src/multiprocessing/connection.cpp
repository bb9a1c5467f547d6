#include "concur/multiprocessing/connection.hpp"

#include <cxxabi.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>

namespace concur::multiprocessing {

namespace detail {

msgpack::object_handle parse_payload(const Frame& frame) {
    try {
        std::size_t offset = 0;
        msgpack::object_handle handle = msgpack::unpack(frame.payload.data(), frame.payload.size(), offset);
        if (offset != frame.payload.size())
            throw wire::DecodeError("concur: a message holds " + std::to_string(frame.payload.size() - offset) +
                                    " bytes after its value: corrupted, or sent with send_bytes()");
        return handle;
    } catch (const concur::Error&) {
        throw;
    } catch (const std::exception& e) {
        throw wire::DecodeError(std::string("concur: a message is not valid msgpack (") + e.what() +
                                "): corrupted, or sent with send_bytes()");
    }
}

void throw_decode_error(const std::type_info& type, const char* why) {
    int status = 0;
    char* name = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
    std::string type_name = status == 0 && name ? name : type.name();
    std::free(name);
    throw wire::DecodeError("concur: a message does not decode as " + type_name + " (" + why +
                            "): both ends must agree on the type they exchange");
}

void enlarge_buffers(int fd) noexcept {
    // The kernel clamps the request to net.core.{w,r}mem_max; best effort.
    int size = 4 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

}  // namespace detail

// Kept behind a pointer so that the Connection moves while the locks stay put.
struct Connection::State {
    // >= 0: open; -1: closed. Atomic so that close() racing another thread's
    // call is a logic error, not a data race.
    std::atomic<int> fd;
    bool readable, writable;
    std::mutex send_lock;  // keeps each outgoing message whole between threads
    std::mutex recv_lock;  // the same for incoming messages

    State(int f, bool r, bool w) : fd(f), readable(r), writable(w) {}
};

Connection::Connection() noexcept = default;

Connection::Connection(int fd, bool readable, bool writable) {
    if (fd < 0) throw ValueError("concur: Connection needs an open descriptor");
    if (!readable && !writable) throw ValueError("concur: at least one of readable or writable must be true");
    state_ = std::make_unique<State>(fd, readable, writable);
}

Connection::Connection(Connection&& other) noexcept = default;

Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        close();
        state_ = std::move(other.state_);
    }
    return *this;
}

Connection::~Connection() { close(); }

void Connection::close() noexcept {
    if (!state_) return;
    int fd = state_->fd.exchange(-1);
    if (fd >= 0) ::close(fd);
}

bool Connection::closed() const noexcept { return !state_ || state_->fd.load() < 0; }
bool Connection::readable() const noexcept { return state_ && state_->readable; }
bool Connection::writable() const noexcept { return state_ && state_->writable; }

int Connection::fileno() const {
    int fd = state_ ? state_->fd.load() : -1;
    if (fd < 0) throw OSError(EBADF, "concur: the Connection is closed");
    return fd;
}

int Connection::checked_fd(bool for_reading) const {
    int fd = fileno();
    if (for_reading && !state_->readable)
        throw OSError(EBADF, "concur: this Connection is write-only (the second end of Pipe(false))");
    if (!for_reading && !state_->writable)
        throw OSError(EBADF, "concur: this Connection is read-only (the first end of Pipe(false))");
    return fd;
}

void Connection::send_frame(std::uint16_t kind, const char* data, std::size_t size, std::span<const int> fds) {
    int fd = checked_fd(false);
    std::lock_guard lock(state_->send_lock);
    detail::send_frame(fd, kind, 0, data, size, fds);
}

detail::Frame Connection::recv_frame() {
    int fd = checked_fd(true);
    detail::Frame frame;
    std::lock_guard lock(state_->recv_lock);
    if (!detail::recv_frame(fd, frame)) throw EOFError("concur: the other end of the Connection was closed");
    return frame;
}

void Connection::send_bytes(std::span<const std::byte> buf, std::size_t offset, std::optional<std::size_t> size) {
    if (offset > buf.size()) throw ValueError("concur: send_bytes: offset is past the end of the buffer");
    std::size_t n = size.value_or(buf.size() - offset);
    if (n > buf.size() - offset) throw ValueError("concur: send_bytes: offset + size is past the end of the buffer");
    send_frame(detail::frame_bytes, reinterpret_cast<const char*>(buf.data()) + offset, n);
}

void Connection::send_bytes(std::string_view buf, std::size_t offset, std::optional<std::size_t> size) {
    send_bytes(std::as_bytes(std::span(buf.data(), buf.size())), offset, size);
}

std::string Connection::recv_bytes(std::optional<std::size_t> maxlength) {
    detail::Frame frame = recv_frame();
    if (maxlength && frame.payload.size() > *maxlength)
        throw OSError(EMSGSIZE, "concur: bad message length: a message of " + std::to_string(frame.payload.size()) +
                                    " bytes is over maxlength " + std::to_string(*maxlength) + " (discarded)");
    return std::move(frame.payload);
}

bool Connection::poll_until(const concur::detail::Deadline& deadline) {
    return detail::wait_readable(checked_fd(true), deadline);
}

std::pair<Connection, Connection> Pipe(bool duplex) {
    int fds[2];
    detail::socket_pair(fds);
    detail::enlarge_buffers(fds[0]);
    detail::enlarge_buffers(fds[1]);
    Connection first, second;
    try {
        first = Connection(fds[0], true, duplex);
    } catch (...) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw;
    }
    try {
        second = Connection(fds[1], duplex, true);
    } catch (...) {
        ::close(fds[1]);
        throw;
    }
    return {std::move(first), std::move(second)};
}

}  // namespace concur::multiprocessing

void concur::wire::codec<concur::multiprocessing::Connection>::pack(Packer& p,
                                                                    const concur::multiprocessing::Connection& c) {
    // attach_fd throws EncodeError for a closed Connection (-1).
    int fd = c.closed() ? -1 : c.fileno();
    p.pack_array(3);
    p.pack(attach_fd(fd));
    p.pack(c.readable());
    p.pack(c.writable());
}

concur::multiprocessing::Connection concur::wire::codec<concur::multiprocessing::Connection>::unpack(
    const msgpack::object& o) {
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 3)
        throw DecodeError("concur: a Connection arrived malformed");
    auto index = o.via.array.ptr[0].as<std::uint32_t>();
    bool readable = o.via.array.ptr[1].as<bool>();
    bool writable = o.via.array.ptr[2].as<bool>();
    if (!readable && !writable) throw DecodeError("concur: a Connection arrived with neither direction");
    int fd = take_fd(index);
    try {
        return concur::multiprocessing::Connection(fd, readable, writable);
    } catch (...) {
        ::close(fd);
        throw;
    }
}
