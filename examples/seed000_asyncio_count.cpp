// Seed 000 (shared/seeds/000_0a90a151f4575642.txt), section "## asyncio":
// 20 tasks, each computing sum(i * i for i in range(number)) for
// number = 1_000_000 + x, created with create_task and gathered; prints the
// wall time.
//
//   Python                                        C++
//   async def count(number): ...                  asyncio::Task<long long> count(long long number)
//   asyncio.create_task(count(number))            asyncio::create_task(count(number))
//   await asyncio.gather(*tasks)                  co_await asyncio::gather(std::move(tasks))
//   asyncio.run(cacluate_count(numbers))          asyncio::run(cacluate_count(numbers))
//
// As in Python, the coroutines never await anything, so they run one after
// another on the loop's one thread: asyncio brings no parallelism to
// CPU-bound work (the seed measured 5.8 s, the same as threads under the
// GIL). C++ runs the same work about a hundred times faster, still on one core.
#include <cstdio>
#include <vector>

#include "concur/asyncio.hpp"
#include "support/pyport.hpp"

namespace asyncio = concur::asyncio;

asyncio::Task<long long> count(long long number) {
    long long result = 0;
    for (long long i = 0; i < number; ++i) {
        result += i * i;
        pyport::do_not_optimize(result);  // really loop, as Python does
    }
    co_return result;
}

asyncio::Task<> cacluate_count(std::vector<long long> numbers) {  // sic: the seed's spelling
    std::vector<asyncio::Task<long long>> tasks;
    for (long long number : numbers) tasks.push_back(asyncio::create_task(count(number)));
    auto result = co_await asyncio::gather(std::move(tasks));
    (void)result;  // unused, as in the seed
}

int main() {
    auto begin_time = std::chrono::steady_clock::now();
    std::vector<long long> numbers;
    for (long long x = 0; x < 20; ++x) numbers.push_back(1000000 + x);
    asyncio::run(cacluate_count(numbers));
    double cost = pyport::seconds_since(begin_time);
    std::printf("Total cost time is:  %s\n", pyport::str(cost).c_str());
}
