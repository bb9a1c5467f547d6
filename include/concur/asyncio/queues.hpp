// Python's asyncio queues (Lib/asyncio/queues.py, 3.13): Queue, LifoQueue and
// PriorityQueue, for passing items between tasks of one event loop.
//
//   producer tasks                                        consumer tasks
//   co_await q.put(x) --> [ store: ring / stack / heap ] --> co_await q.get()
//     suspends while full       |  an item wakes the first   suspends while empty
//     (putters, FIFO)           |  getter; a freed slot the
//                               |  first putter
//   co_await q.join() <-------- unfinished tasks: +1 per put, -1 per task_done()
//
// Python -> C++:
//   q = asyncio.Queue(maxsize=10)        asyncio::Queue<Job> q{10};
//   await q.put(job)                     co_await q.put(std::move(job));
//   job = await q.get()                  Job job = co_await q.get();
//   q.put_nowait(job) / q.get_nowait()   q.put_nowait(std::move(job)); / q.get_nowait();
//   except asyncio.QueueFull / Empty     catch (const asyncio::QueueFull&) / QueueEmpty
//   q.task_done(); await q.join()        q.task_done(); co_await q.join();
//   q.shutdown(immediate=True)           q.shutdown(true);
//   except asyncio.QueueShutDown         catch (const asyncio::QueueShutDown&)
//   asyncio.PriorityQueue()              asyncio::PriorityQueue<std::pair<int, Job>>
//
// As in Python, a woken getter takes its item only when it runs: the item
// stays in the queue until then, so a getter cancelled meanwhile loses
// nothing (it passes its wake-up on), and a task that calls get() in between
// may take the item first; the woken getter then waits again at the tail.
// Putters behave the same way with free slots.
//
// Where C++ differs: put(x) refers to x until the co_await finishes, so await
// it in the same expression (co_await q.put(x)); if it throws (CancelledError,
// QueueShutDown) x was not moved from, so a move-only item is not lost.
// PriorityQueue takes a comparator (smallest first, as heapq; the opposite of
// std::priority_queue). maxsize is fixed at construction; <= 0 is unbounded.
//
// A queue belongs to the event loop of the first task that waits on it and is
// used on that loop's thread only (for threads, see concur::queue). The
// uncontended put() and get() neither allocate (the ring grows only when it
// is full) nor suspend; waiters are their awaiters, in the coroutine frames.
#pragma once

#include <coroutine>
#include <cstddef>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "concur/asyncio/locks.hpp"
#include "concur/errors.hpp"
#include "concur/queue/basic_queue.hpp"

namespace concur::asyncio {

namespace detail {

// First in, first out on a ring buffer whose capacity (a power of two) only
// grows, so a queue in steady use does not allocate (std::deque would, per
// block). T needs only a move constructor.
template <class T>
class RingStore {
public:
    RingStore() = default;
    RingStore(const RingStore&) = delete;
    RingStore& operator=(const RingStore&) = delete;
    ~RingStore() {
        while (head_ != tail_) slot(head_++)->~T();
        if (buf_) std::allocator<T>().deallocate(buf_, cap_);
    }

    bool empty() const noexcept { return head_ == tail_; }
    std::size_t size() const noexcept { return tail_ - head_; }
    template <class U>
    void push(U&& item) {
        if (size() == cap_) grow();
        ::new (static_cast<void*>(slot(tail_))) T(std::forward<U>(item));
        ++tail_;
    }
    T pop() {
        T* p = slot(head_);
        T item(std::move(*p));
        p->~T();
        ++head_;
        return item;
    }

private:
    T* slot(std::size_t i) const noexcept { return buf_ + (i & (cap_ - 1)); }
    void grow() {
        std::size_t n = size();
        std::size_t cap = cap_ ? cap_ * 2 : 16;
        T* buf = std::allocator<T>().allocate(cap);
        std::size_t moved = 0;
        try {
            for (; moved < n; ++moved) ::new (static_cast<void*>(buf + moved)) T(std::move_if_noexcept(*slot(head_ + moved)));
        } catch (...) {
            for (std::size_t i = 0; i < moved; ++i) buf[i].~T();
            std::allocator<T>().deallocate(buf, cap);
            throw;
        }
        for (std::size_t i = head_; i != tail_; ++i) slot(i)->~T();
        if (buf_) std::allocator<T>().deallocate(buf_, cap_);
        buf_ = buf;
        cap_ = cap;
        head_ = 0;
        tail_ = n;
    }

    T* buf_ = nullptr;
    std::size_t cap_ = 0;
    std::size_t head_ = 0;  // head_ and tail_ only grow; slot() wraps them
    std::size_t tail_ = 0;
};

inline bool cannot_cancel(Suspension*, const std::string*) noexcept { return false; }
// What a resumed queue waiter leaves its task suspended "on" until the task
// suspends elsewhere: cancel() then arms the next suspension point, as when a
// task has no waiter at all.
inline constinit Suspension no_waiter{&cannot_cancel};

// A getter or putter of a queue. Unlike a lock's waiter, a woken one does not
// resume its coroutine outright: when its turn to run comes, it looks at the
// queue again (Python's `while self.empty(): ... await getter` loop) and, if
// another task took the item or slot meanwhile, waits again at the tail
// without ever resuming the coroutine.
//
// States (see WaitNode): waiting (linked) -> woken (unlinked, "in transit":
// its arrive() is on the ready queue) -> resumed, or back to waiting.
class QueueWaiter : public WaitNode {
public:
    // Python's _wakeup_next: unlinks waiters from the head until it finds one
    // still waiting, and sends that one in transit.
    static void wakeup_next(WaitList& l) {
        while (WaitNode* n = l.front()) {
            l.remove(n);
            if (n->state == State::waiting && static_cast<QueueWaiter*>(n)->transit()) return;
        }
    }
    // shutdown(): every waiter goes in transit (and will find the queue shut).
    static void wakeup_all(WaitList& l) {
        while (WaitNode* n = l.front()) {
            l.remove(n);
            if (n->state == State::waiting) static_cast<QueueWaiter*>(n)->transit();
        }
    }

protected:
    using MustWait = bool (*)(QueueWaiter* self) noexcept;
    QueueWaiter() noexcept { Suspension::cancel = &cancel_queue_wait; }

    void wait_on(WaitList& l, TaskBase* t, std::coroutine_handle<> h, MustWait must_wait) {
        handle_ = h;
        home_ = &l;
        must_wait_ = must_wait;
        WaitNode::wait_on(l, t, h);
    }
    // Python's `except: ... if <item or slot left> and not fut.cancelled():
    // self._wakeup_next(...)` after a CancelledError at `await fut`.
    bool was_cancelled_waiting() const noexcept { return state == State::cancelled; }

private:
    // Python's fut.set_result(None): arrive() runs where the task's step
    // would. False if the task's loop has closed (the task was abandoned but
    // a handle keeps its frame, and so this node, alive): it never runs again.
    bool transit() {
        EventLoop* loop = task->loop();
        if (!loop) return false;
        state = State::woken;
        loop->push_ready(&arrive, this);
        return true;
    }
    static void arrive(void* self) noexcept {
        auto* w = static_cast<QueueWaiter*>(self);
        if (!w->cancel_after_wake_ && w->must_wait_(w)) {
            w->state = State::waiting;
            w->home_->push_back(w);  // the task stays suspended on this node
            return;
        }
        w->task->suspend(w->handle_, &no_waiter);
        TaskBase::step(w->task);  // may destroy *w
    }
    // In transit the wait can no longer be cancelled (Python's future is
    // done): the task will see CancelledError when it resumes instead.
    static bool cancel_queue_wait(Suspension* s, const std::string* msg) noexcept {
        auto* w = static_cast<QueueWaiter*>(s);
        if (w->state == State::woken) {
            w->cancel_after_wake_ = true;
            return false;
        }
        return cancel_waiting(s, msg);
    }

    std::coroutine_handle<> handle_;
    WaitList* home_ = nullptr;
    MustWait must_wait_ = nullptr;
    bool cancel_after_wake_ = false;
};

// Python's asyncio.Queue with its _init/_get/_put hooks as a `Store` policy
// (RingStore, queue::detail::LifoStore, queue::detail::HeapStore). Users name
// Queue, LifoQueue and PriorityQueue. Every member: loop thread only.
template <class T, class Store>
class BasicQueue {
    template <class R>
    class PutAwaiter;
    class GetAwaiter;
    class JoinAwaiter;

public:
    using value_type = T;

    BasicQueue(const BasicQueue&) = delete;
    BasicQueue& operator=(const BasicQueue&) = delete;

    // Items in the queue now.
    std::size_t qsize() const noexcept { return store_.size(); }
    // The bound given at construction; <= 0: unbounded.
    std::ptrdiff_t maxsize() const noexcept { return maxsize_; }
    bool empty() const noexcept { return store_.empty(); }
    // True if maxsize items are queued (never for an unbounded queue).
    bool full() const noexcept {
        return maxsize_ > 0 && store_.size() >= static_cast<std::size_t>(maxsize_);
    }

    // co_await q.put(item): adds the item, first suspending while the queue
    // is full (putters are woken in FIFO order as slots free up). Throws
    // QueueShutDown if the queue is or becomes shut down, CancelledError if
    // the task is cancelled while it waits; in both cases `item` is left as
    // it was. RuntimeError if it must wait outside a task or on another loop
    // than the queue's. Refers to `item` until then: await it at once.
    [[nodiscard]] PutAwaiter<const T&> put(const T& item) noexcept { return PutAwaiter<const T&>(*this, item); }
    [[nodiscard]] PutAwaiter<T&&> put(T&& item) noexcept { return PutAwaiter<T&&>(*this, std::move(item)); }

    // Adds the item now and wakes the first waiting getter. Never suspends.
    // Throws QueueShutDown after shutdown(), QueueFull if full; `item` is then
    // left as it was.
    void put_nowait(const T& item) { put_now(item); }
    void put_nowait(T&& item) { put_now(std::move(item)); }

    // co_await q.get(): removes and gives the next item, first suspending
    // while the queue is empty. Throws QueueShutDown once the queue is shut
    // down and empty; CancelledError if the task is cancelled while it waits
    // (the item it was woken for stays queued, for the next getter);
    // RuntimeError if it must wait outside a task or on another loop.
    [[nodiscard]] GetAwaiter get() noexcept { return GetAwaiter(*this); }

    // Removes and returns the next item now, and wakes the first waiting
    // putter. Never suspends. Throws QueueEmpty if there is none, or
    // QueueShutDown if there is none and the queue is shut down.
    T get_nowait() {
        if (store_.empty()) {
            if (shutdown_) throw QueueShutDown();
            throw QueueEmpty();
        }
        T item = store_.pop();
        QueueWaiter::wakeup_next(putters_);
        return item;
    }

    // Marks one item taken by get() as processed; when every item put has
    // been, join() returns. Throws ValueError if called more times than
    // items were put.
    void task_done() {
        if (unfinished_ == 0) throw ValueError("task_done() called too many times");
        if (--unfinished_ == 0) finished_.set();
    }

    // co_await q.join(): suspends until task_done() has been called for
    // every item put (does not suspend if that holds now). Throws
    // CancelledError if the task is cancelled while it waits.
    [[nodiscard]] JoinAwaiter join() noexcept { return JoinAwaiter(finished_); }

    // Python 3.13's shutdown: put() and put_nowait() throw QueueShutDown from
    // now on, and so do get() and get_nowait() once the queue is empty.
    // Every waiting getter and putter is woken (putters and getters that
    // find nothing throw QueueShutDown). With `immediate`, the queue is
    // emptied first, each dropped item counting as done for join(). Never
    // suspends.
    void shutdown(bool immediate = false) {
        shutdown_ = true;
        if (immediate) {
            while (!store_.empty()) {
                (void)store_.pop();
                if (unfinished_ > 0) --unfinished_;
            }
            if (unfinished_ == 0) finished_.set();
        }
        QueueWaiter::wakeup_all(getters_);
        QueueWaiter::wakeup_all(putters_);
    }

protected:
    template <class... StoreArgs>
    explicit BasicQueue(std::ptrdiff_t maxsize, StoreArgs&&... store_args)
        : store_(std::forward<StoreArgs>(store_args)...), maxsize_(maxsize) {
        finished_.set();
    }
    ~BasicQueue() = default;

private:
    template <class U>
    void put_now(U&& item) {
        if (shutdown_) throw QueueShutDown();
        if (full()) throw QueueFull();
        store_.push(std::forward<U>(item));
        ++unfinished_;
        finished_.clear();
        QueueWaiter::wakeup_next(getters_);
    }

    template <class R>  // const T& or T&&
    class PutAwaiter : public QueueWaiter {
    public:
        PutAwaiter(BasicQueue& q, R item) noexcept : q_(&q), item_(static_cast<R>(item)) {}
        bool await_ready() const noexcept { return !q_->full() || q_->shutdown_; }
        void await_suspend(std::coroutine_handle<> h) {
            TaskBase* t = waiting_task("asyncio::Queue::put()");
            q_->loop_.check(t->loop(), "asyncio::Queue");
            wait_on(q_->putters_, t, h, &must_wait);
        }
        void await_resume() {
            if (state != State::idle) {
                try {
                    end_wait();
                } catch (...) {
                    if (!q_->full() && !was_cancelled_waiting()) wakeup_next(q_->putters_);
                    throw;
                }
            }
            q_->put_now(static_cast<R>(item_));
        }

    private:
        static bool must_wait(QueueWaiter* self) noexcept {
            BasicQueue* q = static_cast<PutAwaiter*>(self)->q_;
            return q->full() && !q->shutdown_;
        }
        BasicQueue* q_;
        R item_;
    };

    class GetAwaiter : public QueueWaiter {
    public:
        explicit GetAwaiter(BasicQueue& q) noexcept : q_(&q) {}
        bool await_ready() const noexcept { return !q_->store_.empty() || q_->shutdown_; }
        void await_suspend(std::coroutine_handle<> h) {
            TaskBase* t = waiting_task("asyncio::Queue::get()");
            q_->loop_.check(t->loop(), "asyncio::Queue");
            wait_on(q_->getters_, t, h, &must_wait);
        }
        T await_resume() {
            if (state != State::idle) {
                try {
                    end_wait();
                } catch (...) {
                    if (!q_->store_.empty() && !was_cancelled_waiting()) wakeup_next(q_->getters_);
                    throw;
                }
            }
            return q_->get_nowait();
        }

    private:
        static bool must_wait(QueueWaiter* self) noexcept {
            BasicQueue* q = static_cast<GetAwaiter*>(self)->q_;
            return q->store_.empty() && !q->shutdown_;
        }
        BasicQueue* q_;
    };

    // join() is Python's `await self._finished.wait()`: the event is set
    // exactly when no task is unfinished.
    class JoinAwaiter : public EventWait {
    public:
        using EventWait::EventWait;
        void await_resume() { EventWait::await_resume(); }
    };

    Store store_;
    WaitList getters_;
    WaitList putters_;
    Event finished_;
    LoopBinding loop_;
    std::ptrdiff_t maxsize_;
    std::size_t unfinished_ = 0;
    bool shutdown_ = false;
};

}  // namespace detail

// Python's asyncio.Queue: first in, first out.
template <class T>
class Queue : public detail::BasicQueue<T, detail::RingStore<T>> {
public:
    // maxsize <= 0 means unbounded.
    explicit Queue(std::ptrdiff_t maxsize = 0) : detail::BasicQueue<T, detail::RingStore<T>>(maxsize) {}
};

// Python's asyncio.LifoQueue: last in, first out; otherwise as Queue.
template <class T>
class LifoQueue : public detail::BasicQueue<T, concur::queue::detail::LifoStore<T>> {
public:
    explicit LifoQueue(std::ptrdiff_t maxsize = 0) : detail::BasicQueue<T, concur::queue::detail::LifoStore<T>>(maxsize) {}
};

// Python's asyncio.PriorityQueue: get() gives the smallest item under
// `Compare` (std::less: the smallest value, as heapq).
template <class T, class Compare = std::less<T>>
class PriorityQueue : public detail::BasicQueue<T, concur::queue::detail::HeapStore<T, Compare>> {
    using Base = detail::BasicQueue<T, concur::queue::detail::HeapStore<T, Compare>>;

public:
    explicit PriorityQueue(std::ptrdiff_t maxsize = 0, Compare compare = Compare())
        : Base(maxsize, std::move(compare)) {}
    explicit PriorityQueue(Compare compare) : Base(0, std::move(compare)) {}
};

}  // namespace concur::asyncio
