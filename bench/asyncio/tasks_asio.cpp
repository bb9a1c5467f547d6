// tasks_asio: the Boost.Asio peer of "create and gather N trivial tasks on one
// thread" (asyncio.gather over N create_task(trivial(i))).
//
//   tasks_asio [--tasks 1000000] [--repeat 5] [--cpu N] [--json]
//
// Each repeat co_spawns N coroutines that each co_return their index onto a
// fresh io_context, then runs it on this thread until all have completed; the
// completion handler sums the results, which are checked. The timed span is
// spawn + run-to-completion (the io_context's construction is not in it, as
// the event loop's creation is not in the Python peer). Prints the median
// tasks/s, or with --json one JSON line.

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string_view>
#include <vector>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange unincluded

#include <boost/asio.hpp>

#if !defined(BOOST_ASIO_HAS_CO_AWAIT)
#error "this Boost.Asio/compiler pair has no C++20 coroutine support"
#endif

namespace asio = boost::asio;

namespace {

asio::awaitable<int> trivial(int i) { co_return i; }

double run_once(int n) {
  asio::io_context ioc{1};
  std::int64_t sum = 0;
  int done = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(ioc, trivial(i), [&](std::exception_ptr e, int v) {
      if (e) std::rethrow_exception(e);
      sum += v;
      ++done;
    });
  }
  ioc.run();
  auto t1 = std::chrono::steady_clock::now();
  std::int64_t want = static_cast<std::int64_t>(n) * (n - 1) / 2;
  if (done != n || sum != want) {
    std::fprintf(stderr, "tasks_asio: %d of %d tasks done, sum %lld, expected %lld\n", done, n,
                 static_cast<long long>(sum), static_cast<long long>(want));
    std::exit(1);
  }
  return n / std::chrono::duration<double>(t1 - t0).count();
}

int arg_int(int argc, char** argv, int& i) {
  if (i + 1 >= argc) {
    std::fprintf(stderr, "tasks_asio: missing value for %s\n", argv[i]);
    std::exit(2);
  }
  return std::atoi(argv[++i]);
}

}  // namespace

int main(int argc, char** argv) {
  int tasks = 1'000'000, repeat = 5, cpu = -1;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--tasks") tasks = arg_int(argc, argv, i);
    else if (a == "--repeat") repeat = arg_int(argc, argv, i);
    else if (a == "--cpu") cpu = arg_int(argc, argv, i);
    else if (a == "--json") json = true;
    else {
      std::fprintf(stderr, "usage: tasks_asio [--tasks 1000000] [--repeat 5] [--cpu N] [--json]\n");
      return 2;
    }
  }
  if (tasks < 1 || repeat < 1) {
    std::fprintf(stderr, "tasks_asio: --tasks and --repeat must be >= 1\n");
    return 2;
  }
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (::sched_setaffinity(0, sizeof set, &set) < 0) {
      std::perror("sched_setaffinity");
      return 1;
    }
  }

  std::vector<double> rates;
  for (int r = 0; r < repeat; ++r) rates.push_back(run_once(tasks));
  std::sort(rates.begin(), rates.end());
  double median = rates.size() % 2 ? rates[rates.size() / 2]
                                   : (rates[rates.size() / 2 - 1] + rates[rates.size() / 2]) / 2;
  if (json)
    std::printf("{\"tasks_per_s\": %.1f, \"tasks\": %d, \"repeat\": %d}\n", median, tasks, repeat);
  else
    std::printf("tasks/s: %.0f  (median of %d runs of %d tasks; min %.0f, max %.0f)\n", median, repeat, tasks,
                rates.front(), rates.back());
  return 0;
}
