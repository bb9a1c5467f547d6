#include "concur/multiprocessing/detail/channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "concur/errors.hpp"

namespace concur::multiprocessing::detail {

namespace {

[[noreturn]] void raise_errno(int err, const char* what) {
    std::string msg = std::string(what) + ": [Errno " + std::to_string(err) + "] " + std::strerror(err);
    if (err == EPIPE) throw BrokenPipeError(err, msg + " (the other process closed its end)");
    if (err == ECONNRESET) throw ConnectionResetError(err, msg + " (the other process died or closed its end)");
    throw OSError(err, msg);
}

// Reads exactly `size` bytes; collects descriptors from the first read.
// Returns bytes read (less than size only at end of stream).
std::size_t read_full(int sock, char* buf, std::size_t size, std::vector<int>* fds) {
    std::size_t got = 0;
    while (got < size) {
        iovec iov{buf + got, size - got};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * wire::max_frame_fds)];
        if (fds) {
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
        }
        ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                pollfd p{sock, POLLIN, 0};
                ::poll(&p, 1, -1);
                continue;
            }
            raise_errno(errno, "recv");
        }
        if (fds) {
            for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
                std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                const char* data = reinterpret_cast<const char*>(CMSG_DATA(c));
                for (std::size_t i = 0; i < count; ++i) {
                    int fd;
                    std::memcpy(&fd, data + i * sizeof(int), sizeof(int));
                    fds->push_back(fd);
                }
            }
            if (msg.msg_flags & MSG_CTRUNC) {
                for (int fd : *fds) ::close(fd);
                fds->clear();
                throw wire::DecodeError("concur: a message carried more descriptors than allowed: corrupted");
            }
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    return got;
}

}  // namespace

Frame::Frame(Frame&& o) noexcept : header(o.header), payload(std::move(o.payload)), fds(std::move(o.fds)) {
    o.fds.clear();
}
Frame& Frame::operator=(Frame&& o) noexcept {
    if (this != &o) {
        close_fds();
        header = o.header;
        payload = std::move(o.payload);
        fds = std::move(o.fds);
        o.fds.clear();
    }
    return *this;
}
Frame::~Frame() { close_fds(); }
void Frame::close_fds() noexcept {
    for (int fd : fds)
        if (fd >= 0) ::close(fd);
    fds.clear();
}

void send_frame(int sock, std::uint16_t kind, std::uint64_t id, const char* payload, std::size_t size,
                std::span<const int> fds) {
    if (size > wire::max_frame_length)
        throw ValueError("concur: a message of " + std::to_string(size) + " bytes is over the " +
                         std::to_string(wire::max_frame_length) + "-byte limit of one frame");
    if (fds.size() > wire::max_frame_fds)
        throw ValueError("concur: a message may carry at most " + std::to_string(wire::max_frame_fds) +
                         " descriptors");
    wire::FrameHeader h;
    h.kind = kind;
    h.length = static_cast<std::uint32_t>(size);
    h.fds = static_cast<std::uint16_t>(fds.size());
    h.id = id;
    iovec iov[2] = {{&h, sizeof h}, {const_cast<char*>(payload), size}};
    std::size_t total = sizeof h + size, sent = 0;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * wire::max_frame_fds)];
    bool with_fds = !fds.empty();
    while (sent < total) {
        // Rebuild the iovec past what is already sent.
        iovec cur[2];
        int n_iov = 0;
        std::size_t skip = sent;
        for (auto& v : iov) {
            if (skip >= v.iov_len) {
                skip -= v.iov_len;
                continue;
            }
            cur[n_iov++] = {static_cast<char*>(v.iov_base) + skip, v.iov_len - skip};
            skip = 0;
        }
        msghdr msg{};
        msg.msg_iov = cur;
        msg.msg_iovlen = static_cast<std::size_t>(n_iov);
        if (with_fds) {
            msg.msg_control = control;
            msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
            std::memset(control, 0, msg.msg_controllen);
            cmsghdr* c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
            std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
        }
        ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                pollfd p{sock, POLLOUT, 0};
                ::poll(&p, 1, -1);
                continue;
            }
            raise_errno(errno, "send");
        }
        with_fds = false;  // attached to the first byte only
        sent += static_cast<std::size_t>(n);
    }
}

bool wait_readable(int sock, const concur::detail::Deadline& deadline) {
    for (;;) {
        int timeout_ms = -1;
        if (!deadline.forever()) {
            auto left = deadline.at() - concur::detail::Clock::now();
            if (left <= left.zero()) timeout_ms = 0;
            else
                timeout_ms = static_cast<int>(
                    std::min<long long>(std::chrono::ceil<std::chrono::milliseconds>(left).count(), 1 << 30));
        }
        pollfd p{sock, POLLIN, 0};
        int rc = ::poll(&p, 1, timeout_ms);
        if (rc > 0) return true;
        if (rc == 0) {
            if (deadline.forever()) continue;
            if (deadline.expired()) return false;
            continue;
        }
        if (errno != EINTR) raise_errno(errno, "poll");
    }
}

bool recv_frame(int sock, Frame& out, const concur::detail::Deadline& deadline) {
    if (!deadline.forever() && !wait_readable(sock, deadline))
        throw TimeoutError("no message arrived before the timeout");
    out.close_fds();
    out.payload.clear();
    std::size_t got = read_full(sock, reinterpret_cast<char*>(&out.header), sizeof out.header, &out.fds);
    if (got == 0) return false;
    if (got < sizeof out.header) throw EOFError("the other end closed in the middle of a message");
    wire::check_frame(out.header);
    if (out.fds.size() != out.header.fds) {
        out.close_fds();
        throw wire::DecodeError("concur: a message's descriptors did not arrive with it: corrupted");
    }
    out.payload.resize(out.header.length);
    if (read_full(sock, out.payload.data(), out.header.length, nullptr) < out.header.length)
        throw EOFError("the other end closed in the middle of a message");
    return true;
}

void socket_pair(int fds[2]) {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) raise_errno(errno, "socketpair");
}

}  // namespace concur::multiprocessing::detail
