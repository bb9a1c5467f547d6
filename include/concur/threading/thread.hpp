// threading.Thread and the module functions about threads: current_thread,
// main_thread, get_native_id, active_count, enumerate, excepthook.
//
//   Thread t(f, args...)           new thread                 registry
//   t.start() ---- std::thread --> bootstrap:                 (main, alive
//     waits for `started` <------   ident, native_id, name,   Threads,
//                                   register ------------->   dummies)
//                                   run() -> f(args...)
//                                   exception -> excepthook
//   t.join() waits for `finished` <- unregister, `finished`
//
// A Thread's state lives in a shared record (detail::ThreadState) that the
// new thread, the Thread object, and every ThreadHandle share, so a handle or
// a detached daemon thread never outlives what it points to.
//
// Differences from Python, all C++ manners:
//  * Thread is neither copyable nor movable (it is an identity, and run() is
//    virtual). Keep several in a std::deque / std::list (emplace_back), or
//    hold them by std::unique_ptr.
//  * The destructor of a started thread joins it (non-daemon), or waits only
//    until run() no longer needs the Thread object and detaches it (daemon).
//  * A subclass whose run() uses the subclass's own members must call join()
//    (or finalize()) first thing in its own destructor: by the time ~Thread
//    runs, those members are gone.
//  * Targets and arguments are copied (decayed) like std::thread's; pass
//    std::ref(x) to share x. The target's return value is discarded.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "concur/detail/deadline.hpp"
#include "concur/threading/lock.hpp"

namespace concur::threading {

namespace detail {

struct ThreadState;  // src/threading/thread.cpp

// A target with its arguments, invoked once (with its arguments as rvalues,
// as std::thread does).
class Task {
public:
    virtual ~Task() = default;
    virtual void operator()() = 0;
};

template <class F, class... Args>
class TaskImpl final : public Task {
public:
    template <class G, class... A>
    explicit TaskImpl(G&& g, A&&... a) : parts_(std::forward<G>(g), std::forward<A>(a)...) {}
    void operator()() override {
        std::apply([](auto&... p) { (void)std::invoke(std::move(p)...); }, parts_);
    }

private:
    std::tuple<F, Args...> parts_;
};

template <class F, class... Args>
std::unique_ptr<Task> make_task(F&& f, Args&&... args) {
    return std::make_unique<TaskImpl<std::decay_t<F>, std::decay_t<Args>...>>(
        std::forward<F>(f), std::forward<Args>(args)...);
}

}  // namespace detail

// Thread's optional settings (Python's name= and daemon= arguments):
//   Thread t({.name = "worker", .daemon = true}, f, x);
struct ThreadOptions {
    std::string name{};            // empty: "Thread-N"
    std::optional<bool> daemon{};  // empty: the creating thread's daemon()
};

template <class F, class... Args>
concept thread_target = !std::is_same_v<std::remove_cvref_t<F>, ThreadOptions> &&
                        std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>;

// A shared reference to a thread: what current_thread(), main_thread() and
// enumerate() return, and what Thread::handle() gives. Cheap to copy; two
// handles compare equal when they name the same thread (Python's `is`).
// Thread safety: any member from any thread. Only join() blocks; nothing
// but join() throws (std::bad_alloc aside).
class ThreadHandle {
public:
    // Internal: the functions above make handles.
    explicit ThreadHandle(std::shared_ptr<detail::ThreadState> st) : st_(std::move(st)) {}

    std::string name() const;
    // Renames the thread. Called on the thread itself, it also renames the
    // kernel thread (what `top -H` shows); from another thread only the name
    // this library reports changes.
    void name(std::string name) const;
    // Python's ident (get_ident() of that thread); nullopt before start.
    std::optional<unsigned long> ident() const;
    // The kernel's thread id (gettid()); nullopt before start.
    std::optional<long> native_id() const;
    // From the moment start() returns until run() has returned.
    bool is_alive() const;
    bool daemon() const;

    // Blocks until the thread has finished run(). Throws RuntimeError for the
    // calling thread itself, for a thread never started, and for a dummy
    // thread (one not started by this library), as Python does.
    void join() const;
    // As join(), at most `timeout` (negative counts as zero, as in Python);
    // returns whether the thread has finished, i.e. !is_alive().
    template <class Rep, class Period>
    bool join(std::chrono::duration<Rep, Period> timeout) const {
        return join_until(timeout < timeout.zero() ? concur::detail::Deadline(timeout.zero())
                                                   : concur::detail::Deadline(timeout));
    }

    friend bool operator==(const ThreadHandle&, const ThreadHandle&) = default;

private:
    bool join_until(const concur::detail::Deadline& d) const;
    std::shared_ptr<detail::ThreadState> st_;
};

// Python's threading.Thread. Thread safety: any member from any thread,
// except that the destructor must not race with other calls. The accessors
// (name, daemon, ident, native_id, is_alive) never block.
class Thread {
public:
    using Options = ThreadOptions;

    // For subclasses that override run(). Never blocks; no thread yet.
    Thread() : Thread(Options{}) {}
    explicit Thread(Options options) : Thread(std::move(options), nullptr) {}
    // Runs f(args...) when started (Python's target= and args=).
    template <class F, class... Args>
        requires thread_target<F, Args...>
    explicit Thread(F&& f, Args&&... args)
        : Thread(Options{}, detail::make_task(std::forward<F>(f), std::forward<Args>(args)...)) {}
    template <class F, class... Args>
        requires thread_target<F, Args...>
    Thread(Options options, F&& f, Args&&... args)
        : Thread(std::move(options),
                 detail::make_task(std::forward<F>(f), std::forward<Args>(args)...)) {}

    Thread(const Thread&) = delete;
    Thread& operator=(const Thread&) = delete;

    // See the header comment: joins, or for a daemon waits for run() to stop
    // using this object and detaches. Never throws.
    virtual ~Thread();

    // Starts the thread and blocks until it is running (ident() and
    // native_id() are set, is_alive() is true). Throws RuntimeError("threads
    // can only be started once") on a second call, RuntimeError("can't start
    // new thread") if the system refuses one.
    void start();

    // The thread's activity, called on the new thread by start(). The default
    // calls the target with its arguments. Override it in a subclass. An
    // exception escaping run() goes to the excepthook (stderr by default) and
    // ends the thread, never the process.
    virtual void run();

    // Blocks until run() has returned (see ThreadHandle::join for errors).
    void join();
    template <class Rep, class Period>
    bool join(std::chrono::duration<Rep, Period> timeout) {
        bool finished = handle().join(timeout);
        if (finished) reap();
        return finished;
    }

    bool is_alive() const;
    std::string name() const;
    // Any time, any thread; renames the kernel thread only if not started yet
    // (it is named at start) or if called from the thread itself.
    void name(std::string name);
    bool daemon() const;
    // Before start() only: RuntimeError("cannot set daemon status of active
    // thread") afterwards. A process does not wait for daemon threads.
    void daemon(bool daemonic);
    std::optional<unsigned long> ident() const;
    std::optional<long> native_id() const;

    ThreadHandle handle() const { return ThreadHandle(state_); }

protected:
    // What the destructor does, for a subclass to call first in its own
    // destructor: joins a non-daemon thread; for a daemon, waits until run()
    // has returned or the default run() has taken its target, then detaches.
    // Idempotent; a no-op if never started; on the thread itself (a Thread
    // destroyed by its own run()) it detaches, since a thread cannot join
    // itself.
    void finalize() noexcept;

private:
    Thread(Options options, std::unique_ptr<detail::Task> target);
    static void bootstrap(std::shared_ptr<detail::ThreadState> st, Thread* self) noexcept;
    void reap() noexcept;  // joins the finished std::thread, once

    std::shared_ptr<detail::ThreadState> state_;
};

// Python's threading.current_thread(): the calling thread. For a thread this
// library did not start (a "foreign" thread, e.g. a plain std::thread), a
// daemon dummy record named "Dummy-N" is made on first call and dropped when
// the thread exits, as Python's _DummyThread.
ThreadHandle current_thread();

// Python's threading.main_thread(): the process's initial thread, named
// "MainThread". After fork(), the forking thread of the child.
ThreadHandle main_thread();

// Python's threading.get_native_id(): the kernel's id (gettid()) of the
// calling thread.
long get_native_id() noexcept;

// Python's threading.active_count(): the main thread, the started and not
// yet finished Thread objects, and the dummies of live foreign threads.
std::size_t active_count();

// Python's threading.enumerate(): those same threads, main thread first.
std::vector<ThreadHandle> enumerate();

// Python's threading.ExceptHookArgs: what a thread's escaped exception was,
// and in which thread.
struct ExceptHookArgs {
    std::exception_ptr exc_value;
    std::optional<ThreadHandle> thread;
};
using ExceptHook = std::function<void(const ExceptHookArgs&)>;

// Python's threading.excepthook assignment: installs the function called,
// on the failing thread, with any exception that escapes Thread::run().
// An empty function restores the default. Returns the previous hook. If the
// hook itself throws, that is printed to stderr and swallowed.
ExceptHook set_excepthook(ExceptHook hook);

// Python's threading.__excepthook__: writes "Exception in thread NAME:" and
// then "TYPE: what()" to stderr in one write.
void default_excepthook(const ExceptHookArgs& args);

namespace detail {
// Hands an exception that escaped run() to the installed hook, on the
// failing thread (src/threading/excepthook.cpp).
void call_excepthook(std::exception_ptr e, ThreadHandle thread) noexcept;
}  // namespace detail

}  // namespace concur::threading
