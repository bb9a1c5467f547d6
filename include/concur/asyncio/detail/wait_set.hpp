// One awaiter behind gather, wait and as_completed's bookkeeping: suspends a
// task until a set of tasks reaches a condition (all done, first done, first
// failed) or a deadline passes. No allocation per task beyond one array of
// done-callback nodes.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "concur/asyncio/detail/task_base.hpp"

namespace concur::asyncio {

// Python's asyncio.FIRST_COMPLETED / FIRST_EXCEPTION / ALL_COMPLETED.
enum class ReturnWhen { FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED };
inline constexpr ReturnWhen FIRST_COMPLETED = ReturnWhen::FIRST_COMPLETED;
inline constexpr ReturnWhen FIRST_EXCEPTION = ReturnWhen::FIRST_EXCEPTION;
inline constexpr ReturnWhen ALL_COMPLETED = ReturnWhen::ALL_COMPLETED;

namespace detail {

class WaitSet : public Suspension {
public:
    struct Options {
        ReturnWhen when = ReturnWhen::ALL_COMPLETED;
        // A cancelled task counts as failed for FIRST_EXCEPTION (gather's
        // rule; asyncio.wait counts only exceptions).
        bool cancelled_is_error = false;
        // Cancelling the waiting task cancels the awaited ones (gather), or
        // only ends the wait (wait).
        bool cancel_children = false;
        std::optional<Clock::time_point> deadline = {};
    };

    WaitSet(std::vector<TaskBase*> items, Options o) : items_(std::move(items)), opt_(o) {}
    WaitSet(const WaitSet&) = delete;
    ~WaitSet() { detach(); }

    bool await_ready() {
        for (std::size_t i = 0; i < items_.size(); ++i) {
            if (items_[i]->done()) {
                ++done_;
                if (failed(items_[i]) && first_error_ == kNone) first_error_ = i;
            }
        }
        return satisfied() || (opt_.deadline && *opt_.deadline <= Clock::now());
    }

    void await_suspend(std::coroutine_handle<> h) {
        task_ = TaskBase::current();
        if (!task_) throw RuntimeError("asyncio: awaiting outside a task");
        nodes_ = std::make_unique<Node[]>(items_.size());
        for (std::size_t i = 0; i < items_.size(); ++i) {
            if (items_[i]->done()) continue;
            Node& n = nodes_[i];
            n.owner = this;
            n.index = i;
            n.fire = &on_done;
            items_[i]->add_done_node(&n);
        }
        if (opt_.deadline) {
            timer_.owner = this;
            timer_.when = *opt_.deadline;
            timer_.fire = [](TimerEntry* t) noexcept {
                auto* self = static_cast<Timer*>(t)->owner;
                self->timed_out_ = true;
                self->wake();
            };
            task_->loop()->add_timer(&timer_);
        }
        Suspension::cancel = &on_cancel;
        task_->suspend(h, this);
    }

    // Returns normally when the condition holds or the deadline passed;
    // throws CancelledError if the waiting task was cancelled.
    void await_resume() {
        detach();
        if (task_) task_->check_cancel();
        if (cancelled_) task_->raise_cancelled();
    }

    bool timed_out() const noexcept { return timed_out_; }
    // Index of the first task that failed (in completion order), if any.
    std::optional<std::size_t> first_error() const noexcept {
        if (first_error_ == kNone) return std::nullopt;
        return first_error_;
    }
    bool cancel_requested() const noexcept { return cancel_requested_; }

private:
    static constexpr std::size_t kNone = ~std::size_t{0};
    struct Node : DoneNode {
        WaitSet* owner = nullptr;
        std::size_t index = 0;
    };
    struct Timer : TimerEntry {
        WaitSet* owner = nullptr;
    };

    bool failed(TaskBase* t) const noexcept {
        return t->has_error() || (opt_.cancelled_is_error && t->cancelled());
    }
    bool satisfied() const noexcept {
        if (done_ == items_.size()) return true;
        switch (opt_.when) {
            case ReturnWhen::FIRST_COMPLETED: return done_ > 0;
            case ReturnWhen::FIRST_EXCEPTION: return first_error_ != kNone;
            case ReturnWhen::ALL_COMPLETED: return false;
        }
        return false;
    }
    static void on_done(DoneNode* dn) noexcept {
        auto* n = static_cast<Node*>(dn);
        WaitSet* self = n->owner;
        ++self->done_;
        if (self->failed(self->items_[n->index]) && self->first_error_ == kNone)
            self->first_error_ = n->index;
        if (self->satisfied()) self->wake();
    }
    static bool on_cancel(Suspension* s, const std::string* msg) noexcept {
        auto* self = static_cast<WaitSet*>(s);
        if (!self->opt_.cancel_children) {
            self->cancelled_ = true;
            self->wake();
            return true;
        }
        // gather: the wait ends when the children have finished cancelling.
        bool any = false;
        for (TaskBase* t : self->items_) {
            if (t->cancel(msg)) any = true;
        }
        if (any) self->cancel_requested_ = true;
        return any;
    }
    void wake() noexcept {
        if (woken_) return;
        woken_ = true;
        task_->wakeup();
    }
    void detach() noexcept {
        if (nodes_) {
            for (std::size_t i = 0; i < items_.size(); ++i) items_[i]->remove_done_node(&nodes_[i]);
            nodes_.reset();
        }
        if (timer_.queued() && task_ && task_->loop()) task_->loop()->cancel_timer(&timer_);
    }

    std::vector<TaskBase*> items_;
    Options opt_;
    std::unique_ptr<Node[]> nodes_;
    Timer timer_;
    TaskBase* task_ = nullptr;
    std::size_t done_ = 0;
    std::size_t first_error_ = kNone;
    bool woken_ = false;
    bool timed_out_ = false;
    bool cancelled_ = false;
    bool cancel_requested_ = false;
};

}  // namespace detail
}  // namespace concur::asyncio
