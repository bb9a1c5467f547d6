// The io_uring backend. Interest in a descriptor is a one-shot POLL_ADD
// request, re-armed after each completion while the interest lasts: level
// semantics, like epoll's, but every arm and disarm rides the ring with the
// next wait instead of costing a syscall of its own. Wake-ups are a READ of
// an eventfd kept in flight.
//
// user_data of a poll = fd | generation << 32; a descriptor's generation
// moves on whenever its request is withdrawn, so a late completion of an old
// request is recognised and dropped.
#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "backend.hpp"
#include "concur/errors.hpp"

// ThreadSanitizer cannot see the rings' mmap/munmap: liburing makes them as
// raw system calls. When one loop's ring is unmapped and another thread's
// new ring lands on the same pages, TSan takes the old ring's writes for a
// race with the new ones. The kernel orders the unmap before the new map;
// a release (ring torn down) / acquire (ring made) pair tells TSan so.
#if defined(__SANITIZE_THREAD__)
#define CONCUR_URING_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CONCUR_URING_TSAN 1
#endif
#endif
#ifdef CONCUR_URING_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace concur::asyncio::detail {
namespace {

#ifdef CONCUR_URING_TSAN
char ring_lifetimes;  // the address the release/acquire pair meets on
void ring_made() noexcept { __tsan_acquire(&ring_lifetimes); }
void ring_unmade() noexcept { __tsan_release(&ring_lifetimes); }
#else
void ring_made() noexcept {}
void ring_unmade() noexcept {}
#endif

constexpr uint64_t kIgnoreTag = 0xFFFF'FFFF'FFFF'FFFEull;
constexpr uint64_t kWakeTag = 0xFFFF'FFFF'FFFF'FFFFull;

class UringBackend final : public Backend {
public:
    UringBackend() {
        int r = init_ring();
        if (r < 0)
            throw RuntimeError(std::string("event loop: io_uring is not available here (") +
                               std::strerror(-r) + "); use CONCUR_LOOP=epoll or auto");
        ring_made();
        wake_ = eventfd(0, EFD_CLOEXEC);
        if (wake_ < 0) {
            ring_unmade();
            io_uring_queue_exit(&ring_);
            throw RuntimeError(std::string("event loop: eventfd: ") + std::strerror(errno));
        }
        arm_wake();
    }
    ~UringBackend() override {
        ring_unmade();
        io_uring_queue_exit(&ring_);
        close(wake_);
    }
    const char* name() const noexcept override { return "io_uring"; }

    void set_interest(int fd, uint32_t events) override {
        if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(fd + 1);
        Fd& f = fds_[fd];
        if (f.interest == events) return;
        f.interest = events;
        if (f.armed) {
            if (f.armed_events == events) return;
            io_uring_sqe* sqe = get_sqe();
            io_uring_prep_poll_remove(sqe, tag(fd, f.gen));
            io_uring_sqe_set_data64(sqe, kIgnoreTag);
            f.armed = false;
            ++f.gen;
        }
        if (events) want_arm(fd);
    }

    void poll(int64_t timeout_ns, Sink& sink) override {
        if (gettid() != owner_) rebuild();
        arm_pending();
        io_uring_cqe* cqe = nullptr;
        int r;
        if (timeout_ns == 0) {
            r = io_uring_submit_and_get_events(&ring_);
        } else if (timeout_ns < 0) {
            r = io_uring_submit_and_wait(&ring_, 1);
        } else {
            __kernel_timespec ts{};
            ts.tv_sec = timeout_ns / 1'000'000'000;
            ts.tv_nsec = timeout_ns % 1'000'000'000;
            r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
        }
        if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY)
            throw RuntimeError(std::string("event loop (io_uring): wait: ") + std::strerror(-r));
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            ++seen;
            complete(cqe->user_data, cqe->res, sink);
        }
        io_uring_cq_advance(&ring_, seen);
    }

    void wakeup() noexcept override {
        uint64_t one = 1;
        ssize_t r = write(wake_, &one, sizeof one);
        (void)r;
    }

private:
    // Completions are run only when this thread asks for them (no
    // interrupting task work: as fast as epoll on a busy loop, twice as fast
    // as the default here), on kernels that have it (6.1); else cooperative
    // task work (5.19), else the default. Such a ring belongs to the thread
    // that made it.
    int init_ring() {
        int r = -EINVAL;
        for (unsigned flags : {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
                               unsigned{IORING_SETUP_COOP_TASKRUN}, 0u}) {
            r = io_uring_queue_init(kEntries, &ring_, flags);
            if (r != -EINVAL) break;
        }
        owner_ = gettid();
        return r;
    }

    // The loop runs on another thread than the one that made the ring:
    // make a new ring here and re-arm everything on it (the old ring's
    // requests die with it).
    void rebuild() {
        ring_unmade();
        io_uring_queue_exit(&ring_);
        int r = init_ring();
        if (r >= 0) ring_made();
        if (r < 0) throw RuntimeError(std::string("event loop (io_uring): cannot re-create the ring: ") + std::strerror(-r));
        to_arm_.clear();
        for (std::size_t fd = 0; fd < fds_.size(); ++fd) {
            Fd& f = fds_[fd];
            f.queued = false;
            if (f.armed) ++f.gen;
            f.armed = false;
            if (f.interest) want_arm(static_cast<int>(fd));
        }
        arm_wake();
    }

    struct Fd {
        uint32_t interest = 0;
        uint32_t armed_events = 0;
        uint32_t gen = 0;
        bool armed = false;
        bool queued = false;  // in to_arm_
    };
    static constexpr unsigned kEntries = 1024;

    static uint64_t tag(int fd, uint32_t gen) noexcept {
        return static_cast<uint32_t>(fd) | static_cast<uint64_t>(gen) << 32;
    }

    io_uring_sqe* get_sqe() {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        while (!sqe) {  // the submission queue is full: hand it to the kernel
            io_uring_submit(&ring_);
            sqe = io_uring_get_sqe(&ring_);
        }
        return sqe;
    }

    void want_arm(int fd) {
        Fd& f = fds_[fd];
        if (!f.queued) {
            f.queued = true;
            to_arm_.push_back(fd);
        }
    }

    void arm_pending() {
        for (int fd : to_arm_) {
            Fd& f = fds_[fd];
            f.queued = false;
            if (f.armed || f.interest == 0) continue;
            io_uring_sqe* sqe = get_sqe();
            unsigned mask = (f.interest & kReadable ? POLLIN | POLLRDHUP : 0) | (f.interest & kWritable ? POLLOUT : 0);
            io_uring_prep_poll_add(sqe, fd, mask);
            io_uring_sqe_set_data64(sqe, tag(fd, f.gen));
            f.armed = true;
            f.armed_events = f.interest;
        }
        to_arm_.clear();
    }

    void arm_wake() {
        io_uring_sqe* sqe = get_sqe();
        io_uring_prep_read(sqe, wake_, &wake_buf_, sizeof wake_buf_, 0);
        io_uring_sqe_set_data64(sqe, kWakeTag);
    }

    void complete(uint64_t data, int res, Sink& sink) {
        if (data == kIgnoreTag) return;
        if (data == kWakeTag) {
            arm_wake();
            sink.on_wakeup();
            return;
        }
        int fd = static_cast<int>(data & 0xFFFF'FFFF);
        auto gen = static_cast<uint32_t>(data >> 32);
        if (static_cast<std::size_t>(fd) >= fds_.size()) return;
        Fd& f = fds_[fd];
        if (f.gen != gen || !f.armed) return;  // withdrawn meanwhile
        f.armed = false;
        if (f.interest) want_arm(fd);
        if (res == -ECANCELED) return;
        uint32_t r = 0;
        if (res < 0 || (res & (POLLERR | POLLHUP))) {
            r = kReadable | kWritable;  // let the read or write report the error
        } else {
            if (res & (POLLIN | POLLRDHUP)) r |= kReadable;
            if (res & POLLOUT) r |= kWritable;
        }
        r &= f.interest;
        if (r) sink.on_ready(fd, r);
    }

    io_uring ring_{};
    int wake_ = -1;
    uint64_t wake_buf_ = 0;
    std::vector<Fd> fds_;
    std::vector<int> to_arm_;
    pid_t owner_ = 0;  // the thread the ring belongs to
};

}  // namespace

std::unique_ptr<Backend> make_uring_backend() { return std::make_unique<UringBackend>(); }

}  // namespace concur::asyncio::detail
