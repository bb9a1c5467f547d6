// Small helpers shared by the seed ports (examples/seed*.cpp): print a float
// the way Python's print()/str() does, read numbers from argv, and keep a
// benchmark loop that the optimiser could otherwise delete.
#pragma once

#include <charconv>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace pyport {

// Python's str(float): the shortest digits that read back as the same double
// ("5.781235985457897", "0.25", "2.0", "1e-05").
inline std::string str(double x) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
    std::string s(buf, ec == std::errc() ? end : buf);
    if (s.find_first_of(".en") == std::string::npos) s += ".0";  // Python prints 2.0, not 2
    return s;
}

// time.time() - start_time, in seconds (on the steady clock: a duration must
// not jump when the wall clock is set).
inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// int(arg) / float(arg) for a whole command-line argument; nullopt if it is
// not a number.
inline std::optional<long> to_int(std::string_view s) {
    long v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}
inline std::optional<double> to_float(std::string_view s) {
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

// Makes the optimiser assume `value` is read and changed here, so a loop that
// computes it is really run (each pass) instead of being folded into a
// closed form or deleted as dead code. Emits no instruction.
template <class T>
inline void do_not_optimize(T& value) {
    asm volatile("" : "+r"(value));
}

}  // namespace pyport
