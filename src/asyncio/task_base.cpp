// Task and Future state transitions (Python's asyncio/tasks.py and
// futures.py semantics) and the coroutine frame cache.
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "concur/asyncio/task.hpp"

namespace concur::asyncio::detail {

// ---- FutureBase -------------------------------------------------------

FutureBase::~FutureBase() { delete cancel_msg_; }

std::exception_ptr FutureBase::make_cancelled_error() const noexcept {
    // A task that ended by letting CancelledError escape keeps that very
    // exception, as Python keeps task._cancelled_exc.
    if (state_ == State::cancelled && error_) return error_;
    try {
        return std::make_exception_ptr(cancel_msg_ ? CancelledError(*cancel_msg_) : CancelledError());
    } catch (...) {
        return std::current_exception();
    }
}

void FutureBase::set_cancel_message(const std::string* msg) {
    if (!msg) return;
    if (cancel_msg_) *cancel_msg_ = *msg; else cancel_msg_ = new std::string(*msg);
}

void FutureBase::report_unretrieved(const char* what) noexcept {
    ExceptionContext ctx;
    try {
        ctx.message = what;
    } catch (...) {
    }
    ctx.exception = error_;
    EventLoop* l = running_loop();
    if (l && l == loop_) l->call_exception_handler(ctx);
    else EventLoop::default_exception_handler(ctx);
}

// ---- TaskBase ---------------------------------------------------------

bool TaskBase::cancel(const std::string* msg) {
    if (done()) return false;
    ++num_cancels_;
    set_cancel_message(msg);
    if (waiter_ && waiter_->cancel(waiter_, msg)) return true;
    must_cancel_ = true;
    return true;
}

std::string TaskBase::name() const {
    if (name_) return *name_;
    return "Task-" + std::to_string(number_);
}

void TaskBase::set_name(std::string name) {
    if (name_) *name_ = std::move(name); else name_ = new std::string(std::move(name));
}

void TaskBase::start_as_task(EventLoop& loop) {
    if (is_task_ || started_) throw RuntimeError("create_task(): the coroutine was already started");
    loop_ = &loop;
    is_task_ = true;
    number_ = loop.next_task_number();
    retain();  // the loop's reference, dropped when the task finishes
    loop.link_task(this);
    loop.push_ready(&step, this);
}

void TaskBase::step(void* self) noexcept {
    auto* t = static_cast<TaskBase*>(self);
    if (!t->started_) {
        t->started_ = true;
        if (t->must_cancel_) {  // cancelled before its first step: never runs
            t->must_cancel_ = false;
            t->ended_cancelled_ = true;
            t->finish();
            return;
        }
    }
    EventLoop* loop = t->loop_;
    TaskBase* outer = loop->current_task();
    loop->set_current_task(t);
    t->resume_.resume();  // may destroy *t
    loop->set_current_task(outer);
}

void TaskBase::store_exception() noexcept {
    error_ = std::current_exception();
    if (!is_task_) return;
    try {
        throw;
    } catch (const CancelledError&) {
        ended_cancelled_ = true;
    } catch (...) {
    }
}

std::coroutine_handle<> TaskBase::finish() noexcept {
    State s = ended_cancelled_ ? State::cancelled : State::finished;
    // A task cancelled right before its coroutine returned ends cancelled,
    // not with the value (Python's __step: StopIteration with _must_cancel).
    // An exception still wins over the pending cancellation, as there.
    if (is_task_ && must_cancel_ && !error_) {
        must_cancel_ = false;
        s = State::cancelled;
    }
    if (!is_task_) {
        settle(s);
        return resume_;  // the awaiter (set when it started us)
    }
    if (loop_) loop_->unlink_task(this);
    settle(s);
    release();  // may destroy the frame: nothing may touch *this after it
    return std::noop_coroutine();
}

void TaskBase::abandon() noexcept {
    if (done()) return;
    ended_cancelled_ = true;
    loop_->unlink_task(this);
    settle(State::cancelled);
    loop_ = nullptr;
    release();
}

void TaskBase::destroy() noexcept {
    if (is_task_ && has_error() && !retrieved_) report_unretrieved("Task exception was never retrieved");
    if (is_task_ && !done() && started_) {
        ExceptionContext ctx;
        ctx.message = "Task was destroyed but it is pending!";
        EventLoop::default_exception_handler(ctx);
    }
    delete name_;
    name_ = nullptr;
    self_.destroy();
}

// ---- frame cache -------------------------------------------------------
// Per-thread free lists in 16-byte classes up to 1 KiB: a coroutine frame is
// reused by the next one of its size. Fine classes keep a parked task small
// (a coarse class would round every frame up); bounded so that a burst does
// not pin memory.

namespace {
constexpr std::size_t kGranule = 16;
constexpr std::size_t kClasses = 64;
constexpr std::size_t kMaxCachedPerClass = 4096;

struct FreeBlock {
    FreeBlock* next;
};

struct FrameCache {
    FreeBlock* heads[kClasses] = {};
    std::size_t counts[kClasses] = {};
    ~FrameCache() {
        for (auto*& h : heads) {
            while (h) {
                FreeBlock* n = h->next;
                ::operator delete(h);
                h = n;
            }
        }
    }
};
thread_local FrameCache cache;

std::size_t size_class(std::size_t size) noexcept { return (size + kGranule - 1) / kGranule - 1; }
}  // namespace

// Sanitizer builds bypass the cache so that a use after free is caught.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kUseCache = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kUseCache = false;
#else
constexpr bool kUseCache = true;
#endif
#else
constexpr bool kUseCache = true;
#endif

void* allocate_frame(std::size_t size) {
    if (!kUseCache) return ::operator new(size);
    std::size_t c = size_class(size);
    if (c < kClasses) {
        if (FreeBlock* b = cache.heads[c]) {
            cache.heads[c] = b->next;
            --cache.counts[c];
            return b;
        }
        return ::operator new((c + 1) * kGranule);
    }
    return ::operator new(size);
}

void free_frame(void* p, std::size_t size) noexcept {
    if (!kUseCache) return ::operator delete(p);
    std::size_t c = size_class(size);
    if (c < kClasses && cache.counts[c] < kMaxCachedPerClass) {
        auto* b = static_cast<FreeBlock*>(p);
        b->next = cache.heads[c];
        cache.heads[c] = b;
        ++cache.counts[c];
        return;
    }
    ::operator delete(p);
}

}  // namespace concur::asyncio::detail

namespace concur::asyncio {

std::vector<TaskRef> all_tasks() {
    std::vector<TaskRef> out;
    EventLoop& loop = get_running_loop();
    for (detail::TaskBase* t = loop.tasks_head(); t; t = t->next_task) out.emplace_back(t);
    return out;
}

}  // namespace concur::asyncio
