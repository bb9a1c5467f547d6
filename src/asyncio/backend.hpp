// What the event loop needs from the kernel, behind one interface: readiness
// of file descriptors, a bounded wait, and a wake-up from other threads.
// Two implementations: io_uring (poll requests batched through the ring, no
// syscall per change of interest) and epoll.
#pragma once

#include <cstdint>
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
};

std::unique_ptr<Backend> make_epoll_backend();
// Throws RuntimeError if the kernel (or a container's seccomp policy)
// refuses io_uring.
std::unique_ptr<Backend> make_uring_backend();

}  // namespace concur::asyncio::detail
