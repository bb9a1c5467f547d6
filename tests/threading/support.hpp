// Helpers shared by the threading tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace concur_test {

using namespace std::chrono_literals;

// Long enough for a blocked thread to have finished if it wrongly could
// (used only to give a wrong implementation the chance to fail, never as an
// upper bound).
inline constexpr auto kSettle = 50ms;

// Waits (generously) until `pred` holds; fails the test if it never does.
template <class Pred>
void eventually(Pred pred) {
    auto until = std::chrono::steady_clock::now() + 30s;
    while (!pred()) {
        ASSERT_LT(std::chrono::steady_clock::now(), until) << "condition never became true";
        std::this_thread::sleep_for(1ms);
    }
}

}  // namespace concur_test
