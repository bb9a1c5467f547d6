// Barrier: CPython's threading.Barrier, line for line where it can be. See
// barrier.hpp for the states.
#include "concur/threading/barrier.hpp"

#include <mutex>

#include "concur/errors.hpp"

namespace concur::threading {

Barrier::Barrier(int parties, std::function<void()> action,
                 std::optional<std::chrono::nanoseconds> timeout)
    : action_(std::move(action)), timeout_(timeout), parties_(parties) {
    if (parties < 1) throw ValueError("parties must be >= 1");
    if (timeout && *timeout < timeout->zero())
        throw ValueError("timeout must be a non-negative duration");
}

int Barrier::wait_impl(std::optional<std::chrono::nanoseconds> timeout) {
    std::unique_lock lk(cond_);
    enter();  // blocks while the previous round drains
    int index = count_++;
    // Python's `finally: self._count -= 1; self._exit()`.
    struct Leave {
        Barrier* b;
        ~Leave() {
            --b->count_;
            b->exit();
        }
    } leave{this};
    if (index + 1 == parties_)
        release_all();
    else
        wait_release(timeout);
    return index;
}

void Barrier::enter() {
    while (state_ == State::draining || state_ == State::resetting) cond_.wait();
    if (state_ == State::broken) throw BrokenBarrierError();
}

void Barrier::release_all() {
    try {
        if (action_) action_();
        state_ = State::draining;
        cond_.notify_all();
    } catch (...) {
        break_barrier();
        throw;
    }
}

void Barrier::wait_release(std::optional<std::chrono::nanoseconds> timeout) {
    auto released = [this] { return state_ != State::filling; };
    bool ok = timeout ? cond_.wait_for(released, *timeout) : cond_.wait_for(released);
    if (!ok) {
        break_barrier();
        throw BrokenBarrierError();
    }
    if (state_ == State::broken || state_ == State::resetting) throw BrokenBarrierError();
}

void Barrier::exit() {
    if (count_ == 0 && (state_ == State::resetting || state_ == State::draining)) {
        state_ = State::filling;
        cond_.notify_all();
    }
}

void Barrier::reset() {
    std::lock_guard lk(cond_);
    if (count_ > 0) {
        // Waiting threads leave with BrokenBarrierError; the last one out
        // (exit()) makes it fill again.
        if (state_ == State::filling || state_ == State::broken) state_ = State::resetting;
    } else {
        state_ = State::filling;
    }
    cond_.notify_all();
}

void Barrier::abort() {
    std::lock_guard lk(cond_);
    break_barrier();
}

void Barrier::break_barrier() {
    state_ = State::broken;
    cond_.notify_all();
}

int Barrier::n_waiting() {
    std::lock_guard lk(cond_);
    return state_ == State::filling ? count_ : 0;
}

bool Barrier::broken() {
    std::lock_guard lk(cond_);
    return state_ == State::broken;
}

}  // namespace concur::threading
