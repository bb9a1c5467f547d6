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
#include <string>
#include <vector>

namespace mptest {

// The start methods a pool suite runs under. A pool forks its workers from its
// own thread while the test's thread goes on allocating. glibc's malloc holds
// its locks across fork(); the sanitizers' allocators do not (LLVM marks its
// own fork_threaded test UNSUPPORTED for TSan: "TSAN does not lock
// allocator"; GCC 12's ASan hangs the same way), so a child forked in the
// middle of another thread's allocation inherits the lock held and hangs in its
// first malloc: a fault of the checker, seen once in a few hundred forks. The
// sanitizer builds run the pools on spawn and forkserver (which fork from a
// one-thread process); the Release build runs all three, and the Process
// suites, which fork from the test's own thread, run fork under the
// sanitizers too.
inline std::vector<std::string> pool_start_methods() {
#if defined(CONCUR_SANITIZE_thread) || defined(CONCUR_SANITIZE_address)
    return {"spawn", "forkserver"};
#else
    return {"fork", "spawn", "forkserver"};
#endif
}

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
