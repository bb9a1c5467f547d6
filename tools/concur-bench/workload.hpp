// The seeds' CPU-bound function, `sum(i * i for i in range(number))`.
#pragma once

#include <cstdint>

namespace concur_bench {

// Sum of i*i for i < n in wrapping 64-bit arithmetic (Python's integers do
// not overflow; the checksum only has to agree between methods). The empty
// asm keeps the compiler from replacing the loop with a closed form or
// vectorising it, so every method does the seeds' n multiplications.
inline uint64_t cpu_bound(uint64_t n) noexcept {
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; ++i) {
        sum += i * i;
        asm volatile("" : "+r"(sum));
    }
    return sum;
}

}  // namespace concur_bench
