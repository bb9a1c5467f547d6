// Threads waiting in result() that read outcomes from the workers' mailboxes
// themselves (mailbox.hpp): the WorkerPool side of the RemoteWait hook.
#include <sched.h>

#include <chrono>
#include <mutex>

#include "concur/detail/future_state.hpp"
#include "worker_pool_core.hpp"

namespace concur::multiprocessing::detail {

bool WorkerPool::Core::take_posted(Worker& w, std::vector<Settle>& out) {
    Mailbox* box = w.box.get();
    if (!box || box->state.load(std::memory_order_acquire) != Mailbox::kPosted) return false;
    if (box->header.length > Mailbox::capacity()) {
        break_pool("worker " + w.name + " posted a malformed outcome (" + std::to_string(box->header.length) +
                       " bytes in a " + std::to_string(Mailbox::capacity()) + "-byte mailbox)",
                   out);
        return false;
    }
    if (!expects(w, box->header.id)) return false;
    avg_us = avg_us * 0.875 + box->header.flags * 0.125;
    out.push_back({std::move(w.inflight.front().second), std::string(box->payload, box->header.length), nullptr});
    w.inflight.pop_front();
    box->state.store(polling ? Mailbox::kPolling : Mailbox::kIdle, std::memory_order_release);
    return true;
}

void WorkerPool::Core::after_taking() {
    if (broken.empty() && !terminating) {
        dispatch();
        for (auto& w : workers)
            if (w && !w->exited && !w->out.empty()) flush(*w);
    }
    if (shutdown) wake();
}

void WorkerPool::Core::take_from(const Mailbox* box, std::vector<Settle>& out) {
    for (auto& w : workers) {
        if (!w || w->box.get() != box || w->exited) continue;
        while (broken.empty() && !terminating && box->state.load(std::memory_order_acquire) == Mailbox::kPosted) {
            if (take_posted(*w, out)) continue;
            // Not the next one expected: the ones before it are in the
            // channel, sent before it was posted, so one drain brings
            // them (and takes the posted one in its turn).
            std::uint64_t seen = box->header.id;
            read_worker(*w, out);
            if (broken.empty() && box->state.load(std::memory_order_acquire) == Mailbox::kPosted &&
                box->header.id == seen && !expects(*w, seen))
                break_pool("worker " + w->name + " posted the outcome of call " + std::to_string(seen) +
                               " out of order",
                           out);
        }
        break;
    }
    after_taking();
}

bool WorkerPool::Core::start_polling(std::vector<std::shared_ptr<Mailbox>>& boxes) {
    if (polling || !broken.empty() || terminating || avg_us > kPollCallUs) return false;
    boxes.clear();
    for (auto& w : workers)
        if (w && w->box && !w->exited) boxes.push_back(w->box);
    if (boxes.empty()) return false;
    polling = true;
    for (auto& b : boxes) {
        std::uint32_t idle = Mailbox::kIdle;  // (every box is idle while nobody polls)
        b->state.compare_exchange_strong(idle, Mailbox::kPolling, std::memory_order_acq_rel);
    }
    return true;
}

void WorkerPool::Core::stop_polling(std::vector<Settle>& out) {
    polling = false;
    for (auto& w : workers) {
        if (!w || !w->box) continue;
        std::uint32_t was = Mailbox::kPolling;
        if (w->box->state.compare_exchange_strong(was, Mailbox::kIdle, std::memory_order_acq_rel) ||
            was != Mailbox::kPosted)
            continue;
        if (w->exited || !broken.empty() || terminating) {
            w->box->state.store(Mailbox::kIdle, std::memory_order_release);  // its call already failed
            continue;
        }
        take_from(w->box.get(), out);
    }
    after_taking();
}

namespace {

// Every pool's core, for remote_wait, which cannot tell from a future's state
// which pool settles it (a program has one pool, or a few).
std::mutex registry_mu;
std::vector<std::weak_ptr<WorkerPool::Core>> registry;

using Clock = std::chrono::steady_clock;

// The RemoteWait hook (see future_state.hpp): a thread about to park in
// result() on a process pool's future polls the pools' mailboxes instead, as
// long as their calls are short, for 50 us plus twice a call's run time. The
// outcomes it finds it settles itself, so neither the result handler nor this
// thread is woken. One thread polls a pool at a time; the others park.
void remote_wait(concur::detail::StateBase& state, const concur::detail::Deadline& deadline) noexcept {
    struct Polled {
        std::shared_ptr<WorkerPool::Core> core;
        std::vector<std::shared_ptr<Mailbox>> boxes;
    };
    std::vector<std::shared_ptr<WorkerPool::Core>> cores;
    {
        std::lock_guard lock(registry_mu);
        for (auto& weak : registry)
            if (auto core = weak.lock()) cores.push_back(std::move(core));
    }
    std::vector<Polled> polled;
    std::vector<Settle> settle;
    double slowest_us = 0;
    auto start = [&] {
        for (auto& core : cores) {
            Polled p{core, {}};
            std::lock_guard lock(core->mu);
            if (!core->start_polling(p.boxes)) continue;
            slowest_us = std::max(slowest_us, core->avg_us);
            polled.push_back(std::move(p));
        }
        return !polled.empty();
    };
    auto stop = [&] {
        for (auto& p : polled) {
            std::lock_guard lock(p.core->mu);
            p.core->stop_polling(settle);
        }
        polled.clear();
        WorkerPool::Core::apply(settle);
    };
    if (!start()) return;
    auto until = Clock::now() + std::chrono::microseconds(50 + static_cast<long>(2 * slowest_us));
    while (!state.done()) {
        for (auto& p : polled)
            for (auto& box : p.boxes)
                if (box->state.load(std::memory_order_acquire) == Mailbox::kPosted) {
                    std::lock_guard lock(p.core->mu);
                    p.core->take_from(box.get(), settle);
                }
        if (!settle.empty()) {
            // Settling runs user code (decoders, done-callbacks), which may
            // wait for another call of the same pool: stop polling first, or
            // that call's outcome would be posted where nobody looks.
            stop();
            if (state.done() || Clock::now() >= until || deadline.expired() || !start()) return;
            continue;
        }
        if (Clock::now() >= until || deadline.expired()) break;
        ::sched_yield();  // on a CPU shared with the worker, let it run
    }
    stop();
}


}  // namespace

void register_for_polling(const std::shared_ptr<WorkerPool::Core>& core) {
    {
        std::lock_guard lock(registry_mu);
        std::erase_if(registry, [](const auto& weak) { return weak.expired(); });
        registry.push_back(core);
    }
    concur::detail::set_remote_wait(&remote_wait);
}

}  // namespace concur::multiprocessing::detail
