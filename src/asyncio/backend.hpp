// What the event loop needs from the kernel, behind one interface: readiness
// of file descriptors, a bounded wait, and a wake-up from other threads.
// Two implementations: io_uring (poll requests batched through the ring, no
// syscall per change of interest) and epoll. The io_uring one can also do a
// socket's I/O itself (completions): it receives into buffers of its own and
// sends from the caller's, every request riding the next wait's submission,
// so a message costs no recv or send syscall of its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace concur::asyncio::detail {

constexpr uint32_t kReadable = 1;
constexpr uint32_t kWritable = 2;

class Backend {
public:
    // Receives what the wait found: fd with kReadable|kWritable (errors and
    // hang-ups count as both, so that the next read or write reports them),
    // or fd == -1 when wakeup() was called.
    struct Sink {
        virtual void on_ready(int fd, uint32_t events) noexcept = 0;
        virtual void on_wakeup() noexcept = 0;
        // Completions (see socket_completions): n > 0 bytes received into
        // p (valid for the call only), 0 end of stream, < 0 -errno.
        virtual void on_received(int fd, const char* p, int n) noexcept = 0;
        // The send started by send(fd, ...) is over: bytes taken (maybe
        // fewer than asked), or -errno.
        virtual void on_sent(int fd, int res) noexcept = 0;

    protected:
        ~Sink() = default;
    };

    virtual ~Backend() = default;
    virtual const char* name() const noexcept = 0;
    // Level-triggered interest in fd (0 = none). Loop thread only.
    virtual void set_interest(int fd, uint32_t events) = 0;
    // Waits at most timeout_ns (-1: no limit; 0: only collect what is
    // ready) and reports into sink. Loop thread only.
    virtual void poll(int64_t timeout_ns, Sink& sink) = 0;
    // Interrupts poll(). Any thread; async-signal-safe.
    virtual void wakeup() noexcept = 0;

    // Whether set_receiving and send work here. Loop thread only.
    virtual bool socket_completions() const noexcept { return false; }
    // Starts or stops receiving on socket fd. Bytes the kernel took before
    // a stop reached it are still reported. Loop thread only.
    virtual void set_receiving(int, bool) {}
    // Sends [p, p + n): p must stay put until on_sent(fd) (or forget(fd)).
    // One send per descriptor at a time. Loop thread only.
    virtual void send(int, const char*, std::size_t) {}
    // fd is about to be closed: drops its interest and requests, and
    // reports nothing more for it. send_block (malloc'd, may be null) holds
    // the bytes of a send still in flight: it is freed once the kernel can
    // no longer read them. Loop thread only.
    virtual void forget(int fd, void* send_block) noexcept {
        try {
            set_interest(fd, 0);
        } catch (...) {
        }
        std::free(send_block);
    }
};

std::unique_ptr<Backend> make_epoll_backend();
// Throws RuntimeError if the kernel (or a container's seccomp policy)
// refuses io_uring.
std::unique_ptr<Backend> make_uring_backend();

}  // namespace concur::asyncio::detail
