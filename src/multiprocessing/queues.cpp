// QueueCore: the socket pair, the shared counters and locks, and this
// process's feeder. See queues.hpp for the picture.
#include "concur/multiprocessing/queues.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "concur/multiprocessing/detail/shared_block.hpp"
#include "concur/multiprocessing/synchronize.hpp"

namespace concur::multiprocessing::detail {

namespace {

using concur::detail::Deadline;
using namespace std::chrono_literals;

// Bumped in every child of fork(), so that a core copied into the child
// stops using its parent's feeder (whose thread does not exist there).
std::atomic<std::uint64_t> fork_generation{0};
void on_fork_child() noexcept { fork_generation.fetch_add(1, std::memory_order_relaxed); }
void ensure_fork_handler() {
    static const bool registered = (pthread_atfork(nullptr, nullptr, on_fork_child), true);
    (void)registered;
}

[[noreturn]] void raise_errno(int err, const char* what) {
    std::string msg = std::string("concur: Queue: ") + what + ": " + std::strerror(err);
    if (err == EPIPE) throw BrokenPipeError(err, msg + " (no process has the queue open for reading)");
    if (err == ECONNRESET) throw ConnectionResetError(err, msg);
    throw OSError(err, msg);
}

// rlock and wlock are the colleague primitives' lock words (Python's Lock:
// any thread of any process may release one; the feeder releases wlock taken
// by put()'s fast path), kept in the queue's own block: one memfd per queue.
bool try_take(LockState& l) noexcept { return lock_try(l); }
bool take(LockState& l, const Deadline& d) { return lock_try(l) || lock_slow(l, d); }
void give(LockState& l) noexcept { lock_release(l); }

}  // namespace

struct QueueCore::Shared {
    static constexpr std::uint32_t kTag = make_tag("MPQU");
    std::atomic<std::uint32_t> tag;
    QueueKind kind;
    std::uint32_t item_type;
    std::int64_t maxsize;  // <= 0: unbounded; fixed at creation
    PlainLockState rlock;  // one reader at a time reads a whole frame
    PlainLockState wlock;  // one writer at a time writes a whole frame
    std::atomic<std::uint32_t> count;         // items put and not yet taken
    std::atomic<std::uint32_t> slot_waiters;  // putters asleep on `count`
    std::atomic<std::uint32_t> unfinished;    // JoinableQueue: put +1, task_done -1
};

namespace {

// Sends data[sent, size) without waiting, descriptors with the first byte.
// Returns the bytes sent (0 when the socket is full); throws on errors.
std::size_t send_some(int sock, const char* data, std::size_t size, std::span<const int> fds) {
    for (;;) {
        iovec iov{const_cast<char*>(data), size};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * wire::max_frame_fds)];
        if (!fds.empty()) {
            msg.msg_control = control;
            msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
            std::memset(control, 0, msg.msg_controllen);
            cmsghdr* c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
            std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
        }
        ssize_t n = ::sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return 0;
        raise_errno(errno, "send");
    }
}

}  // namespace

// A frame this process has not finished writing, in put() order.
struct QueueCore::Pending {
    msgpack::sbuffer data;
    std::size_t sent = 0;
    std::vector<int> fds;     // owned copies, until the first byte is sent
    bool holds_wlock = false;

    Pending() = default;
    Pending(Pending&&) = default;
    ~Pending() { close_fds(); }
    void close_fds() noexcept {
        for (int fd : fds) ::close(fd);
        fds.clear();
    }
};

// This process's side of the queue. A fork() child builds its own and
// leaks the copy of its parent's (its thread and mutex are not usable there).
struct QueueCore::Local {
    const std::uint64_t generation;
    std::mutex mutex;
    std::condition_variable changed;  // an item queued, one written, or stop
    std::deque<Pending> pending;      // front: being written by the feeder
    std::thread feeder;
    bool stop = false;    // the feeder exits once `pending` is empty
    bool broken = false;  // no reader is left anywhere: nothing can be written

    explicit Local(std::uint64_t g) : generation(g) {}
};

struct QueueCore::State {
    SharedBlock block;
    Shared* shared = nullptr;
    std::atomic<int> rfd{-1}, wfd{-1};  // -1 once closed
    std::atomic<bool> closed{false};    // close() was called in this process
    std::atomic<bool> cancelled{false}; // cancel_join_thread()
    std::atomic<Local*> local{nullptr};

    ~State() {
        for (auto* fd : {&rfd, &wfd})
            if (int f = fd->exchange(-1); f >= 0) ::close(f);
    }
};

QueueCore::QueueCore(std::unique_ptr<State> state) noexcept : s_(std::move(state)) {}

std::uint32_t type_tag(const std::type_info& type) noexcept {
    std::uint32_t h = 2166136261u;  // FNV-1a of the mangled name: the same in every process of one build
    for (const char* p = type.name(); *p; ++p) h = (h ^ std::uint8_t(*p)) * 16777619u;
    return h;
}

std::shared_ptr<QueueCore> QueueCore::create(QueueKind kind, std::ptrdiff_t maxsize, std::uint32_t item_type) {
    ensure_fork_handler();
    auto state = std::make_unique<State>();
    SharedRef ref = make_shared_state<Shared>("concur-queue");
    state->block = ref.block;
    state->shared = ref.get<Shared>();
    state->shared->kind = kind;
    state->shared->item_type = item_type;
    state->shared->maxsize = maxsize;
    int fds[2];
    socket_pair(fds);
    state->rfd = fds[0];
    state->wfd = fds[1];
    enlarge_buffers(fds[0]);
    enlarge_buffers(fds[1]);
    return std::make_shared<QueueCore>(std::move(state));
}

QueueCore::Local& QueueCore::local() {
    const std::uint64_t gen = fork_generation.load(std::memory_order_relaxed);
    Local* current = s_->local.load(std::memory_order_acquire);
    while (current == nullptr || current->generation != gen) {
        auto fresh = std::make_unique<Local>(gen);
        if (s_->local.compare_exchange_strong(current, fresh.get(), std::memory_order_acq_rel))
            return *fresh.release();  // a parent's copy it replaces is leaked on purpose
    }
    return *current;
}

void QueueCore::put(Encoded& item, bool block, const Deadline& deadline) {
    Shared& sh = *s_->shared;
    if (s_->closed.load()) throw ValueError("concur: put() on a Queue closed in this process");
    const std::size_t payload = item.data.size() - sizeof(wire::FrameHeader);
    if (payload > wire::max_frame_length)
        throw ValueError("concur: a Queue item of " + std::to_string(payload) + " bytes is over the 1 GiB limit");
    if (item.fds.size() > wire::max_frame_fds)
        throw ValueError("concur: a Queue item may carry at most " + std::to_string(wire::max_frame_fds) +
                         " descriptors");

    // Take a slot: `count` is a counting semaphore bounded by maxsize.
    const std::uint32_t limit = sh.maxsize > 0 ? static_cast<std::uint32_t>(sh.maxsize) : UINT32_MAX;
    std::uint32_t c = sh.count.load();
    for (;;) {
        if (c < limit) {
            if (sh.count.compare_exchange_weak(c, c + 1)) break;
            continue;
        }
        if (!block || deadline.expired()) throw queue::Full();
        sh.slot_waiters.fetch_add(1);
        if ((c = sh.count.load()) >= limit) shared_futex_wait(sh.count, c, deadline.get());
        sh.slot_waiters.fetch_sub(1);
        c = sh.count.load();
    }
    if (sh.kind == QueueKind::joinable) sh.unfinished.fetch_add(1);

    wire::FrameHeader h;
    h.kind = frame_value;
    h.length = static_cast<std::uint32_t>(payload);
    h.fds = static_cast<std::uint16_t>(item.fds.size());
    std::memcpy(item.data.data(), &h, sizeof h);

    Local& l = local();
    std::lock_guard lock(l.mutex);
    Pending p;
    if (l.broken) {
        undo_put();
        raise_errno(EPIPE, "put");
    }
    // Fast path: nothing of ours queued before it and nobody writing.
    if (l.pending.empty() && try_take(sh.wlock)) {
        std::size_t n;
        try {
            n = send_some(s_->wfd.load(), item.data.data(), item.data.size(), item.fds);
        } catch (...) {
            give(sh.wlock);
            undo_put();
            throw;
        }
        if (n == item.data.size()) {
            give(sh.wlock);
            return;
        }
        p.sent = n;
        p.holds_wlock = true;  // the rest of this frame must follow before any other
    }
    if (p.sent == 0) {
        for (int fd : item.fds) {
            int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
            if (copy < 0) {
                int err = errno;
                if (p.holds_wlock) give(sh.wlock);
                p.holds_wlock = false;
                undo_put();
                raise_errno(err, "dup");
            }
            p.fds.push_back(copy);
        }
    }
    p.data = std::move(item.data);
    l.pending.push_back(std::move(p));
    if (!l.feeder.joinable()) l.feeder = std::thread([this, &l] { feed(l); });
    l.changed.notify_all();
}

void QueueCore::undo_put() noexcept {
    Shared& sh = *s_->shared;
    if (sh.kind == QueueKind::joinable && sh.unfinished.fetch_sub(1) == 1) shared_futex_wake_all(sh.unfinished);
    sh.count.fetch_sub(1);
    if (sh.slot_waiters.load() > 0) shared_futex_wake_all(sh.count);
}

// The feeder thread: writes `pending` front to back. Exits when told to
// stop and nothing is left, or when nothing can be written any more.
void QueueCore::feed(Local& l) {
    std::unique_lock lock(l.mutex);
    for (;;) {
        l.changed.wait(lock, [&] { return !l.pending.empty() || l.stop; });
        if (l.pending.empty()) return;
        Pending& front = l.pending.front();  // push_back never moves it
        lock.unlock();
        bool written = write_out(front, l);
        lock.lock();
        if (!written) {
            if (front.holds_wlock) give(s_->shared->wlock);
            while (!l.pending.empty()) {  // dropped items are no longer counted
                undo_put();
                l.pending.pop_front();
            }
            l.changed.notify_all();
            return;
        }
        l.pending.pop_front();
        l.changed.notify_all();
    }
}

// Writes one pending frame to its end. False when cancelled or when no
// reader is left. Waits in short slices so that cancel_join_thread() and a
// destructor are noticed.
bool QueueCore::write_out(Pending& p, Local& l) {
    Shared& sh = *s_->shared;
    int sock = s_->wfd.load();
    while (!p.holds_wlock) {
        if (s_->cancelled.load()) return false;
        p.holds_wlock = take(sh.wlock, Deadline(100ms));
    }
    while (p.sent < p.data.size()) {
        if (s_->cancelled.load()) return false;
        std::size_t n;
        try {
            n = send_some(sock, p.data.data() + p.sent, p.data.size() - p.sent, p.sent == 0 ? p.fds : std::vector<int>{});
        } catch (const OSError& e) {
            if (e.errno_value() != EPIPE && e.errno_value() != ECONNRESET)
                std::fprintf(stderr, "concur: a Queue's feeder thread could not write: %s\n", e.what());
            std::lock_guard lock(l.mutex);
            l.broken = true;
            return false;
        }
        if (n > 0) {
            if (p.sent == 0) p.close_fds();  // the receiver has its copies now
            p.sent += n;
            continue;
        }
        pollfd pfd{sock, POLLOUT, 0};
        ::poll(&pfd, 1, 100);
    }
    give(sh.wlock);
    p.holds_wlock = false;
    return true;
}

Frame QueueCore::get(bool block, const Deadline& deadline) {
    Shared& sh = *s_->shared;
    if (s_->closed.load()) throw ValueError("concur: get() on a Queue closed in this process");
    if (block ? !take(sh.rlock, deadline) : !try_take(sh.rlock)) throw queue::Empty();
    Frame frame;
    try {
        int sock = s_->rfd.load();
        if (!wait_readable(sock, block ? deadline : Deadline(0s))) throw queue::Empty();
        if (!recv_frame(sock, frame)) throw EOFError("concur: every handle on the Queue was closed");
    } catch (...) {
        give(sh.rlock);
        throw;
    }
    give(sh.rlock);
    sh.count.fetch_sub(1);
    if (sh.slot_waiters.load() > 0) shared_futex_wake_all(sh.count);
    return frame;
}

std::size_t QueueCore::qsize() const noexcept { return s_->shared->count.load(); }
std::ptrdiff_t QueueCore::maxsize() const noexcept { return static_cast<std::ptrdiff_t>(s_->shared->maxsize); }
bool QueueCore::full() const noexcept {
    return s_->shared->maxsize > 0 && s_->shared->count.load() >= static_cast<std::uint64_t>(s_->shared->maxsize);
}

void QueueCore::close() noexcept {
    if (s_->closed.exchange(true)) return;
    // As Python: the reader goes now (a feeder with no reader left anywhere
    // then stops), the writer once the feeder has flushed.
    if (int fd = s_->rfd.exchange(-1); fd >= 0) ::close(fd);
    Local* l = s_->local.load();
    if (l && l->generation == fork_generation.load()) {
        std::lock_guard lock(l->mutex);
        l->stop = true;
        l->changed.notify_all();
    }
}

void QueueCore::join_thread() {
    if (!s_->closed.load()) throw ValueError("concur: join_thread() before close(), as Python forbids");
    stop_feeder();
}

void QueueCore::cancel_join_thread() noexcept { s_->cancelled.store(true); }

// Waits for this process's feeder to flush (or, cancelled, to give up) and exit.
void QueueCore::stop_feeder() {
    Local* l = s_->local.load();
    if (!l || l->generation != fork_generation.load()) return;
    {
        std::lock_guard lock(l->mutex);
        l->stop = true;
        l->changed.notify_all();
    }
    if (l->feeder.joinable() && l->feeder.get_id() != std::this_thread::get_id()) l->feeder.join();
}

QueueCore::~QueueCore() {
    Local* l = s_->local.load();
    if (int fd = s_->rfd.exchange(-1); fd >= 0) ::close(fd);
    if (l && l->generation == fork_generation.load()) {
        stop_feeder();
        delete l;
    }
}

void QueueCore::task_done() {
    Shared& sh = *s_->shared;
    std::uint32_t v = sh.unfinished.load();
    do {
        if (v == 0) throw ValueError("concur: task_done() called too many times");
    } while (!sh.unfinished.compare_exchange_weak(v, v - 1));
    if (v == 1) shared_futex_wake_all(sh.unfinished);
}

void QueueCore::join() {
    Shared& sh = *s_->shared;
    for (std::uint32_t v; (v = sh.unfinished.load()) != 0;) shared_futex_wait(sh.unfinished, v);
}

void QueueCore::pack(wire::Packer& p) const {
    p.pack_array(3);
    p.pack(wire::attach_fd(s_->rfd.load()));  // EncodeError once closed
    p.pack(wire::attach_fd(s_->wfd.load()));
    pack_ref(p, SharedRef{s_->block, 0});
}

std::shared_ptr<QueueCore> QueueCore::unpack(const msgpack::object& o, std::uint32_t item_type,
                                             std::initializer_list<QueueKind> kinds) {
    ensure_fork_handler();
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 3)
        throw wire::DecodeError("concur: a Queue arrived malformed");
    auto state = std::make_unique<State>();
    state->rfd = wire::take_fd(o.via.array.ptr[0].as<std::uint32_t>());
    state->wfd = wire::take_fd(o.via.array.ptr[1].as<std::uint32_t>());
    SharedRef ref = unpack_state<Shared>(o.via.array.ptr[2]);
    state->block = ref.block;
    state->shared = ref.get<Shared>();
    bool kind_ok = false;
    for (QueueKind k : kinds) kind_ok = kind_ok || k == state->shared->kind;
    if (!kind_ok)
        throw wire::DecodeError("concur: a queue of another kind (Queue, SimpleQueue, JoinableQueue) arrived "
                                "than the receiving function expects");
    if (state->shared->item_type != item_type)
        throw wire::DecodeError("concur: a queue of another item type arrived than the receiving function expects");
    return std::make_shared<QueueCore>(std::move(state));
}

}  // namespace concur::multiprocessing::detail
