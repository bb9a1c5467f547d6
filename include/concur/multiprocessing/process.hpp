// Python's multiprocessing.Process: a function run in a child process.
//
//   void work(int n, multiprocessing::Lock lock);
//   multiprocessing::Process p{work, 5, lock};
//   p.start();
//   p.join();
//   assert(p.exitcode() == 0);
//
// The target is a plain function or a captureless lambda and the arguments
// are values that can cross a process (concur/wire.hpp); both are checked at
// compile time and encoded when the Process is constructed, so every start
// method sees the same copy. In the child, an exception escaping the target
// is printed to stderr ("Process ForkProcess-1:" and the error) and the
// exit code is 1; std::exit(n) gives n; a signal gives -signum, as Python.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "concur/detail/deadline.hpp"
#include "concur/multiprocessing/context.hpp"
#include "concur/wire.hpp"

namespace concur::multiprocessing {

class Process {
public:
    // Python's Process(target=fn, args=(args...)) with the default context.
    template <class F, class... Args>
        requires(!std::is_same_v<std::decay_t<F>, Context>)
    explicit Process(F target, Args&&... args) : Process(get_context(), target, std::forward<Args>(args)...) {
        default_context_ = true;  // named "Process-N", as Python's default context names it
    }

    // ctx.Process(target, args...): the same with a chosen start method.
    template <class F, class... Args>
    Process(const Context& ctx, F target, Args&&... args) : ctx_(ctx) {
        static_assert(wire::require_sendable<F>);
        encode_target([&](msgpack::sbuffer& out) { wire::encode_call(out, target, std::forward<Args>(args)...); });
    }

    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    // A started child that is still running is joined if it is not a daemon
    // (Python joins those at exit) and terminated then joined if it is.
    // Blocks until the child has exited in both cases.
    virtual ~Process();

    // Python's name and daemon attributes; set them before start(). The
    // default name is Python's ("ForkProcess-1", "SpawnProcess-2", ...).
    const std::string& name() const noexcept { return name_; }
    Process& name(std::string value);
    bool daemon() const noexcept { return daemon_; }
    Process& daemon(bool value);

    // Starts the child. Throws RuntimeError if already started or closed,
    // OSError if the system refuses a process, and RuntimeError for "spawn"
    // or "forkserver" in a program whose main() did not call
    // freeze_support(). Blocks until the child exists (not until it runs).
    void start();

    // Waits for the child to exit (forever, or at most `timeout`; Python's
    // join(timeout) then leaves exitcode() empty). Returns whether it has
    // exited. Throws RuntimeError if the Process was not started or is the
    // calling process.
    bool join();
    template <class Rep, class Period>
    bool join(std::chrono::duration<Rep, Period> timeout) {
        return join_until(concur::detail::Deadline(timeout));
    }

    // Whether the child was started and has not exited yet (reaps it if it has).
    bool is_alive();

    // Python's terminate() (SIGTERM) and kill() (SIGKILL); no effect once the
    // child has exited. Never block.
    void terminate();
    void kill();

    // Empty before the child has exited; its exit status after: the value it
    // passed to exit, 1 after an uncaught exception, -N after signal N.
    std::optional<int> exitcode();

    // The child's pid once started (Python's pid / ident).
    std::optional<pid_t> pid() const noexcept;
    std::optional<pid_t> ident() const noexcept { return pid(); }

    // A descriptor that becomes readable when the child exits (Python's
    // sentinel), for poll/epoll or asyncio's add_reader. Throws RuntimeError
    // before start().
    int sentinel() const;

    // Releases the Process's resources; RuntimeError (ValueError in Python)
    // if the child is still running. Any further use throws RuntimeError.
    void close();

protected:
    // For a subclass that overrides run() and is started with "fork" only:
    //   struct Worker : multiprocessing::Process { void run() override; };
    Process();
    explicit Process(const Context& ctx);

    // For a subclass that also works with "spawn" and "forkserver": pass
    // `this`; the subclass is then sent to the child as its MSGPACK_DEFINE
    // members and default-constructed there before run() is called.
    //   struct Worker : multiprocessing::Process {
    //       int n = 0;
    //       Worker() : Process(this) {}
    //       void run() override;
    //       MSGPACK_DEFINE(n);
    //   };
    template <class Derived>
    explicit Process(Derived* self, const Context& ctx = get_context()) : ctx_(ctx) {
        static_assert(std::is_base_of_v<Process, Derived>);
        static_assert(wire::detail::has_msgpack_define<Derived>,
                      "a Process subclass constructed as Process(this) is sent to the child by value: "
                      "give it MSGPACK_DEFINE(members...) and a default constructor");
        (void)self;
        subclass_encoder_ = [](const Process& p, msgpack::sbuffer& out) {
            wire::encode_call(out, &run_subclass<Derived>, SubclassBox<Derived>{static_cast<const Derived*>(&p), {}});
        };
    }

    // What the child does; the default runs the target. Runs in the child.
    virtual void run();

private:
public:
    // A subclass on its way to a child: packed from the parent's object,
    // unpacked into a new default-constructed one (a Process cannot be copied).
    template <class D>
    struct SubclassBox {
        const D* sending = nullptr;
        std::unique_ptr<D> received;
    };

private:
    template <class Derived>
    static void run_subclass(SubclassBox<Derived>& box) {
        Process& p = *box.received;
        p.become_current();  // its name() and daemon() in run() are the child's, as Python's self.name
        p.run();
    }
    void become_current();
    template <class Encode>
    void encode_target(Encode&& encode) {
        std::vector<int> fds;
        {
            wire::EncodeHandles scope(fds);
            encode(target_call_);
        }
        keep_fds(fds);
    }
    void keep_fds(const std::vector<int>& borrowed);  // dups what the call refers to
    bool join_until(const concur::detail::Deadline& deadline);
    void check_usable(const char* what) const;
    void reap(int status) noexcept;
    friend struct ProcessAccess;

    Context ctx_{get_context()};
    std::string name_;
    bool daemon_ = false;
    bool named_ = false;
    bool closed_ = false;
    msgpack::sbuffer target_call_;
    std::vector<int> target_fds_;  // owned dups, sent at start()
    void (*subclass_encoder_)(const Process&, msgpack::sbuffer&) = nullptr;
    bool has_target_ = false;
    // Set by start():
    pid_t pid_ = 0;
    int sentinel_ = -1;
    bool via_forkserver_ = false;  // the exit status comes from the fork server
    bool default_context_ = false;
    std::optional<int> exitcode_;
};

}  // namespace concur::multiprocessing

template <class D>
struct concur::wire::codec<concur::multiprocessing::Process::SubclassBox<D>> {
    static void pack(Packer& p, const concur::multiprocessing::Process::SubclassBox<D>& box) {
        box.sending->msgpack_pack(p);
    }
    static concur::multiprocessing::Process::SubclassBox<D> unpack(const msgpack::object& o) {
        concur::multiprocessing::Process::SubclassBox<D> box;
        box.received = std::make_unique<D>();
        box.received->msgpack_unpack(o);
        return box;
    }
};
