// Functions the mpi suites send to worker ranks.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "concur/mpi.hpp"

namespace mpitest {

inline long square(long x) { return x * x; }
inline long add(long a, long b) { return a + b; }
inline long negate(long x) { return -x; }
inline double half(long x) { return static_cast<double>(x) / 2; }
inline std::string decimal(long x) { return std::to_string(x); }
inline std::string env_of(std::string name) {
    const char* v = std::getenv(name.c_str());
    return v ? v : "<unset>";
}
inline int rank_of_worker() { return concur::mpi::world_rank(); }
inline long sleep_then(long ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
}
inline int throws_invalid(int x) {
    if (x > 0) throw std::invalid_argument("bad x " + std::to_string(x));
    return x;
}

struct ParseError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
inline int throws_custom(std::string s) { throw ParseError("cannot parse " + s); }

// Set by the initializer on each worker.
inline std::string& greeting() {
    static std::string g;
    return g;
}
inline void set_greeting(std::string g) { greeting() = std::move(g); }
inline std::string get_greeting() { return greeting(); }
inline void failing_initializer() { throw std::runtime_error("no database here"); }

// shutdown(wait=True, cancel_futures=True) with 40 calls pending, some
// running: every future ends, done or cancelled (some cancelled), and the
// executor refuses new work. Either executor; its workers must be serving.
template <class Executor>
void expect_shutdown_completes_or_cancels(Executor& ex) {
    std::vector<concur::futures::Future<long>> fs;
    EXPECT_EQ(ex.submit(sleep_then, 1L).result(), 1);  // the workers are up and serving
    for (int i = 0; i < 40; ++i) fs.push_back(ex.submit(sleep_then, 20L));
    fs.front().result();  // so that some calls are running when shutdown comes
    ex.shutdown(true, true);
    int cancelled = 0;
    for (auto& f : fs) {
        ASSERT_TRUE(f.done());
        if (f.cancelled()) {
            ++cancelled;
        } else {
            EXPECT_EQ(f.result(), 20);
        }
    }
    EXPECT_GT(cancelled, 0);
    EXPECT_THROW(ex.submit(square, 1L), concur::RuntimeError);
}

}  // namespace mpitest
