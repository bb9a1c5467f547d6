#include "concur/multiprocessing/detail/worker_pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "concur/multiprocessing/context.hpp"
#include "concur/multiprocessing/detail/channel.hpp"
#include "worker_pool_core.hpp"

namespace concur::multiprocessing::detail {

namespace {

// epoll data: kind (8 bits) | slot (24 bits) | the worker's generation (32 bits).
enum : std::uint64_t { kEvWake = 0, kEvSock = 1, kEvSentinel = 2 };
std::uint64_t ev_data(std::uint64_t kind, std::size_t slot, std::uint32_t gen) {
    return kind << 56 | static_cast<std::uint64_t>(slot) << 32 | gen;
}

}  // namespace

void WorkerPool::Core::dispatch() {
    while (!backlog.empty()) {
        Worker* best = nullptr;
        for (auto& w : workers)
            if (w && can_take(*w) && (!best || w->inflight.size() < best->inflight.size())) best = w.get();
        if (!best) return;
        Task t = std::move(backlog.front());
        backlog.pop_front();
        if (!t.call->start()) {  // cancelled while queued
            for (int fd : t.fds) ::close(fd);
            continue;
        }
        wire::FrameHeader h;
        h.kind = kCall;
        h.id = t.id;
        h.length = static_cast<std::uint32_t>(t.bytes.size());
        h.fds = static_cast<std::uint16_t>(t.fds.size());
        std::size_t at = best->out.size();
        best->out.append(reinterpret_cast<const char*>(&h), sizeof h);
        best->out.append(t.bytes.data(), t.bytes.size());
        if (!t.fds.empty()) best->out_fds.emplace_back(at, std::move(t.fds));
        best->call_ends.push_back(best->out.size());
        best->inflight.emplace_back(t.id, std::move(t.call));
        ++best->sent;
    }
}

void WorkerPool::Core::flush(Worker& w) {
    while (w.out_pos < w.out.size() && !w.eof) {
        std::size_t end = w.out.size();
        std::vector<int>* attach = nullptr;
        if (!w.out_fds.empty()) {
            if (w.out_fds.front().first == w.out_pos) {
                attach = &w.out_fds.front().second;
                if (w.out_fds.size() > 1) end = w.out_fds[1].first;
            } else {
                end = w.out_fds.front().first;
            }
        }
        iovec iov{w.out.data() + w.out_pos, end - w.out_pos};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * wire::max_frame_fds)];
        if (attach) {
            msg.msg_control = control;
            msg.msg_controllen = CMSG_SPACE(sizeof(int) * attach->size());
            std::memset(control, 0, msg.msg_controllen);
            cmsghdr* c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * attach->size());
            std::memcpy(CMSG_DATA(c), attach->data(), sizeof(int) * attach->size());
        }
        ssize_t n = ::sendmsg(w.sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            w.eof = true;  // the worker is gone; its sentinel will say how
            break;
        }
        if (attach) {
            for (int fd : *attach) ::close(fd);
            w.out_fds.pop_front();
        }
        w.out_pos += static_cast<std::size_t>(n);
    }
    while (!w.call_ends.empty() && w.call_ends.front() <= w.out_pos) w.call_ends.pop_front();
    if (w.out_pos == w.out.size()) {
        w.out.clear();
        w.out_pos = 0;
    }
    bool want = !w.out.empty() && !w.eof;
    if (want != w.want_out && w.sock >= 0) {
        epoll_event ev{};
        ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
        ev.data.u64 = ev_data(kEvSock, slot_of(w), w.gen);
        ::epoll_ctl(epfd, EPOLL_CTL_MOD, w.sock, &ev);
        w.want_out = want;
    }
}

void WorkerPool::Core::send_control(Worker& w, std::uint16_t kind, const msgpack::sbuffer* payload) {
    wire::FrameHeader h;
    h.kind = kind;
    h.length = payload ? static_cast<std::uint32_t>(payload->size()) : 0;
    w.out.append(reinterpret_cast<const char*>(&h), sizeof h);
    if (payload) w.out.append(payload->data(), payload->size());
    flush(w);
}

void WorkerPool::Core::start_worker(std::size_t slot) {
    std::vector<int> parent_fds = {epfd, evfd};
    for (auto& w : workers)
        if (w && !w->exited) {
            if (w->sock >= 0) parent_fds.push_back(w->sock);
            if (w->child.sentinel >= 0) parent_fds.push_back(w->child.sentinel);
        }
    int sv[2];
    socket_pair(sv);
    parent_fds.push_back(sv[0]);
    auto w = std::make_unique<Worker>();
    w->gen = ++next_gen;
    try {
        w->child = launch(cfg.method, sv[1], true, parent_fds);
    } catch (...) {
        ::close(sv[0]);
        throw;
    }
    w->sock = sv[0];
    int big = 4 << 20;
    ::setsockopt(w->sock, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    ::setsockopt(w->sock, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    ::fcntl(w->sock, F_SETFL, ::fcntl(w->sock, F_GETFL) | O_NONBLOCK);
    BootInfo boot;
    boot.identity = next_child_identity();
    std::string id;
    for (std::size_t i = 0; i < boot.identity.size(); ++i) {
        if (i) id += ':';
        id += std::to_string(boot.identity[i]);
    }
    w->name = name_prefix(cfg.method);
    w->name.append(cfg.name_kind).append("-").append(id);
    boot.name = w->name;
    boot.daemon = true;
    boot.role = static_cast<std::uint8_t>(Role::pool_worker);
    boot.parent_pid = ::getpid();
    boot.parent_name = current_name();
    boot.max_tasks = cfg.max_tasks_per_child;
    boot.start_method = cfg.method;
    msgpack::sbuffer bytes;
    msgpack::pack(bytes, boot);
    Worker& ref = *w;
    workers[slot] = std::move(w);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = ev_data(kEvSock, slot, ref.gen);
    ::epoll_ctl(epfd, EPOLL_CTL_ADD, ref.sock, &ev);
    ev.data.u64 = ev_data(kEvSentinel, slot, ref.gen);
    ::epoll_ctl(epfd, EPOLL_CTL_ADD, ref.child.sentinel, &ev);
    send_control(ref, kBoot, &bytes);
    if (cfg.initializer) {
        // Its descriptors travel with the frame: sent with blocking send_frame
        // before anything else is queued (the buffer is empty at this point).
        if (cfg.initializer.fds().empty()) {
            send_control(ref, kInit, &cfg.initializer.call());
        } else {
            ::fcntl(ref.sock, F_SETFL, ::fcntl(ref.sock, F_GETFL) & ~O_NONBLOCK);
            try {
                send_frame(ref.sock, kInit, 0, cfg.initializer.call().data(), cfg.initializer.call().size(),
                           cfg.initializer.fds());
            } catch (const std::exception&) {
                ref.eof = true;
            }
            ::fcntl(ref.sock, F_SETFL, ::fcntl(ref.sock, F_GETFL) | O_NONBLOCK);
        }
    }
    int box_fd = -1;
    if (auto box = create_mailbox(box_fd)) {
        wire::FrameHeader h;
        h.kind = kMailbox;
        h.fds = 1;
        ref.out_fds.emplace_back(ref.out.size(), std::vector<int>{box_fd});  // closed once sent
        ref.out.append(reinterpret_cast<const char*>(&h), sizeof h);
        ref.box = std::move(box);
        flush(ref);
    }
}

void WorkerPool::Core::break_pool(const std::string& why, std::vector<Settle>& out) {
    if (!broken.empty()) return;
    broken = why;
    auto err = std::make_exception_ptr(futures::BrokenProcessPool(why));
    fail_all(err, out);
}

void WorkerPool::Core::fail_all(std::exception_ptr err, std::vector<Settle>& out) {
    for (auto& w : workers) {
        if (!w) continue;
        for (auto& [id, call] : w->inflight) out.push_back({std::move(call), {}, err});
        w->inflight.clear();
        for (auto& [at, fds] : w->out_fds)
            for (int fd : fds) ::close(fd);
        w->out_fds.clear();
        if (!w->exited) ::kill(w->child.pid, SIGKILL);
    }
    for (auto& t : backlog) {
        for (int fd : t.fds) ::close(fd);
        out.push_back({std::move(t.call), {}, err});
    }
    backlog.clear();
}

void WorkerPool::Core::read_worker(Worker& w, std::vector<Settle>& out) {
    char buf[1 << 16];
    for (;;) {
        ssize_t n = ::recv(w.sock, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            w.in.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) w.eof = true;
        else if (errno == EINTR) continue;
        else if (errno != EAGAIN) w.eof = true;
        break;
    }
    std::size_t pos = 0;
    while (w.in.size() - pos >= sizeof(wire::FrameHeader)) {
        wire::FrameHeader h;
        std::memcpy(&h, w.in.data() + pos, sizeof h);
        try {
            wire::check_frame(h);
        } catch (const std::exception& e) {
            break_pool("worker " + w.name + " sent a malformed frame: " + e.what(), out);
            return;
        }
        if (w.in.size() - pos < sizeof h + h.length) break;
        const char* payload = w.in.data() + pos + sizeof h;
        if (h.kind == kReady) {
            w.ready = true;
        } else if (h.kind == kRetire) {
            w.retiring = true;
        } else if (h.kind == kResult && h.id == 0) {
            msgpack::object_handle holder;
            try {
                wire::detail::open_result(payload, h.length, holder);
            } catch (const std::exception& e) {
                break_pool(std::string("the initializer failed in ") + w.name + ": " + e.what(), out);
                return;
            }
        } else if (h.kind == kResult && (expects(w, h.id) || (take_posted(w, out) && expects(w, h.id)))) {
            // (The mailbox held the outcome before this one.)
            avg_us = avg_us * 0.875 + h.flags * 0.125;
            out.push_back({std::move(w.inflight.front().second), std::string(payload, h.length), nullptr});
            w.inflight.pop_front();
        } else {
            break_pool("worker " + w.name + " broke the protocol (frame kind " + std::to_string(h.kind) + ")", out);
            return;
        }
        pos += sizeof h + h.length;
    }
    w.in.erase(0, pos);
    take_posted(w, out);
}

void WorkerPool::Core::on_exit(std::size_t slot, std::vector<Settle>& out) {
    Worker& w = *workers[slot];
    if (w.exited) return;
    // The event may be stale: an earlier event of this batch replaced the
    // worker in this slot. Only a readable sentinel means this one exited.
    pollfd p{w.child.sentinel, POLLIN, 0};
    if (::poll(&p, 1, 0) != 1) return;
    int status = w.child.reap(true).value_or(0);
    w.exited = true;
    ::epoll_ctl(epfd, EPOLL_CTL_DEL, w.child.sentinel, nullptr);
    ::epoll_ctl(epfd, EPOLL_CTL_DEL, w.sock, nullptr);
    w.child.close();
    // Collect whatever it sent before dying (results of finished calls).
    read_worker(w, out);
    ::close(w.sock);
    w.sock = -1;
    bool planned = w.told_exit || (w.retiring && w.inflight.empty());
    if (terminating || !broken.empty()) return;
    if (!planned) {
        int code = exitcode_of(status);
        std::string how = code < 0 ? "was killed by signal " + std::to_string(-code)
                                   : "exited with code " + std::to_string(code);
        break_pool("A process in the process pool was terminated abruptly while the future was running or "
                   "pending (" + w.name + ", pid " + std::to_string(w.child.pid) + ", " + how + ")",
                   out);
        return;
    }
    if (w.retiring && !(shutdown && backlog.empty())) {
        try {
            start_worker(slot);
        } catch (const std::exception& e) {
            break_pool(std::string("could not start a replacement worker: ") + e.what(), out);
        }
    }
}

void WorkerPool::Core::apply(std::vector<Settle>& settle) {
    for (auto& s : settle) {
        if (s.error) s.call->fail(s.error);
        else s.call->settle(s.reply.data(), s.reply.size());
    }
    settle.clear();
}

void WorkerPool::Core::run() {
    epoll_event evs[64];
    for (;;) {
        int n = ::epoll_wait(epfd, evs, 64, -1);
        if (n < 0 && errno != EINTR) break;
        std::vector<Settle> settle;
        bool done = false;
        {
            std::lock_guard lock(mu);
            for (int i = 0; i < n; ++i) {
                std::uint64_t kind = evs[i].data.u64 >> 56;
                std::size_t slot = (evs[i].data.u64 >> 32) & 0xffffffu;
                auto gen = static_cast<std::uint32_t>(evs[i].data.u64);
                if (kind == kEvWake) {
                    std::uint64_t v;
                    (void)!::read(evfd, &v, sizeof v);
                } else if (slot < workers.size() && workers[slot] && workers[slot]->gen == gen &&
                           !workers[slot]->exited) {
                    if (kind == kEvSock) {
                        if (evs[i].events & EPOLLIN) read_worker(*workers[slot], settle);
                        if (evs[i].events & (EPOLLHUP | EPOLLERR)) workers[slot]->eof = true;
                    } else {
                        on_exit(slot, settle);
                    }
                }
            }
            if (start_requested && !started && broken.empty() && !terminating) {
                started = true;
                workers.resize(static_cast<std::size_t>(cfg.workers));
                try {
                    for (std::size_t s = 0; s < workers.size(); ++s) start_worker(s);
                } catch (const std::exception& e) {
                    break_pool(std::string("could not start a worker process: ") + e.what(), settle);
                }
            }
            if (broken.empty() && !terminating) {
                dispatch();
                if (shutdown && idle() && !exit_sent) {
                    exit_sent = true;
                    for (auto& w : workers)
                        if (w && !w->exited) {
                            w->told_exit = true;
                            send_control(*w, kExit);
                        }
                }
            }
            for (auto& w : workers)
                if (w && !w->exited && !w->out.empty()) flush(*w);
            bool finished = !broken.empty() || terminating || exit_sent || (shutdown && !started);
            done = finished && all_exited();
        }
        apply(settle);
        if (done) break;
    }
}


std::vector<int> dup_all(const std::vector<int>& borrowed) {
    std::vector<int> out;
    for (int fd : borrowed) {
        int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0) {
            int err = errno;
            for (int c : out) ::close(c);
            throw OSError(err, std::string("dup: ") + std::strerror(err));
        }
        out.push_back(copy);
    }
    return out;
}

WorkerPool::WorkerPool(PoolConfig config) : core_(std::make_shared<Core>()), workers_(config.workers) {
    if (config.workers < 1) throw ValueError("max_workers must be greater than 0");
    core_->cfg = std::move(config);
    core_->epfd = ::epoll_create1(EPOLL_CLOEXEC);
    core_->evfd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (core_->epfd < 0 || core_->evfd < 0) {
        int err = errno;
        throw OSError(err, std::string("epoll/eventfd: ") + std::strerror(err));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = ev_data(kEvWake, 0, 0);
    ::epoll_ctl(core_->epfd, EPOLL_CTL_ADD, core_->evfd, &ev);
    register_for_polling(core_);
    core_->start_requested = core_->cfg.start_now;
    auto core = core_;
    core_->handler = std::thread([core] { core->run(); });
    if (core_->cfg.start_now) core_->wake();
}

WorkerPool::~WorkerPool() {
    try {
        shutdown(true, false);
    } catch (...) {
    }
}

namespace {
constexpr std::size_t kBatchBytes = 64 << 10;  // written at once however busy the worker
}  // namespace

void WorkerPool::submit(std::unique_ptr<PendingCall> call, msgpack::sbuffer bytes, std::vector<int> fds) {
    Core& c = *core_;
    if (bytes.size() > wire::max_frame_length || fds.size() > wire::max_frame_fds) {
        for (int fd : fds) ::close(fd);
        throw ValueError("a call's arguments take " + std::to_string(bytes.size()) + " bytes and " +
                         std::to_string(fds.size()) + " descriptors; one message carries at most " +
                         std::to_string(wire::max_frame_length) + " bytes and " +
                         std::to_string(wire::max_frame_fds) + " descriptors: send big data through "
                         "shared_memory::SharedMemory and pass its name");
    }
    std::lock_guard lock(c.mu);
    if (!c.broken.empty()) {
        for (int fd : fds) ::close(fd);
        throw futures::BrokenProcessPool(c.broken);
    }
    if (c.shutdown || c.terminating) {
        for (int fd : fds) ::close(fd);
        throw RuntimeError("cannot schedule new futures after shutdown");
    }
    if (!c.start_requested) {
        c.start_requested = true;
        c.wake();
    }
    c.backlog.push_back(Task{++c.next_id, std::move(call), std::move(bytes), std::move(fds)});
    c.dispatch();
    // A worker that owes an answer gets this call when that answer is read,
    // with every call queued for it meanwhile: a burst of submits costs a few
    // writes instead of one each. An idle worker gets it now.
    for (auto& w : c.workers)
        if (w && !w->exited && !w->out.empty() && (!Core::owes_answer(*w) || w->out.size() - w->out_pos >= kBatchBytes))
            c.flush(*w);
}

void WorkerPool::shutdown(bool wait, bool cancel_futures) {
    Core& c = *core_;
    std::vector<std::unique_ptr<PendingCall>> cancelled;
    {
        std::lock_guard lock(c.mu);
        c.shutdown = true;
        if (cancel_futures) {
            for (auto& t : c.backlog) {
                for (int fd : t.fds) ::close(fd);
                cancelled.push_back(std::move(t.call));
            }
            c.backlog.clear();
        }
        c.wake();
    }
    for (auto& call : cancelled) call->cancel();
    if (!c.handler.joinable() || c.handler.get_id() == std::this_thread::get_id()) return;
    if (wait) c.handler.join();
    else c.handler.detach();
}

void WorkerPool::terminate() {
    Core& c = *core_;
    std::vector<Settle> failed;
    {
        std::lock_guard lock(c.mu);
        if (!c.terminating) {
            c.terminating = true;
            c.shutdown = true;
            c.fail_all(std::make_exception_ptr(CancelledError("the pool was terminated before this task finished")),
                       failed);
        }
        c.wake();
    }
    for (auto& s : failed) s.call->fail(s.error);
    if (c.handler.joinable() && c.handler.get_id() != std::this_thread::get_id()) c.handler.join();
}

std::vector<pid_t> WorkerPool::pids() const {
    std::lock_guard lock(core_->mu);
    std::vector<pid_t> out;
    for (auto& w : core_->workers)
        if (w && !w->exited) out.push_back(w->child.pid);
    return out;
}

bool WorkerPool::broken() const {
    std::lock_guard lock(core_->mu);
    return !core_->broken.empty();
}

}  // namespace concur::multiprocessing::detail
