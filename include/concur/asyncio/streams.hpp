// Python's asyncio streams (Lib/asyncio/streams.py): open_connection and
// start_server (and their Unix-socket twins) give a StreamReader and a
// StreamWriter that share one transport per connection.
//
//   auto conn = co_await asyncio::open_connection("127.0.0.1", 8888);
//   auto& [reader, writer] = conn;
//   writer.write("ping\n");
//   co_await writer.drain();
//   std::string line = co_await reader.readline();
//   writer.close();
//   co_await writer.wait_closed();
//
// How bytes move (everything on the loop's thread):
//
//   socket --recv when readable--> reader buffer --read*()--> task
//            (reading pauses while the buffer holds more than 2*limit
//             bytes nobody waits for, and resumes below limit)
//   task --write()--> send at once --what the kernel did not take-->
//        write buffer --send when writable--> socket
//            (drain() suspends while the write buffer is above the
//             high-water mark, 64 KiB, until it falls to 16 KiB)
//
// On the io_uring backend (Linux 6.0+) a socket's recv and send go through
// the ring instead: the kernel receives into the loop's buffers, and
// write() queues a send that leaves with the loop's next wait, with every
// other connection's, rather than as a syscall of its own. What a task sees
// is the same (the write buffer then counts the send in flight too).
// CONCUR_URING_SOCKET_IO=0 keeps io_uring sockets on readiness.
//
// StreamReader, StreamWriter and Transport are handles: cheap to copy, all
// sharing the connection. The last handle to go closes it, after sending
// what was written (Python's StreamWriter.__del__ does the same; a flush
// still pending when asyncio::run ends is dropped with the socket). Streams
// and servers belong to the loop that made them: use them on its thread
// only, and drop them before the loop is destroyed (asyncio::run destroys
// the tasks that hold them first, so handles kept in tasks are fine).
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "concur/asyncio/task.hpp"
#include "concur/errors.hpp"

namespace concur::asyncio {

// ---- errors -------------------------------------------------------------------

// Python's OSError family lives in concur/errors.hpp (multiprocessing raises
// it too); asyncio's names are the same classes.
using concur::BrokenPipeError;
using concur::ConnectionAbortedError;
using concur::ConnectionError;
using concur::ConnectionRefusedError;
using concur::ConnectionResetError;
using concur::OSError;

namespace detail {
// The exception Python raises for `err`: a ConnectionError subclass,
// TimeoutError for ETIMEDOUT, OSError otherwise. The message reads
// "<context>: [Errno N] <strerror>".
std::exception_ptr make_os_error(int err, std::string_view context) noexcept;
[[noreturn]] void raise_os_error(int err, std::string_view context);
}  // namespace detail

// ---- addresses and options ----------------------------------------------------

// A socket's address, as get_extra_info("peername"/"sockname") and
// Server::sockets() report it: Python's (host, port) tuple, or the path of a
// Unix socket (empty when unnamed, as Python's '').
struct SocketAddress {
    int family = 0;     // AF_INET, AF_INET6 or AF_UNIX
    std::string host;   // numeric ("127.0.0.1", "::1"), or the Unix path
    uint16_t port = 0;  // 0 for AF_UNIX
    // "127.0.0.1:8888", "[::1]:8888", or the path.
    std::string to_string() const;
    friend bool operator==(const SocketAddress&, const SocketAddress&) = default;
};

// Python's _DEFAULT_LIMIT: the longest line readline()/readuntil() accept,
// and half the most the reader buffers before it stops reading.
inline constexpr std::size_t kDefaultStreamLimit = 64 * 1024;

struct ConnectOptions {
    std::size_t limit = kDefaultStreamLimit;
    int family = 0;  // AF_INET or AF_INET6 to restrict resolution; 0: any
};

struct ServerOptions {
    std::size_t limit = kDefaultStreamLimit;
    int family = 0;  // AF_INET or AF_INET6 to restrict resolution; 0: any
    int backlog = 100;
    bool reuse_address = true;  // SO_REUSEADDR, as Python on POSIX
    bool reuse_port = false;    // SO_REUSEPORT
    bool start_serving = true;  // false: bind now, listen on start_serving()
};

namespace detail {
class Stream;
class ServerState;
void retain(Stream* s) noexcept;
void release(Stream* s) noexcept;
}  // namespace detail

// ---- StreamReader -------------------------------------------------------------

// Python's asyncio.StreamReader. Every read*() suspends the calling task
// until its condition holds (data, a line, n bytes, EOF) and takes its bytes
// out of the buffer only then: cancelling a waiting read (CancelledError, at
// once) leaves every byte in the buffer for the next read. One task at a time
// may wait on a reader (a second one gets RuntimeError, as in Python); reads
// that find their data already buffered never wait. Loop thread only.
class StreamReader {
public:
    // A reader fed by hand (feed_data / feed_eof), as Python's
    // StreamReader(limit). Throws ValueError if limit is 0.
    StreamReader();
    explicit StreamReader(std::size_t limit);
    explicit StreamReader(detail::Stream* adopt) noexcept : s_(adopt) {}  // takes a reference
    StreamReader(const StreamReader& o) noexcept : s_(o.s_) {
        if (s_) detail::retain(s_);
    }
    StreamReader(StreamReader&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    StreamReader& operator=(StreamReader o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    ~StreamReader() {
        if (s_) detail::release(s_);
    }

    // Up to n bytes (n < 0: everything up to EOF). Suspends until some data
    // or EOF is there; returns "" at EOF (and for n == 0). Throws the
    // stream's exception (ConnectionResetError when the peer reset it, ...).
    Task<std::string> read(std::ptrdiff_t n = -1);
    // One line, '\n' included; at EOF the unterminated rest ("" if none).
    // A line longer than limit() throws ValueError, after dropping the line
    // (or, when no '\n' was seen yet, the whole buffer), as Python does.
    Task<std::string> readline();
    // Exactly n bytes. Throws IncompleteReadError (with what did arrive,
    // consumed) if EOF comes first.
    Task<std::string> readexactly(std::size_t n);
    // Everything up to and including `separator`. Throws ValueError for an
    // empty separator; LimitOverrunError if more than limit() bytes come
    // before it (the data stays buffered, so the stream can still be read;
    // consumed() says how much may be skipped); IncompleteReadError at EOF
    // (with the whole buffer, consumed; its expected() is SIZE_MAX for
    // Python's None).
    Task<std::string> readuntil(std::string_view separator = "\n");

    // True when EOF was fed and the buffer is empty.
    bool at_eof() const noexcept;
    std::size_t limit() const noexcept;
    // The exception that ends every read (null if none).
    std::exception_ptr exception() const noexcept;
    // Makes every later read (and the one waiting now) throw `e`.
    void set_exception(std::exception_ptr e);
    // Appends bytes, as if they had arrived (wakes the waiting read).
    // Throws RuntimeError after feed_eof().
    void feed_data(std::string_view data);
    void feed_eof();

    explicit operator bool() const noexcept { return s_ != nullptr; }
    detail::Stream* stream() const noexcept { return s_; }

private:
    detail::Stream* s_ = nullptr;
};

// ---- Transport ----------------------------------------------------------------

// Python's transport behind a StreamWriter (writer.transport()): the
// flow-control knobs and abort(). Loop thread only; nothing here suspends.
class Transport {
public:
    explicit Transport(detail::Stream* adopt) noexcept : s_(adopt) {}  // takes a reference
    Transport(const Transport& o) noexcept : s_(o.s_) {
        if (s_) detail::retain(s_);
    }
    Transport(Transport&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    Transport& operator=(Transport o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    ~Transport() {
        if (s_) detail::release(s_);
    }

    // Sends what is buffered, then closes (the reader then sees EOF).
    void close();
    // Closes at once, dropping what is buffered.
    void abort();
    bool is_closing() const noexcept;
    std::size_t get_write_buffer_size() const noexcept;
    // (low, high), as Python's get_write_buffer_limits().
    std::pair<std::size_t, std::size_t> get_write_buffer_limits() const noexcept;
    // Python's set_write_buffer_limits(high, low): no high means 64 KiB
    // (4*low if low is given), no low means high/4. drain() then waits while
    // more than `high` bytes are buffered, until at most `low` remain.
    // Throws ValueError unless high >= low.
    void set_write_buffer_limits(std::optional<std::size_t> high = std::nullopt,
                                 std::optional<std::size_t> low = std::nullopt);
    // "peername" / "sockname" for sockets; nothing for pipes, unknown names,
    // or once the connection is closed (addresses are looked up when first
    // asked for, then kept).
    std::optional<SocketAddress> get_extra_info(std::string_view name) const;
    // The descriptor, or -1 once closed.
    int fileno() const noexcept;

private:
    detail::Stream* s_ = nullptr;
};

// ---- StreamWriter -------------------------------------------------------------

// Python's asyncio.StreamWriter. write() never blocks or suspends: bytes go
// to the kernel at once when it takes them (on io_uring: with the loop's
// next wait), the rest is buffered; drain() is where a task waits for a
// slow peer. Loop thread only.
class StreamWriter {
public:
    StreamWriter() = default;  // no stream: only assignable
    explicit StreamWriter(detail::Stream* adopt) noexcept : s_(adopt) {}  // takes a reference
    StreamWriter(const StreamWriter& o) noexcept : s_(o.s_) {
        if (s_) detail::retain(s_);
    }
    StreamWriter(StreamWriter&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    StreamWriter& operator=(StreamWriter o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    ~StreamWriter() {
        if (s_) detail::release(s_);
    }

    // Sends or buffers `data`. After the connection is lost the bytes are
    // dropped silently, as Python does (drain() reports the loss). Throws
    // RuntimeError after write_eof().
    void write(std::string_view data);
    void write(const void* data, std::size_t n) { write(std::string_view(static_cast<const char*>(data), n)); }
    // write() of each piece, sent with one system call where possible.
    template <class R>
    void writelines(const R& pieces) {
        std::string_view parts[16];
        std::size_t k = 0;
        for (const auto& p : pieces) {
            parts[k++] = std::string_view(p);
            if (k == 16) {
                write_parts(parts, k);
                k = 0;
            }
        }
        if (k) write_parts(parts, k);
    }
    // Python's drain(): suspends the task while the write buffer is above
    // the high-water mark (returns at once otherwise). Throws the reader's
    // exception if it has one, ConnectionResetError("Connection lost") once
    // the connection is gone, or the error that ended it.
    Task<> drain();
    bool can_write_eof() const noexcept;
    // Half-close: shuts the sending side down once the buffer is sent (a
    // pipe is closed). Reading goes on.
    void write_eof();
    // Sends what is buffered, then closes; the reader sees EOF.
    void close();
    bool is_closing() const noexcept;
    // Suspends until the connection is closed. Throws the error that ended
    // it, if one did (Python's closed future does the same).
    Task<> wait_closed();
    std::optional<SocketAddress> get_extra_info(std::string_view name) const;
    Transport transport() const noexcept;

    explicit operator bool() const noexcept { return s_ != nullptr; }
    detail::Stream* stream() const noexcept { return s_; }

private:
    void write_parts(const std::string_view* parts, std::size_t count);
    detail::Stream* s_ = nullptr;
};

// ---- connections --------------------------------------------------------------

// Python's asyncio.open_connection: resolves host (numeric addresses at
// once; names with getaddrinfo on the loop's default executor, so the loop
// never blocks), then connects to each address in turn without blocking.
// Suspends the calling task. Throws ConnectionRefusedError and the other
// OSErrors (the first one when every address failed with the same errno,
// OSError("Multiple exceptions: ...") otherwise), OSError with the EAI_*
// code when the name does not resolve, ValueError for an empty host,
// CancelledError if cancelled (the half-open socket is closed).
Task<std::pair<StreamReader, StreamWriter>> open_connection(std::string host, uint16_t port,
                                                            ConnectOptions options = {});
// The same over a Unix socket (a leading '\0' names an abstract socket).
Task<std::pair<StreamReader, StreamWriter>> open_unix_connection(std::string path, ConnectOptions options = {});

// ---- servers ------------------------------------------------------------------

// Python's asyncio.Server, as start_server returns it. Handles share the
// server; the last one to go closes it (stops listening; connections
// already accepted go on). Loop thread only.
class Server {
public:
    explicit Server(detail::ServerState* adopt) noexcept;  // takes a reference
    Server(const Server& o) noexcept;
    Server(Server&& o) noexcept : st_(std::exchange(o.st_, nullptr)) {}
    Server& operator=(Server o) noexcept {
        std::swap(st_, o.st_);
        return *this;
    }
    ~Server();

    // Stops listening and closes the listening sockets (a Unix socket's file
    // is removed, as Python 3.13 does). Connections already accepted stay
    // open. Ends a pending serve_forever().
    void close();
    // Python 3.13's close_clients() / abort_clients(): close() (or abort())
    // every connection accepted by this server that is still open.
    void close_clients();
    void abort_clients();
    // Suspends until the server is closed and every connection it accepted
    // is closed (Python 3.12's semantics).
    Task<> wait_closed();
    // Listens (if start_serving was false) and accepts until close() or
    // cancellation; then closes the server, waits as wait_closed(), and
    // throws CancelledError, as Python. Throws RuntimeError if the server
    // is closed or another task already serves it forever.
    Task<> serve_forever();
    // Starts listening and accepting. Throws RuntimeError once closed.
    Task<> start_serving();
    bool is_serving() const noexcept;
    // The listening sockets' addresses (the chosen port when asked for 0);
    // empty once closed.
    std::vector<SocketAddress> sockets() const;

private:
    detail::ServerState* st_ = nullptr;
};

namespace detail {
// The client-connected callback, type-erased once per server.
struct ClientCallback {
    std::function<Task<>(StreamReader, StreamWriter)> coro;
    std::function<void(StreamReader, StreamWriter)> plain;
};
template <class F>
ClientCallback make_client_callback(F&& f) {
    using R = std::invoke_result_t<std::decay_t<F>&, StreamReader, StreamWriter>;
    static_assert(std::is_same_v<R, Task<>> || std::is_void_v<R>,
                  "start_server(handler, ...): handler(StreamReader, StreamWriter) must return "
                  "asyncio::Task<> (run as a task of its own) or void");
    ClientCallback cb;
    if constexpr (std::is_void_v<R>) {
        cb.plain = std::forward<F>(f);
    } else {
        cb.coro = std::forward<F>(f);
    }
    return cb;
}
Task<Server> start_tcp_server(ClientCallback cb, std::string host, uint16_t port, ServerOptions options);
Task<Server> start_unix_server(ClientCallback cb, std::string path, ServerOptions options);
}  // namespace detail

// Python's asyncio.start_server: binds to every address `host` resolves to
// ("" for all interfaces; port 0 picks a free port, see sockets()), listens,
// and for each connection calls handler(reader, writer) on the loop's
// thread; a Task<> it returns runs as a task of its own (Python's
// client_connected_cb), a void handler runs inline. If that task
// fails, the loop's exception handler hears of it and the connection is
// closed; if it is cancelled, the connection is closed. The server keeps
// (a move of) the handler; what it refers to must outlive the server and
// its connections. Suspends the calling task while the name resolves.
// Throws OSError (EADDRINUSE, ...).
template <class F>
Task<Server> start_server(F handler, std::string host, uint16_t port, ServerOptions options = {}) {
    return detail::start_tcp_server(detail::make_client_callback(std::move(handler)), std::move(host), port,
                                    options);
}
// The same on a Unix socket at `path` (a stale socket file there is
// removed first, as Python does).
template <class F>
Task<Server> start_unix_server(F handler, std::string path, ServerOptions options = {}) {
    return detail::start_unix_server(detail::make_client_callback(std::move(handler)), std::move(path), options);
}

// ---- pipes (for subprocess) -----------------------------------------------------

namespace detail {
// Streams over one end of a pipe (or any descriptor read()/write() work on),
// already non-blocking. The stream owns fd and closes it when its last
// handle goes (or at EOF for the reader, on write_eof()/close() for the
// writer). The writer also notices the reading end closing (connection
// lost; BrokenPipeError for what was still buffered), and never raises
// SIGPIPE. Loop thread; a loop must be running.
StreamReader make_pipe_reader(int fd, std::size_t limit = 65536);
StreamWriter make_pipe_writer(int fd);
}  // namespace detail

}  // namespace concur::asyncio
