// The inside of WorkerPool (see concur/multiprocessing/detail/worker_pool.hpp),
// shared by its two halves: worker_pool.cpp (workers, their channels and the
// result handler's loop) and polling.cpp (threads waiting in result() that
// read outcomes from the workers' mailboxes). Internal to
// concur::multiprocessing.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "concur/multiprocessing/detail/worker_pool.hpp"
#include "launcher.hpp"
#include "mailbox.hpp"

namespace concur::multiprocessing::detail {

struct Task {
    std::uint64_t id = 0;
    std::unique_ptr<PendingCall> call;
    msgpack::sbuffer bytes;
    std::vector<int> fds;  // owned
};

struct Settle {
    std::unique_ptr<PendingCall> call;
    std::string reply;             // an outcome to decode, or
    std::exception_ptr error;      // a failure
};

struct Worker {
    std::uint32_t gen = 0;   // tells this worker's epoll events from its predecessor's in the slot
    Child child;
    int sock = -1;
    std::string name;
    bool ready = false;      // booted (and initialized)
    bool retiring = false;   // said it reached max_tasks_per_child
    bool told_exit = false;  // sent kExit
    bool eof = false;        // its channel closed
    bool exited = false;     // reaped
    std::uint64_t sent = 0;  // calls sent (for max_tasks_per_child)
    std::deque<std::pair<std::uint64_t, std::unique_ptr<PendingCall>>> inflight;
    std::string out;
    std::size_t out_pos = 0;
    std::deque<std::pair<std::size_t, std::vector<int>>> out_fds;  // attach at offset; owned
    std::deque<std::size_t> call_ends;  // where each call in `out` not yet fully written ends
    std::string in;
    bool want_out = false;
    std::shared_ptr<Mailbox> box;  // null if the system refused one
};

struct WorkerPool::Core {
    PoolConfig cfg;
    mutable std::mutex mu;
    std::deque<Task> backlog;
    std::vector<std::unique_ptr<Worker>> workers;  // slot -> worker (replaced in place)
    std::uint64_t next_id = 0;
    bool start_requested = false, started = false;
    bool shutdown = false, terminating = false, exit_sent = false;
    std::string broken;   // non-empty once broken
    std::uint32_t next_gen = 0;
    double avg_us = 1000;  // EWMA of a call's run time; starts pessimistic (one call per worker)
    bool polling = false;  // a thread waiting in result() polls the mailboxes (remote_wait)
    int epfd = -1, evfd = -1;
    std::thread handler;


    ~Core() {
        if (epfd >= 0) ::close(epfd);
        if (evfd >= 0) ::close(evfd);
    }

    void wake() {
        std::uint64_t one = 1;
        (void)!::write(evfd, &one, sizeof one);
    }

    std::size_t cap() const {
        double c = 1000.0 / std::max(avg_us, 1.0);
        return static_cast<std::size_t>(std::clamp(c, 1.0, 1024.0));
    }

    // Whether a call of w's is on the wire, unanswered: reading its answer
    // (the handler, or a thread polling the mailboxes) flushes w's buffer.
    static bool owes_answer(const Worker& w) { return w.inflight.size() > w.call_ends.size(); }

    bool can_take(const Worker& w) const {
        if (!w.ready || w.retiring || w.told_exit || w.eof || w.exited) return false;
        if (cfg.max_tasks_per_child && w.sent >= cfg.max_tasks_per_child) return false;
        return w.inflight.size() < cap();
    }

    // Moves calls from the backlog to workers with room. Locked.
    void dispatch();

    // Writes what a worker's buffer holds without blocking. Locked.
    void flush(Worker& w);

    std::size_t slot_of(const Worker& w) const {
        for (std::size_t i = 0; i < workers.size(); ++i)
            if (workers[i].get() == &w) return i;
        return 0;
    }

    void send_control(Worker& w, std::uint16_t kind, const msgpack::sbuffer* payload = nullptr);

    // Starts the worker for `slot`. Locked (fork from this thread: the pool's
    // workers die with it through PR_SET_PDEATHSIG).
    void start_worker(std::size_t slot);

    // Fails everything and kills the workers. Locked; `out` is settled unlocked.
    void break_pool(const std::string& why, std::vector<Settle>& out);

    void fail_all(std::exception_ptr err, std::vector<Settle>& out);

    // Reads what a worker sent. Locked.
    void read_worker(Worker& w, std::vector<Settle>& out);

    static bool expects(const Worker& w, std::uint64_t id) {
        return !w.inflight.empty() && w.inflight.front().first == id;
    }

    // Settles the outcome in w's mailbox if there is one and it is the next
    // one expected (otherwise earlier ones are still in the channel). Locked.
    bool take_posted(Worker& w, std::vector<Settle>& out);

    // After outcomes were taken off the handler thread: the workers have room
    // for the backlog, and the handler may have a shutdown to finish. Locked.
    void after_taking();

    // The outcome posted in `box`, whichever worker it belongs to now. Locked.
    void take_from(const Mailbox* box, std::vector<Settle>& out);

    // Starts polling the mailboxes: true (and `boxes` filled) if this thread
    // polls now; false if another does, or calls are not short enough for
    // polling to pay. Locked.
    bool start_polling(std::vector<std::shared_ptr<Mailbox>>& boxes);

    // Stops polling; takes what was posted meanwhile. Locked.
    void stop_polling(std::vector<Settle>& out);

    // Calls shorter than this (run time, EWMA) make a waiting thread poll.
    static constexpr double kPollCallUs = 200;

    // A worker's process ended. Locked.
    void on_exit(std::size_t slot, std::vector<Settle>& out);

    bool all_exited() const {
        for (auto& w : workers)
            if (w && !w->exited) return false;
        return true;
    }

    bool idle() const {
        if (!backlog.empty()) return false;
        for (auto& w : workers)
            if (w && !w->inflight.empty()) return false;
        return true;
    }

    static void apply(std::vector<Settle>& settle);

    void run();
};

// Lets threads waiting on this pool's futures poll its mailboxes
// (polling.cpp). Called once, by the WorkerPool constructor.
void register_for_polling(const std::shared_ptr<WorkerPool::Core>& core);

}  // namespace concur::multiprocessing::detail
