// The event loop: Python's BaseEventLoop._run_once over a backend, plus the
// parts that need the kernel (descriptors, signals) or other threads
// (call_soon_threadsafe, the default executor).
#include "concur/asyncio/loop.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "backend.hpp"
#include "concur/asyncio/task.hpp"
#include "concur/futures/thread.hpp"

namespace concur::asyncio {
namespace detail {

namespace {
thread_local EventLoop* tls_running = nullptr;

// Signal number -> write end of the pipe of the loop that handles it. The C
// handler only writes the number there (async-signal-safe).
// Stored as fd + 1 so that zero-initialisation means "none".
std::array<std::atomic<int>, NSIG> signal_pipes{};

extern "C" void on_signal(int sig) {
    int saved = errno;
    int fd = signal_pipes[sig].load(std::memory_order_relaxed) - 1;
    if (fd >= 0) {
        unsigned char b = static_cast<unsigned char>(sig);
        ssize_t r = write(fd, &b, 1);
        (void)r;
    }
    errno = saved;
}
}  // namespace

EventLoop* running_loop() noexcept { return tls_running; }

// A descriptor's registered reader and writer.
struct FdEntry {
    IoWatch* reader = nullptr;
    IoWatch* writer = nullptr;
    SocketWatch* sock = nullptr;
};

// add_reader / add_writer callbacks owned by the loop.
struct CallbackWatch : IoWatch {
    std::function<void()> fn;
    EventLoop* loop = nullptr;
    CallbackWatch() {
        ready = [](IoWatch* w) noexcept {
            auto* self = static_cast<CallbackWatch*>(w);
            try {
                auto fn = self->fn;  // the callback may remove itself
                fn();
            } catch (...) {
                ExceptionContext ctx{"Exception in an add_reader/add_writer callback",
                                     std::current_exception()};
                self->loop->call_exception_handler(ctx);
            }
        };
    }
};

class LoopImpl final : public Backend::Sink {
public:
    LoopImpl(EventLoop& loop, std::unique_ptr<Backend> b) : loop_(loop), backend(std::move(b)) {}

    void on_ready(int fd, uint32_t events) noexcept override {
        if (static_cast<std::size_t>(fd) >= fds.size()) return;
        if (events & kReadable) {
            if (IoWatch* r = fds[fd].reader) r->ready(r);
        }
        if (events & kWritable && static_cast<std::size_t>(fd) < fds.size()) {
            if (IoWatch* w = fds[fd].writer) w->ready(w);
        }
    }
    void on_received(int fd, const char* p, int n) noexcept override {
        if (static_cast<std::size_t>(fd) >= fds.size()) return;
        if (SocketWatch* w = fds[fd].sock) w->received(w, p, n);
    }
    void on_sent(int fd, int res) noexcept override {
        if (static_cast<std::size_t>(fd) >= fds.size()) return;
        if (SocketWatch* w = fds[fd].sock) w->sent(w, res);
    }
    void on_wakeup() noexcept override {
        loop_.notified_.store(false, std::memory_order_seq_cst);
        loop_.drain_posted();
    }

    void update(int fd) {
        FdEntry& e = fds[fd];
        backend->set_interest(fd, (e.reader ? kReadable : 0) | (e.writer ? kWritable : 0));
    }

    EventLoop& loop_;
    std::unique_ptr<Backend> backend;
    std::vector<FdEntry> fds;
    std::map<int, std::unique_ptr<CallbackWatch>> readers, writers;
    std::unique_ptr<futures::ThreadPoolExecutor> executor;
    std::function<void(EventLoop&, const ExceptionContext&)> exception_handler;

    // Signals: a non-blocking pipe the C handler writes signal numbers into.
    int sig_read = -1, sig_write = -1;
    struct SigWatch : IoWatch {
        LoopImpl* impl = nullptr;
    } sig_watch;
    std::map<int, std::function<void()>> sig_handlers;
    std::map<int, struct sigaction> sig_saved;
};

}  // namespace detail

namespace {
LoopBackend backend_from_env() {
    const char* v = std::getenv("CONCUR_LOOP");
    if (!v || !*v || std::strcmp(v, "auto") == 0) return LoopBackend::automatic;
    if (std::strcmp(v, "io_uring") == 0) return LoopBackend::io_uring;
    if (std::strcmp(v, "epoll") == 0) return LoopBackend::epoll;
    throw ValueError(std::string("CONCUR_LOOP must be io_uring, epoll or auto, not '") + v + "'");
}

std::unique_ptr<detail::Backend> make_backend(LoopBackend kind) {
    switch (kind) {
        case LoopBackend::io_uring: return detail::make_uring_backend();
        case LoopBackend::epoll: return detail::make_epoll_backend();
        case LoopBackend::automatic:
            try {
                return detail::make_uring_backend();
            } catch (const RuntimeError&) {
                return detail::make_epoll_backend();
            }
    }
    return detail::make_epoll_backend();
}
}  // namespace

EventLoop::EventLoop() : EventLoop(backend_from_env()) {}

EventLoop::EventLoop(LoopBackend backend)
    : impl_(std::make_unique<detail::LoopImpl>(*this, make_backend(backend))) {}

EventLoop::~EventLoop() {
    if (running_) {
        std::fprintf(stderr, "concur: an EventLoop was destroyed while running\n");
        std::abort();
    }
    close();
}

std::string_view EventLoop::backend_name() const noexcept { return impl_->backend->name(); }

void EventLoop::run_forever() {
    if (is_closed()) throw RuntimeError("the event loop is closed");
    if (running_) throw RuntimeError("this event loop is already running");
    if (detail::tls_running)
        throw RuntimeError("cannot run an event loop while another loop is running on this thread");
    detail::tls_running = this;
    running_ = true;
    struct Reset {
        EventLoop* l;
        ~Reset() {
            l->running_ = false;
            l->stopping_ = false;
            detail::tls_running = nullptr;
        }
    } reset{this};
    // At least one iteration: a stop() made before run_forever() still lets
    // the callbacks already scheduled run once (Python's documented idiom,
    // and what run_until_complete of a done task relies on).
    do {
        run_once();
    } while (!stopping_);
}

void EventLoop::run_once() {
    int64_t timeout = -1;
    if (!ready_.empty() || stopping_) {
        timeout = 0;
    } else if (!timers_.empty()) {
        auto left = timers_.top()->when - Clock::now();
        timeout = left.count() > 0 ? std::chrono::duration_cast<std::chrono::nanoseconds>(left).count() : 0;
    }
    impl_->backend->poll(timeout, *impl_);
    drain_posted();

    if (!timers_.empty()) {
        auto now = Clock::now();
        while (!timers_.empty() && timers_.top()->when <= now) {
            detail::TimerEntry* t = timers_.top();
            timers_.remove(t);
            t->fire(t);
        }
    }

    // Only what was ready when the iteration began: callbacks scheduled now
    // run after the next look at I/O, as in Python.
    for (std::size_t n = ready_.size(); n > 0; --n) {
        detail::ReadyItem item = ready_.pop();
        item.run(item.arg);
    }
}

// posted_ and notified_ form a Dekker pair: a poster pushes, then finds
// notified_ already true and skips the wake-up; the loop clears notified_
// (on_wakeup), then looks at posted_. All four are seq_cst so that either
// the loop sees the push or the poster sees notified_ false and wakes it
// (with release/relaxed the loop's check could miss the node and block in
// its wait). On x86 this costs nothing: the RMWs are locked anyway.
void EventLoop::post(detail::PostNode* node) noexcept {
    detail::PostNode* head = posted_.load(std::memory_order_relaxed);
    do {
        node->next = head;
    } while (!posted_.compare_exchange_weak(head, node, std::memory_order_seq_cst,
                                            std::memory_order_relaxed));
    if (!notified_.exchange(true, std::memory_order_seq_cst)) impl_->backend->wakeup();
}

void EventLoop::drain_posted() noexcept {
    if (!posted_.load(std::memory_order_seq_cst)) return;
    detail::PostNode* n = posted_.exchange(nullptr, std::memory_order_acquire);
    detail::PostNode* fifo = nullptr;  // the stack is newest first
    while (n) {
        detail::PostNode* next = n->next;
        n->next = fifo;
        fifo = n;
        n = next;
    }
    while (fifo) {
        detail::PostNode* next = fifo->next;
        fifo->run(fifo);
        fifo = next;
    }
}

// ---- handles --------------------------------------------------------------

void detail::HandleImpl::run_on(EventLoop& l) noexcept {
    if (cancelled() || l.is_closed()) return;
    try {
        invoke();
    } catch (...) {
        ExceptionContext ctx{"Exception in callback", std::current_exception()};
        l.call_exception_handler(ctx);
    }
}

void EventLoop::run_handle(void* p) noexcept {
    auto* h = static_cast<detail::HandleImpl*>(p);
    if (EventLoop* l = detail::tls_running) h->run_on(*l);
    h->release();
}

void EventLoop::run_posted_handle(detail::PostNode* n) noexcept {
    auto* h = static_cast<detail::HandleImpl*>(n);
    EventLoop* l = h->loop;
    if (l->is_closed()) {
        h->release();
        return;
    }
    l->push_ready(&run_handle, h);
}

void EventLoop::fire_timer_handle(detail::TimerEntry* t) noexcept {
    auto* h = static_cast<detail::HandleImpl::Timer*>(t)->owner;
    EventLoop* l = h->loop;
    l->push_ready(&run_handle, h);  // the heap's reference moves to the queue
}

void Handle::cancel() noexcept {
    if (!h_ || h_->cancelled()) return;
    h_->cancel();
    if (h_->timer.queued() && h_->loop) {
        h_->loop->timers_.remove(&h_->timer);
        h_->release();  // the heap's reference
    }
}

// ---- tasks ----------------------------------------------------------------

void EventLoop::link_task(detail::TaskBase* t) noexcept {
    t->prev_task = nullptr;
    t->next_task = tasks_head_;
    if (tasks_head_) tasks_head_->prev_task = t;
    tasks_head_ = t;
}

void EventLoop::unlink_task(detail::TaskBase* t) noexcept {
    if (t->prev_task) t->prev_task->next_task = t->next_task;
    else if (tasks_head_ == t) tasks_head_ = t->next_task;
    if (t->next_task) t->next_task->prev_task = t->prev_task;
    t->prev_task = t->next_task = nullptr;
}

// ---- descriptors ------------------------------------------------------------

namespace {
detail::FdEntry& entry(detail::LoopImpl& impl, int fd) {
    if (fd < 0) throw ValueError("invalid file descriptor " + std::to_string(fd));
    if (static_cast<std::size_t>(fd) >= impl.fds.size()) impl.fds.resize(fd + 1);
    return impl.fds[fd];
}
}  // namespace

void EventLoop::watch_fd(int fd, detail::IoWatch* reader, detail::IoWatch* writer) {
    detail::FdEntry& e = entry(*impl_, fd);
    e.reader = reader;
    e.writer = writer;
    impl_->update(fd);
}

void EventLoop::unwatch_fd(int fd, void* send_block) noexcept {
    auto& fds = impl_->fds;
    if (fd < 0 || static_cast<std::size_t>(fd) >= fds.size() ||
        (!fds[fd].reader && !fds[fd].writer && !fds[fd].sock)) {
        std::free(send_block);
        return;
    }
    fds[fd] = {};
    impl_->backend->forget(fd, send_block);
}

bool EventLoop::socket_completions() const noexcept { return impl_->backend->socket_completions(); }

void EventLoop::receive_fd(int fd, detail::SocketWatch* w, bool on) {
    entry(*impl_, fd).sock = w;
    impl_->backend->set_receiving(fd, on);
}

void EventLoop::send_fd(int fd, detail::SocketWatch* w, const char* p, std::size_t n) {
    entry(*impl_, fd).sock = w;
    impl_->backend->send(fd, p, n);
}

void EventLoop::add_reader(int fd, std::function<void()> fn) {
    auto w = std::make_unique<detail::CallbackWatch>();
    w->fn = std::move(fn);
    w->loop = this;
    entry(*impl_, fd).reader = w.get();
    impl_->readers[fd] = std::move(w);
    impl_->update(fd);
}

bool EventLoop::remove_reader(int fd) {
    auto it = impl_->readers.find(fd);
    if (it == impl_->readers.end()) return false;
    entry(*impl_, fd).reader = nullptr;
    impl_->update(fd);
    impl_->readers.erase(it);
    return true;
}

void EventLoop::add_writer(int fd, std::function<void()> fn) {
    auto w = std::make_unique<detail::CallbackWatch>();
    w->fn = std::move(fn);
    w->loop = this;
    entry(*impl_, fd).writer = w.get();
    impl_->writers[fd] = std::move(w);
    impl_->update(fd);
}

bool EventLoop::remove_writer(int fd) {
    auto it = impl_->writers.find(fd);
    if (it == impl_->writers.end()) return false;
    entry(*impl_, fd).writer = nullptr;
    impl_->update(fd);
    impl_->writers.erase(it);
    return true;
}

// ---- signals ----------------------------------------------------------------

void EventLoop::add_signal_handler(int sig, std::function<void()> fn) {
    if (sig <= 0 || sig >= NSIG) throw ValueError("invalid signal number " + std::to_string(sig));
    if (sig == SIGKILL || sig == SIGSTOP) throw ValueError("SIGKILL and SIGSTOP cannot be handled");
    auto& im = *impl_;
    if (im.sig_read < 0) {
        int p[2];
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
            throw RuntimeError(std::string("add_signal_handler: pipe: ") + std::strerror(errno));
        im.sig_read = p[0];
        im.sig_write = p[1];
        im.sig_watch.ready = [](detail::IoWatch* w) noexcept {
            auto* impl = static_cast<detail::LoopImpl::SigWatch*>(w)->impl;
            unsigned char buf[64];
            ssize_t n;
            while ((n = read(impl->sig_read, buf, sizeof buf)) > 0) {
                for (ssize_t i = 0; i < n; ++i) {
                    auto it = impl->sig_handlers.find(buf[i]);
                    if (it == impl->sig_handlers.end()) continue;
                    auto fn = it->second;
                    try {
                        impl->loop_.call_soon(std::move(fn));
                    } catch (...) {
                    }
                }
            }
        };
        im.sig_watch.impl = &im;
        watch_fd(im.sig_read, &im.sig_watch, nullptr);
    }
    int expected = 0;
    if (!detail::signal_pipes[sig].compare_exchange_strong(expected, im.sig_write + 1) &&
        expected != im.sig_write + 1)
        throw RuntimeError("signal " + std::to_string(sig) + " is already handled by another event loop");
    if (!im.sig_saved.count(sig)) {
        struct sigaction sa{}, old{};
        sa.sa_handler = detail::on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        if (sigaction(sig, &sa, &old) < 0) {
            detail::signal_pipes[sig].store(0);
            throw RuntimeError(std::string("add_signal_handler: sigaction: ") + std::strerror(errno));
        }
        im.sig_saved[sig] = old;
    }
    im.sig_handlers[sig] = std::move(fn);
}

bool EventLoop::remove_signal_handler(int sig) {
    auto& im = *impl_;
    auto it = im.sig_handlers.find(sig);
    if (it == im.sig_handlers.end()) return false;
    im.sig_handlers.erase(it);
    sigaction(sig, &im.sig_saved[sig], nullptr);
    im.sig_saved.erase(sig);
    detail::signal_pipes[sig].store(0);
    return true;
}

// ---- executor, errors -------------------------------------------------------

futures::ThreadPoolExecutor& EventLoop::default_executor() {
    if (is_closed()) throw RuntimeError("the event loop is closed");
    if (!impl_->executor) {
        impl_->executor = std::make_unique<futures::ThreadPoolExecutor>(
            futures::ThreadPoolOptions{.thread_name_prefix = "asyncio"});
    }
    return *impl_->executor;
}

void EventLoop::set_exception_handler(std::function<void(EventLoop&, const ExceptionContext&)> fn) {
    impl_->exception_handler = std::move(fn);
}

void EventLoop::call_exception_handler(const ExceptionContext& context) noexcept {
    if (impl_->exception_handler) {
        try {
            impl_->exception_handler(*this, context);
            return;
        } catch (...) {
            ExceptionContext inner{"Unhandled error in exception handler", std::current_exception()};
            default_exception_handler(inner);
        }
    }
    default_exception_handler(context);
}

void EventLoop::default_exception_handler(const ExceptionContext& context) noexcept {
    std::string what;
    if (context.exception) {
        try {
            std::rethrow_exception(context.exception);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
            what = "(an exception not derived from std::exception)";
        }
    }
    std::fprintf(stderr, "%s%s%s%s%s\n", context.message.c_str(), context.task.empty() ? "" : "\ntask: ",
                 context.task.c_str(), what.empty() ? "" : "\nexception: ", what.c_str());
}

// ---- close ------------------------------------------------------------------

void EventLoop::close() {
    if (running_) throw RuntimeError("cannot close a running event loop");
    if (is_closed()) return;
    auto& im = *impl_;
    if (im.executor) {
        im.executor->shutdown(true);
        im.executor.reset();
    }
    closed_.store(true);
    // Work still queued is dropped, as Python's close() clears _ready:
    // handles are released; task steps are skipped (the tasks go next).
    drain_posted();
    while (!ready_.empty()) {
        detail::ReadyItem item = ready_.pop();
        if (item.run == &run_handle) static_cast<detail::HandleImpl*>(item.arg)->release();
    }
    // Timers go before the tasks: abandoning a task may destroy its frame,
    // and a sleep's TimerEntry lives there. Its destructor cannot unlink it
    // any more (abandon() has cleared the task's loop), so the heap would
    // keep a dangling pointer.
    while (!timers_.empty()) {
        detail::TimerEntry* t = timers_.top();
        timers_.remove(t);
        if (t->fire == &fire_timer_handle) static_cast<detail::HandleImpl::Timer*>(t)->owner->release();
    }
    while (tasks_head_) tasks_head_->abandon();
    drain_posted();
    while (!ready_.empty()) {
        detail::ReadyItem item = ready_.pop();
        if (item.run == &run_handle) static_cast<detail::HandleImpl*>(item.arg)->release();
    }
    for (auto& [sig, old] : im.sig_saved) {
        sigaction(sig, &old, nullptr);
        detail::signal_pipes[sig].store(0);
    }
    im.sig_saved.clear();
    im.sig_handlers.clear();
    if (im.sig_read >= 0) {
        unwatch_fd(im.sig_read);
        ::close(im.sig_read);
        ::close(im.sig_write);
        im.sig_read = im.sig_write = -1;
    }
}

EventLoop& get_running_loop() {
    EventLoop* l = detail::running_loop();
    if (!l) throw RuntimeError("no running event loop");
    return *l;
}

}  // namespace concur::asyncio
