// The client side of an MPI executor (see include/concur/mpi/detail/engine.hpp
// for the picture). Every MPI call of an executor happens on its manager
// thread, holding mpi_mutex() only around the call itself: futures are settled
// with no lock held, so their callbacks may submit more work.
#include "concur/mpi/detail/mpi_c.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "backoff.hpp"
#include "concur/mpi/detail/engine.hpp"
#include "protocol.hpp"

namespace concur::mpi::detail {

namespace {

struct Item {
    std::uint64_t id;
    std::unique_ptr<PendingCall> call;
    msgpack::sbuffer bytes;
};

struct Running {
    std::unique_ptr<PendingCall> call;
    int worker;
};

struct Sending {
    std::string bytes;
    MPI_Request request = MPI_REQUEST_NULL;
};

// How many calls a worker may hold: about 1 ms of work, from the mean time
// of the calls it reported (one at a time until something is known), and at
// least two: the next call is there when one ends, so that a worker never
// waits out a round trip -- on a busy machine a rank that sleeps between
// calls may wait milliseconds for a core again.
int call_limit(double mean_us) {
    if (mean_us < 0) return 1;
    return static_cast<int>(std::clamp(1000.0 / std::max(mean_us, 0.25), 2.0, 4096.0));
}

// The longest the manager sleeps between polls while calls run: the usual
// backoff cap, or a sixteenth of how long the calls take -- their mean time,
// or how long the busy workers have been silent when that is longer (a burst
// of slower calls than the last ones measured) -- so that an outcome is
// noticed at most ~6% of a call's time after it came, and ranks running long
// calls are seldom interrupted: each look at the wire costs ~30 us of a core
// on this VM. A worker holds its next call meanwhile, so none waits for it.
std::chrono::microseconds poll_cap(double mean_us, double silent_us) {
    auto us = static_cast<long>(std::clamp(std::max(mean_us, silent_us) / 16, 0.0, 4000.0));
    return std::max(Backoff::kMaxSleep, std::chrono::microseconds(us));
}

}  // namespace

struct Engine::Core {
    explicit Core(EngineConfig c) : config(std::move(c)) {
        inflight.assign(config.workers.size(), 0);
        heard.assign(config.workers.size(), std::chrono::steady_clock::time_point{});
        int top = config.workers.empty() ? 0 : *std::max_element(config.workers.begin(), config.workers.end());
        index_of.assign(static_cast<std::size_t>(top) + 1, -1);
        for (std::size_t w = 0; w < config.workers.size(); ++w)
            index_of[static_cast<std::size_t>(config.workers[w])] = static_cast<int>(w);
    }

    EngineConfig config;

    // Shared with submitters, under mu.
    std::mutex mu;
    std::condition_variable wake;      // the manager, waiting for work
    std::condition_variable finished;  // shutdown(wait), waiting for the manager
    std::deque<Item> queue;            // submitted, not yet sent
    std::uint64_t next_id = kInitializerId + 1;
    bool shutting = false;
    bool broken = false;
    std::string broken_reason;
    bool done = false;            // the manager has released the workers
    bool manager_waiting = false;  // on `wake`: submit must notify
    bool manager_idle = false;     // ... with nothing outstanding (not a backoff pause)
    std::uint64_t burst_first = 0;  // the first call submitted after the queue was last empty
    std::thread::id manager_id;

    // The manager thread's own.
    std::unordered_map<std::uint64_t, Running> running;
    std::vector<int> inflight;  // calls held by each worker
    std::vector<int> index_of;  // rank -> worker index
    // When each worker last sent outcomes, or was handed calls while idle.
    std::vector<std::chrono::steady_clock::time_point> heard;
    std::list<Sending> sending;
    int initializing = 0;  // workers whose initializer has not answered
    double mean_us = -1;
    // The most calls outstanding (queued or held) since the workers were
    // last idle, and the newest call whose outcome has come back: for
    // dispatch().
    std::size_t burst = 0;
    std::uint64_t newest_outcome = 0;
    bool mpi_failed = false;
    // Outcomes received but not yet decoded: new calls are sent out first,
    // so that decoding here never keeps a worker waiting.
    struct Ready {
        std::unique_ptr<PendingCall> call;
        std::size_t message, offset, length;
    };
    std::vector<std::vector<char>> received;
    std::vector<Ready> ready;

    void run();
    double busy_silence_us() const;
    std::chrono::microseconds tail_cap(std::chrono::microseconds cap) const;
    bool send(int worker, std::string bytes, int tag);
    bool test_sends();
    bool receive(bool& progressed);
    bool dispatch(bool& progressed);
    void collect(std::size_t message);
    void settle_ready();
    void fail(const std::string& reason, bool mpi_error);
    void release_workers();
};

// How long the most recently heard of the workers holding calls has been
// silent (0 if none holds any).
double Engine::Core::busy_silence_us() const {
    auto now = std::chrono::steady_clock::now();
    double least = -1;
    for (std::size_t w = 0; w < inflight.size(); ++w) {
        if (inflight[w] == 0) continue;
        double us = std::chrono::duration<double, std::micro>(now - heard[w]).count();
        least = least < 0 ? us : std::min(least, us);
    }
    return std::max(least, 0.0);
}

// While long calls wait for a worker to have room (the last ones of a map
// go out one at a time, to whichever worker is free first), a worker that
// finished sits idle until the manager looks: so the manager also wakes
// when the first busy worker's call is due (heard + mean), and, once that
// is past, at least every 1/64 of a call. Elsewhere (short calls, nothing
// waiting) `cap` stands.
std::chrono::microseconds Engine::Core::tail_cap(std::chrono::microseconds cap) const {
    if (mean_us <= 1000) return cap;
    auto now = std::chrono::steady_clock::now();
    double due_us = -1;
    bool any = false;
    for (std::size_t w = 0; w < inflight.size(); ++w) {
        if (inflight[w] == 0) continue;
        double left = mean_us - std::chrono::duration<double, std::micro>(now - heard[w]).count();
        due_us = any ? std::min(due_us, left) : left;
        any = true;
    }
    if (!any) return cap;
    double us = due_us > 0 ? due_us : std::max(250.0, mean_us / 64);
    return std::min(cap, std::chrono::microseconds(static_cast<long>(us) + 1));
}

bool Engine::Core::send(int worker, std::string bytes, int tag) {
    sending.emplace_back();
    Sending& s = sending.back();
    s.bytes = std::move(bytes);
    int rc;
    {
        std::lock_guard lock(mpi_mutex());
        rc = MPI_Isend(s.bytes.data(), static_cast<int>(s.bytes.size()), MPI_BYTE,
                       config.workers[static_cast<std::size_t>(worker)], tag, config.comm, &s.request);
    }
    if (rc != MPI_SUCCESS) {  // fail() settles futures: their callbacks may use MPI
        sending.pop_back();
        fail("MPI_Isend to a worker rank failed: " + error_string(rc), true);
        return false;
    }
    return true;
}

bool Engine::Core::test_sends() {
    std::lock_guard lock(mpi_mutex());
    for (auto it = sending.begin(); it != sending.end();) {
        int complete = 0;
        int rc = MPI_Test(&it->request, &complete, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) {
            mpi_failed = true;
            return false;
        }
        it = complete ? sending.erase(it) : std::next(it);
    }
    return true;
}

bool Engine::Core::receive(bool& progressed) {
    for (;;) {
        int source = 0;
        {
            std::lock_guard lock(mpi_mutex());
            int flag = 0;
            MPI_Status st;
            int rc = probe(MPI_ANY_SOURCE, kResults, config.comm, &flag, &st);
            if (rc != MPI_SUCCESS) {
                mpi_failed = true;
                return false;
            }
            if (!flag) return true;
            int count = 0;
            MPI_Get_count(&st, MPI_BYTE, &count);
            received.emplace_back(static_cast<std::size_t>(count));
            source = st.MPI_SOURCE;
            rc = MPI_Recv(received.back().data(), count, MPI_BYTE, source, kResults, config.comm, MPI_STATUS_IGNORE);
            if (rc != MPI_SUCCESS) {
                mpi_failed = true;
                return false;
            }
        }
        progressed = true;
        int worker = source >= 0 && static_cast<std::size_t>(source) < index_of.size()
                         ? index_of[static_cast<std::size_t>(source)] : -1;
        if (worker < 0) continue;  // not one of ours: ignore
        heard[static_cast<std::size_t>(worker)] = std::chrono::steady_clock::now();
        collect(received.size() - 1);
    }
}

void Engine::Core::collect(std::size_t message) {
    const char* data = received[message].data();
    std::size_t size = received[message].size();
    std::size_t pos = 0;
    double total_us = 0;
    std::size_t calls = 0;
    while (size - pos >= sizeof(ResultHeader)) {
        ResultHeader h;
        std::memcpy(&h, data + pos, sizeof h);
        pos += sizeof h;
        if (size - pos < h.length) break;
        const char* outcome = data + pos;
        pos += h.length;
        if (h.id == kInitializerId) {
            --initializing;
            try {
                msgpack::object_handle holder;
                wire::detail::open_result(outcome, h.length, holder);
            } catch (const std::exception& e) {
                fail(std::string("a worker's initializer threw ") + e.what() + "; the executor is broken", false);
                return;
            }
            continue;
        }
        total_us += h.micros;
        ++calls;
        newest_outcome = std::max(newest_outcome, h.id);
        auto it = running.find(h.id);
        if (it == running.end()) continue;  // already failed (broken executor)
        Running r = std::move(it->second);
        running.erase(it);
        --inflight[static_cast<std::size_t>(r.worker)];
        ready.push_back(Ready{std::move(r.call), message, static_cast<std::size_t>(outcome - data), h.length});
    }
    if (calls > 0) {
        double m = total_us / static_cast<double>(calls);
        mean_us = mean_us < 0 ? m : 0.7 * mean_us + 0.3 * m;
    }
}

void Engine::Core::settle_ready() {
    for (Ready& r : ready) r.call->settle(received[r.message].data() + r.offset, r.length);
    ready.clear();
    received.clear();
}

bool Engine::Core::dispatch(bool& progressed) {
    if (broken) return true;
    // Each worker may hold what keeps it about 1 ms ahead (call_limit), and
    // never more than its share of the outstanding calls, so that a worker
    // slowed down by something else leaves the rest to the others. Until an
    // outcome of the newest burst of submissions is back, the mean may be
    // the last burst's, nothing like this one's: then a quarter of its share
    // of the burst, so that a burst of slow calls is not all handed out at
    // once. (The share of the burst at its largest, not of what is left of
    // it: else the end of a burst would go out one round trip at a time.)
    std::size_t held = 0;
    for (int n : inflight) held += static_cast<std::size_t>(n);
    int limit = call_limit(mean_us);
    std::vector<std::size_t> rooms(inflight.size());
    std::size_t room = 0;
    std::vector<Item> items;
    {
        std::lock_guard lock(mu);
        if (held == 0 && queue.empty()) burst = 0;  // idle workers: the next calls start a new burst
        burst = std::max(burst, queue.size() + held);
        std::size_t workers = inflight.size();
        bool known = newest_outcome >= burst_first;
        std::size_t share = known ? (queue.size() + held + workers - 1) / workers : burst / (4 * workers);
        int cap = static_cast<int>(std::clamp<std::size_t>(share, 1, 4096));
        auto now = std::chrono::steady_clock::now();
        auto overdue = std::chrono::microseconds(1000 + static_cast<long>(2 * std::max(mean_us, 0.0)));
        // The last calls of long ones (no more left than workers) go to
        // whichever worker is free first, not behind one still running.
        bool tail = mean_us > 1000 && queue.size() <= workers;
        for (std::size_t w = 0; w < inflight.size(); ++w) {
            // A worker silent for well over the mean is in a long call: what
            // it got now would wait behind it while the others run out.
            int most = inflight[w] > 0 && now - heard[w] > overdue ? inflight[w] : std::min(limit, cap);
            if (tail) most = std::min(most, 1);
            rooms[w] = static_cast<std::size_t>(std::max(0, most - inflight[w]));
            room += rooms[w];
        }
        std::size_t k = std::min(room, queue.size());
        items.reserve(k);
        for (std::size_t i = 0; i < k; ++i) {
            items.push_back(std::move(queue.front()));
            queue.pop_front();
        }
    }
    if (items.empty()) return true;
    progressed = true;
    // Give each worker a share of the items in proportion to its room, in
    // messages of at most kBatchBytes (protocol.hpp), taking turns: every worker gets its
    // first message early and starts while the rest are on their way.
    struct Share {
        std::size_t worker, next, end;
    };
    std::vector<Share> shares;
    std::size_t next = 0;
    std::size_t left_room = room;
    for (std::size_t w = 0; w < inflight.size() && next < items.size(); ++w) {
        std::size_t r = rooms[w];
        if (r == 0) continue;
        std::size_t share = std::min({r, items.size() - next, (items.size() - next) * r / left_room + 1});
        left_room -= r;
        shares.push_back(Share{w, next, next + share});
        next += share;
    }
    for (bool more = true; more;) {
        more = false;
        for (Share& sh : shares) {
            std::string batch;
            int count = 0;
            for (; sh.next < sh.end && batch.size() < kBatchBytes; ++sh.next) {
                Item& item = items[sh.next];
                if (!item.call->start()) continue;  // cancelled meanwhile
                CallHeader h{item.id, static_cast<std::uint32_t>(item.bytes.size()), 0};
                batch.append(reinterpret_cast<const char*>(&h), sizeof h);
                batch.append(item.bytes.data(), item.bytes.size());
                running.emplace(item.id, Running{std::move(item.call), static_cast<int>(sh.worker)});
                ++count;
            }
            more = more || sh.next < sh.end;
            if (count == 0) continue;
            if (inflight[sh.worker] == 0) heard[sh.worker] = std::chrono::steady_clock::now();
            inflight[sh.worker] += count;
            if (!send(static_cast<int>(sh.worker), std::move(batch), kCalls)) return false;
        }
    }
    return true;
}

void Engine::Core::fail(const std::string& reason, bool mpi_error) {
    std::deque<Item> queued;
    {
        std::lock_guard lock(mu);
        if (!broken) {
            broken = true;
            broken_reason = "concur::mpi: " + reason;
        }
        queued.swap(queue);
    }
    mpi_failed = mpi_failed || mpi_error;
    auto error = std::make_exception_ptr(BrokenMPIExecutor(broken_reason));
    for (auto& [id, r] : running) r.call->fail(error);
    running.clear();
    std::fill(inflight.begin(), inflight.end(), 0);
    for (Item& item : queued) {
        if (item.call->start()) item.call->fail(error);
    }
}

void Engine::Core::release_workers() {
    if (!mpi_failed) {
        for (std::size_t w = 0; w < config.workers.size(); ++w)
            if (!send(static_cast<int>(w), std::string(), kExit)) break;
    }
    // Read until every worker said kBye (results of calls already failed are
    // dropped by settle()).
    std::size_t byes = 0;
    Backoff backoff;
    while (!mpi_failed && (byes < config.workers.size() || !sending.empty())) {
        bool progressed = false;
        bool ok = receive(progressed) && test_sends();
        settle_ready();
        if (!ok) break;
        {
            std::lock_guard lock(mpi_mutex());
            int flag = 0;
            MPI_Status st;
            if (probe(MPI_ANY_SOURCE, kBye, config.comm, &flag, &st) != MPI_SUCCESS) {
                mpi_failed = true;
                break;
            }
            if (flag) {
                MPI_Recv(nullptr, 0, MPI_BYTE, st.MPI_SOURCE, kBye, config.comm, MPI_STATUS_IGNORE);
                ++byes;
                progressed = true;
            }
        }
        if (progressed) {
            backoff.reset();
        } else {
            backoff.wait();
        }
    }
    // After an MPI error the communicator is left alone: releasing it may
    // wait on the rank that failed.
    if (!mpi_failed) {
        std::lock_guard lock(mpi_mutex());
        if (config.intercomm) {
            MPI_Comm_disconnect(&config.comm);
        } else {
            MPI_Comm_free(&config.comm);
        }
    }
}

void Engine::Core::run() {
    PreciseSleep precise;
    {
        std::lock_guard lock(mu);
        manager_id = std::this_thread::get_id();
    }
    if (config.initializer) {
        const msgpack::sbuffer& init = config.initializer.call();
        for (std::size_t w = 0; w < config.workers.size() && !mpi_failed; ++w) {
            std::string batch;
            CallHeader h{kInitializerId, static_cast<std::uint32_t>(init.size()), 0};
            batch.append(reinterpret_cast<const char*>(&h), sizeof h);
            batch.append(init.data(), init.size());
            if (send(static_cast<int>(w), std::move(batch), kCalls)) ++initializing;
        }
    }
    Backoff backoff;
    for (;;) {
        bool progressed = false;
        if (!receive(progressed) || !test_sends()) fail("an MPI call on the executor's communicator failed", true);
        if (!mpi_failed) dispatch(progressed);
        settle_ready();
        std::unique_lock lock(mu);
        if (broken || (shutting && queue.empty() && running.empty() && initializing == 0)) break;
        if (progressed) {
            backoff.reset();
            continue;
        }
        if (running.empty() && initializing == 0 && sending.empty()) {
            // Nothing outstanding: sleep until a submit or shutdown.
            if (queue.empty() && !shutting) {
                manager_waiting = manager_idle = true;
                wake.wait(lock, [&] { return !queue.empty() || shutting; });
                manager_waiting = manager_idle = false;
            }
            backoff.reset();
            continue;
        }
        auto cap = poll_cap(mean_us, busy_silence_us());
        if (!queue.empty()) cap = tail_cap(cap);
        auto pause = backoff.next(cap);
        if (pause.count() == 0) {
            lock.unlock();
            std::this_thread::yield();
        } else {
            manager_waiting = true;
            wake.wait_for(lock, pause);
            manager_waiting = false;
        }
    }
    release_workers();
    std::lock_guard lock(mu);
    done = true;
    finished.notify_all();
}

Engine::Engine(EngineConfig config) : workers_(static_cast<int>(config.workers.size())) {
    if (config.initializer && !config.initializer.fds().empty())
        throw wire::EncodeError("concur::mpi: an initializer argument backed by a descriptor (Pipe, Lock, "
                                "SharedMemory) cannot cross MPI: pass plain values");
    core_ = std::make_shared<Core>(std::move(config));
    thread_ = std::thread([core = core_] { core->run(); });
}

Engine::~Engine() {
    shutdown(true, false);
    if (thread_.joinable()) {
        if (std::this_thread::get_id() == thread_.get_id()) {
            thread_.detach();  // destroyed by a callback on the manager thread itself
        } else {
            thread_.join();
        }
    }
}

void Engine::submit(std::unique_ptr<PendingCall> call, msgpack::sbuffer bytes) {
    
    bool woke_idle = false;
    {
        std::lock_guard lock(core_->mu);
        if (core_->broken) throw BrokenMPIExecutor(core_->broken_reason);
        if (core_->shutting) throw RuntimeError("cannot schedule new futures after shutdown");
        bool was_empty = core_->queue.empty();
        if (was_empty) core_->burst_first = core_->next_id;
        core_->queue.push_back(Item{core_->next_id++, std::move(call), std::move(bytes)});
        // Into a queue that was not empty, a call needs no wake-up: the
        // manager has yet to send the earlier ones and looks again within
        // its pause (a map's chunks would wake it once each).
        if (core_->manager_waiting && was_empty) {
            woke_idle = core_->manager_idle;
            core_->manager_idle = false;
            core_->wake.notify_one();
        }
    }
    // The first call after a quiet spell: let the manager have this core
    // now, so that it sends while the caller encodes the next calls (a
    // woken thread may otherwise wait out this one's time slice, which on a
    // busy machine is milliseconds).
    if (woke_idle) std::this_thread::yield();
}

void Engine::shutdown(bool wait, bool cancel_futures) {
    std::deque<Item> cancelled;
    {
        std::lock_guard lock(core_->mu);
        core_->shutting = true;
        if (cancel_futures) cancelled.swap(core_->queue);
        core_->wake.notify_one();
    }
    for (Item& item : cancelled) item.call->cancel();
    if (!wait) return;
    std::unique_lock lock(core_->mu);
    if (std::this_thread::get_id() == core_->manager_id) return;  // a callback cannot wait for its own thread
    core_->finished.wait(lock, [&] { return core_->done; });
}

bool Engine::broken() const {
    std::lock_guard lock(core_->mu);
    return core_->broken;
}

}  // namespace concur::mpi::detail
