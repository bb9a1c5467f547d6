// The work-stealing engine behind futures::ThreadPoolExecutor.
//
//   submit() from a foreign thread          submit() from a worker (fork-join)
//          |                                         |
//          v                                         v
//   injection stack (lock-free, newest first)   the worker's own deque (bottom)
//          |  a worker takes the whole stack          |
//          |  into its deque, oldest at the bottom    |
//          +---------------> worker deque <-----------+
//                              |     ^ top: other workers steal the oldest jobs
//                              v
//                       job->run(): settles the future, fires its callbacks
//
// Sleeping without losing wake-ups (after tokio's scheduler): a worker that
// finds no job becomes "searching" and spins briefly; then it registers as
// idle, re-checks every queue, and parks on its Parker. A submit wakes one
// idle worker only when no worker is searching (searching workers will find
// the job), and a searcher that finds work wakes the next one if more work is
// visible, so a burst of jobs spreads across the pool without a syscall per
// submit. Workers start lazily, as Python's do: a submit that finds no idle
// or searching worker starts one, up to max_workers.
#include "concur/detail/thread_pool_core.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "concur/detail/parker.hpp"
#include "concur/detail/thread_name.hpp"
#include "concur/detail/work_stealing_deque.hpp"
#include "concur/errors.hpp"

namespace concur::detail {

namespace {
std::atomic<unsigned> g_pool_counter{0};
}  // namespace

struct Worker final : Parker::Helper {
    Worker(ThreadPoolCore* p, uint32_t i) : pool(p), index(i), rng(0x9e3779b97f4a7c15ULL * (i + 1)) {}
    void help_or_park(Parker& p, uint32_t seen, const Deadline& d) override;
    bool try_help() override;

    uint32_t next_random() noexcept {  // xorshift: victim selection only
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return static_cast<uint32_t>(rng);
    }

    ThreadPoolCore* pool;
    uint32_t index;
    uint64_t rng;
    Parker parker;
    WorkStealingDeque<Job*> deque;
    std::thread thread;
    bool searching = false;  // owner thread only; mirrors its share of searching_
    bool notified = false;   // under idle_mutex_: a waker removed it from idle_
};

namespace {
thread_local Worker* t_worker = nullptr;
}  // namespace

class ThreadPoolCore {
public:
    ThreadPoolCore(std::size_t max_workers, std::string prefix, std::function<void()> init)
        : max_workers_(max_workers),
          prefix_(std::move(prefix)),
          initializer_(std::move(init)),
          slots_(new std::atomic<Worker*>[max_workers]) {
        if (prefix_.empty())
            prefix_ = "ThreadPoolExecutor-" + std::to_string(g_pool_counter.fetch_add(1));
        for (std::size_t i = 0; i < max_workers_; ++i) slots_[i].store(nullptr);
    }

    ~ThreadPoolCore() {
        shutdown(true, false);
        for (uint32_t i = 0; i < num_workers_.load(); ++i) delete slots_[i].load();
    }

    void submit(Job* job) {
        uint32_t f = flags_.load(std::memory_order_acquire);
        if (f & kBroken) throw futures::BrokenThreadPool(broken_reason());
        if (f & kShutdown) throw RuntimeError("cannot schedule new futures after shutdown");
        Worker* w = t_worker;
        if (w && w->pool == this) {
            w->deque.push(job);
        } else {
            Job* head = inject_.load(std::memory_order_relaxed);
            do {
                job->next_job = head;
            } while (!inject_.compare_exchange_weak(head, job, std::memory_order_seq_cst,
                                                    std::memory_order_relaxed));
        }
        notify();
    }

    void shutdown(bool wait, bool cancel_futures) {
        {
            std::lock_guard lk(spawn_mutex_);
            flags_.fetch_or(kShutdown, std::memory_order_seq_cst);
        }
        if (cancel_futures) drain(nullptr);
        wake_all();
        if (!wait) return;
        std::lock_guard join_lk(join_mutex_);  // concurrent shutdown(wait) calls join once
        // Re-read the count: a worker may still start another while queued
        // work remains (see spawn()), and it does so before it exits.
        for (uint32_t i = 0; i < num_workers_.load(); ++i) {
            Worker* w = slots_[i].load();
            if (w->thread.joinable() && w->thread.get_id() != std::this_thread::get_id())
                w->thread.join();
        }
        // A submit that raced with shutdown may have queued a job after the
        // last worker looked: settle it rather than leave it pending forever.
        drain(leftover_reason());
    }

    std::size_t max_workers() const noexcept { return max_workers_; }
    std::size_t num_threads() const noexcept { return num_workers_.load(); }

    // ---- used by workers -------------------------------------------------

    void worker_main(Worker& w);
    void help_or_park(Worker& w, uint32_t seen, const Deadline& d);
    bool try_help(Worker& w) {
        Job* j = find_job(w);
        if (j) j->run();
        return j != nullptr;
    }

private:
    // flags_: kShutdown once shutdown() was called; kBroken once an
    // initializer failed (then broken_reason_ is set and never changes).
    static constexpr uint32_t kShutdown = 1;
    static constexpr uint32_t kBroken = 2;

    std::string broken_reason() {
        std::lock_guard lk(spawn_mutex_);
        return broken_reason_;
    }
    std::exception_ptr leftover_reason() {
        if (flags_.load() & kBroken)
            return std::make_exception_ptr(futures::BrokenThreadPool(broken_reason()));
        return nullptr;  // cancel
    }

    Job* find_job(Worker& w) {
        if (Job* j = w.deque.pop()) return j;
        if (Job* j = take_injected(w)) return j;
        return steal(w);
    }

    Job* take_injected(Worker& w) {
        if (!inject_.load(std::memory_order_relaxed)) return nullptr;
        Job* list = inject_.exchange(nullptr, std::memory_order_acquire);
        if (!list) return nullptr;
        // Newest first: pushing in this order leaves the oldest job at the
        // bottom, where this worker pops first, and the newest at the top,
        // where thieves take from.
        Job* oldest = list;
        list = list->next_job;
        while (list) {
            Job* next = list->next_job;
            w.deque.push(oldest);
            oldest = list;
            list = next;
        }
        return oldest;
    }

    Job* steal(Worker& w) {
        uint32_t n = num_workers_.load(std::memory_order_acquire);
        if (n <= 1) return nullptr;
        uint32_t start = w.next_random() % n;
        for (uint32_t k = 0; k < n; ++k) {
            uint32_t i = (start + k) % n;
            if (i == w.index) continue;
            Worker* victim = slots_[i].load(std::memory_order_acquire);
            if (!victim) continue;
            if (Job* j = victim->deque.steal()) return j;
        }
        return nullptr;
    }

    bool work_visible() {
        if (inject_.load(std::memory_order_seq_cst)) return true;
        uint32_t n = num_workers_.load(std::memory_order_seq_cst);
        for (uint32_t i = 0; i < n; ++i) {
            Worker* w = slots_[i].load(std::memory_order_acquire);
            if (w && !w->deque.empty()) return true;
        }
        return false;
    }

    // Spins for a few microseconds before a worker parks: a burst of submits
    // then finds it awake and needs no syscall to wake it.
    Job* spin_search(Worker& w) {
        for (int round = 0; round < 32; ++round) {
            if (Job* j = find_job(w)) return j;
            if (flags_.load(std::memory_order_relaxed)) return nullptr;
            if (round < 16)
                for (int i = 0; i < (4 << (round / 4)); ++i) cpu_relax();
            else
                sched_yield();
        }
        return nullptr;
    }

    void start_searching(Worker& w) {
        if (!w.searching) {
            w.searching = true;
            searching_.fetch_add(1, std::memory_order_seq_cst);
        }
    }

    // The last searcher to find work wakes another worker if more work is
    // waiting: that is how a burst spreads over the pool.
    void stop_searching(Worker& w) {
        if (!w.searching) return;
        w.searching = false;
        if (searching_.fetch_sub(1, std::memory_order_seq_cst) == 1 && work_visible()) wake_or_spawn();
    }

    void notify() {
        std::atomic_thread_fence(std::memory_order_seq_cst);  // the job is visible before we look
        if (searching_.load(std::memory_order_seq_cst) != 0) return;
        wake_or_spawn();
    }

    void wake_or_spawn() {
        if (idle_count_.load(std::memory_order_seq_cst) > 0) {
            std::unique_lock lk(idle_mutex_);
            if (!idle_.empty()) {
                Worker* w = idle_.back();
                idle_.pop_back();
                idle_count_.fetch_sub(1, std::memory_order_seq_cst);
                w->notified = true;
                searching_.fetch_add(1, std::memory_order_seq_cst);  // w is searching on wake-up
                lk.unlock();
                w->parker.unpark();
                return;
            }
        }
        if (num_workers_.load(std::memory_order_relaxed) < max_workers_) spawn();
    }

    void spawn() {
        std::lock_guard lk(spawn_mutex_);
        uint32_t n = num_workers_.load(std::memory_order_relaxed);
        // Still allowed after shutdown(): Python's `with` block often ends
        // right after a burst of submits, and the queued work should spread
        // over the pool rather than run on the one worker that started.
        if (n >= max_workers_ || (flags_.load() & kBroken)) return;
        auto* w = new Worker(this, n);
        w->searching = true;  // counted as searching from birth: no double spawn
        searching_.fetch_add(1, std::memory_order_seq_cst);
        slots_[n].store(w, std::memory_order_release);
        num_workers_.store(n + 1, std::memory_order_seq_cst);
        try {
            w->thread = std::thread([this, w] { worker_main(*w); });
        } catch (...) {
            // No thread: undo the registration so nothing waits for it.
            num_workers_.store(n, std::memory_order_seq_cst);
            slots_[n].store(nullptr);
            searching_.fetch_sub(1, std::memory_order_seq_cst);
            delete w;
            if (n == 0) throw;  // no worker at all: let submit() report it
        }
    }

    // Registers `w` as idle, re-checks, and parks. `exit_check`: also return
    // at once if the pool is shutting down (the main loop then exits).
    void idle_park(Worker& w, uint32_t seen, const Deadline& d, bool exit_check) {
        if (w.searching) {
            w.searching = false;
            searching_.fetch_sub(1, std::memory_order_seq_cst);
        }
        {
            std::lock_guard lk(idle_mutex_);
            idle_.push_back(&w);
            idle_count_.fetch_add(1, std::memory_order_seq_cst);
        }
        bool skip = work_visible() || (exit_check && flags_.load(std::memory_order_seq_cst));
        if (!skip) w.parker.sleep(seen, d);
        std::lock_guard lk(idle_mutex_);
        if (w.notified) {
            w.notified = false;
            w.searching = true;  // the waker counted us in searching_
        } else {
            idle_.erase(std::find(idle_.begin(), idle_.end(), &w));
            idle_count_.fetch_sub(1, std::memory_order_seq_cst);
        }
    }

    void wake_all() {
        std::vector<Worker*> woken;
        {
            std::lock_guard lk(idle_mutex_);
            woken.swap(idle_);
            for (Worker* w : woken) {
                w->notified = true;
                searching_.fetch_add(1, std::memory_order_seq_cst);
            }
            idle_count_.store(0, std::memory_order_seq_cst);
        }
        for (Worker* w : woken) w->parker.unpark();
    }

    // Settles every queued job without running it: cancelled (why == null)
    // or failed with `why`.
    void drain(std::exception_ptr why) {
        Job* list = inject_.exchange(nullptr, std::memory_order_acquire);
        // Oldest first, so callbacks observe submission order.
        std::vector<Job*> jobs;
        for (; list; list = list->next_job) jobs.push_back(list);
        std::reverse(jobs.begin(), jobs.end());
        uint32_t n = num_workers_.load();
        for (uint32_t i = 0; i < n; ++i) {
            Worker* w = slots_[i].load();
            if (!w) continue;
            while (!w->deque.empty())
                if (Job* j = w->deque.steal()) jobs.push_back(j);
        }
        for (Job* j : jobs) j->abandon(why);
    }

    void break_pool() {
        {
            std::lock_guard lk(spawn_mutex_);
            if (!(flags_.load() & kBroken))
                broken_reason_ = "A thread initializer failed, the thread pool is not usable anymore";
            flags_.fetch_or(kBroken, std::memory_order_seq_cst);
        }
        drain(leftover_reason());
        wake_all();
    }

    const std::size_t max_workers_;
    std::string prefix_;
    std::function<void()> initializer_;
    std::unique_ptr<std::atomic<Worker*>[]> slots_;  // [0, num_workers_) are set, never removed
    std::atomic<uint32_t> num_workers_{0};
    std::atomic<uint32_t> flags_{0};
    std::atomic<uint32_t> searching_{0};
    std::atomic<uint32_t> idle_count_{0};  // == idle_.size(), readable without the lock
    alignas(64) std::atomic<Job*> inject_{nullptr};
    std::mutex idle_mutex_;
    std::vector<Worker*> idle_;
    std::mutex spawn_mutex_;  // guards spawning, flags_ transitions, broken_reason_
    std::mutex join_mutex_;
    std::string broken_reason_;
};

void ThreadPoolCore::worker_main(Worker& w) {
    t_worker = &w;
    w.parker.helper = &w;
    set_current_parker(&w.parker);
    threading::detail::name_current_thread(prefix_ + "_" + std::to_string(w.index));
    if (initializer_) {
        try {
            initializer_();
        } catch (...) {
            if (w.searching) {
                w.searching = false;
                searching_.fetch_sub(1);
            }
            break_pool();
            set_current_parker(nullptr);
            t_worker = nullptr;
            return;
        }
    }
    for (;;) {
        Job* j = find_job(w);
        if (!j) {
            start_searching(w);
            j = spin_search(w);
        }
        if (j) {
            stop_searching(w);
            j->run();
            continue;
        }
        if (flags_.load(std::memory_order_seq_cst) && !work_visible()) break;
        idle_park(w, w.parker.prepare(), Deadline(), true);
    }
    if (w.searching) {
        w.searching = false;
        searching_.fetch_sub(1);
    }
    if (flags_.load() & kBroken) drain(leftover_reason());
    set_current_parker(nullptr);
    t_worker = nullptr;
}

// A worker blocked in Future::result() (or wait/as_completed): run a job of
// this pool if there is one, else park until woken by the awaited future or
// by new work.
void ThreadPoolCore::help_or_park(Worker& w, uint32_t seen, const Deadline& d) {
    if (Job* j = find_job(w)) {
        j->run();
        return;
    }
    idle_park(w, seen, d, false);
    stop_searching(w);  // woken for work: the caller returns here to look for it
}

void Worker::help_or_park(Parker&, uint32_t seen, const Deadline& d) {
    pool->help_or_park(*this, seen, d);
}

bool Worker::try_help() { return pool->try_help(*this); }

void ThreadPoolCoreDeleter::operator()(ThreadPoolCore* core) const noexcept { delete core; }

ThreadPoolCorePtr make_thread_pool_core(std::size_t max_workers, std::string name_prefix,
                                        std::function<void()> initializer) {
    return ThreadPoolCorePtr(
        new ThreadPoolCore(max_workers, std::move(name_prefix), std::move(initializer)));
}

void submit_job(ThreadPoolCore& core, Job* job) { core.submit(job); }
void shutdown(ThreadPoolCore& core, bool wait, bool cancel_futures) {
    core.shutdown(wait, cancel_futures);
}
std::size_t max_workers(const ThreadPoolCore& core) noexcept { return core.max_workers(); }
std::size_t num_threads(const ThreadPoolCore& core) noexcept { return core.num_threads(); }

}  // namespace concur::detail
