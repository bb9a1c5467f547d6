// The io_uring backend. Interest in a descriptor is a one-shot POLL_ADD
// request, re-armed after each completion while the interest lasts: level
// semantics, like epoll's, but every arm and disarm rides the ring with the
// next wait instead of costing a syscall of its own. Wake-ups are a READ of
// an eventfd kept in flight.
//
// Socket completions: a receiving socket has one multishot RECV in flight
// that takes a buffer from a ring of buffers shared by the loop (so an idle
// connection holds none) and reports each chunk; a send is a SEND from the
// caller's bytes. Both are submitted with the next wait, so one
// io_uring_enter carries every connection's I/O of a loop iteration.
//
// user_data = fd | generation << 32 | operation << 56. A poll's generation
// moves on whenever the poll is withdrawn; receive and send requests carry
// the descriptor's life, which moves on at forget(): a late completion of a
// withdrawn request is recognised and dropped (its buffer given back).
#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
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

enum Op : uint8_t { kPoll = 0, kRecv = 1, kSend = 2 };
constexpr uint32_t kGenMask = 0xFF'FFFF;

uint64_t tag(Op op, int fd, uint32_t gen) noexcept {
    return static_cast<uint32_t>(fd) | static_cast<uint64_t>(gen & kGenMask) << 32 | static_cast<uint64_t>(op) << 56;
}

// Multishot RECV with a ring of provided buffers needs Linux 6.0.
bool kernel_has_multishot_recv() noexcept {
    utsname u{};
    int major = 0, minor = 0;
    if (uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
    return major >= 6;
}

// CONCUR_URING_SOCKET_IO=0 keeps sockets on readiness (the A/B switch the
// benchmarks use; also a way out should a kernel misbehave).
bool socket_io_allowed() noexcept {
    const char* v = std::getenv("CONCUR_URING_SOCKET_IO");
    return !(v && std::strcmp(v, "0") == 0);
}

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
        if (socket_io_allowed() && kernel_has_multishot_recv()) completions_ = setup_buffers();
    }
    ~UringBackend() override {
        // Sends still queued go out (as far as their sockets take them)
        // rather than vanish with the ring.
        if (gettid() == owner_) io_uring_submit(&ring_);
        ring_unmade();
        io_uring_queue_exit(&ring_);
        close(wake_);
        // The ring is gone: nothing can read a buffer any more.
        for (auto& o : orphans_) std::free(o.second);
        if (bufs_) munmap(bufs_, kBufCount * kBufSize);
        if (br_) munmap(br_, br_bytes());
    }
    const char* name() const noexcept override { return "io_uring"; }

    void set_interest(int fd, uint32_t events) override {
        Fd& f = entry(fd);
        if (f.interest == events) return;
        f.interest = events;
        if (f.armed) {
            if (f.armed_events == events) return;
            cancel(tag(kPoll, fd, f.gen), true);
            f.armed = false;
            ++f.gen;
        }
        if (events) want_arm(fd);
    }

    void poll(int64_t timeout_ns, Sink& sink) override {
        if (gettid() != owner_) rebuild(sink);
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
        reap(sink);
    }

    void wakeup() noexcept override {
        uint64_t one = 1;
        ssize_t r = write(wake_, &one, sizeof one);
        (void)r;
    }

    bool socket_completions() const noexcept override { return completions_; }

    void set_receiving(int fd, bool on) override {
        Fd& f = entry(fd);
        f.recv_want = on;
        if (on) {
            if (!f.recv_armed) want_arm(fd);
        } else if (f.recv_armed && !f.recv_cancelling) {
            cancel(tag(kRecv, fd, f.life), false);
            f.recv_cancelling = true;
        }
    }

    void send(int fd, const char* p, std::size_t n) override {
        Fd& f = entry(fd);
        f.sending = true;
        f.send_p = p;
        f.send_n = static_cast<unsigned>(std::min<std::size_t>(n, 1u << 30));  // a short send is the caller's to finish
        prep_send(fd, f);
    }

    void forget(int fd, void* send_block) noexcept override {
        if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) {
            std::free(send_block);
            return;
        }
        Fd& f = fds_[fd];
        f.interest = 0;
        if (f.armed) {
            cancel(tag(kPoll, fd, f.gen), true);
            f.armed = false;
            ++f.gen;
        }
        if (f.recv_armed && !f.recv_cancelling) cancel(tag(kRecv, fd, f.life), false);
        if (f.sending) {
            uint64_t t = tag(kSend, fd, f.life);
            cancel(t, false);
            if (send_block) {
                // The kernel may still copy from the block until the send's
                // last completion: it is freed then (complete_send).
                try {
                    orphans_.emplace_back(t, send_block);
                    send_block = nullptr;
                } catch (...) {
                    send_block = nullptr;  // leaked rather than freed under the kernel
                }
            }
        }
        std::free(send_block);
        bool had_send = f.sending;
        f.recv_want = f.recv_armed = f.recv_cancelling = f.sending = false;
        ++f.life;
        // A SEND names its descriptor by number, resolved when submitted:
        // submitted after the caller's close(), it could find the number
        // reused by a new socket. Submitted now, it goes to this one (what
        // fits is sent, as a write() before close() promises), then the
        // cancel behind it ends the rest.
        if (had_send && gettid() == owner_) io_uring_submit(&ring_);
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

    // The buffers multishot receives land in: kBufCount of kBufSize, shared
    // by every socket of the loop and handed back as soon as the chunk was
    // reported. Mapped, not allocated: a page costs memory only once used.
    bool setup_buffers() {
        void* ring_mem = mmap(nullptr, br_bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (ring_mem == MAP_FAILED) return false;
        void* buf_mem = mmap(nullptr, kBufCount * kBufSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buf_mem == MAP_FAILED) {
            munmap(ring_mem, br_bytes());
            return false;
        }
        br_ = static_cast<io_uring_buf_ring*>(ring_mem);
        bufs_ = static_cast<char*>(buf_mem);
        if (!register_buffers()) {
            munmap(bufs_, kBufCount * kBufSize);
            munmap(br_, br_bytes());
            br_ = nullptr;
            bufs_ = nullptr;
            return false;
        }
        return true;
    }

    bool register_buffers() noexcept {
        io_uring_buf_reg reg{};
        reg.ring_addr = reinterpret_cast<uintptr_t>(br_);
        reg.ring_entries = kBufCount;
        reg.bgid = kBufGroup;
        if (io_uring_register_buf_ring(&ring_, &reg, 0) != 0) return false;
        io_uring_buf_ring_init(br_);
        for (unsigned i = 0; i < kBufCount; ++i)
            io_uring_buf_ring_add(br_, bufs_ + i * kBufSize, kBufSize, static_cast<unsigned short>(i),
                                  io_uring_buf_ring_mask(kBufCount), static_cast<int>(i));
        io_uring_buf_ring_advance(br_, kBufCount);
        return true;
    }

    static std::size_t br_bytes() noexcept {
        std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        return (kBufCount * sizeof(io_uring_buf) + page - 1) / page * page;
    }

    // The loop runs on another thread than the one that made the ring:
    // make a new ring here and re-arm everything on it (the old ring's
    // requests die with it). What the old ring already completed is
    // reported first. A send still in flight there had copied nothing (a
    // send that made any progress completes; one that found no room waits
    // in the kernel's poll, which the ring's exit cancels without retrying),
    // so it is simply issued again on the new ring.
    void rebuild(Sink& sink) {
        reap(sink);
        ring_unmade();
        io_uring_queue_exit(&ring_);
        int r = init_ring();
        if (r >= 0) ring_made();
        if (r < 0) throw RuntimeError(std::string("event loop (io_uring): cannot re-create the ring: ") + std::strerror(-r));
        if (completions_ && !register_buffers())
            throw RuntimeError("event loop (io_uring): cannot register the receive buffers on the re-created ring");
        to_arm_.clear();
        for (std::size_t i = 0; i < fds_.size(); ++i) {
            Fd& f = fds_[i];
            int fd = static_cast<int>(i);
            f.queued = false;
            if (f.armed) ++f.gen;
            f.armed = false;
            f.recv_armed = f.recv_cancelling = false;
            if (f.interest || f.recv_want) want_arm(fd);
            if (f.sending) prep_send(fd, f);
        }
        arm_wake();
    }

    struct Fd {
        uint32_t interest = 0;
        uint32_t armed_events = 0;
        uint32_t gen = 0;   // the poll's
        uint32_t life = 0;  // the receive's and send's
        bool armed = false;
        bool queued = false;  // in to_arm_
        bool recv_want = false;
        bool recv_armed = false;       // a multishot receive is in the kernel
        bool recv_cancelling = false;  // ... and its cancel is on its way
        bool sending = false;
        unsigned send_n = 0;
        const char* send_p = nullptr;
    };
    static constexpr unsigned kEntries = 1024;
    static constexpr unsigned kBufCount = 128;  // a power of two
    static constexpr unsigned kBufSize = 8192;
    static constexpr unsigned short kBufGroup = 1;

    Fd& entry(int fd) {
        if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(fd + 1);
        return fds_[fd];
    }

    io_uring_sqe* get_sqe() noexcept {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        while (!sqe) {  // the submission queue is full: hand it to the kernel
            io_uring_submit(&ring_);
            sqe = io_uring_get_sqe(&ring_);
        }
        return sqe;
    }

    void cancel(uint64_t target, bool poll) noexcept {
        io_uring_sqe* sqe = get_sqe();
        if (poll) io_uring_prep_poll_remove(sqe, target);
        else io_uring_prep_cancel64(sqe, target, 0);
        io_uring_sqe_set_data64(sqe, kIgnoreTag);
    }

    void prep_send(int fd, const Fd& f) noexcept {
        io_uring_sqe* sqe = get_sqe();
        io_uring_prep_send(sqe, fd, f.send_p, f.send_n, MSG_NOSIGNAL);
        io_uring_sqe_set_data64(sqe, tag(kSend, fd, f.life));
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
            if (!f.armed && f.interest != 0) {
                io_uring_sqe* sqe = get_sqe();
                unsigned mask = (f.interest & kReadable ? POLLIN | POLLRDHUP : 0) | (f.interest & kWritable ? POLLOUT : 0);
                io_uring_prep_poll_add(sqe, fd, mask);
                io_uring_sqe_set_data64(sqe, tag(kPoll, fd, f.gen));
                f.armed = true;
                f.armed_events = f.interest;
            }
            if (!f.recv_armed && f.recv_want) {
                io_uring_sqe* sqe = get_sqe();
                io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
                sqe->flags |= IOSQE_BUFFER_SELECT;
                sqe->buf_group = kBufGroup;
                io_uring_sqe_set_data64(sqe, tag(kRecv, fd, f.life));
                f.recv_armed = true;
                f.recv_cancelling = false;
            }
        }
        to_arm_.clear();
    }

    void arm_wake() {
        io_uring_sqe* sqe = get_sqe();
        io_uring_prep_read(sqe, wake_, &wake_buf_, sizeof wake_buf_, 0);
        io_uring_sqe_set_data64(sqe, kWakeTag);
    }

    void reap(Sink& sink) {
        io_uring_cqe* cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            ++seen;
            complete(cqe->user_data, cqe->res, cqe->flags, sink);
        }
        io_uring_cq_advance(&ring_, seen);
    }

    void complete(uint64_t data, int res, uint32_t flags, Sink& sink) {
        if (data == kIgnoreTag) return;
        if (data == kWakeTag) {
            arm_wake();
            sink.on_wakeup();
            return;
        }
        int fd = static_cast<int>(data & 0xFFFF'FFFF);
        auto gen = static_cast<uint32_t>(data >> 32) & kGenMask;
        switch (static_cast<Op>(data >> 56)) {
            case kPoll: complete_poll(fd, gen, res, sink); return;
            case kRecv: complete_recv(fd, gen, res, flags, sink); return;
            case kSend: complete_send(data, fd, gen, res, sink); return;
        }
    }

    void complete_poll(int fd, uint32_t gen, int res, Sink& sink) {
        if (static_cast<std::size_t>(fd) >= fds_.size()) return;
        Fd& f = fds_[fd];
        if ((f.gen & kGenMask) != gen || !f.armed) return;  // withdrawn meanwhile
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

    bool current(int fd, uint32_t life) const noexcept {
        return static_cast<std::size_t>(fd) < fds_.size() && (fds_[fd].life & kGenMask) == life;
    }

    void complete_recv(int fd, uint32_t life, int res, uint32_t flags, Sink& sink) {
        const char* buf = nullptr;
        unsigned bid = 0;
        if (flags & IORING_CQE_F_BUFFER) {
            bid = flags >> IORING_CQE_BUFFER_SHIFT;
            buf = bufs_ + static_cast<std::size_t>(bid) * kBufSize;
        }
        if (current(fd, life)) {
            Fd& f = fds_[fd];
            if (!(flags & IORING_CQE_F_MORE)) f.recv_armed = f.recv_cancelling = false;
            // Out of buffers (a burst over many sockets) or cancelled: the
            // bytes wait in the socket; re-armed below if still wanted.
            if (res == 0 || (res < 0 && res != -ENOBUFS && res != -ECANCELED)) f.recv_want = false;
            if (res > 0 && buf) {
                sink.on_received(fd, buf, res);
            } else if (res == 0 || (res < 0 && res != -ENOBUFS && res != -ECANCELED)) {
                sink.on_received(fd, nullptr, res);
            }
            // The sink may have forgotten fd or grown fds_ meanwhile.
            if (current(fd, life) && !fds_[fd].recv_armed && fds_[fd].recv_want) want_arm(fd);
        }
        if (buf) {
            io_uring_buf_ring_add(br_, const_cast<char*>(buf), kBufSize, static_cast<unsigned short>(bid),
                                  io_uring_buf_ring_mask(kBufCount), 0);
            io_uring_buf_ring_advance(br_, 1);
        }
    }

    void complete_send(uint64_t data, int fd, uint32_t life, int res, Sink& sink) {
        if (current(fd, life) && fds_[fd].sending) {
            fds_[fd].sending = false;
            sink.on_sent(fd, res);
            return;
        }
        auto it = std::find_if(orphans_.begin(), orphans_.end(), [&](const auto& o) { return o.first == data; });
        if (it != orphans_.end()) {
            std::free(it->second);
            *it = orphans_.back();
            orphans_.pop_back();
        }
    }

    io_uring ring_{};
    int wake_ = -1;
    uint64_t wake_buf_ = 0;
    std::vector<Fd> fds_;
    std::vector<int> to_arm_;
    pid_t owner_ = 0;  // the thread the ring belongs to
    bool completions_ = false;
    io_uring_buf_ring* br_ = nullptr;
    char* bufs_ = nullptr;
    // Blocks of sends withdrawn by forget(), by their requests' user_data.
    std::vector<std::pair<uint64_t, void*>> orphans_;
};

}  // namespace

std::unique_ptr<Backend> make_uring_backend() { return std::make_unique<UringBackend>(); }

}  // namespace concur::asyncio::detail
