// Functions the mpi suites send to worker ranks.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "concur/mpi.hpp"

namespace mpitest {

inline long square(long x) { return x * x; }
inline long add(long a, long b) { return a + b; }
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

}  // namespace mpitest
