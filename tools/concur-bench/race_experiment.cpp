// The race experiment: 5,000 pool tasks (one thread each, as the seed's
// max_workers=5000) all updating one process-wide counter:
//
//   tasks --load/.../store--> counter   (unprotected: updates lost)
//   tasks --Lock{load/store}--> counter (lock)
//   tasks --fetch_add--> counter        (atomic)
#include "race_experiment.hpp"

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <numeric>
#include <vector>

#include "concur/futures.hpp"
#include "concur/threading.hpp"
#include "python_runner.hpp"

namespace concur_bench {

namespace {

// The seed's `counter += 1` is a read, an add and a write. A plain integer
// shared by threads would be a data race -- undefined behaviour, which
// ThreadSanitizer rightly rejects. A relaxed atomic load then a relaxed
// atomic store is defined and loses updates exactly as Python's
// read-add-write: two threads read the same value and both write value + 1.
std::atomic<uint64_t> counter{0};
concur::threading::Lock lock;
int increments = 100;

// A few dozen instructions between the read and the write, standing for
// the work a real update does there; without them a loss needs a rare
// coincidence (see examples/seed004_race.cpp).
void work_between_read_and_write() {
    for (int k = 0; k < 50; ++k) asm volatile("" : : "r"(k));
}

void increment_unprotected(int) {
    for (int i = 0; i < increments; ++i) {
        uint64_t value = counter.load(std::memory_order_relaxed);
        work_between_read_and_write();
        counter.store(value + 1, std::memory_order_relaxed);
    }
}

void increment_with_lock(int) {
    for (int i = 0; i < increments; ++i) {
        std::lock_guard guard(lock);
        uint64_t value = counter.load(std::memory_order_relaxed);
        work_between_read_and_write();
        counter.store(value + 1, std::memory_order_relaxed);
    }
}

void increment_atomic(int) {
    for (int i = 0; i < increments; ++i) {
        work_between_read_and_write();  // the same work, outside the one-step update
        counter.fetch_add(1, std::memory_order_relaxed);
    }
}

uint64_t on_pool(void (*increment)(int), RaceSize size) {
    increments = size.increments;
    std::vector<int> fake_data(std::size_t(size.calls));
    std::iota(fake_data.begin(), fake_data.end(), 0);
    counter = 0;
    {
        concur::futures::ThreadPoolExecutor executor{{.max_workers = unsigned(size.calls)}};
        // .list() waits inside the block: concur starts extra workers from
        // running ones, and none after shutdown(), so without it the burst
        // would run on one worker and show no race.
        executor.map(increment, fake_data).list();
    }
    return counter.load();
}

uint64_t sequential(RaceSize size) {
    increments = size.increments;
    counter = 0;
    for (int x = 0; x < size.calls; ++x) increment_unprotected(x);
    return counter.load();
}

std::string verdict(const Result& r, uint64_t expected) {
    std::string v;
    if (const Row* u = r.row("unprotected"))
        v = u->checksum == expected
                ? fmt::format("The unprotected counter lost no update this time ({} of {}) -- luck, "
                              "not safety: the read and the write are still two steps", u->checksum, expected)
                : fmt::format("The unprotected counter lost {} of {} updates ({:.1f}%): threads run "
                              "in parallel and interleave read and write",
                              expected - u->checksum, expected,
                              100.0 * double(expected - u->checksum) / double(expected));
    const Row* l = r.row("lock");
    const Row* a = r.row("atomic");
    if (l && a)
        v += fmt::format("{}a Lock ({:.3f} s) and an atomic ({:.3f} s) both count every update; the "
                         "atomic is {:.1f}x {}",
                         v.empty() ? "" : "; ", l->wall().median, a->wall().median,
                         std::max(l->wall().median, a->wall().median) /
                             std::max(1e-9, std::min(l->wall().median, a->wall().median)),
                         a->wall().median <= l->wall().median ? "faster" : "slower");
    else if (l)
        v += fmt::format("{}a Lock counts every update ({:.3f} s)", v.empty() ? "" : "; ", l->wall().median);
    if (const PythonRow* p = r.python_row("unprotected"))
        v += fmt::format("; Python's unprotected run counted {} of {} (its GIL switches threads "
                         "rarely inside `counter += 1`)", p->checksum, expected);
    return v + ".";
}

}  // namespace

uint64_t race_unprotected(RaceSize size) { return on_pool(increment_unprotected, size); }
uint64_t race_lock(RaceSize size) { return on_pool(increment_with_lock, size); }
uint64_t race_atomic(RaceSize size) { return on_pool(increment_atomic, size); }

Result run_race(const Settings& settings) {
    RaceSize size;
    Result r;
    r.name = "race";
    if (settings.tiny) {
        size.calls = 200;
        r.scale_note = "tiny sizes (--tiny): 200 calls";
    }
    r.title = fmt::format("{} calls x {} increments of a shared counter on "
                          "ThreadPoolExecutor(max_workers={}) (seed 004)",
                          size.calls, size.increments, size.calls);
    auto add = [&](const std::string& method, unsigned w, const std::function<uint64_t()>& fn) {
        r.rows.push_back(measure(settings, method, w, fn));
        r.rows.back().python_peer = method;
    };
    auto workers = unsigned(size.calls);
    add("sequential", 1, [&] { return sequential(size); });
    if (wants(settings, "unprotected")) {
        add("unprotected", workers, [&] { return race_unprotected(size); });
        r.rows.back().expect_mismatch = true;
        r.rows.back().consistent = true;  // a different count each run is the point
    }
    if (wants(settings, "lock")) add("lock", workers, [&] { return race_lock(size); });
    if (wants(settings, "atomic")) {
        add("atomic", workers, [&] { return race_atomic(size); });
        r.rows.back().python_peer.clear();
    }
    if (python_gate(settings, r, true, "")) {
        std::vector<std::string> methods;
        for (const Row& row : r.rows)
            if (!row.python_peer.empty()) methods.push_back(row.method);
        run_python_rows(settings, r, "race.py",
                        {"--calls", std::to_string(size.calls), "--increments",
                         std::to_string(size.increments)},
                        methods);
        if (r.row("atomic")) r.skipped.push_back("Python atomic: Python has no atomic integer");
    }
    r.check_rows();
    r.verdict = verdict(r, uint64_t(size.calls) * uint64_t(size.increments));
    return r;
}

}  // namespace concur_bench
