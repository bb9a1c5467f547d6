// The "forkserver" start method. The server is spawned once (re-executing
// this binary, which goes to forkserver_main() from freeze_support()) while
// it has one thread, and forks every later child from itself: fork's start-up
// cost without inheriting the parent's threads and locks.
//
// Protocol on the control socket: one frame per child, carrying the child's
// channel and the write end of a status pipe. The server writes the child's
// pid (4 bytes) to the status pipe at once, and its raw wait status (4 bytes)
// when it reaps it; the parent keeps the read end as the child's sentinel.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>

#include "concur/errors.hpp"
#include "concur/multiprocessing/detail/channel.hpp"
#include "launcher.hpp"

extern char** environ;

namespace concur::multiprocessing::detail {

namespace {

struct Server {
    std::mutex mu;
    int control = -1;
    pid_t pid = 0;
};
Server& server() {
    static Server* s = [] {
        // A forked child must not share its parent's fork server: children the
        // server forks die with the server, which dies with the parent. The
        // child starts its own on first use.
        ::pthread_atfork(nullptr, nullptr, [] {
            Server& inherited = server();
            if (inherited.control >= 0) ::close(inherited.control);
            inherited.control = -1;
            inherited.pid = 0;
            new (&inherited.mu) std::mutex();  // another thread may have held it at fork
        });
        return new Server();  // lives until exit; its socket closing stops the server
    }();
    return *s;
}

void start_server(Server& s) {
    if (s.pid > 0) ::waitpid(s.pid, nullptr, WNOHANG);  // a previous server that died
    int sv[2];
    socket_pair(sv);
    std::vector<std::string> args = own_argv();
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string env = "CONCUR_MP_FORKSERVER=" + std::to_string(sv[1]);
    for (char** e = environ; *e; ++e)
        if (std::strncmp(*e, "CONCUR_MP_", 10) != 0) envp.push_back(*e);
    envp.push_back(env.data());
    envp.push_back(nullptr);
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        int err = errno;
        ::close(sv[0]);
        ::close(sv[1]);
        throw OSError(err, std::string("fork (the fork server): ") + std::strerror(err));
    }
    if (pid == 0) {
        ::fcntl(sv[1], F_SETFD, 0);
        ::execve("/proc/self/exe", argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(sv[1]);
    if (s.control >= 0) ::close(s.control);
    s.control = sv[0];
    s.pid = pid;
}

Child request(Server& s, int child_channel, bool die_with_parent) {
    int status[2];
    if (::pipe2(status, O_CLOEXEC) != 0) {
        int err = errno;
        throw OSError(err, std::string("pipe2: ") + std::strerror(err));
    }
    int fds[2] = {child_channel, status[1]};
    try {
        send_frame(s.control, 1, die_with_parent ? 1 : 0, nullptr, 0, fds);
    } catch (...) {
        ::close(status[0]);
        ::close(status[1]);
        throw;
    }
    ::close(status[1]);
    pid_t pid = 0;
    ssize_t n;
    do {
        n = ::read(status[0], &pid, sizeof pid);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof pid)) {
        ::close(status[0]);
        throw OSError(ECHILD, "the fork server did not start the child (it died or could not fork)");
    }
    Child c;
    c.pid = pid;
    c.sentinel = status[0];
    c.via_forkserver = true;
    return c;
}

}  // namespace

Child launch_via_forkserver(int child_channel, bool die_with_parent) {
    Server& s = server();
    std::lock_guard lock(s.mu);
    if (s.control < 0) start_server(s);
    try {
        return request(s, child_channel, die_with_parent);
    } catch (const OSError&) {
        // The server died (killed by someone); start another once.
        start_server(s);
        return request(s, child_channel, die_with_parent);
    }
}

void forkserver_main(int control) noexcept {
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &chld, &old);
    int sfd = ::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    // Ctrl-C reaches the whole process group; the parent decides what its
    // children do, as with Python's fork server.
    ::signal(SIGINT, SIG_IGN);
    std::unordered_map<pid_t, int> status_fds;
    for (;;) {
        pollfd p[2] = {{control, POLLIN, 0}, {sfd, POLLIN, 0}};
        if (::poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            ::_exit(1);
        }
        if (p[1].revents) {
            signalfd_siginfo info;
            while (::read(sfd, &info, sizeof info) > 0) {
            }
            int st;
            pid_t pid;
            while ((pid = ::waitpid(-1, &st, WNOHANG)) > 0) {
                auto it = status_fds.find(pid);
                if (it == status_fds.end()) continue;
                (void)!::write(it->second, &st, sizeof st);
                ::close(it->second);
                status_fds.erase(it);
            }
        }
        if (!p[0].revents) continue;
        Frame f;
        try {
            if (!recv_frame(control, f)) ::_exit(0);  // the parent is gone
        } catch (...) {
            ::_exit(1);
        }
        if (f.fds.size() != 2) continue;
        int channel = f.fds[0], status_w = f.fds[1];
        bool die_with_parent = f.header.id != 0;
        pid_t server_pid = ::getpid();
        pid_t pid = ::fork();
        if (pid == 0) {
            ::close(control);
            ::close(sfd);
            ::close(status_w);
            for (auto& [_, fd] : status_fds) ::close(fd);
            ::signal(SIGINT, SIG_DFL);
            ::sigprocmask(SIG_SETMASK, &old, nullptr);
            if (die_with_parent) {
                ::prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (::getppid() != server_pid) ::_exit(1);
            }
            f.fds.clear();  // the child owns the channel now
            child_main(channel);
        }
        ::close(channel);
        f.fds.clear();
        if (pid < 0) {
            ::close(status_w);  // the parent reads EOF instead of a pid
            continue;
        }
        (void)!::write(status_w, &pid, sizeof pid);
        status_fds[pid] = status_w;
    }
}

}  // namespace concur::multiprocessing::detail
