// The epoll backend: level-triggered, one epoll_ctl per change of interest,
// an eventfd for wake-ups.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "backend.hpp"
#include "concur/errors.hpp"

namespace concur::asyncio::detail {
namespace {

[[noreturn]] void fail(const char* what) {
    throw RuntimeError(std::string("event loop (epoll): ") + what + ": " + std::strerror(errno));
}

class EpollBackend final : public Backend {
public:
    EpollBackend() {
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) fail("epoll_create1");
        wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (wake_ < 0) {
            close(ep_);
            fail("eventfd");
        }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = kWakeTag;
        epoll_ctl(ep_, EPOLL_CTL_ADD, wake_, &ev);
    }
    ~EpollBackend() override {
        close(wake_);
        close(ep_);
    }
    const char* name() const noexcept override { return "epoll"; }

    void set_interest(int fd, uint32_t events) override {
        if (static_cast<std::size_t>(fd) >= registered_.size()) registered_.resize(fd + 1, 0);
        uint32_t& cur = registered_[fd];
        if (cur == events) return;
        epoll_event ev{};
        ev.events = (events & kReadable ? uint32_t{EPOLLIN} : 0u) | (events & kWritable ? uint32_t{EPOLLOUT} : 0u);
        ev.data.u64 = static_cast<uint64_t>(fd);
        int op = events == 0 ? EPOLL_CTL_DEL : cur == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
        if (epoll_ctl(ep_, op, fd, &ev) < 0) {
            // The fd was closed and reused behind our back: start over.
            if (op == EPOLL_CTL_MOD && errno == ENOENT) op = EPOLL_CTL_ADD;
            else if (op == EPOLL_CTL_ADD && errno == EEXIST) op = EPOLL_CTL_MOD;
            else if (op == EPOLL_CTL_DEL && (errno == ENOENT || errno == EBADF)) op = -1;
            else fail("epoll_ctl");
            if (op != -1 && epoll_ctl(ep_, op, fd, &ev) < 0) fail("epoll_ctl");
        }
        cur = events;
    }

    void poll(int64_t timeout_ns, Sink& sink) override {
        int ms = timeout_ns < 0 ? -1
                 : static_cast<int>(std::min<int64_t>((timeout_ns + 999'999) / 1'000'000, INT32_MAX));
        int n = epoll_wait(ep_, events_, kBatch, ms);
        if (n < 0) {
            if (errno == EINTR) return;
            fail("epoll_wait");
        }
        for (int i = 0; i < n; ++i) {
            if (events_[i].data.u64 == kWakeTag) {
                uint64_t v;
                while (read(wake_, &v, sizeof v) > 0) {}
                sink.on_wakeup();
                continue;
            }
            uint32_t e = events_[i].events, r = 0;
            if (e & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) r |= kReadable;
            if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) r |= kWritable;
            sink.on_ready(static_cast<int>(events_[i].data.u64), r);
        }
    }

    void wakeup() noexcept override {
        uint64_t one = 1;
        ssize_t r = write(wake_, &one, sizeof one);
        (void)r;  // EAGAIN: the counter is already non-zero, a wake-up is pending
    }

private:
    static constexpr uint64_t kWakeTag = ~uint64_t{0};
    static constexpr int kBatch = 256;
    int ep_ = -1;
    int wake_ = -1;
    std::vector<uint32_t> registered_;
    epoll_event events_[kBatch];
};

}  // namespace

std::unique_ptr<Backend> make_epoll_backend() { return std::make_unique<EpollBackend>(); }

}  // namespace concur::asyncio::detail
