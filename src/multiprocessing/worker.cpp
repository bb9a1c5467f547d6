// A pool worker: runs the calls its channel brings, in order, and sends the
// outcomes back. Replies are batched -- written when no further call is
// waiting in the read buffer, or when 100 us have passed since the oldest
// unsent one -- so that thousands of tiny calls cost a few system calls,
// while a slow call never holds back an earlier result.
//
// Between calls the worker polls its channel for 50 us before it sleeps in
// recvmsg, and posts an outcome to its mailbox when a parent thread is
// polling there (mailbox.hpp): a caller that submits short calls one after
// another then never has to wake this process, nor be woken by it.
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>

#include "concur/multiprocessing/detail/channel.hpp"
#include "concur/wire.hpp"
#include "launcher.hpp"
#include "mailbox.hpp"

namespace concur::multiprocessing::detail {

namespace {

using Clock = std::chrono::steady_clock;

// How long a worker polls its channel after its last call before it sleeps.
// Long enough for a caller's next submit after a result (a few us), short
// enough that an idle pool costs nothing noticeable.
constexpr auto kPollBeforeSleep = std::chrono::microseconds(50);

class Replies {
public:
    explicit Replies(int sock) : sock_(sock) {}

    void add(std::uint16_t kind, std::uint64_t id, std::uint16_t flags, const char* data, std::size_t size) {
        if (out_.empty()) oldest_ = Clock::now();
        wire::FrameHeader h;
        h.kind = kind;
        h.id = id;
        h.flags = flags;
        h.length = static_cast<std::uint32_t>(size);
        out_.append(reinterpret_cast<const char*>(&h), sizeof h);
        out_.append(data, size);
    }
    bool empty() const noexcept { return out_.empty(); }
    bool overdue() const { return !out_.empty() && Clock::now() - oldest_ > std::chrono::microseconds(100); }
    // Blocking write; false if the parent is gone.
    bool flush() {
        std::size_t at = 0;
        while (at < out_.size()) {
            ssize_t n = ::send(sock_, out_.data() + at, out_.size() - at, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                return false;
            }
            at += static_cast<std::size_t>(n);
        }
        out_.clear();
        return true;
    }

private:
    int sock_;
    std::string out_;
    Clock::time_point oldest_;
};

}  // namespace

int worker_loop(int channel, const BootInfo& boot) noexcept {
    Replies replies(channel);
    std::string in;
    std::size_t pos = 0;
    std::deque<int> fds;  // received descriptors, in the order their frames come
    std::uint64_t done = 0;
    Mailbox* box = nullptr;  // set by kMailbox
    {
        std::int32_t pid = ::getpid();
        replies.add(kReady, 0, 0, reinterpret_cast<const char*>(&pid), sizeof pid);
    }
    std::vector<char> chunk(1 << 16);
    for (;;) {
        // Run every complete frame in the buffer.
        while (in.size() - pos >= sizeof(wire::FrameHeader)) {
            wire::FrameHeader h;
            std::memcpy(&h, in.data() + pos, sizeof h);
            try {
                wire::check_frame(h);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "concur: worker %s: %s\n", boot.name.c_str(), e.what());
                return 1;  // the stream lost its framing: nothing after this can be trusted
            }
            if (in.size() - pos < sizeof h + h.length) break;
            const char* payload = in.data() + pos + sizeof h;
            std::vector<int> frame_fds;
            for (std::uint16_t i = 0; i < h.fds && !fds.empty(); ++i) {
                frame_fds.push_back(fds.front());
                fds.pop_front();
            }
            pos += sizeof h + h.length;
            if (h.kind == kExit) {
                replies.flush();
                return 0;
            }
            if (h.kind == kMailbox) {
                if (!box && frame_fds.size() == 1) box = map_mailbox(frame_fds[0]);
                else
                    for (int fd : frame_fds) ::close(fd);
                continue;
            }
            if (h.kind != kCall && h.kind != kInit) return 1;
            auto start = Clock::now();
            msgpack::sbuffer reply;
            {
                wire::DecodeHandles handles(frame_fds);
                wire::run_call(payload, h.length, reply);
            }
            for (int fd : frame_fds)
                if (fd >= 0) ::close(fd);
            auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
            auto flags = static_cast<std::uint16_t>(std::min<long long>(us, 65535));
            // The mailbox only when nothing written before is still unsent:
            // outcomes must reach the parent in order.
            bool posted = h.kind == kCall && box && replies.empty() && box->try_post(h.id, flags, reply.data(), reply.size());
            if (!posted) replies.add(kResult, h.kind == kInit ? 0 : h.id, flags, reply.data(), reply.size());
            if (h.kind == kCall && boot.max_tasks && ++done >= boot.max_tasks) {
                replies.add(kRetire, 0, 0, nullptr, 0);
                replies.flush();
                return 0;
            }
            if (replies.overdue() && !replies.flush()) return 0;
        }
        if (pos > 0) {
            in.erase(0, pos);
            pos = 0;
        }
        if (!replies.flush()) return 0;
        iovec iov{chunk.data(), chunk.size()};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * wire::max_frame_fds)];
        msghdr msg{};
        auto receive = [&](int flags) {
            msg = msghdr{};
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            return ::recvmsg(channel, &msg, MSG_CMSG_CLOEXEC | flags);
        };
        ssize_t n = receive(MSG_DONTWAIT);
        if (n < 0 && errno == EAGAIN) {
            // Yield while polling: on a CPU shared with the caller, the
            // caller runs (and submits) instead of waiting for a time slice.
            for (auto until = Clock::now() + kPollBeforeSleep; n < 0 && errno == EAGAIN && Clock::now() < until;) {
                ::sched_yield();
                n = receive(MSG_DONTWAIT);
            }
            if (n < 0 && errno == EAGAIN) n = receive(0);
        }
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return 1;
        }
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (std::size_t i = 0; i < count; ++i) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                fds.push_back(fd);
            }
        }
        if (n == 0) return 0;  // the parent is gone: nothing more will come
        in.append(chunk.data(), static_cast<std::size_t>(n));
    }
}

}  // namespace concur::multiprocessing::detail
