// asyncio's event loop: one per thread, run by asyncio::run (or by hand with
// run_until_complete / run_forever). Callbacks and coroutines scheduled on a
// loop run on the thread that runs it, one at a time, as in Python.
//
// I/O readiness comes from one of two backends chosen when the loop is made:
// io_uring (through liburing, where io_uring_queue_init succeeds) or epoll.
// CONCUR_LOOP=io_uring|epoll|auto in the environment overrides the choice;
// asking for io_uring where the kernel forbids it throws RuntimeError.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "concur/asyncio/detail/loop_parts.hpp"
#include "concur/errors.hpp"

namespace concur::futures {
class ThreadPoolExecutor;
}

namespace concur::asyncio {

class EventLoop;
template <class T>
class Task;

namespace detail {
class TaskBase;
class LoopImpl;

// The loop running on this thread, or null.
EventLoop* running_loop() noexcept;

// Reference-counted callback behind Handle/TimerHandle.
class HandleImpl : public PostNode {
public:
    void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
    void cancel() noexcept { cancelled_.store(true, std::memory_order_relaxed); }
    bool cancelled() const noexcept { return cancelled_.load(std::memory_order_relaxed); }
    // Runs the callback unless cancelled; an exception goes to the loop's
    // exception handler, as Python's Handle._run.
    void run_on(EventLoop& loop) noexcept;

    // Used by call_later / call_at only.
    struct Timer : TimerEntry {
        HandleImpl* owner = nullptr;
    } timer;
    EventLoop* loop = nullptr;

protected:
    virtual ~HandleImpl() = default;
    virtual void invoke() = 0;

private:
    std::atomic<uint32_t> refs_{1};
    std::atomic<bool> cancelled_{false};
};

template <class F>
class CallbackHandle final : public HandleImpl {
public:
    explicit CallbackHandle(F&& f) : fn_(std::forward<F>(f)) {}
    void invoke() override { fn_(); }

private:
    std::decay_t<F> fn_;
};
}  // namespace detail

// Python's asyncio.Handle: lets the caller cancel a scheduled callback.
class Handle {
public:
    Handle() = default;
    explicit Handle(detail::HandleImpl* h) noexcept : h_(h) {}  // adopts a reference
    Handle(const Handle& o) noexcept : h_(o.h_) {
        if (h_) h_->retain();
    }
    Handle(Handle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    Handle& operator=(Handle o) noexcept {
        std::swap(h_, o.h_);
        return *this;
    }
    ~Handle() {
        if (h_) h_->release();
    }
    // Prevents the callback from running if it has not run yet. Loop thread
    // for timer handles (the timer is removed at once); any thread otherwise.
    void cancel() noexcept;
    bool cancelled() const noexcept { return h_ && h_->cancelled(); }

protected:
    detail::HandleImpl* h_ = nullptr;
};

// Python's asyncio.TimerHandle: a Handle with its deadline.
class TimerHandle : public Handle {
public:
    using Handle::Handle;
    Clock::time_point when() const noexcept { return h_->timer.when; }
};

enum class LoopBackend { automatic, io_uring, epoll };

// What the loop's exception handler receives (Python's context dict).
struct ExceptionContext {
    std::string message;
    std::exception_ptr exception = nullptr;
    std::string task = {};  // the task's repr, when a task is involved
};

class EventLoop {
public:
    // Makes a loop with the backend named by CONCUR_LOOP (default automatic:
    // io_uring where the kernel allows it, else epoll). Throws RuntimeError
    // if a forced backend cannot start, ValueError for an unknown name.
    EventLoop();
    explicit EventLoop(LoopBackend backend);
    EventLoop(EventLoop&&) = delete;
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;
    // Closes the loop (see close()).
    ~EventLoop();

    // "io_uring" or "epoll".
    std::string_view backend_name() const noexcept;

    // ---- scheduling (loop thread only unless said otherwise) ------------
    // Python's call_soon: fn() runs on a later iteration, FIFO. Never blocks.
    template <class F>
    Handle call_soon(F&& fn) {
        check_open();
        auto* h = make_handle(std::forward<F>(fn));
        h->loop = this;
        h->retain();
        push_ready(&run_handle, h);
        return Handle(h);
    }
    // Python's call_soon_threadsafe: the only scheduling call that may be made
    // from any thread; wakes the loop if it is waiting for I/O. Never blocks.
    template <class F>
    Handle call_soon_threadsafe(F&& fn) {
        check_open();
        auto* h = make_handle(std::forward<F>(fn));
        h->loop = this;
        h->retain();
        h->run = &run_posted_handle;
        post(h);
        return Handle(h);
    }
    // Python's call_later / call_at. A negative delay runs as soon as possible.
    template <class F, class Rep, class Period>
    TimerHandle call_later(std::chrono::duration<Rep, Period> delay, F&& fn) {
        return call_at(detail::deadline_after(delay), std::forward<F>(fn));
    }
    template <class F>
    TimerHandle call_at(Clock::time_point when, F&& fn) {
        check_open();
        auto* h = make_handle(std::forward<F>(fn));
        h->loop = this;
        h->retain();  // the heap's reference, dropped when it fires or is cancelled
        h->timer.owner = h;
        h->timer.when = when;
        h->timer.fire = &fire_timer_handle;
        timers_.push(&h->timer);
        return TimerHandle(h);
    }
    // Python's loop.time(): seconds on the loop's monotonic clock.
    double time() const noexcept {
        return std::chrono::duration<double>(now().time_since_epoch()).count();
    }
    static Clock::time_point now() noexcept { return Clock::now(); }

    // ---- running ---------------------------------------------------------
    // Defined in runners.hpp.
    template <class T>
    T run_until_complete(Task<T> task);
    // Runs until stop() is called (one iteration if stop() came first, as
    // Python). Throws RuntimeError if the loop is closed or already
    // running, or another loop runs on this thread.
    void run_forever();
    // Stops run_forever after the callbacks already ready have run.
    void stop() noexcept { stopping_ = true; }
    bool is_running() const noexcept { return running_; }
    bool is_closed() const noexcept { return closed_.load(std::memory_order_relaxed); }
    // Destroys what is left (tasks that never finished are dropped without
    // running further), shuts the default executor down (waiting for its
    // threads) and releases the backend. Throws RuntimeError while running.
    void close();

    // ---- I/O readiness (Python's add_reader / add_writer) ---------------
    // fn runs on the loop thread each time fd is readable (writable) until
    // removed; one reader and one writer per fd. Loop thread only.
    void add_reader(int fd, std::function<void()> fn);
    bool remove_reader(int fd);
    void add_writer(int fd, std::function<void()> fn);
    bool remove_writer(int fd);

    // Python's add_signal_handler: fn runs on the loop thread after `sig`
    // arrives (the C handler only writes to a pipe). Throws ValueError for
    // SIGKILL/SIGSTOP or an invalid number, RuntimeError if another loop
    // already handles `sig`.
    void add_signal_handler(int sig, std::function<void()> fn);
    bool remove_signal_handler(int sig);

    // The thread pool behind run_in_executor(nullptr, ...) and to_thread,
    // made on first use; close() shuts it down.
    futures::ThreadPoolExecutor& default_executor();

    // Python's set_exception_handler / call_exception_handler: where errors
    // nobody can catch go (a callback that threw, a task's exception that
    // was never retrieved). The default prints to stderr.
    void set_exception_handler(std::function<void(EventLoop&, const ExceptionContext&)> fn);
    void call_exception_handler(const ExceptionContext& context) noexcept;
    static void default_exception_handler(const ExceptionContext& context) noexcept;

    // ---- for concur's own awaiters (loop thread only) --------------------
    void push_ready(void (*run)(void*) noexcept, void* arg) { ready_.push({run, arg}); }
    void add_timer(detail::TimerEntry* t) { timers_.push(t); }
    void cancel_timer(detail::TimerEntry* t) noexcept { timers_.remove(t); }
    // Any thread: runs node->run(node) on the loop thread soon.
    void post(detail::PostNode* node) noexcept;
    // Registers what runs when fd becomes readable / writable (null: stop
    // watching). The watch objects must outlive the registration.
    void watch_fd(int fd, detail::IoWatch* reader, detail::IoWatch* writer);
    // Forgets fd entirely (call before closing it). send_block: the
    // malloc'd bytes of a send_fd still in flight, freed once the kernel is
    // done with them (null if none).
    void unwatch_fd(int fd, void* send_block = nullptr) noexcept;
    // Whether the backend does socket I/O itself (io_uring; see
    // detail::SocketWatch): then receive_fd/send_fd replace readiness.
    bool socket_completions() const noexcept;
    // Starts or stops receiving on socket fd into w. Chunks the kernel took
    // before a stop are still delivered. Throws std::bad_alloc.
    void receive_fd(int fd, detail::SocketWatch* w, bool on);
    // Sends [p, p + n) on fd, reporting to w->sent; p must stay put until
    // then. One send per descriptor at a time; it leaves with the next
    // iteration's wait. Throws std::bad_alloc.
    void send_fd(int fd, detail::SocketWatch* w, const char* p, std::size_t n);

    detail::TaskBase* current_task() const noexcept { return current_; }
    void set_current_task(detail::TaskBase* t) noexcept { current_ = t; }
    // The list behind all_tasks(): tasks created on this loop, not yet done.
    detail::TaskBase* tasks_head() const noexcept { return tasks_head_; }
    void link_task(detail::TaskBase* t) noexcept;
    void unlink_task(detail::TaskBase* t) noexcept;
    uint32_t next_task_number() noexcept { return ++task_counter_; }

    // One iteration: wait for I/O (not at all if callbacks are ready; until
    // the next timer otherwise), move due timers to the ready queue, run the
    // callbacks that were ready when the iteration began.
    void run_once();

private:
    // Python raises RuntimeError('Event loop is closed') for work scheduled
    // on a closed loop: it would never run.
    void check_open() const {
        if (closed_.load(std::memory_order_relaxed)) throw RuntimeError("the event loop is closed");
    }
    template <class F>
    static detail::HandleImpl* make_handle(F&& fn) {
        static_assert(std::is_invocable_v<std::decay_t<F>&>, "the callback must be callable with no arguments");
        return new detail::CallbackHandle<F>(std::forward<F>(fn));
    }
    static void run_handle(void* h) noexcept;
    static void run_posted_handle(detail::PostNode* n) noexcept;
    static void fire_timer_handle(detail::TimerEntry* t) noexcept;
    void drain_posted() noexcept;
    friend class detail::LoopImpl;
    friend class Handle;

    detail::ReadyQueue ready_;
    detail::TimerHeap timers_;
    detail::TaskBase* current_ = nullptr;
    detail::TaskBase* tasks_head_ = nullptr;
    uint32_t task_counter_ = 0;
    bool running_ = false;
    bool stopping_ = false;
    std::atomic<bool> closed_{false};
    std::atomic<detail::PostNode*> posted_{nullptr};
    std::atomic<bool> notified_{false};
    std::unique_ptr<detail::LoopImpl> impl_;
};

// Python's asyncio.get_running_loop(): the loop running on this thread.
// Throws RuntimeError("no running event loop") elsewhere.
EventLoop& get_running_loop();

}  // namespace concur::asyncio
