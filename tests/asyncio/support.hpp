// Shared by the asyncio tests: running a coroutine to completion on a fresh
// loop (the backend comes from CONCUR_LOOP, set per CTest registration), and
// counting open descriptors to prove that nothing leaks.
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>

#include <chrono>
#include <concur/asyncio.hpp>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

// ASSERT_TRUE for a coroutine returning Task<> (gtest's ASSERT_* `return`,
// which a coroutine cannot).
#define CO_ASSERT_TRUE(cond)                                     \
    do {                                                         \
        if (!(cond)) {                                           \
            ADD_FAILURE() << "assertion failed: " #cond;         \
            co_return;                                           \
        }                                                        \
    } while (0)

namespace concur::asyncio::testing {

using namespace std::chrono_literals;

inline std::string expected_backend() {
    const char* v = std::getenv("CONCUR_LOOP");
    return v ? v : "";
}

// Awaits `main` inline (same task) after checking the running loop's backend.
template <class T>
Task<T> on_expected_backend(Task<T> main) {
    std::string want = expected_backend();
    if (!want.empty() && want != "auto") {
        EXPECT_EQ(get_running_loop().backend_name(), want) << "the loop fell back to another backend";
    }
    co_return co_await std::move(main);
}

// asyncio::run with a check that the loop really uses the backend CTest
// asked for (so a silent fallback cannot hide an untested backend).
template <class T>
T run(Task<T> main) {
    return asyncio::run(on_expected_backend(std::move(main)));
}

// Python's `class MyExc(Exception)` of the CPython tests.
struct MyExc : std::runtime_error {
    MyExc() : std::runtime_error("MyExc") {}
    explicit MyExc(const std::string& what) : std::runtime_error(what) {}
};

// A coroutine that raises MyExc(what) after `yields` trips round the loop.
inline Task<int> fail_after(int yields, std::string what = "MyExc") {
    for (int i = 0; i < yields; ++i) co_await sleep(0s);
    throw MyExc(what);
}

// Gives the other ready tasks `n` turns (n x sleep(0)).
inline Task<> yield_n(int n) {
    for (int i = 0; i < n; ++i) co_await sleep(0s);
}

// Records what reaches the running loop's exception handler. Install it
// from inside the loop; the log must outlive the loop.
struct HandlerLog {
    std::vector<std::string> messages;
    std::vector<std::exception_ptr> errors;
    void install() {
        get_running_loop().set_exception_handler([this](EventLoop&, const ExceptionContext& c) {
            messages.push_back(c.message);
            errors.push_back(c.exception);
        });
    }
    std::size_t count(const std::string& message) const {
        std::size_t n = 0;
        for (const auto& m : messages) n += m == message;
        return n;
    }
};

// The message of the exception in `e` (what()).
inline std::string what(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "(not a std::exception)";
    }
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
