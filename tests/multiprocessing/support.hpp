// Helpers shared by the multiprocessing suites: forked children that report
// through their exit status, and counting this process's open descriptors.
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>

namespace mptest {

// Descriptors this process has open (a leak check: compare before and after).
inline int open_fds() {
    int n = 0;
    DIR* d = ::opendir("/proc/self/fd");
    while (dirent* e = ::readdir(d))
        if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    return n - 1;  // the DIR's own descriptor
}

// Runs `body` in a forked child, which exits 0 if it returned with no failed
// gtest assertion, 1 after a failed one, 4 if it threw; an alarm stops a hung
// child after 120 s. Returns the child's pid.
template <class F>
pid_t fork_child(F body) {
    pid_t pid = ::fork();
    if (pid != 0) return pid;
    ::alarm(120);
    int rc = 0;
    try {
        body();
        rc = ::testing::Test::HasFailure() ? 1 : 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "child %d threw: %s\n", ::getpid(), e.what());
        rc = 4;
    }
    ::_exit(rc);
}

// The child's exit status (0: success); 128 + N when killed by signal N.
inline int wait_child(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace mptest

// A check inside a forked child: says where, then exits 3.
#define CHILD_CHECK(cond)                                                                \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            std::fprintf(stderr, "child check failed at line %d: %s\n", __LINE__, #cond); \
            ::_exit(3);                                                                  \
        }                                                                                \
    } while (0)
