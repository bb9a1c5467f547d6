// The site server's insides: one Site per serve() call, one Conn per
// accepted connection, all on the loop's thread, driven by the loop's
// readiness callbacks (IoWatch) and timers (TimerEntry) without tasks.
//
//   listener readable --accept4--> Conn (watch readable)
//   Conn readable --recv into the site's scratch--> http_parser_execute
//       on_message_complete --> route --> latency 0: emit at once
//                                         else: queue (due = now + latency)
//       emit: head + body (pre-rendered) into the site's iovec batch
//       end of the callback --> flush: one sendmsg for the whole batch
//       short write --> rest to Conn::out, watch writable, stop reading
//   latency timer --> emit every queued response that is due, flush
//   sweep timer (every idle_timeout/4) --> close connections idle too long
//
// Back-pressure: a connection stops reading (its parser paused, the bytes
// not yet parsed kept in Conn::in) while its output is stuck in Conn::out or
// its queue of delayed responses is full, so a client that pipelines
// without reading costs a bounded amount of memory.
#pragma once

#include <http_parser.h>
#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "concur/asyncio/loop.hpp"
#include "concur/http/server.hpp"

namespace concur::http {

// The one writer of SiteStats.
class SiteCounters {
public:
    explicit SiteCounters(std::shared_ptr<SiteStats> s) : s_(s ? std::move(s) : std::make_shared<SiteStats>()) {}
    static void bump(std::atomic<std::uint64_t>& a, std::int64_t d = 1) noexcept {
        a.store(a.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(d), std::memory_order_relaxed);
    }
    void accepted() noexcept {
        bump(s_->accepted_);
        bump(s_->open_);
    }
    void closed() noexcept { bump(s_->open_, -1); }
    void served(std::uint32_t n) noexcept {
        if (n) bump(s_->served_, n);
    }
    void bad(std::uint32_t n) noexcept {
        if (n) bump(s_->bad_, n);
    }
    void listening(std::uint16_t port) noexcept { s_->port_.store(port, std::memory_order_release); }

private:
    std::shared_ptr<SiteStats> s_;
};

namespace server {

// A response ready to send, head and body in one block (one iovec each;
// HEAD sends the first head_len bytes).
struct Rendered {
    std::string keep;   // "HTTP/1.1 200 OK ... Connection: keep-alive\r\n\r\n" + body
    std::string close;  // the same with "Connection: close"
    std::size_t keep_head = 0, close_head = 0;
};

// What a connection owes its client, in order.
struct Pending {
    asyncio::Clock::time_point due;
    std::uint32_t what;  // index into Site::renders_
    bool head_only;      // HEAD: no body
    bool close;          // last response on this connection
    bool bad;            // a 400
};

class Site;

class Conn {
public:
    static constexpr std::size_t kQueue = 64;  // delayed responses before reading stops

    Conn(Site& site, int fd);
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;
    ~Conn();

    Site& site;
    int fd;
    Conn* prev = nullptr;  // the site's list of connections
    Conn* next = nullptr;
    std::uint32_t last_tick;  // the sweep tick of the last progress

    // Starts watching for requests; false if the loop refused (then destroy it).
    bool start() noexcept;
    void on_readable() noexcept;
    void on_writable() noexcept;
    void on_timer() noexcept;
    bool lingering() const noexcept { return lingering_; }
    // Closes the socket, leaves the site's list, deletes this.
    void destroy() noexcept;

    // http_parser callbacks.
    static int on_message_begin(http_parser* p) noexcept;
    static int on_url(http_parser* p, const char* at, std::size_t n) noexcept;
    static int on_header_bytes(http_parser* p, const char* at, std::size_t n) noexcept;
    static int on_message_complete(http_parser* p) noexcept;

private:
    struct Watch : asyncio::detail::IoWatch {
        Conn* owner = nullptr;
    };
    struct Timer : asyncio::detail::TimerEntry {
        Conn* owner = nullptr;
    };

    void parse(const char* p, std::size_t n) noexcept;
    // Queues (or, with no latency, emits) the response `what`.
    void respond(std::uint32_t what, bool head_only, bool close, bool bad) noexcept;
    void emit(const Pending& r) noexcept;
    // Sends the site's batch (what the kernel does not take goes to out_).
    void flush() noexcept;
    // Reading waits while output is stuck, the delay queue is full, or the
    // connection is closing.
    bool stuck() const noexcept { return out_off_ != out_.size() || qlen_ == kQueue || closing_; }
    // The end of every entry point: flush, then destroy, linger, resume
    // parsing, or set what to watch.
    void settle() noexcept;
    bool set_watch(bool read, bool write) noexcept;
    void arm_timer() noexcept;
    // Every response sent: shut the sending side and drain what the client
    // still sends (so that its unread bytes do not turn our FIN into a
    // reset that could destroy the response); close on its EOF or the
    // next sweep.
    void finish() noexcept;

    http_parser parser_;
    Watch rwatch_, wwatch_;
    Timer timer_;
    std::string url_;
    std::string in_;   // bytes received while paused, not yet parsed
    std::string out_;  // bytes the kernel did not take, from out_off_
    std::size_t out_off_ = 0;
    std::array<Pending, kQueue> queue_;
    std::uint32_t qhead_ = 0, qlen_ = 0;
    std::size_t header_bytes_ = 0;
    bool paused_ = false;     // the parser is paused; in_ holds the rest
    bool dead_ = false;       // a fatal error: destroy at settle()
    bool closing_ = false;    // a response with Connection: close is owed or sent
    bool peer_eof_ = false;   // the client shut its side: answer what came, then close
    bool lingering_ = false;  // finish() done
    bool reading_ = false, writing_ = false;
};

class Site {
public:
    // Binds and listens. Throws ValueError, OSError.
    Site(asyncio::EventLoop& loop, SiteOptions options, std::shared_ptr<SiteStats> stats);
    Site(const Site&) = delete;
    Site& operator=(const Site&) = delete;
    // Closes the listener and every connection.
    ~Site();

    std::uint16_t port() const noexcept { return port_; }

    asyncio::EventLoop& loop;
    SiteCounters counters;
    const SiteOptions options;
    std::uint32_t tick = 0;

    // Responses: one per page, then 404, 405, 400.
    std::vector<Rendered> renders;
    std::uint32_t not_found = 0, not_allowed = 0, bad_request = 0;
    std::uint32_t route(std::string_view url) const noexcept;

    // The batch of the connection being served now (one at a time).
    static constexpr int kBatch = 64;
    std::array<iovec, kBatch> iov{};
    int niov = 0;
    static constexpr std::size_t kBatchBytes = 256 * 1024;
    std::size_t batch_bytes = 0;
    std::uint32_t batch_served = 0;  // responses in the batch, for the counters
    std::uint32_t batch_bad = 0;

    char* scratch() noexcept { return scratch_.get(); }
    static constexpr std::size_t kScratch = 64 * 1024;
    http_parser_settings settings{};

    void unlink(Conn* c) noexcept;

private:
    struct Listener : asyncio::detail::IoWatch {
        Site* site = nullptr;
    };
    struct Tick : asyncio::detail::TimerEntry {
        Site* site = nullptr;
    };
    void render_all();
    void listen_on(const std::string& host, std::uint16_t port);
    void accept_ready() noexcept;
    void sweep() noexcept;

    int lfd_ = -1;
    std::uint16_t port_ = 0;
    Listener lwatch_;
    Tick sweep_, retry_;
    std::uint32_t idle_ticks_ = 1;
    asyncio::Clock::duration tick_len_{};
    Conn* conns_ = nullptr;
    std::unordered_map<std::string_view, std::uint32_t> routes_;
    std::unique_ptr<char[]> scratch_;
};

}  // namespace server
}  // namespace concur::http
