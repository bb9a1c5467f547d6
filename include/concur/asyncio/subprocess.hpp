// Python's asyncio subprocesses (Lib/asyncio/subprocess.py): start a program
// without blocking the loop, talk to it through pipes, wait for it to exit.
//
//   using asyncio::subprocess::Options, asyncio::subprocess::PIPE;
//   auto p = co_await asyncio::create_subprocess_exec("sort", "-r", Options{.stdin = PIPE, .stdout = PIPE});
//   auto r = co_await p.communicate("a\nb\n");  // r.first == "b\na\n", p.returncode() == 0
//
// How a child's exit reaches the loop (no SIGCHLD handler anywhere):
//
//   create_subprocess_exec --posix_spawn--> child --exits--> kernel
//        | pidfd_open(pid)                                     |
//        v                                                     v
//   loop.add_reader(pidfd) <------------ pidfd readable -------+
//        | waitpid(pid, WNOHANG) on the loop thread: reaped, no zombie
//        v
//   returncode set, wait() waiters woken
//
// Where pidfd_open fails (Linux < 5.3, a seccomp filter), one detached
// thread per child blocks in waitid(WNOWAIT) and then writes an eventfd that
// the loop watches the same way; the loop still does the reaping, so the
// pid cannot be reused while the Process can signal it. (Not the loop's
// default executor: its shutdown would wait for children that may never
// exit, and long-lived children would starve to_thread.)
//
// A Process dropped while its child runs does not stop the child (Python
// neither kills nor waits): the loop keeps watching and reaps it when it
// exits. If the loop itself is destroyed first, a detached thread reaps it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "concur/asyncio/streams.hpp"
#include "concur/asyncio/task.hpp"
#include "concur/errors.hpp"

namespace concur::asyncio {

// Python's FileNotFoundError and PermissionError (OSError subclasses, as
// there), as starting a program raises them; filename() is what was not
// found or not allowed (the program, or the cwd).
class FileNotFoundError : public OSError {
public:
    FileNotFoundError(int err, const std::string& message, std::string filename)
        : OSError(err, message), filename_(std::move(filename)) {}
    const std::string& filename() const noexcept { return filename_; }

private:
    std::string filename_;
};
class PermissionError : public OSError {
public:
    PermissionError(int err, const std::string& message, std::string filename)
        : OSError(err, message), filename_(std::move(filename)) {}
    const std::string& filename() const noexcept { return filename_; }

private:
    std::string filename_;
};

namespace subprocess {

// Where one of the child's standard streams goes: Python's None (inherit
// the parent's), PIPE, DEVNULL, STDOUT (stderr only), or a descriptor of the
// caller's (any int >= 0; the caller keeps it and may close it after the
// spawn).
class Stdio {
public:
    enum class Kind : uint8_t { inherit, pipe, devnull, stdout_, fd };
    constexpr Stdio() noexcept = default;
    constexpr Stdio(int fd) noexcept : kind_(Kind::fd), fd_(fd) {}  // NOLINT: implicit, as Python's int
    static constexpr Stdio of(Kind k) noexcept {
        Stdio s;
        s.kind_ = k;
        return s;
    }
    constexpr Kind kind() const noexcept { return kind_; }
    constexpr int fd() const noexcept { return fd_; }

private:
    Kind kind_ = Kind::inherit;
    int fd_ = -1;
};

inline constexpr Stdio INHERIT = Stdio::of(Stdio::Kind::inherit);  // Python's None
inline constexpr Stdio PIPE = Stdio::of(Stdio::Kind::pipe);
inline constexpr Stdio DEVNULL = Stdio::of(Stdio::Kind::devnull);
inline constexpr Stdio STDOUT = Stdio::of(Stdio::Kind::stdout_);

// Python's keyword arguments of create_subprocess_exec. Build it before
// the co_await when it holds braced lists (g++ 12 rejects a braced list of
// strings inside a co_await expression).
struct Options {
    Stdio stdin = INHERIT;
    Stdio stdout = INHERIT;
    Stdio stderr = INHERIT;
    // The child's working directory (default: the parent's).
    std::optional<std::string> cwd = std::nullopt;
    // The child's whole environment (default: the parent's). Its PATH, if
    // any, is also where a bare program name is looked up, as in Python.
    std::optional<std::map<std::string, std::string>> env = std::nullopt;
    // Buffer limit of the stdout/stderr StreamReaders (Python's limit).
    std::size_t limit = kDefaultStreamLimit;
    // setsid() in the child (Python's start_new_session).
    bool start_new_session = false;
};

namespace detail {
struct ProcessState;
}

// Python's asyncio.subprocess.Process: a handle to a started child. Copies
// share the child and its pipes (like Task handles); the pipes close when
// the last copy goes, and the child is then left running (see the header
// comment). Loop thread only; as with any stream, drop handles that hold
// pipes before their loop is destroyed.
class Process {
public:
    explicit Process(std::shared_ptr<detail::ProcessState> s) noexcept : s_(std::move(s)) {}

    int pid() const noexcept;
    // The exit status once the loop has reaped the child: the exit code,
    // or -N when signal N killed it (Python's convention); nullopt before.
    std::optional<int> returncode() const noexcept;

    // The parent's ends of the pipes; null unless that stream was PIPE
    // (Python's None).
    StreamWriter* stdin() const noexcept;
    StreamReader* stdout() const noexcept;
    StreamReader* stderr() const noexcept;

    // Python's wait(): suspends until the child has exited and been reaped,
    // then gives returncode(). Cancelling the awaiting task only ends the
    // wait (the child runs on; wait() may be awaited again). As in Python, a
    // child blocked writing to a full stdout/stderr pipe nobody reads never
    // exits: use communicate() then. Throws RuntimeError when awaited on
    // another loop than the one that started the child.
    Task<int> wait() const;

    // Python's communicate(input): writes `input` to stdin (if it is PIPE;
    // otherwise `input` is ignored, as in Python) and closes it, reads stdout
    // and stderr to EOF at the same time (no deadlock however much the child
    // writes to either), then waits for the exit. Gives {stdout, stderr};
    // a stream that is not PIPE gives "". A child that stops reading its
    // stdin early is not an error (BrokenPipe is ignored, as in Python).
    // Cancelling the awaiting task stops the reading and writing; the child
    // runs on. Throws what the streams throw otherwise.
    Task<std::pair<std::string, std::string>> communicate(std::string input = {}) const;

    // Sends `sig` (Python's send_signal; terminate = SIGTERM, kill =
    // SIGKILL). Does nothing once the child has been reaped, so a reused
    // pid is never signalled. Never blocks. Throws OSError for an invalid
    // signal number.
    void send_signal(int sig) const;
    void terminate() const;
    void kill() const;

private:
    std::shared_ptr<detail::ProcessState> s_;
};

namespace detail {
// Spawns on the running loop; the coroutine behind create_subprocess_exec.
Task<Process> spawn(std::vector<std::string> argv, Options options);
// Makes the next spawns use the thread-based exit watcher even where
// pidfd_open works, so that tests cover it. Any thread.
void force_pidfd_fallback_for_testing(bool on) noexcept;

template <class A>
constexpr bool is_options_v = std::is_same_v<std::remove_cvref_t<A>, Options>;
template <class A>
constexpr bool is_arg_list_v = std::is_same_v<std::remove_cvref_t<A>, std::vector<std::string>>;

template <class A>
void add_exec_arg(std::vector<std::string>& argv, Options& options, A&& a) {
    if constexpr (is_options_v<A>) {
        options = std::forward<A>(a);
    } else if constexpr (is_arg_list_v<A>) {
        argv.insert(argv.end(), a.begin(), a.end());
    } else {
        static_assert(std::is_convertible_v<A&&, std::string_view>,
                      "create_subprocess_exec(program, args..., options): each argument is a string, a "
                      "std::vector<std::string> (spliced in, as Python's *args) or, last, Options");
        argv.emplace_back(std::string_view(a));
    }
}

template <class... A>
constexpr bool options_only_last() {
    constexpr bool flags[] = {false, is_options_v<A>...};
    for (std::size_t i = 1; i + 1 < sizeof...(A) + 1; ++i) {
        if (flags[i]) return false;
    }
    return true;
}
}  // namespace detail

// Python's asyncio.create_subprocess_exec(program, *args, **options):
//
//   co_await create_subprocess_exec("sh", "-c", "exit 3");
//   co_await create_subprocess_exec("cat", Options{.stdin = PIPE, .stdout = PIPE});
//   co_await create_subprocess_exec(program, args_vector, options);  // *args
//
// `program` becomes argv[0]; a name without '/' is looked up on PATH (the
// env option's PATH when env is given). Each following argument is a
// string, or a std::vector<std::string> spliced in place; Options, if
// given, comes last. The spawn itself happens when the task is awaited and
// blocks the loop thread only for the posix_spawn call (vfork-fast).
// Throws FileNotFoundError when the program (or cwd) does not exist,
// PermissionError when it is not executable, OSError for other spawn
// failures, ValueError for a bad Stdio choice, RuntimeError outside a
// running loop. Each failure leaves no descriptor and no child behind.
template <class... A>
Task<Process> create_subprocess_exec(std::string program, A&&... args) {
    static_assert(detail::options_only_last<A...>(), "create_subprocess_exec: Options must be the last argument");
    std::vector<std::string> argv;
    argv.reserve(1 + sizeof...(A));
    argv.push_back(std::move(program));
    Options options;
    (detail::add_exec_arg(argv, options, std::forward<A>(args)), ...);
    return detail::spawn(std::move(argv), std::move(options));
}

// Python's asyncio.create_subprocess_shell(cmd, **options): runs `cmd`
// with /bin/sh -c. Same errors as create_subprocess_exec.
inline Task<Process> create_subprocess_shell(std::string cmd, Options options = {}) {
    std::vector<std::string> argv;
    argv.reserve(3);
    argv.emplace_back("/bin/sh");
    argv.emplace_back("-c");
    argv.push_back(std::move(cmd));
    return detail::spawn(std::move(argv), std::move(options));
}

}  // namespace subprocess

using subprocess::create_subprocess_exec;
using subprocess::create_subprocess_shell;

}  // namespace concur::asyncio
