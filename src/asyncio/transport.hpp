// The object behind StreamReader, StreamWriter and Transport: Python's
// selector transport, StreamReaderProtocol and StreamReader state in one
// reference-counted block per connection, driven by the loop's readiness
// callbacks (IoWatch) and touched only on the loop's thread.
//
//   readable --> read_ready: recv into a per-thread scratch buffer, then
//                hand it to the parked read (read(n) takes it directly) or
//                append it to rbuf; wake the read whose condition now holds
//   write()  --> send at once; the rest to wbuf and watch writability
//   writable --> write_ready: send from wbuf; wake drain() below the
//                low-water mark; when empty: shutdown (write_eof) or close
//   lost     --> connection_lost: unwatch, close the fd, wake every waiter
//
// A socket on a loop whose backend does the I/O itself (io_uring) skips
// readiness: the backend reports received chunks (received(), then as
// above from feed()), and write() appends to wbuf and, when no send is in
// flight, hands wbuf's block to the kernel as `inflight_` (sent() takes the
// next one). Both leave with the loop's next wait: no syscall per message.
#pragma once

#include <sys/types.h>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "concur/asyncio/detail/task_base.hpp"
#include "concur/asyncio/loop.hpp"
#include "concur/asyncio/streams.hpp"

namespace concur::asyncio::detail {

// Bytes in [head, tail) of one malloc'd block: appends grow it (no zero
// fill, unlike std::string::resize), consumption only moves head.
class ByteBuffer {
public:
    ByteBuffer() = default;
    ByteBuffer(const ByteBuffer&) = delete;
    ByteBuffer& operator=(const ByteBuffer&) = delete;
    ~ByteBuffer() { std::free(data_); }

    std::size_t size() const noexcept { return tail_ - head_; }
    bool empty() const noexcept { return head_ == tail_; }
    const char* data() const noexcept { return data_ + head_; }
    std::size_t capacity() const noexcept { return cap_; }

    // Throws std::bad_alloc.
    void append(const char* p, std::size_t n);
    // Puts bytes back in front (a cancelled read returning what it took).
    void prepend(const char* p, std::size_t n);
    void consume(std::size_t n) noexcept {
        head_ += n;
        if (head_ == tail_) head_ = tail_ = 0;
    }
    std::string take(std::size_t n) {
        std::string s(data(), n);
        consume(n);
        return s;
    }
    void clear() noexcept { head_ = tail_ = 0; }
    void swap(ByteBuffer& o) noexcept {
        std::swap(data_, o.data_);
        std::swap(head_, o.head_);
        std::swap(tail_, o.tail_);
        std::swap(cap_, o.cap_);
    }
    // Hands the malloc'd block over (the buffer is left empty).
    void* release() noexcept {
        void* d = data_;
        data_ = nullptr;
        head_ = tail_ = cap_ = 0;
        return d;
    }
    // Gives the block back when empty and bigger than `keep`: a connection
    // that once saw a burst does not pin its peak while idle.
    void trim(std::size_t keep) noexcept {
        if (empty() && cap_ > keep) {
            std::free(data_);
            data_ = nullptr;
            cap_ = 0;
        }
    }

private:
    char* data_ = nullptr;
    std::size_t head_ = 0;
    std::size_t tail_ = 0;
    std::size_t cap_ = 0;
};

// A task parked on a list (drain, wait_closed, serve_forever): woken all at
// once by wake_all(), or alone by Task.cancel().
struct WaitNode : Suspension {
    WaitNode* prev = nullptr;
    WaitNode* next = nullptr;
    TaskBase* task = nullptr;
    bool linked = false;
    bool cancelled = false;
};

class WaitList {
public:
    bool empty() const noexcept { return head_ == nullptr; }
    void push(WaitNode* n) noexcept;
    void remove(WaitNode* n) noexcept;
    // Unlinks every node and queues its task.
    void wake_all() noexcept;

private:
    WaitNode* head_ = nullptr;
    WaitNode* tail_ = nullptr;
};

// co_await ListWait(list): suspends until the list is woken; throws
// CancelledError if the task is cancelled first.
struct ListWait : WaitNode {
    WaitList* list;
    explicit ListWait(WaitList& l) noexcept : list(&l) {}
    ListWait(const ListWait&) = delete;
    ~ListWait() {
        if (linked) list->remove(this);
    }
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h);
    void await_resume();
};

class Stream;

// The one read parked on a stream, with the condition that ends its wait
// (Python wakes the reader on every chunk and lets it look again; checking
// here instead wakes a readexactly(1 MiB) once, not per chunk).
struct ReadWait : Suspension {
    enum class Until : uint8_t { data, bytes, separator, eof };
    Stream* s;
    Until until;
    const char* func;  // for the "already waiting" RuntimeError
    std::size_t n = 0;           // Until::bytes
    std::string_view sep;        // Until::separator
    std::size_t* offset = nullptr;  // Until::separator: searched up to here
    TaskBase* task = nullptr;
    bool linked = false;
    bool cancelled = false;
    // Until::data with an empty buffer: the bytes recv'd for this read go
    // straight here instead of through the stream's buffer.
    std::size_t want = 0;
    std::string handoff;
    bool has_handoff = false;

    ReadWait(Stream* st, Until u, const char* f) noexcept : s(st), until(u), func(f) {}
    ReadWait(const ReadWait&) = delete;
    ~ReadWait();
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h);
    void await_resume();
};

class Stream {
public:
    enum class Kind : uint8_t { standalone, socket, pipe_reader, pipe_writer };

    // Adopts fd (-1 for a standalone reader). The creator holds the one
    // reference. Loop thread.
    Stream(EventLoop* loop, int fd, Kind kind, std::size_t limit);
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    void retain() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) last_reference_gone();
    }

    // Starts reading (or, for a pipe writer, watching for the reading end
    // to close). Throws what watch_fd throws.
    void start();

    // ---- reader side ----------------------------------------------------
    bool satisfied(ReadWait& w) noexcept;
    void feed(const char* p, std::size_t n);
    void feed_eof() noexcept;
    void set_reader_exception(std::exception_ptr e) noexcept;
    std::string take(std::size_t n);
    // After bytes left rbuf: resumes reading once at or below limit.
    void consumed() noexcept;
    // A read is about to park: reading must go on for it.
    void reader_parks() noexcept;

    // ---- writer side ----------------------------------------------------
    void write(const char* p, std::size_t n);
    void writev(const std::string_view* parts, std::size_t count);
    void write_eof();
    bool can_write_eof() const noexcept { return kind != Kind::standalone && kind != Kind::pipe_reader; }
    void close() noexcept;
    void abort() noexcept;
    bool is_closing() const noexcept { return closing || lost; }
    void set_write_limits(std::optional<std::size_t> high, std::optional<std::size_t> low);
    std::optional<SocketAddress> extra_info(std::string_view name);

    // Python's connection_lost(exc): closes the fd and wakes every waiter.
    void connection_lost(std::exception_ptr exc) noexcept;
    void fatal(int err, const char* what) noexcept;

    EventLoop* const loop;
    int fd;
    const Kind kind;
    std::size_t limit;

    ByteBuffer rbuf;
    std::exception_ptr reader_exc;  // StreamReader.exception()
    ReadWait* read_waiter = nullptr;
    bool eof = false;             // the reader saw EOF
    bool read_paused = false;     // rbuf above 2*limit with nobody waiting

    ByteBuffer wbuf;
    // Bytes not yet written: in wbuf, and in a send the kernel has.
    std::size_t write_buffer_size() const noexcept { return wbuf.size() + inflight_.size(); }
    std::size_t high = 64 * 1024;
    std::size_t low = 16 * 1024;
    WaitList drain_waiters;
    WaitList close_waiters;
    std::exception_ptr lost_exc;  // what connection_lost got
    bool write_paused = false;    // wbuf went above high, not yet below low
    bool eof_requested = false;   // write_eof() called
    bool closing = false;         // close() called
    bool lost = false;            // the fd is closed

    // The server that accepted this connection (counted in its active
    // connections until lost), and its list of them.
    ServerState* server = nullptr;
    Stream* server_prev = nullptr;
    Stream* server_next = nullptr;

private:
    struct Watch : IoWatch {
        Stream* owner = nullptr;
    };
    struct SockWatch : SocketWatch {
        Stream* owner = nullptr;
    };
    struct Extra {
        std::optional<SocketAddress> peer, sock;
        bool peer_known = false, sock_known = false;
    };
    ~Stream();
    void last_reference_gone() noexcept;
    bool wants_read() const noexcept;
    void sync_watch() noexcept;
    void read_ready() noexcept;
    void write_ready() noexcept;
    void wake_reader() noexcept;
    ssize_t send_some(const char* p, std::size_t n) noexcept;
    void check_writable() const;
    void queue(const char* p, std::size_t n);
    void after_write_drained() noexcept;
    void shutdown_write() noexcept;
    void close_fd() noexcept;
    // Completions (see the top of this file).
    void received(const char* p, int n) noexcept;
    void sent(int res) noexcept;
    void start_send() noexcept;
    void after_append() noexcept;

    Watch rwatch_;
    Watch wwatch_;
    SockWatch swatch_;
    ByteBuffer inflight_;  // the bytes of the send in flight
    std::unique_ptr<Extra> extra_;
    uint32_t refs_ = 1;
    bool watching_read_ = false;
    bool watching_write_ = false;
    bool writing_ = false;  // wbuf has bytes waiting for writability
    bool lingered_ = false;  // the last handle went; a closer task flushes
    bool sock_io_ = false;   // recv/send (sockets), else read/write
    bool completions_ = false;  // the backend does this socket's I/O
    bool sending_ = false;      // inflight_ is with the kernel
};

// A counted reference to a Stream, for coroutine frames.
class StreamPtr {
public:
    StreamPtr() = default;
    explicit StreamPtr(Stream* s) noexcept : s_(s) {
        if (s_) s_->retain();
    }
    static StreamPtr adopt(Stream* s) noexcept {
        StreamPtr p;
        p.s_ = s;
        return p;
    }
    StreamPtr(const StreamPtr& o) noexcept : StreamPtr(o.s_) {}
    StreamPtr(StreamPtr&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    StreamPtr& operator=(StreamPtr o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    ~StreamPtr() {
        if (s_) s_->release();
    }
    Stream* operator->() const noexcept { return s_; }
    Stream& operator*() const noexcept { return *s_; }
    Stream* get() const noexcept { return s_; }
    Stream* detach() noexcept { return std::exchange(s_, nullptr); }

private:
    Stream* s_ = nullptr;
};

// server.cpp: a connection the server accepted is gone.
void server_detach(ServerState* st, Stream* s) noexcept;

// Socket helpers shared by the connect and server sides.
void set_nodelay(int fd) noexcept;
SocketAddress socket_address(const void* sa, unsigned len);

}  // namespace concur::asyncio::detail
