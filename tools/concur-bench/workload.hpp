// The seeds' CPU-bound functions: seed 000/002's `sum(i * i for i in
// range(number))` and seed 002's recursive fib. Plain functions, so that a
// process pool can run them (concur::wire sends a function by identity).
#pragma once

#include <cstdint>

namespace concur_bench {

// Sum of i*i for i < n in wrapping 64-bit arithmetic (Python's integers do
// not overflow; the checksum only has to agree between methods, and the
// Python programs report theirs modulo 2**64). The empty asm keeps the
// compiler from replacing the loop with a closed form or vectorising it, so
// every method does the seeds' n multiplications.
inline uint64_t cpu_bound(uint64_t n) noexcept {
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; ++i) {
        sum += i * i;
        asm volatile("" : "+r"(sum));
    }
    return sum;
}

// The seed's fib, 1-indexed: fib(1) = 0, fib(2) = 1, fib(3) = 1, ...
// n must be at least 1 (fib(0) would never end).
inline uint64_t fib(int n) noexcept {
    if (n <= 1) return 0;
    if (n == 2) return 1;
    return fib(n - 1) + fib(n - 2);
}

}  // namespace concur_bench
