// Seed 002 (shared/seeds/002_be869974bb936a39.txt), section "使用multiprocessing"
// of the CPU-bound part (lines 207-229 of the seed): cpu_bound(number) =
// sum(i * i for i in range(number)) for number = 5_000_000 + x, x < 20,
// mapped over a multiprocessing.Pool(); prints the wall time.
//
//   usage: seed002_cpu_pool [HOW_MANY [BASE]]
//          (default 20 numbers from 5000000, as the seed)
//
//   Python                                    C++
//   if __name__ == "__main__":                multiprocessing::freeze_support();  (first in main)
//   with multiprocessing.Pool() as pool:      { multiprocessing::Pool pool;
//       pool.map(cpu_bound, numbers)              return pool.map(cpu_bound, numbers); }
//   print(f"Duration {duration} seconds")     std::printf("Duration %s seconds\n", ...)
//
// Where C++ differs:
//  * Python's int has no limit, and the sums here pass 2^64 (the seed's first
//    one is about 4.2e19): cpu_bound() adds in unsigned 128 bits and returns
//    the sum's decimal digits, as Python would print the int.
//  * The seed throws the sums away; here find_sums() returns them and main()
//    prints "cpu_bound(N) = SUM" for each, in order, before the duration, so
//    that a run shows what the pool computed.
//  * The pool's workers re-execute this binary, so main() begins with
//    freeze_support(), the C++ form of the `if __name__ == "__main__":` guard.
//  * There is no GIL either way: a plain loop in C++ takes about as long as
//    the pool for these sizes; the pool pays off on longer work.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "concur/multiprocessing.hpp"
#include "support/pyport.hpp"

namespace multiprocessing = concur::multiprocessing;

__extension__ typedef unsigned __int128 uint128;  // (__extension__: no -Wpedantic warning)

std::string str(uint128 n) {  // Python's str(int), for a non-negative one
    std::string digits;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(n % 10)));
        n /= 10;
    } while (n != 0);
    return digits;
}

std::string cpu_bound(long number) {
    uint128 sum = 0;
    for (long i = 0; i < number; ++i) {
        sum += static_cast<uint128>(static_cast<unsigned long>(i) * static_cast<unsigned long>(i));
        pyport::do_not_optimize(i);  // really loop, as Python does (no closed form)
    }
    return str(sum);
}

std::vector<std::string> find_sums(const std::vector<long>& numbers) {
    multiprocessing::Pool pool;
    return pool.map(cpu_bound, numbers);
}  // the end of `with`: the pool is terminated

int main(int argc, char** argv) {
    // The C++ form of the seed's `if __name__ == "__main__":` guard: a worker
    // started by "forkserver" or "spawn" runs its work here and never returns.
    multiprocessing::freeze_support();

    long how_many = 20, base = 5000000;
    if (argc > 1) {
        auto n = pyport::to_int(argv[1]);
        auto b = argc > 2 ? pyport::to_int(argv[2]) : std::optional<long>(base);
        // i * i must fit 64 bits: number <= 2^32.
        if (argc > 3 || !n || *n < 0 || !b || *b < 0 || *b + *n > (1L << 32)) {
            std::fprintf(stderr, "usage: %s [HOW_MANY [BASE]]   (default 20 5000000; BASE + HOW_MANY <= 2^32)\n",
                         argv[0]);
            return 2;
        }
        how_many = *n;
        base = *b;
    }
    std::vector<long> numbers;
    for (long x = 0; x < how_many; ++x) numbers.push_back(base + x);

    auto start_time = std::chrono::steady_clock::now();
    std::vector<std::string> sums = find_sums(numbers);
    double duration = pyport::seconds_since(start_time);
    for (std::size_t k = 0; k < numbers.size(); ++k)
        std::printf("cpu_bound(%ld) = %s\n", numbers[k], sums[k].c_str());
    std::printf("Duration %s seconds\n", pyport::str(duration).c_str());
}
