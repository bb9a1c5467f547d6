#include "concur/detail/future_state.hpp"

#include <sched.h>

namespace concur::detail {

namespace {
std::atomic<RemoteWait> remote_wait_hook{nullptr};
}  // namespace

void set_remote_wait(RemoteWait hook) noexcept { remote_wait_hook.store(hook, std::memory_order_release); }

uint32_t StateBase::lock() noexcept {
    uint32_t w = word_.load(std::memory_order_relaxed);
    for (int spins = 0;; ++spins) {
        if (!(w & kLocked)) {
            if (word_.compare_exchange_weak(w, w | kLocked, std::memory_order_acquire,
                                            std::memory_order_relaxed))
                return w;
            continue;
        }
        // The holder runs a handful of instructions; yield only if it was
        // preempted while holding the bit.
        if (spins < 64)
            cpu_relax();
        else
            sched_yield();
        w = word_.load(std::memory_order_relaxed);
    }
}

void StateBase::finish(Status final_status) noexcept {
    CallbackNode* list = callbacks_;
    callbacks_ = nullptr;
    unlock(static_cast<uint32_t>(final_status));
    // Reverse the newest-first list so callbacks run in registration order,
    // as Python runs them.
    CallbackNode* ordered = nullptr;
    while (list) {
        CallbackNode* next = list->next;
        list->next = ordered;
        ordered = list;
        list = next;
    }
    // Keep the state alive while callbacks run: one of them may drop the
    // last Future handle.
    if (ordered) retain();
    for (CallbackNode* n = ordered; n;) {
        CallbackNode* next = n->next;  // read before firing: a node may free itself
        n->fire(n, *this);
        n = next;
    }
    if (ordered) release();
}

bool StateBase::cancel() noexcept {
    uint32_t w = lock();
    auto s = static_cast<Status>(w & kStatusMask);
    if (s == Status::cancelled || s == Status::cancelled_notified) {
        unlock(w);
        return true;
    }
    if (s != Status::pending) {
        unlock(w);
        return false;
    }
    finish(Status::cancelled);
    return true;
}

bool StateBase::set_running_or_notify_cancel() {
    uint32_t w = word_.load(std::memory_order_relaxed);
    for (;;) {
        auto s = static_cast<Status>(w & kStatusMask);
        if (w & kLocked) {
            cpu_relax();
            w = word_.load(std::memory_order_relaxed);
            continue;
        }
        if (s == Status::pending) {
            if (word_.compare_exchange_weak(w, static_cast<uint32_t>(Status::running),
                                            std::memory_order_acq_rel,
                                            std::memory_order_relaxed))
                return true;
            continue;
        }
        if (s == Status::cancelled) {
            if (word_.compare_exchange_weak(w,
                                            static_cast<uint32_t>(Status::cancelled_notified),
                                            std::memory_order_acq_rel,
                                            std::memory_order_relaxed))
                return false;
            continue;
        }
        throw InvalidStateError("set_running_or_notify_cancel() called on a future that is "
                                "already running, notified or finished");
    }
}

bool StateBase::set_exception(std::exception_ptr e) noexcept {
    uint32_t w = lock();
    auto s = static_cast<Status>(w & kStatusMask);
    if (s != Status::pending && s != Status::running) {
        unlock(w);
        return false;
    }
    error_ = std::move(e);
    finish(Status::finished);
    return true;
}

bool StateBase::add_callback(CallbackNode* node) noexcept {
    uint32_t w = lock();
    auto s = static_cast<Status>(w & kStatusMask);
    if (s >= Status::cancelled) {
        unlock(w);
        node->fire(node, *this);
        return false;
    }
    node->next = callbacks_;
    callbacks_ = node;
    unlock(w);
    return true;
}

bool StateBase::remove_callback(CallbackNode* node) noexcept {
    uint32_t w = lock();
    bool found = false;
    for (CallbackNode** p = &callbacks_; *p; p = &(*p)->next) {
        if (*p == node) {
            *p = node->next;
            found = true;
            break;
        }
    }
    unlock(w);
    return found;
}

bool StateBase::wait(const Deadline& deadline) {
    if (done()) return true;
    Parker& parker = current_parker();
    if (parker.helper) {
        // A pool worker: the awaited job is most often at the bottom of its
        // own deque (fork-join). Run queued work before paying for a Waker.
        while (!done() && !deadline.expired() && parker.helper->try_help()) {
        }
        if (done()) return true;
    } else {
        // A short call often finishes within microseconds; waking a parked
        // thread costs tens of them on a VM. Spin briefly before parking.
        if (spin_) {
            for (int i = 0; i < 512 && !done(); ++i) cpu_relax();
            if (done()) return true;
        } else if (RemoteWait hook = remote_wait_hook.load(std::memory_order_acquire)) {
            hook(*this, deadline);
            if (done()) return true;
        }
    }
    Waker waker(parker);
    uint32_t seen = parker.prepare();
    if (!add_callback(&waker)) return true;  // settled meanwhile; the waker already fired
    while (!done()) {
        if (deadline.expired()) break;
        parker.park(seen, deadline);
        seen = parker.prepare();
    }
    if (!remove_callback(&waker)) {
        // Detached for firing by the settling thread: wait until it is done
        // with the node, which lives in this frame.
        await_flag(waker.fired);
    }
    return done();
}

// ---- parking ---------------------------------------------------------------

namespace {
thread_local Parker t_own_parker;
thread_local Parker* t_parker = nullptr;
}  // namespace

Parker& current_parker() noexcept { return t_parker ? *t_parker : t_own_parker; }

void set_current_parker(Parker* p) noexcept { t_parker = p; }

void Parker::park(uint32_t seen, const Deadline& deadline) {
    if (helper) {
        helper->help_or_park(*this, seen, deadline);
        return;
    }
    sleep(seen, deadline);
}

}  // namespace concur::detail
