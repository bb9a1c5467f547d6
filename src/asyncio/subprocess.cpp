// asyncio subprocesses: spawning with posix_spawn, reaping through a pidfd
// watched by the loop (see the diagram in subprocess.hpp), and the pipes.
//
// Who owns what:
//   Process handles ──shared──> ProcessState ──shared──> ChildWatch
//   the loop's add_reader(exit fd) callback ──shared──> Registration ──> ChildWatch
// The loop's callback keeps the ChildWatch alive until the child is reaped,
// whatever happens to the Process handles; if the loop is destroyed first,
// the Registration's destructor hands the child to a reaper thread. That is
// why the exit fd is watched with add_reader rather than watch_fd: the loop
// owns the callback, so nothing dangles whichever of the two goes first.
#include "concur/asyncio/subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <thread>

#include "concur/asyncio/loop.hpp"
#include "concur/asyncio/tasks.hpp"

extern char** environ;

namespace concur::asyncio::subprocess {
namespace detail {
namespace {

using concur::asyncio::detail::Suspension;
using concur::asyncio::detail::TaskBase;

std::atomic<bool> g_force_fallback{false};

// An owned descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) reset(std::exchange(o.fd_, -1));
        return *this;
    }
    ~Fd() { reset(); }
    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

// Python's OSError message: "<what>: [Errno N] <strerror>[: 'filename']".
[[noreturn]] void throw_os_error(int err, const std::string& what, const std::string& filename = {},
                                 const std::string& hint = {}) {
    std::string msg = what + ": [Errno " + std::to_string(err) + "] " + std::strerror(err);
    if (!filename.empty()) msg += ": '" + filename + "'";
    if (!hint.empty()) msg += " (" + hint + ")";
    if (err == ENOENT) throw FileNotFoundError(err, msg, filename);
    if (err == EACCES || err == EPERM) throw PermissionError(err, msg, filename);
    throw OSError(err, msg);
}

// Python's waitstatus_to_exitcode.
int decode_status(int status) noexcept {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return 255;
}

// Blocks this (detached) thread until `pid` exits, and reaps it.
void reap_in_background(pid_t pid) noexcept {
    try {
        std::thread([pid] {
            int st;
            while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
        }).detach();
    } catch (...) {
        // No thread to be had: the child stays a zombie until we exit.
    }
}

int pidfd_open(pid_t pid) noexcept {
    if (g_force_fallback.load(std::memory_order_relaxed)) {
        errno = ENOSYS;
        return -1;
    }
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// The fallback watcher: a detached thread that waits for the exit without
// reaping (WNOWAIT) and signals the loop through an eventfd the loop owns.
//   phase: kWaiting  -> the thread waits, the loop watches the eventfd
//          kWriting  -> the thread saw the exit and is writing the eventfd
//          kNotified -> written; the thread is done with the eventfd; the loop reaps
//          kOrphaned -> the loop went away first; the thread reaps
struct ExitThread {
    static constexpr int kWaiting = 0, kWriting = 1, kNotified = 2, kOrphaned = 3;
    std::atomic<int> phase{kWaiting};
};

struct ExitAwaiter;

// One child, from spawn to reap. Loop thread only.
struct ChildWatch {
    pid_t pid = -1;
    Fd exit_fd;  // what the loop watches: a pidfd, or the eventfd
    bool is_pidfd = false;
    std::shared_ptr<ExitThread> thread;  // fallback mode only
    EventLoop* loop = nullptr;           // null once the loop dropped us
    std::optional<int> returncode;
    bool reaped_elsewhere = false;   // a background thread reaps: never kill(pid)
    ExitAwaiter* waiters = nullptr;  // intrusive list of wait()ers

    void on_exit_ready() noexcept;
    void finish(int rc) noexcept;
    void orphan() noexcept;
    void signal(int sig);
};

// Lives inside the loop's add_reader callback: its destruction without a
// reap means the loop was destroyed while the child ran.
struct Registration {
    std::shared_ptr<ChildWatch> w;
    ~Registration() {
        if (w && w->loop && !w->returncode) w->orphan();
    }
};

struct ExitAwaiter : Suspension {
    ChildWatch* w;
    TaskBase* task = nullptr;
    ExitAwaiter* prev = nullptr;
    ExitAwaiter* next = nullptr;
    bool linked = false;
    bool cancelled = false;

    explicit ExitAwaiter(ChildWatch* watch) noexcept : w(watch) {}
    ExitAwaiter(const ExitAwaiter&) = delete;
    ~ExitAwaiter() { unlink(); }

    void unlink() noexcept {
        if (!linked) return;
        (prev ? prev->next : w->waiters) = next;
        if (next) next->prev = prev;
        prev = next = nullptr;
        linked = false;
    }
    bool await_ready() const noexcept { return w->returncode.has_value(); }
    void await_suspend(std::coroutine_handle<> h) {
        task = TaskBase::current();
        if (!task) throw RuntimeError("Process::wait() outside a task on a running loop");
        if (task->loop() != w->loop) {
            throw RuntimeError(w->loop ? "Process::wait(): the process belongs to another event loop"
                                       : "Process::wait(): the event loop that started the process is gone");
        }
        Suspension::cancel = [](Suspension* s, const std::string*) noexcept {
            auto* self = static_cast<ExitAwaiter*>(s);
            self->unlink();
            self->cancelled = true;
            self->task->wakeup();
            return true;
        };
        next = w->waiters;
        if (next) next->prev = this;
        w->waiters = this;
        linked = true;
        task->suspend(h, this);
    }
    int await_resume() {
        if (task) task->check_cancel();
        if (cancelled) throw CancelledError();
        return *w->returncode;
    }
};

void ChildWatch::on_exit_ready() noexcept {
    int st = 0;
    pid_t r;
    do {
        r = ::waitpid(pid, &st, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
        // Readable but not reapable: only the eventfd can say so early,
        // and it is written after the exit. Never seen; keep watching.
        return;
    }
    // ECHILD: someone else reaped it (SIGCHLD set to SIG_IGN, a stray
    // waitpid(-1)); Python reports 255 then too.
    finish(r == pid ? decode_status(st) : 255);
}

void ChildWatch::finish(int rc) noexcept {
    returncode = rc;
    if (loop) loop->remove_reader(exit_fd.get());
    // In fallback mode the eventfd was readable, so the thread has written
    // it; it has only its phase store left. Waiting for that store (a few
    // instructions at most) orders its write() before our close() for the
    // memory model too, not only in the kernel.
    if (thread) {
        while (thread->phase.load(std::memory_order_acquire) != ExitThread::kNotified) std::this_thread::yield();
    }
    exit_fd.reset();
    thread.reset();
    while (ExitAwaiter* a = waiters) {
        a->unlink();
        a->task->wakeup();
    }
}

void ChildWatch::orphan() noexcept {
    loop = nullptr;
    if (thread) {
        int phase = ExitThread::kWaiting;
        if (thread->phase.compare_exchange_strong(phase, ExitThread::kOrphaned)) {
            exit_fd.reset();  // the thread will reap and never write
        } else {
            // The child has exited and the thread leaves the reaping to us;
            // let it finish its write before the eventfd goes (one syscall).
            while (thread->phase.load(std::memory_order_acquire) != ExitThread::kNotified) std::this_thread::yield();
            exit_fd.reset();
            int st;
            if (::waitpid(pid, &st, WNOHANG) == pid) returncode = decode_status(st);
        }
        reaped_elsewhere = !returncode;
        thread.reset();
        return;
    }
    int st;
    if (::waitpid(pid, &st, WNOHANG) == pid) {
        returncode = decode_status(st);
        exit_fd.reset();
        return;
    }
    // The pidfd stays open so that send_signal cannot hit a reused pid.
    reaped_elsewhere = true;
    reap_in_background(pid);
}

void ChildWatch::signal(int sig) {
    if (returncode) return;
    if (is_pidfd && exit_fd.get() >= 0) {
        if (::syscall(SYS_pidfd_send_signal, exit_fd.get(), sig, nullptr, 0) == 0) return;
        if (errno == ESRCH) return;  // exited, not yet reaped: nothing to signal
        if (errno != ENOSYS) throw_os_error(errno, "send_signal(" + std::to_string(sig) + ")");
    }
    if (reaped_elsewhere) return;  // the pid may already belong to someone else
    if (::kill(pid, sig) < 0 && errno != ESRCH) throw_os_error(errno, "send_signal(" + std::to_string(sig) + ")");
}

// The fallback watcher thread's body (see ExitThread).
void wait_for_exit(std::shared_ptr<ExitThread> t, pid_t pid, int efd) noexcept {
    siginfo_t si{};
    while (::waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOWAIT) < 0 && errno == EINTR) {}
    int phase = ExitThread::kWaiting;
    if (t->phase.compare_exchange_strong(phase, ExitThread::kWriting)) {
        uint64_t one = 1;
        ssize_t n = ::write(efd, &one, sizeof one);
        (void)n;  // adding 1 to a fresh eventfd cannot fail
        t->phase.store(ExitThread::kNotified, std::memory_order_release);
    } else {
        int st;
        while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    }
}

// Starts watching `w`'s exit on `loop`: pidfd if the kernel has it, else a
// waiter thread and an eventfd. Throws OSError if neither can be had.
void start_watching(EventLoop& loop, const std::shared_ptr<ChildWatch>& w) {
    int pfd = pidfd_open(w->pid);
    if (pfd >= 0) {
        w->exit_fd.reset(pfd);
        w->is_pidfd = true;
    } else {
        int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0) throw_os_error(errno, "create_subprocess_exec: eventfd");
        w->exit_fd.reset(efd);
        auto t = std::make_shared<ExitThread>();
        // Gets the descriptor's number, not the Fd: the loop closes it.
        std::thread waiter;
        try {
            waiter = std::thread(wait_for_exit, t, w->pid, efd);
        } catch (const std::system_error& e) {
            throw_os_error(e.code().value(), "create_subprocess_exec: starting the exit watcher thread");
        }
        waiter.detach();
        w->thread = std::move(t);
    }
    auto reg = std::make_shared<Registration>();
    reg->w = w;
    loop.add_reader(w->exit_fd.get(), [reg] { reg->w->on_exit_ready(); });
    w->loop = &loop;  // registered: from now on the Registration may orphan it
}

// Undoes a spawn that cannot be handed to the caller: the child must not
// outlive the failure (nor stay a zombie).
void kill_and_reap(pid_t pid) noexcept {
    ::kill(pid, SIGKILL);
    int st;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
}

bool has_nul(const std::string& s) noexcept { return s.find('\0') != std::string::npos; }

// Where a program name is looked for: itself if it names a path, else
// each PATH entry (Python's os.get_exec_path(env); default "/bin:/usr/bin").
std::vector<std::string> exec_candidates(const std::string& program, const Options& o) {
    if (program.find('/') != std::string::npos) return {program};
    std::string path;
    if (o.env) {
        auto it = o.env->find("PATH");
        path = it != o.env->end() ? it->second : "/bin:/usr/bin";
    } else {
        const char* p = std::getenv("PATH");
        path = p ? p : "/bin:/usr/bin";
    }
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        std::size_t end = path.find(':', start);
        std::string dir = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
        out.push_back(dir.empty() ? program : dir + "/" + program);
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return out;
}

// A descriptor to hand to the child, moved above 0..2 so that installing
// one standard stream cannot clobber the source of another.
int above_stdio(int fd, Fd& keep) {
    if (fd >= 3) return fd;
    int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (d < 0) throw_os_error(errno, "create_subprocess_exec: fcntl(F_DUPFD_CLOEXEC)");
    keep.reset(d);
    return d;
}

struct SpawnAttrs {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    SpawnAttrs() {
        if (int e = posix_spawn_file_actions_init(&fa)) throw_os_error(e, "posix_spawn_file_actions_init");
        if (int e = posix_spawnattr_init(&attr)) {
            posix_spawn_file_actions_destroy(&fa);
            throw_os_error(e, "posix_spawnattr_init");
        }
    }
    ~SpawnAttrs() {
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
    }
    SpawnAttrs(const SpawnAttrs&) = delete;
    SpawnAttrs& operator=(const SpawnAttrs&) = delete;
};

void check(int e, const char* what) {
    if (e) throw_os_error(e, std::string("create_subprocess_exec: ") + what);
}

}  // namespace

void force_pidfd_fallback_for_testing(bool on) noexcept { g_force_fallback.store(on); }

struct ProcessState {
    std::shared_ptr<ChildWatch> child;
    // The parent's pipe ends (only for streams that are PIPE).
    std::optional<StreamWriter> stdin;
    std::optional<StreamReader> stdout, stderr;
};

namespace {
Task<int> wait_exit(std::shared_ptr<ChildWatch> w) {
    ExitAwaiter a(w.get());
    co_return co_await a;
}

// Python's Process._feed_stdin: a child that stops reading (or exits) is
// not an error for communicate().
Task<> feed_stdin(StreamWriter w, std::string input) {
    try {
        if (!input.empty()) {
            w.write(input);
            co_await w.drain();
        }
    } catch (const BrokenPipeError&) {
    } catch (const ConnectionResetError&) {}
    w.close();
}

Task<std::string> read_to_eof(StreamReader r) { co_return co_await r.read(); }
Task<std::string> nothing() { co_return std::string(); }
Task<> nothing_to_feed() { co_return; }

// Python's Process.communicate: the three directions at once (so that a
// child blocked on a full stdout pipe cannot stall our writing of its
// stdin, nor the reverse), then the exit.
Task<std::pair<std::string, std::string>> communicate(std::shared_ptr<ProcessState> s, std::string input) {
    Task<> feed = s->stdin ? feed_stdin(*s->stdin, std::move(input)) : nothing_to_feed();
    Task<std::string> out = s->stdout ? read_to_eof(*s->stdout) : nothing();
    Task<std::string> err = s->stderr ? read_to_eof(*s->stderr) : nothing();
    auto results = co_await asyncio::gather(std::move(feed), std::move(out), std::move(err));
    co_await wait_exit(s->child);
    co_return std::pair<std::string, std::string>(std::move(std::get<1>(results)), std::move(std::get<2>(results)));
}

// The synchronous body of spawn(): no coroutine frame holds its locals.
Process spawn_now(std::vector<std::string>& argv, Options& o) {
    EventLoop& loop = get_running_loop();
    using K = Stdio::Kind;
    if (o.stdin.kind() == K::stdout_) throw ValueError("create_subprocess_exec: STDOUT is only valid for stderr");
    if (o.stdout.kind() == K::stdout_)
        throw ValueError("create_subprocess_exec: STDOUT is only valid for stderr (use stdout=PIPE and stderr=STDOUT)");
    for (const Stdio* s : {&o.stdin, &o.stdout, &o.stderr}) {
        if (s->kind() == K::fd && s->fd() < 0)
            throw ValueError("create_subprocess_exec: a descriptor must be >= 0 (for a pipe, pass PIPE)");
    }
    if (o.limit == 0) throw ValueError("create_subprocess_exec: limit must be positive");
    for (const auto& a : argv) {
        if (has_nul(a)) throw ValueError("create_subprocess_exec: embedded null byte in an argument");
    }
    if (o.cwd && has_nul(*o.cwd)) throw ValueError("create_subprocess_exec: embedded null byte in cwd");
    std::vector<std::string> env_strings;
    if (o.env) {
        for (const auto& [k, v] : *o.env) {
            if (k.empty() || k.find('=') != std::string::npos || has_nul(k) || has_nul(v))
                throw ValueError("create_subprocess_exec: illegal environment variable name or value '" + k + "'");
            env_strings.push_back(k + "=" + v);
        }
    }

    // Descriptors: ours (kept by the Process) and the child's (closed here
    // once it has them). Pipes are CLOEXEC so that no other child inherits
    // them; only our ends are non-blocking (a child expects blocking stdio).
    Fd child_end[3], devnull, low_dup[3], ours[3];
    const Stdio* spec[3] = {&o.stdin, &o.stdout, &o.stderr};
    int source[3] = {-1, -1, -1};  // what becomes the child's fd i (-1: inherit)
    for (int i = 0; i < 3; ++i) {
        switch (spec[i]->kind()) {
            case K::inherit:
            case K::stdout_:
                break;
            case K::pipe: {
                int p[2];
                if (::pipe2(p, O_CLOEXEC) < 0) throw_os_error(errno, "create_subprocess_exec: pipe2");
                Fd r(p[0]), wr(p[1]);
                Fd& mine = i == 0 ? wr : r;
                Fd& theirs = i == 0 ? r : wr;
                if (::fcntl(mine.get(), F_SETFL, ::fcntl(mine.get(), F_GETFL) | O_NONBLOCK) < 0)
                    throw_os_error(errno, "create_subprocess_exec: fcntl(O_NONBLOCK)");
                ours[i] = std::move(mine);
                child_end[i] = std::move(theirs);
                source[i] = above_stdio(child_end[i].get(), child_end[i]);
                break;
            }
            case K::devnull:
                if (devnull.get() < 0) {
                    devnull.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
                    if (devnull.get() < 0) throw_os_error(errno, "create_subprocess_exec: open", "/dev/null");
                    above_stdio(devnull.get(), devnull);
                }
                source[i] = devnull.get();
                break;
            case K::fd:
                source[i] = spec[i]->fd() == i ? i : above_stdio(spec[i]->fd(), low_dup[i]);
                break;
        }
    }

    SpawnAttrs sa;
    for (int i = 0; i < 3; ++i) {
        if (source[i] >= 0) check(posix_spawn_file_actions_adddup2(&sa.fa, source[i], i), "adddup2");
        if (i == 2 && o.stderr.kind() == K::stdout_) check(posix_spawn_file_actions_adddup2(&sa.fa, 1, 2), "adddup2");
    }
    // Python's close_fds=True: the child sees 0..2 and nothing else of ours.
    check(posix_spawn_file_actions_addclosefrom_np(&sa.fa, 3), "addclosefrom");
    if (o.cwd) check(posix_spawn_file_actions_addchdir_np(&sa.fa, o.cwd->c_str()), "addchdir");
    // Python's restore_signals: SIGPIPE and SIGXFSZ back to their defaults
    // (the parent may ignore them). The mask is emptied too, so that a
    // signal blocked in this thread cannot make terminate() a no-op.
    sigset_t def, none;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGXFSZ);
    sigemptyset(&none);
    check(posix_spawnattr_setsigdefault(&sa.attr, &def), "setsigdefault");
    check(posix_spawnattr_setsigmask(&sa.attr, &none), "setsigmask");
    short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    if (o.start_new_session) flags |= POSIX_SPAWN_SETSID;
    check(posix_spawnattr_setflags(&sa.attr, flags), "setflags");

    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::vector<char*> cenv;
    char** envp = environ;
    if (o.env) {
        for (auto& e : env_strings) cenv.push_back(e.data());
        cenv.push_back(nullptr);
        envp = cenv.data();
    }

    // As Python's child_exec: try each candidate, report the first error
    // that is not "no such file" (e.g. EACCES), else ENOENT. glibc reaps a
    // child whose exec failed before returning the error.
    pid_t pid = -1;
    int err = ENOENT, first_err = 0;
    for (const auto& path : exec_candidates(argv[0], o)) {
        err = posix_spawn(&pid, path.c_str(), &sa.fa, &sa.attr, cargv.data(), envp);
        if (err == 0) break;
        if (err != ENOENT && err != ENOTDIR && first_err == 0) first_err = err;
    }
    if (err != 0) {
        if (first_err) err = first_err;
        if (err == ENOENT && o.cwd) {
            struct stat st{};
            if (::stat(o.cwd->c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
                throw_os_error(ENOENT, "create_subprocess_exec: cwd", *o.cwd, "the working directory does not exist");
        }
        throw_os_error(err, "create_subprocess_exec", argv[0],
                       err == ENOENT && argv[0].find('/') == std::string::npos
                           ? "no such program on PATH: give a path, or fix PATH"
                           : "");
    }

    // The caller never learns the pid if this throws: the child must not
    // outlive the failure.
    auto w = std::make_shared<ChildWatch>();
    w->pid = pid;
    try {
        start_watching(loop, w);
    } catch (...) {
        if (w->thread) {
            ::kill(pid, SIGKILL);
            w->orphan();  // the waiter thread (or we) reap it
        } else {
            kill_and_reap(pid);
        }
        throw;
    }
    auto state = std::make_shared<ProcessState>();
    state->child = w;
    try {
        // The streams own the descriptors from here on.
        if (ours[0].get() >= 0) state->stdin = asyncio::detail::make_pipe_writer(ours[0].release());
        if (ours[1].get() >= 0) state->stdout = asyncio::detail::make_pipe_reader(ours[1].release(), o.limit);
        if (ours[2].get() >= 0) state->stderr = asyncio::detail::make_pipe_reader(ours[2].release(), o.limit);
    } catch (...) {
        w->signal(SIGKILL);  // the loop reaps it
        throw;
    }
    return Process(std::move(state));
}
}  // namespace

Task<Process> spawn(std::vector<std::string> argv, Options options) { co_return spawn_now(argv, options); }

}  // namespace detail

int Process::pid() const noexcept { return s_->child->pid; }
std::optional<int> Process::returncode() const noexcept { return s_->child->returncode; }
Task<int> Process::wait() const { return detail::wait_exit(s_->child); }
Task<std::pair<std::string, std::string>> Process::communicate(std::string input) const {
    return detail::communicate(s_, std::move(input));
}
StreamWriter* Process::stdin() const noexcept { return s_->stdin ? &*s_->stdin : nullptr; }
StreamReader* Process::stdout() const noexcept { return s_->stdout ? &*s_->stdout : nullptr; }
StreamReader* Process::stderr() const noexcept { return s_->stderr ? &*s_->stderr : nullptr; }
void Process::send_signal(int sig) const { s_->child->signal(sig); }
void Process::terminate() const { send_signal(SIGTERM); }
void Process::kill() const { send_signal(SIGKILL); }

}  // namespace concur::asyncio::subprocess
