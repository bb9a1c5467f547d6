#include "concur/multiprocessing/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "concur/multiprocessing/detail/channel.hpp"
#include "launcher.hpp"

namespace concur::multiprocessing {

namespace {

std::mutex g_mu;
std::vector<Process*> g_children;  // started and not yet seen exited

// Another thread may have held the lock at a fork (see context.cpp).
[[maybe_unused]] const bool g_fork_handler =
    (::pthread_atfork(nullptr, nullptr, [] { new (&g_mu) std::mutex(); }), true);

std::string join_identity(const std::vector<std::uint32_t>& id) {
    std::string out;
    for (std::size_t i = 0; i < id.size(); ++i) {
        if (i) out += ':';
        out += std::to_string(id[i]);
    }
    return out;
}

void forget(Process* p) {
    std::lock_guard lock(g_mu);
    g_children.erase(std::remove(g_children.begin(), g_children.end(), p), g_children.end());
}

}  // namespace

namespace detail {
void forget_inherited_children() noexcept {
    std::lock_guard lock(g_mu);
    g_children.clear();
}

std::vector<Process*> live_children() {
    std::vector<Process*> all;
    {
        std::lock_guard lock(g_mu);
        all = g_children;
    }
    std::vector<Process*> out;
    for (Process* p : all)
        if (p->is_alive()) out.push_back(p);  // is_alive reaps the others
    return out;
}
}  // namespace detail

Process::Process() : Process(get_context()) {}
Process::Process(const Context& ctx) : ctx_(ctx) {}

void Process::keep_fds(const std::vector<int>& borrowed) {
    has_target_ = true;
    for (int fd : borrowed) {
        int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0) {
            int err = errno;
            throw OSError(err, std::string("dup: ") + std::strerror(err));
        }
        target_fds_.push_back(copy);
    }
}

Process::~Process() {
    try {
        if (pid_ && !exitcode_) {
            if (daemon_) terminate();
            join();
        }
    } catch (...) {
    }
    forget(this);
    for (int fd : target_fds_) ::close(fd);
    if (sentinel_ >= 0) ::close(sentinel_);
}

Process& Process::name(std::string value) {
    name_ = std::move(value);
    named_ = true;
    return *this;
}

Process& Process::daemon(bool value) {
    if (pid_) throw RuntimeError("Process.daemon cannot be changed after start()");
    daemon_ = value;
    return *this;
}

void Process::check_usable(const char* what) const {
    if (closed_) throw RuntimeError(std::string("Process.") + what + "() on a closed Process");
}

void Process::start() {
    check_usable("start");
    if (pid_) throw RuntimeError("cannot start a process twice");
    const std::string& method = ctx_.start_method();
    msgpack::sbuffer call;
    std::vector<int> fds;
    std::uint16_t kind = detail::kCall;
    if (has_target_) {
        call.write(target_call_.data(), target_call_.size());
        fds = target_fds_;
    } else if (subclass_encoder_) {
        wire::EncodeHandles scope(fds);
        subclass_encoder_(*this, call);
    } else {
        if (method != "fork")
            throw ValueError("a Process subclass constructed without `this` can only be started with the "
                             "'fork' method; to use '" + method +
                             "', construct the base as Process(this) and give the subclass MSGPACK_DEFINE(...)");
        kind = detail::kRunLocal;
        auto addr = reinterpret_cast<std::uint64_t>(this);
        call.write(reinterpret_cast<const char*>(&addr), sizeof addr);
    }
    detail::BootInfo boot;
    boot.identity = detail::next_child_identity();
    if (!named_) {
        // Built by appending: g++ 12 -O3 warns falsely (-Wrestrict) on chained operator+.
        name_ = default_context_ ? std::string() : detail::name_prefix(method);
        name_.append("Process-").append(join_identity(boot.identity));
    }
    boot.name = name_;
    boot.daemon = daemon_;
    boot.role = static_cast<std::uint8_t>(detail::Role::process);
    boot.parent_pid = ::getpid();
    boot.parent_name = detail::current_name();
    boot.start_method = method;
    msgpack::sbuffer boot_bytes;
    msgpack::pack(boot_bytes, boot);

    int sv[2];
    detail::socket_pair(sv);
    detail::Child child;
    try {
        child = detail::launch(method, sv[1], false, std::span<const int>(&sv[0], 1));
    } catch (...) {
        ::close(sv[0]);
        throw;
    }
    try {
        detail::send_frame(sv[0], detail::kBoot, 0, boot_bytes.data(), boot_bytes.size());
        detail::send_frame(sv[0], kind, 1, call.data(), call.size(), fds);
    } catch (const ConnectionError&) {
        // The child died before reading its work; exitcode() will say how.
    }
    ::close(sv[0]);
    pid_ = child.pid;
    sentinel_ = child.sentinel;
    via_forkserver_ = child.via_forkserver;
    std::lock_guard lock(g_mu);
    g_children.push_back(this);
}

void Process::reap(int status) noexcept {
    exitcode_ = detail::exitcode_of(status);
    forget(this);
}

bool Process::join() { return join_until(concur::detail::Deadline()); }

bool Process::join_until(const concur::detail::Deadline& deadline) {
    check_usable("join");
    if (!pid_) throw RuntimeError("can only join a started process");
    if (pid_ == ::getpid()) throw RuntimeError("can only join a child process");
    if (exitcode_) return true;
    if (!detail::wait_readable(sentinel_, deadline)) return false;
    detail::Child c;
    c.pid = pid_;
    c.sentinel = sentinel_;
    c.via_forkserver = via_forkserver_;
    if (auto st = c.reap(true)) reap(*st);
    return exitcode_.has_value();
}

bool Process::is_alive() {
    check_usable("is_alive");
    if (!pid_ || exitcode_) return false;
    detail::Child c;
    c.pid = pid_;
    c.sentinel = sentinel_;
    c.via_forkserver = via_forkserver_;
    if (auto st = c.reap(false)) {
        reap(*st);
        return false;
    }
    return true;
}

void Process::terminate() {
    check_usable("terminate");
    if (is_alive()) ::kill(pid_, SIGTERM);
}

void Process::kill() {
    check_usable("kill");
    if (is_alive()) ::kill(pid_, SIGKILL);
}

std::optional<int> Process::exitcode() {
    check_usable("exitcode");
    if (pid_ && !exitcode_) is_alive();
    return exitcode_;
}

std::optional<pid_t> Process::pid() const noexcept {
    if (!pid_) return std::nullopt;
    return pid_;
}

int Process::sentinel() const {
    check_usable("sentinel");
    if (!pid_) throw RuntimeError("Process.sentinel: the process has not been started");
    return sentinel_;
}

void Process::close() {
    if (closed_) return;
    if (pid_ && !exitcode_ && is_alive())
        throw ValueError("Cannot close a process while it is still running. You should first call join() or terminate().");
    for (int fd : target_fds_) ::close(fd);
    target_fds_.clear();
    if (sentinel_ >= 0) ::close(sentinel_);
    sentinel_ = -1;
    closed_ = true;
    forget(this);
}

void Process::become_current() {
    const ProcessInfo& me = current_process();
    name_ = me.name();
    named_ = true;
    daemon_ = me.daemon();
}

void Process::run() {
    if (!has_target_) return;
    // A subclass's run() called Process::run() in a forked child: run the target here.
    std::vector<int> fds;
    for (int fd : target_fds_) fds.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
    msgpack::sbuffer reply;
    {
        wire::DecodeHandles handles(fds);
        wire::run_call(target_call_.data(), target_call_.size(), reply);
    }
    for (int fd : fds)
        if (fd >= 0) ::close(fd);
    msgpack::object_handle holder;
    wire::detail::open_result(reply.data(), reply.size(), holder);  // rethrows the target's exception
}

}  // namespace concur::multiprocessing
