// TaskGroup, following CPython's Lib/asyncio/taskgroups.py step by step.
#include "concur/asyncio/taskgroup.hpp"

namespace concur::asyncio {

// Suspends the exiting body until the last child is done. Cancelling the
// parent ends the wait with CancelledError (the caller then aborts).
struct TaskGroup::AllDone : detail::Suspension {
    TaskGroup* g;
    bool cancelled = false;
    explicit AllDone(TaskGroup* group) noexcept : g(group) {}
    ~AllDone() { g->exit_waiter_ = nullptr; }
    bool await_ready() const noexcept { return g->children_.empty(); }
    void await_suspend(std::coroutine_handle<> h) {
        g->exit_waiter_ = g->parent_;
        cancel = [](detail::Suspension* s, const std::string*) noexcept {
            auto* self = static_cast<AllDone*>(s);
            self->cancelled = true;
            self->g->exit_waiter_ = nullptr;
            self->g->parent_->wakeup();
            return true;
        };
        g->parent_->suspend(h, this);
    }
    void await_resume() {
        g->parent_->check_cancel();
        if (cancelled) g->parent_->raise_cancelled();
    }
};

TaskGroup::TaskGroup() : parent_(detail::TaskBase::current()) {
    if (!parent_) throw RuntimeError("a TaskGroup must be used inside a task");
}

TaskGroup::~TaskGroup() {
    // Only reached with children left if the body's task was destroyed
    // mid-way (loop closed): unhook so their completion cannot touch us,
    // and drop the references adopt() took (else their frames leak).
    for (Child& c : children_) {
        c.task->remove_done_node(&c);
        c.task->release();
    }
}

void TaskGroup::check_open() const {
    if (!entered_ || (exiting_ && children_.empty())) throw RuntimeError("this TaskGroup is finished");
    if (aborting_) throw RuntimeError("this TaskGroup is shutting down");
}

void TaskGroup::adopt(detail::TaskBase* t) {
    children_.emplace_back();
    Child& c = children_.back();
    c.group = this;
    c.task = t;
    c.self = std::prev(children_.end());
    c.fire = [](detail::DoneNode* n) noexcept {
        auto* c = static_cast<Child*>(n);
        c->group->on_child_done(*c);
    };
    // The group keeps its children alive until they finish; taken before
    // the done check too, since on_child_done() always drops it.
    t->retain();
    if (t->done()) {
        on_child_done(c);
        return;
    }
    t->add_done_node(&c);
}

void TaskGroup::on_child_done(Child& c) noexcept {
    detail::TaskBase* t = c.task;
    children_.erase(c.self);
    if (children_.empty() && exit_waiter_) {
        exit_waiter_ = nullptr;
        parent_->wakeup();
    }
    if (!t->cancelled() && t->has_error()) {
        errors_.push_back(t->take_error());
        if (!aborting_ && !parent_cancel_requested_) {
            abort();
            parent_cancel_requested_ = true;
            parent_->cancel();
        }
    }
    t->release();
}

void TaskGroup::abort() noexcept {
    aborting_ = true;
    for (Child& c : children_) {
        if (!c.task->done()) c.task->cancel();
    }
}

Task<> TaskGroup::exit(std::exception_ptr body_error) {
    exiting_ = true;
    bool body_cancelled = false;
    if (body_error) {
        try {
            std::rethrow_exception(body_error);
        } catch (const CancelledError&) {
            body_cancelled = true;
        } catch (...) {
        }
    }
    std::exception_ptr propagate_cancel = body_cancelled ? body_error : nullptr;
    if (body_error && !aborting_) abort();
    while (!children_.empty()) {
        try {
            co_await AllDone(this);
        } catch (const CancelledError&) {
            if (!aborting_) {
                propagate_cancel = std::current_exception();
                abort();
            }
        }
    }
    entered_ = false;
    // Our own cancel() of the parent (after a child failed) is taken back
    // once every child is done, wherever it happened; if nobody else
    // cancelled the parent, the CancelledError it caused stops here.
    if (parent_cancel_requested_ && parent_->uncancel() == 0) propagate_cancel = nullptr;
    if (propagate_cancel && errors_.empty()) std::rethrow_exception(propagate_cancel);
    if (body_error && !body_cancelled) errors_.push_back(body_error);
    if (!errors_.empty()) {
        // The errors win over a cancellation from outside, but that
        // cancellation must not be lost: uncancel + cancel leaves the count
        // as it was and makes the parent's next await raise CancelledError
        // (Python 3.13's TaskGroup._aexit).
        if (parent_->cancelling() > 0) {
            parent_->uncancel();
            parent_->cancel();
        }
        throw ExceptionGroup("unhandled errors in a TaskGroup", std::move(errors_));
    }
}

}  // namespace concur::asyncio
