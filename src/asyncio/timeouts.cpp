// Python's asyncio.Timeout state machine (Lib/asyncio/timeouts.py).
#include "concur/asyncio/timeouts.hpp"

namespace concur::asyncio {

Timeout::Timeout(std::optional<Clock::time_point> when) : task_(detail::TaskBase::current()) {
    if (!task_) throw RuntimeError("asyncio::timeout() must be used inside a task");
    cancelling_ = task_->cancelling();
    timer_.owner = this;
    timer_.fire = [](detail::TimerEntry* t) noexcept { static_cast<Timer*>(t)->owner->on_timeout(); };
    reschedule(when);
}

void Timeout::reschedule(std::optional<Clock::time_point> when) {
    if (state_ != State::entered)
        throw RuntimeError("cannot reschedule a timeout that has expired or ended");
    disarm();
    when_ = when;
    if (!when) return;
    // A deadline already past still fires through the loop, never inline:
    // the body gets CancelledError at its first suspension point.
    timer_.when = *when;
    task_->loop()->add_timer(&timer_);
}

void Timeout::disarm() noexcept {
    if (timer_.queued() && task_->loop()) task_->loop()->cancel_timer(&timer_);
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
