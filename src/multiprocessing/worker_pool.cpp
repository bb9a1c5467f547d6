#include "concur/multiprocessing/detail/worker_pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "concur/multiprocessing/context.hpp"
#include "concur/multiprocessing/detail/channel.hpp"
#include "launcher.hpp"
#include "mailbox.hpp"

namespace concur::multiprocessing::detail {

namespace {

struct Task {
    std::uint64_t id = 0;
    std::unique_ptr<PendingCall> call;
    msgpack::sbuffer bytes;
    std::vector<int> fds;  // owned
};

struct Settle {
    std::unique_ptr<PendingCall> call;
    std::string reply;             // an outcome to decode, or
    std::exception_ptr error;      // a failure
};

struct Worker {
    std::uint32_t gen = 0;   // tells this worker's epoll events from its predecessor's in the slot
    Child child;
    int sock = -1;
    std::string name;
    bool ready = false;      // booted (and initialized)
    bool retiring = false;   // said it reached max_tasks_per_child
    bool told_exit = false;  // sent kExit
    bool eof = false;        // its channel closed
    bool exited = false;     // reaped
    std::uint64_t sent = 0;  // calls sent (for max_tasks_per_child)
    std::deque<std::pair<std::uint64_t, std::unique_ptr<PendingCall>>> inflight;
    std::string out;
    std::size_t out_pos = 0;
    std::deque<std::pair<std::size_t, std::vector<int>>> out_fds;  // attach at offset; owned
    std::deque<std::size_t> call_ends;  // where each call in `out` not yet fully written ends
    std::string in;
    bool want_out = false;
    std::shared_ptr<Mailbox> box;  // null if the system refused one
};

// epoll data: kind (8 bits) | slot (24 bits) | the worker's generation (32 bits).
enum : std::uint64_t { kEvWake = 0, kEvSock = 1, kEvSentinel = 2 };
std::uint64_t ev_data(std::uint64_t kind, std::size_t slot, std::uint32_t gen) {
    return kind << 56 | static_cast<std::uint64_t>(slot) << 32 | gen;
}

}  // namespace

struct WorkerPool::Core {
    PoolConfig cfg;
    mutable std::mutex mu;
    std::deque<Task> backlog;
    std::vector<std::unique_ptr<Worker>> workers;  // slot -> worker (replaced in place)
    std::uint64_t next_id = 0;
    bool start_requested = false, started = false;
    bool shutdown = false, terminating = false, exit_sent = false;
    std::string broken;   // non-empty once broken
    std::uint32_t next_gen = 0;
    double avg_us = 1000;  // EWMA of a call's run time; starts pessimistic (one call per worker)
    bool polling = false;  // a thread waiting in result() polls the mailboxes (remote_wait)
    int epfd = -1, evfd = -1;
    std::thread handler;

    ~Core() {
        if (epfd >= 0) ::close(epfd);
        if (evfd >= 0) ::close(evfd);
    }

    void wake() {
        std::uint64_t one = 1;
        (void)!::write(evfd, &one, sizeof one);
    }

    std::size_t cap() const {
        double c = 1000.0 / std::max(avg_us, 1.0);
        return static_cast<std::size_t>(std::clamp(c, 1.0, 1024.0));
    }

    // Whether a call of w's is on the wire, unanswered: reading its answer
    // (the handler, or a thread polling the mailboxes) flushes w's buffer.
    static bool owes_answer(const Worker& w) { return w.inflight.size() > w.call_ends.size(); }

    bool can_take(const Worker& w) const {
        if (!w.ready || w.retiring || w.told_exit || w.eof || w.exited) return false;
        if (cfg.max_tasks_per_child && w.sent >= cfg.max_tasks_per_child) return false;
        return w.inflight.size() < cap();
    }

    // Moves calls from the backlog to workers with room. Locked.
    void dispatch() {
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

    // Writes what a worker's buffer holds without blocking. Locked.
    void flush(Worker& w) {
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

    std::size_t slot_of(const Worker& w) const {
        for (std::size_t i = 0; i < workers.size(); ++i)
            if (workers[i].get() == &w) return i;
        return 0;
    }

    void send_control(Worker& w, std::uint16_t kind, const msgpack::sbuffer* payload = nullptr) {
        wire::FrameHeader h;
        h.kind = kind;
        h.length = payload ? static_cast<std::uint32_t>(payload->size()) : 0;
        w.out.append(reinterpret_cast<const char*>(&h), sizeof h);
        if (payload) w.out.append(payload->data(), payload->size());
        flush(w);
    }

    // Starts the worker for `slot`. Locked (fork from this thread: the pool's
    // workers die with it through PR_SET_PDEATHSIG).
    void start_worker(std::size_t slot) {
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

    // Fails everything and kills the workers. Locked; `out` is settled unlocked.
    void break_pool(const std::string& why, std::vector<Settle>& out) {
        if (!broken.empty()) return;
        broken = why;
        auto err = std::make_exception_ptr(futures::BrokenProcessPool(why));
        fail_all(err, out);
    }

    void fail_all(std::exception_ptr err, std::vector<Settle>& out) {
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

    // Reads what a worker sent. Locked.
    void read_worker(Worker& w, std::vector<Settle>& out) {
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

    static bool expects(const Worker& w, std::uint64_t id) {
        return !w.inflight.empty() && w.inflight.front().first == id;
    }

    // Settles the outcome in w's mailbox if there is one and it is the next
    // one expected (otherwise earlier ones are still in the channel). Locked.
    bool take_posted(Worker& w, std::vector<Settle>& out) {
        Mailbox* box = w.box.get();
        if (!box || box->state.load(std::memory_order_acquire) != Mailbox::kPosted) return false;
        if (box->header.length > Mailbox::capacity()) {
            break_pool("worker " + w.name + " posted a malformed outcome (" + std::to_string(box->header.length) +
                           " bytes in a " + std::to_string(Mailbox::capacity()) + "-byte mailbox)",
                       out);
            return false;
        }
        if (!expects(w, box->header.id)) return false;
        avg_us = avg_us * 0.875 + box->header.flags * 0.125;
        out.push_back({std::move(w.inflight.front().second), std::string(box->payload, box->header.length), nullptr});
        w.inflight.pop_front();
        box->state.store(polling ? Mailbox::kPolling : Mailbox::kIdle, std::memory_order_release);
        return true;
    }

    // After outcomes were taken off the handler thread: the workers have room
    // for the backlog, and the handler may have a shutdown to finish. Locked.
    void after_taking() {
        if (broken.empty() && !terminating) {
            dispatch();
            for (auto& w : workers)
                if (w && !w->exited && !w->out.empty()) flush(*w);
        }
        if (shutdown) wake();
    }

    // The outcome posted in `box`, whichever worker it belongs to now. Locked.
    void take_from(const Mailbox* box, std::vector<Settle>& out) {
        for (auto& w : workers) {
            if (!w || w->box.get() != box || w->exited) continue;
            while (broken.empty() && !terminating && box->state.load(std::memory_order_acquire) == Mailbox::kPosted) {
                if (take_posted(*w, out)) continue;
                // Not the next one expected: the ones before it are in the
                // channel, sent before it was posted, so one drain brings
                // them (and takes the posted one in its turn).
                std::uint64_t seen = box->header.id;
                read_worker(*w, out);
                if (broken.empty() && box->state.load(std::memory_order_acquire) == Mailbox::kPosted &&
                    box->header.id == seen && !expects(*w, seen))
                    break_pool("worker " + w->name + " posted the outcome of call " + std::to_string(seen) +
                                   " out of order",
                               out);
            }
            break;
        }
        after_taking();
    }

    // Starts polling the mailboxes: true (and `boxes` filled) if this thread
    // polls now; false if another does, or calls are not short enough for
    // polling to pay. Locked.
    bool start_polling(std::vector<std::shared_ptr<Mailbox>>& boxes) {
        if (polling || !broken.empty() || terminating || avg_us > kPollCallUs) return false;
        boxes.clear();
        for (auto& w : workers)
            if (w && w->box && !w->exited) boxes.push_back(w->box);
        if (boxes.empty()) return false;
        polling = true;
        for (auto& b : boxes) {
            std::uint32_t idle = Mailbox::kIdle;  // (every box is idle while nobody polls)
            b->state.compare_exchange_strong(idle, Mailbox::kPolling, std::memory_order_acq_rel);
        }
        return true;
    }

    // Stops polling; takes what was posted meanwhile. Locked.
    void stop_polling(std::vector<Settle>& out) {
        polling = false;
        for (auto& w : workers) {
            if (!w || !w->box) continue;
            std::uint32_t was = Mailbox::kPolling;
            if (w->box->state.compare_exchange_strong(was, Mailbox::kIdle, std::memory_order_acq_rel) ||
                was != Mailbox::kPosted)
                continue;
            if (w->exited || !broken.empty() || terminating) {
                w->box->state.store(Mailbox::kIdle, std::memory_order_release);  // its call already failed
                continue;
            }
            take_from(w->box.get(), out);
        }
        after_taking();
    }

    // Calls shorter than this (run time, EWMA) make a waiting thread poll.
    static constexpr double kPollCallUs = 200;

    // A worker's process ended. Locked.
    void on_exit(std::size_t slot, std::vector<Settle>& out) {
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

    bool all_exited() const {
        for (auto& w : workers)
            if (w && !w->exited) return false;
        return true;
    }
    bool idle() const {
        if (!backlog.empty()) return false;
        for (auto& w : workers)
            if (w && !w->inflight.empty()) return false;
        return true;
    }

    static void apply(std::vector<Settle>& settle) {
        for (auto& s : settle) {
            if (s.error) s.call->fail(s.error);
            else s.call->settle(s.reply.data(), s.reply.size());
        }
        settle.clear();
    }

    void run() {
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
};

namespace {

// Every pool's core, for remote_wait, which cannot tell from a future's state
// which pool settles it (a program has one pool, or a few).
std::mutex registry_mu;
std::vector<std::weak_ptr<WorkerPool::Core>> registry;

using Clock = std::chrono::steady_clock;

// The RemoteWait hook (see future_state.hpp): a thread about to park in
// result() on a process pool's future polls the pools' mailboxes instead, as
// long as their calls are short, for 50 us plus twice a call's run time. The
// outcomes it finds it settles itself, so neither the result handler nor this
// thread is woken. One thread polls a pool at a time; the others park.
void remote_wait(concur::detail::StateBase& state, const concur::detail::Deadline& deadline) noexcept {
    struct Polled {
        std::shared_ptr<WorkerPool::Core> core;
        std::vector<std::shared_ptr<Mailbox>> boxes;
    };
    std::vector<std::shared_ptr<WorkerPool::Core>> cores;
    {
        std::lock_guard lock(registry_mu);
        for (auto& weak : registry)
            if (auto core = weak.lock()) cores.push_back(std::move(core));
    }
    std::vector<Polled> polled;
    std::vector<Settle> settle;
    double slowest_us = 0;
    auto start = [&] {
        for (auto& core : cores) {
            Polled p{core, {}};
            std::lock_guard lock(core->mu);
            if (!core->start_polling(p.boxes)) continue;
            slowest_us = std::max(slowest_us, core->avg_us);
            polled.push_back(std::move(p));
        }
        return !polled.empty();
    };
    auto stop = [&] {
        for (auto& p : polled) {
            std::lock_guard lock(p.core->mu);
            p.core->stop_polling(settle);
        }
        polled.clear();
        WorkerPool::Core::apply(settle);
    };
    if (!start()) return;
    auto until = Clock::now() + std::chrono::microseconds(50 + static_cast<long>(2 * slowest_us));
    while (!state.done()) {
        for (auto& p : polled)
            for (auto& box : p.boxes)
                if (box->state.load(std::memory_order_acquire) == Mailbox::kPosted) {
                    std::lock_guard lock(p.core->mu);
                    p.core->take_from(box.get(), settle);
                }
        if (!settle.empty()) {
            // Settling runs user code (decoders, done-callbacks), which may
            // wait for another call of the same pool: stop polling first, or
            // that call's outcome would be posted where nobody looks.
            stop();
            if (state.done() || Clock::now() >= until || deadline.expired() || !start()) return;
            continue;
        }
        if (Clock::now() >= until || deadline.expired()) break;
        ::sched_yield();  // on a CPU shared with the worker, let it run
    }
    stop();
}

}  // namespace

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
    {
        std::lock_guard lock(registry_mu);
        std::erase_if(registry, [](const auto& weak) { return weak.expired(); });
        registry.push_back(core_);
    }
    concur::detail::set_remote_wait(&remote_wait);
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
