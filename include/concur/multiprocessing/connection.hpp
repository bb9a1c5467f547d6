// Python's multiprocessing.Pipe and Connection: two ends of a Unix socket
// pair, each sending whole messages -- values encoded as msgpack, or raw
// bytes -- in concur's frames (wire/frame.hpp).
//
//   process A                                              process B
//   a.send(v) --- Packer -> frame [header|msgpack|fds] ---> b.recv<T>()
//   a.send_bytes(buf) ---- frame [header|bytes] ----------> b.recv_bytes()
//   a.recv<T>() <------------- (the same, the other way) -- b.send(v)
//
// Descriptor-backed values (another Connection, a multiprocessing Queue, a
// process-shared Lock) travel as SCM_RIGHTS descriptors beside their frame,
// so the receiver gets its own descriptors for the same kernel objects.
//
//   auto [parent, child] = multiprocessing::Pipe();
//   multiprocessing::Process p{worker, std::move(child)};   // crosses as an fd
//   p.start();
//   parent.send(std::vector<int>{1, 2, 3});
//   auto reply = parent.recv<std::string>();
//
// Differences from Python: recv<T>() names the type it expects (there is no
// pickle to say it); a message over recv_bytes()'s maxlength is read and
// discarded, so the stream stays usable (Python leaves it desynchronised).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "concur/detail/deadline.hpp"
#include "concur/errors.hpp"
#include "concur/multiprocessing/detail/channel.hpp"
#include "concur/wire/codec.hpp"
#include "concur/wire/handles.hpp"

namespace concur::multiprocessing {

namespace detail {

// Frame kinds; informational only (recv<T> decodes any frame, recv_bytes
// returns any payload, as Python's recv() is loads(recv_bytes())).
inline constexpr std::uint16_t frame_value = 0x4d01;  // msgpack value
inline constexpr std::uint16_t frame_bytes = 0x4d02;  // raw bytes

// An encoded value and the descriptors (borrowed from the value) it refers to.
struct Encoded {
    msgpack::sbuffer data;
    std::vector<int> fds;
};

// Encodes `value` with a descriptor list installed. Throws wire::EncodeError
// (e.g. a closed Connection inside `value`) or what packing throws.
template <class T>
void encode_value(const T& value, Encoded& out) {
    static_assert(wire::require_serializable<T>);
    wire::EncodeHandles scope(out.fds);
    wire::Packer packer(out.data);
    packer.pack(value);
}

// Parses a frame's payload as one msgpack object; throws wire::DecodeError
// for bytes that are not exactly one object.
msgpack::object_handle parse_payload(const Frame& frame);
[[noreturn]] void throw_decode_error(const std::type_info& type, const char* why);

// Decodes a received frame as a T, handing it the frame's descriptors (what
// T does not take is closed with the frame). Throws wire::DecodeError when
// the frame does not hold a T.
template <class T>
T decode_value(Frame& frame) {
    static_assert(wire::require_serializable<T>);
    msgpack::object_handle handle = parse_payload(frame);
    wire::DecodeHandles scope(frame.fds);
    try {
        return handle.get().as<T>();
    } catch (const concur::Error&) {
        throw;
    } catch (const std::exception& e) {
        throw_decode_error(typeid(T), e.what());
    }
}

// Makes a socket's kernel buffers as large as the system allows, so that
// more (and larger) messages fit before a writer blocks.
void enlarge_buffers(int fd) noexcept;

}  // namespace detail

// One end of a Pipe. Owns its descriptor: movable, not copyable (send it to
// another process instead; that process gets its own descriptor).
//
// Threads: one thread sending while another receives is fine. Several
// threads sending (or receiving) on one Connection at once is the caller's
// business, as in Python: concur keeps each message whole (a lock per
// direction) but their order between threads is whatever it is. Two
// processes sharing one end interleave nothing within a message only if
// they serialize their writes themselves (multiprocessing::Queue does).
// close() while another thread is inside a call on the same Connection is a
// bug: that call may fail or, the descriptor number being reused, use
// another file.
class Connection {
public:
    // A closed Connection (every call but close()/closed() throws OSError).
    Connection() noexcept;
    // Adopts `fd`, a connected Unix stream socket. Throws ValueError for a
    // negative fd or neither direction.
    Connection(int fd, bool readable, bool writable);
    Connection(Connection&& other) noexcept;
    Connection& operator=(Connection&& other) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();  // close()

    // Sends `obj` as one message. Blocks until the whole message is in the
    // socket's buffer (while the peer does not read and the buffer is full).
    // Throws OSError (closed, or read-only), BrokenPipeError /
    // ConnectionResetError when the peer is gone, ValueError over 1 GiB,
    // wire::EncodeError for a value that cannot be encoded at run time.
    template <class T>
    void send(const T& obj) {
        static_assert(wire::require_serializable<T>);
        detail::Encoded e;
        detail::encode_value(obj, e);
        send_frame(detail::frame_value, e.data.data(), e.data.size(), e.fds);
    }

    // Receives one message as a T. Blocks until one arrives. Throws EOFError
    // when the peer has closed and nothing is left, wire::DecodeError when the
    // message is not a T or is corrupted (the Connection is then best
    // closed: a corrupted stream cannot be resynchronised), OSError (closed,
    // or write-only).
    template <class T>
    T recv() {
        static_assert(wire::require_serializable<T>);
        detail::Frame frame = recv_frame();
        return detail::decode_value<T>(frame);
    }

    // Sends buf[offset, offset + size) (to the end when size is empty) as one
    // message. Blocks and throws as send(); ValueError for a range outside buf.
    void send_bytes(std::span<const std::byte> buf, std::size_t offset = 0,
                    std::optional<std::size_t> size = std::nullopt);
    void send_bytes(std::string_view buf, std::size_t offset = 0,
                    std::optional<std::size_t> size = std::nullopt);

    // Receives one message's bytes. Blocks as recv(). Throws OSError ("bad
    // message length") when it is longer than `maxlength` (the message is
    // discarded), EOFError and OSError as recv(), wire::DecodeError for a
    // corrupted stream.
    std::string recv_bytes(std::optional<std::size_t> maxlength = std::nullopt);

    // Whether a message (or end of stream) is ready to read. poll() returns
    // at once; poll(timeout) blocks at most `timeout`; poll(std::nullopt)
    // blocks until then. Throws OSError (closed, or write-only), ValueError
    // for a negative timeout.
    bool poll() { return poll_until(concur::detail::Deadline(std::chrono::seconds(0))); }
    template <class Rep, class Period>
    bool poll(std::chrono::duration<Rep, Period> timeout) {
        return poll_until(concur::detail::Deadline(timeout));
    }
    bool poll(std::nullopt_t) { return poll_until(concur::detail::Deadline()); }

    // Closes the descriptor; idempotent; never blocks; throws nothing. The
    // peer sees end of stream once every copy (other processes' too) is closed.
    void close() noexcept;

    [[nodiscard]] bool closed() const noexcept;
    [[nodiscard]] bool readable() const noexcept;
    [[nodiscard]] bool writable() const noexcept;
    // The descriptor (still owned by the Connection). Throws OSError if closed.
    [[nodiscard]] int fileno() const;

    // The frame layer, for protocols built on a Connection. Blocks and throws
    // as send() / recv() (recv_frame throws EOFError at end of stream).
    void send_frame(std::uint16_t kind, const char* data, std::size_t size, std::span<const int> fds = {});
    detail::Frame recv_frame();

private:
    struct State;
    bool poll_until(const concur::detail::Deadline& deadline);
    int checked_fd(bool for_reading) const;

    std::unique_ptr<State> state_;  // null: closed (or moved from)
};

// Python's multiprocessing.Pipe(duplex): a connected pair. duplex = true
// gives two ends that both send and receive; duplex = false gives
// (receive-only, send-only), as Python. Always a Unix socket pair, so that
// descriptors can travel. Throws OSError when out of descriptors. Any thread.
std::pair<Connection, Connection> Pipe(bool duplex = true);

}  // namespace concur::multiprocessing

// A Connection crosses a process (as a Process argument, inside a message)
// as a descriptor beside the message; the receiver gets a new Connection for
// the same socket end, with the same directions. The sender keeps its own.
template <>
struct concur::wire::codec<concur::multiprocessing::Connection> {
    static void pack(Packer& p, const concur::multiprocessing::Connection& c);
    static concur::multiprocessing::Connection unpack(const msgpack::object& o);
};
