// fork and spawn; the fork server's client side is in forkserver.cpp.
#include "launcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "concur/errors.hpp"
#include "concur/multiprocessing/context.hpp"

extern char** environ;

namespace concur::multiprocessing::detail {

Child launch_via_forkserver(int child_channel, bool die_with_parent);  // forkserver.cpp

namespace {

[[noreturn]] void raise_errno(int err, const std::string& what) {
    throw OSError(err, what + ": [Errno " + std::to_string(err) + "] " + std::strerror(err));
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Runs in a freshly forked child, before anything else: only system calls.
void prepare_child(bool die_with_parent, pid_t parent, std::span<const int> close_in_child) noexcept {
    if (die_with_parent) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(1);  // the parent died before the prctl
    }
    for (int fd : close_in_child) ::close(fd);
}

}  // namespace

// argv of this process, from /proc/self/cmdline (a spawned child gets the
// same, as Python passes its own; the child never parses them before
// freeze_support()).
std::vector<std::string> own_argv() {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> out;
    std::string cur;
    for (char c : all) {
        if (c == '\0') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (out.empty()) out.push_back("concur-child");
    return out;
}

std::optional<int> Child::reap(bool block) noexcept {
    if (status) return status;
    if (via_forkserver) {
        // The fork server writes the status (4 bytes) when it reaps the child.
        if (sentinel < 0) return status;
        if (!block) {
            pollfd p{sentinel, POLLIN, 0};
            if (::poll(&p, 1, 0) <= 0) return std::nullopt;
        }
        int st = 0;
        ssize_t n;
        do {
            n = ::read(sentinel, &st, sizeof st);
        } while (n < 0 && errno == EINTR);
        // No status means the fork server itself died: report SIGKILL.
        status = n == static_cast<ssize_t>(sizeof st) ? st : SIGKILL;
        return status;
    }
    int st = 0;
    pid_t r;
    do {
        r = ::waitpid(pid, &st, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid) status = st;
    else if (r < 0) status = 0;  // reaped elsewhere (a SIGCHLD handler); exit code unknown
    return status;
}

void Child::close() noexcept {
    if (sentinel >= 0) ::close(sentinel);
    sentinel = -1;
}

int exitcode_of(int status) noexcept {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return status;
}

Child launch(const std::string& method, int child_channel, bool die_with_parent,
             std::span<const int> close_in_child) {
    if (method != "fork" && !freeze_support_called())
        throw RuntimeError("the '" + method +
                           "' start method re-executes this program, whose main() must call "
                           "concur::multiprocessing::freeze_support() as its first statement (the C++ "
                           "form of Python's `if __name__ == \"__main__\":` guard); or use "
                           "get_context(\"fork\")");
    if (method == "forkserver") {
        Child c = launch_via_forkserver(child_channel, die_with_parent);
        ::close(child_channel);
        return c;
    }
    pid_t parent = ::getpid();
    std::vector<std::string> args;
    std::vector<char*> argv, envp;
    std::string env_child;
    if (method == "spawn") {
        args = own_argv();
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        env_child = "CONCUR_MP_CHILD=" + std::to_string(child_channel);
        for (char** e = environ; *e; ++e)
            if (std::strncmp(*e, "CONCUR_MP_", 10) != 0) envp.push_back(*e);
        envp.push_back(env_child.data());
        envp.push_back(nullptr);
    }
    std::fflush(nullptr);  // or buffered output would be written twice
    pid_t pid = ::fork();
    if (pid < 0) raise_errno(errno, "fork");
    if (pid == 0) {
        prepare_child(die_with_parent, parent, close_in_child);
        if (method == "fork") child_main(child_channel);
        ::fcntl(child_channel, F_SETFD, 0);  // keep the channel across exec
        ::execve("/proc/self/exe", argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(child_channel);
    Child c;
    c.pid = pid;
    c.sentinel = pidfd_open(pid);
    if (c.sentinel < 0) {
        int err = errno;
        ::kill(pid, SIGKILL);
        c.reap(true);
        raise_errno(err, "pidfd_open");
    }
    return c;
}

}  // namespace concur::multiprocessing::detail
