// Python's asyncio.Timeout state machine (Lib/asyncio/timeouts.py).
#include "concur/asyncio/timeouts.hpp"

namespace concur::asyncio {

Timeout::Timeout(std::optional<Clock::time_point> when) : task_(detail::TaskBase::current()) {
    if (!task_) throw RuntimeError("asyncio::timeout() must be used inside a task");
    cancelling_ = task_->cancelling();
    timer_.owner = this;
    // The expiry runs as a ready callback, after those already queued (as
    // Python's timer handles do), not inside the timer phase: a task whose
    // awaited result arrived in the previous iteration resumes with it
    // first, instead of being cancelled with its result already there.
    timer_.fire = [](detail::TimerEntry* t) noexcept {
        Timeout* self = static_cast<Timer*>(t)->owner;
        try {
            self->expiry_ = self->task_->loop()->call_soon([self] { self->on_timeout(); });
        } catch (...) {
            self->on_timeout();  // no memory for the handle: expire now
        }
    };
    reschedule(when);
}

void Timeout::reschedule(std::optional<Clock::time_point> when) {
    if (state_ != State::entered)
        throw RuntimeError("cannot reschedule a timeout that has expired or ended");
    disarm();
    when_ = when;
    if (!when) return;
    // A deadline already past still expires through the loop, never
    // inline: the body gets CancelledError at its first suspension point.
    // As Python, it is queued at once (call_soon), ahead of whatever the
    // body then schedules, so that even a bare sleep(0) is interrupted.
    if (*when <= Clock::now()) {
        expiry_ = task_->loop()->call_soon([this] { on_timeout(); });
        return;
    }
    timer_.when = *when;
    task_->loop()->add_timer(&timer_);
}

void Timeout::disarm() noexcept {
    if (timer_.queued() && task_->loop()) task_->loop()->cancel_timer(&timer_);
    expiry_.cancel();
    expiry_ = Handle();
}

void Timeout::on_timeout() noexcept {
    task_->cancel();
    state_ = State::expiring;
}

bool Timeout::exit(bool cancelled) noexcept {
    disarm();
    if (state_ == State::expiring) {
        state_ = State::expired;
        return task_->uncancel() <= cancelling_ && cancelled;
    }
    if (state_ == State::entered) state_ = State::exited;
    return false;
}

}  // namespace concur::asyncio
