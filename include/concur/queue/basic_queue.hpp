// The machinery shared by Queue, LifoQueue and PriorityQueue: CPython 3.13's
// Lib/queue.py Queue class, with its _init/_put/_get hooks turned into a
// `Store` policy (FifoStore, LifoStore, HeapStore) chosen at compile time.
//
//   producers                 BasicQueue (one mutex)                consumers
//   ---------        +------------------------------------+        ---------
//   put() --------->  | store_ (deque / vector / heap)    | ------> get()
//     waits on        |                                   |           waits on
//     not_full_ <---- | get() notifies one putter         |           not_empty_
//                     | put() notifies one getter ------> |
//                     | unfinished_tasks_: +1 per put()   |
//   join() <--------- | -1 per task_done(); 0 wakes all   | <------ task_done()
//     waits on        | joiners (all_tasks_done_)         |
//     all_tasks_done_ | is_shutdown_: shutdown() wakes    |
//                     | every waiter on all three         |
//                     +------------------------------------+
//
// Users include <concur/queue.hpp>; nothing here is meant to be named directly.
#pragma once

#include <algorithm>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "concur/detail/deadline.hpp"
#include "concur/errors.hpp"

namespace concur::queue::detail {

// Blocks on `cv` until notified, spuriously, or until `deadline` passes.
inline void wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                       const concur::detail::Deadline& deadline) {
    if (deadline.forever())
        cv.wait(lock);
    else
        cv.wait_until(lock, deadline.at());
}

// ---- stores: how items are kept; called only with the queue's mutex held ----
//
// If T's move constructor or (for HeapStore) the comparator throws, the
// exception propagates out of put()/get() and the queue stays usable, but the
// item order of a HeapStore is then unspecified.

// First in, first out (Python's deque.append / deque.popleft).
template <class T>
class FifoStore {
public:
    using container_type = std::deque<T>;

    bool empty() const noexcept { return items_.empty(); }
    std::size_t size() const noexcept { return items_.size(); }
    template <class U>
    void push(U&& item) { items_.emplace_back(std::forward<U>(item)); }
    T pop() {
        T item = std::move(items_.front());
        items_.pop_front();
        return item;
    }
    void swap(container_type& other) noexcept { items_.swap(other); }

private:
    container_type items_;
};

// Last in, first out (Python's list.append / list.pop).
template <class T>
class LifoStore {
public:
    using container_type = std::vector<T>;

    bool empty() const noexcept { return items_.empty(); }
    std::size_t size() const noexcept { return items_.size(); }
    template <class U>
    void push(U&& item) { items_.emplace_back(std::forward<U>(item)); }
    T pop() {
        T item = std::move(items_.back());
        items_.pop_back();
        return item;
    }
    void swap(container_type& other) noexcept { items_.swap(other); }

private:
    container_type items_;
};

// Smallest first under `Compare`, as Python's heapq. std::*_heap build a
// max-heap, so they are handed the comparator with its arguments swapped.
template <class T, class Compare>
class HeapStore {
public:
    using container_type = std::vector<T>;

    HeapStore() = default;
    explicit HeapStore(Compare compare) : compare_(std::move(compare)) {}

    bool empty() const noexcept { return items_.empty(); }
    std::size_t size() const noexcept { return items_.size(); }
    template <class U>
    void push(U&& item) {
        items_.emplace_back(std::forward<U>(item));
        std::push_heap(items_.begin(), items_.end(), reversed());
    }
    T pop() {
        std::pop_heap(items_.begin(), items_.end(), reversed());
        T item = std::move(items_.back());
        items_.pop_back();
        return item;
    }
    void swap(container_type& other) noexcept { items_.swap(other); }

private:
    auto reversed() {
        return [this](const T& a, const T& b) { return static_cast<bool>(compare_(b, a)); };
    }

    container_type items_;
    [[no_unique_address]] Compare compare_{};
};

// ---- the queue ----------------------------------------------------------

// CPython's queue.Queue with the item store as a policy. Every member may be
// called from any thread. Destroying the queue while another thread is still
// inside one of its members is undefined behaviour, as for any C++ object.
template <class T, class Store>
class BasicQueue {
    // A timeout argument that was not given (Python's timeout=None).
    using NoTimeout = const std::chrono::nanoseconds*;

public:
    using value_type = T;

    // maxsize <= 0 means unbounded, as in Python.
    explicit BasicQueue(std::ptrdiff_t maxsize = 0, Store store = Store())
        : store_(std::move(store)), maxsize_(maxsize) {}

    BasicQueue(const BasicQueue&) = delete;
    BasicQueue& operator=(const BasicQueue&) = delete;

    // Puts `item`, blocking on not_full until a slot is free (bounded queues
    // only). Throws ShutDown if the queue is or becomes shut down.
    //
    // Every put() overload leaves `item` untouched when it throws, so a
    // move-only value passed with std::move is still the caller's after Full
    // or ShutDown.
    template <class U = T>
        requires std::convertible_to<U&&, T>
    void put(U&& item) {
        put_impl(std::forward<U>(item), true, NoTimeout{});
    }

    // put(item, false) is put_nowait(item); put(item, true) is put(item).
    template <class U = T>
        requires std::convertible_to<U&&, T>
    void put(U&& item, bool block) {
        put_impl(std::forward<U>(item), block, NoTimeout{});
    }

    // Like put(item), but throws Full if no slot is free within `timeout`.
    // `timeout` is ignored when `block` is false. Throws ValueError for a
    // negative timeout on a bounded queue with block = true (as Python:
    // an unbounded queue never looks at the timeout), ShutDown as put().
    template <class U = T, class Rep, class Period>
        requires std::convertible_to<U&&, T>
    void put(U&& item, bool block, std::chrono::duration<Rep, Period> timeout) {
        put_impl(std::forward<U>(item), block, &timeout);
    }

    // put(item, timeout) is put(item, true, timeout): Python's put(item, timeout=t).
    template <class U = T, class Rep, class Period>
        requires std::convertible_to<U&&, T>
    void put(U&& item, std::chrono::duration<Rep, Period> timeout) {
        put_impl(std::forward<U>(item), true, &timeout);
    }

    // Puts `item` only if a slot is free now; never blocks (beyond the mutex).
    // Throws Full, or ShutDown after shutdown().
    template <class U = T>
        requires std::convertible_to<U&&, T>
    void put_nowait(U&& item) {
        put_impl(std::forward<U>(item), false, NoTimeout{});
    }

    // Removes and returns an item, blocking on not_empty until there is one.
    // Throws ShutDown once the queue is shut down and empty (at once after
    // shutdown(true)).
    T get() { return get_impl(true, NoTimeout{}); }

    // get(false) is get_nowait(); get(true) is get().
    T get(bool block) { return get_impl(block, NoTimeout{}); }

    // Like get(), but throws Empty if no item arrives within `timeout`.
    // `timeout` is ignored when `block` is false. Throws ValueError for a
    // negative timeout with block = true (even if an item is ready, as
    // Python), ShutDown as get().
    template <class Rep, class Period>
    T get(bool block, std::chrono::duration<Rep, Period> timeout) {
        return get_impl(block, &timeout);
    }

    // get(timeout) is get(true, timeout): Python's get(timeout=t).
    template <class Rep, class Period>
    T get(std::chrono::duration<Rep, Period> timeout) {
        return get_impl(true, &timeout);
    }

    // Removes and returns an item if one is ready; never blocks (beyond the
    // mutex). Throws Empty, or ShutDown if the queue is shut down and empty.
    T get_nowait() { return get_impl(false, NoTimeout{}); }

    // Marks one item returned by get() as processed; wakes every join()er
    // when none is left. Never blocks (beyond the mutex); works after
    // shutdown(). Throws ValueError if called more times than items were put.
    void task_done() {
        std::lock_guard lock(mutex_);
        if (unfinished_tasks_ == 0) throw ValueError("task_done() called too many times");
        if (--unfinished_tasks_ == 0) all_tasks_done_.notify_all();
    }

    // Blocks on all_tasks_done until every item ever put has been marked with
    // task_done() (or drained by shutdown(true)). Any thread; throws nothing.
    void join() {
        std::unique_lock lock(mutex_);
        all_tasks_done_.wait(lock, [this] { return unfinished_tasks_ == 0; });
    }

    // Python 3.13: puts throw ShutDown from now on, gets once the queue is
    // empty. Wakes every blocked put() (they throw ShutDown) and get() (they
    // take an item if one is left, else throw ShutDown). With `immediate`,
    // drops every queued item and counts each as task_done(), so join()
    // returns once the items already taken by get() are marked done.
    // Callable again (e.g. first false, then true). Never blocks (beyond the
    // mutex); throws nothing. Dropped items are destroyed after the mutex is
    // released, so their destructors may use the queue.
    void shutdown(bool immediate = false) {
        typename Store::container_type dropped;
        std::lock_guard lock(mutex_);
        is_shutdown_ = true;
        if (immediate) {
            unfinished_tasks_ -= std::min(unfinished_tasks_, store_.size());
            store_.swap(dropped);
            all_tasks_done_.notify_all();
        }
        // Every getter re-checks "shut down and empty"; every putter throws.
        not_empty_.notify_all();
        not_full_.notify_all();
    }

    // The number of items queued now; stale as soon as it returns.
    [[nodiscard]] std::size_t qsize() const {
        std::lock_guard lock(mutex_);
        return store_.size();
    }

    // qsize() == 0, with the same caveat.
    [[nodiscard]] bool empty() const {
        std::lock_guard lock(mutex_);
        return store_.empty();
    }

    // True when a bounded queue holds maxsize() items; same caveat.
    [[nodiscard]] bool full() const {
        std::lock_guard lock(mutex_);
        return full_locked();
    }

    // The bound given to the constructor (<= 0: unbounded).
    [[nodiscard]] std::ptrdiff_t maxsize() const noexcept { return maxsize_; }

    // Python's unfinished_tasks attribute: items put and not yet task_done().
    [[nodiscard]] std::size_t unfinished_tasks() const {
        std::lock_guard lock(mutex_);
        return unfinished_tasks_;
    }

    // Python's is_shutdown attribute.
    [[nodiscard]] bool is_shutdown() const {
        std::lock_guard lock(mutex_);
        return is_shutdown_;
    }

private:
    bool full_locked() const noexcept {
        return maxsize_ > 0 && store_.size() >= static_cast<std::size_t>(maxsize_);
    }

    // The checks run in CPython's order, so that e.g. a shut-down queue
    // reports ShutDown before Full, and a bad timeout is reported only where
    // Python would look at it.
    template <class U, class Timeout>
    void put_impl(U&& item, bool block, const Timeout* timeout) {
        std::unique_lock lock(mutex_);
        if (is_shutdown_) throw ShutDown();
        if (maxsize_ > 0) {
            if (!block) {
                if (full_locked()) throw Full();
            } else if (timeout == nullptr) {
                while (full_locked()) {
                    not_full_.wait(lock);
                    if (is_shutdown_) throw ShutDown();
                }
            } else {
                const concur::detail::Deadline deadline(*timeout);  // ValueError
                while (full_locked()) {
                    if (deadline.expired()) throw Full();
                    wait_until(not_full_, lock, deadline);
                    if (is_shutdown_) throw ShutDown();
                }
            }
        }
        store_.push(std::forward<U>(item));
        ++unfinished_tasks_;
        not_empty_.notify_one();
    }

    template <class Timeout>
    T get_impl(bool block, const Timeout* timeout) {
        std::unique_lock lock(mutex_);
        if (is_shutdown_ && store_.empty()) throw ShutDown();
        if (!block) {
            if (store_.empty()) throw Empty();
        } else if (timeout == nullptr) {
            while (store_.empty()) {
                not_empty_.wait(lock);
                if (is_shutdown_ && store_.empty()) throw ShutDown();
            }
        } else {
            const concur::detail::Deadline deadline(*timeout);  // ValueError
            // An item present when the wait ends is taken even if the
            // deadline has passed: a getter chosen by notify_one must not
            // leave the item behind while other getters sleep.
            while (store_.empty()) {
                if (deadline.expired()) throw Empty();
                wait_until(not_empty_, lock, deadline);
                if (is_shutdown_ && store_.empty()) throw ShutDown();
            }
        }
        T item = store_.pop();
        not_full_.notify_one();
        return item;
    }

    mutable std::mutex mutex_;
    std::condition_variable not_empty_;       // put() -> one getter; shutdown() -> all
    std::condition_variable not_full_;        // get() -> one putter; shutdown() -> all
    std::condition_variable all_tasks_done_;  // unfinished_tasks_ hit 0 -> all joiners
    Store store_;
    const std::ptrdiff_t maxsize_;
    std::size_t unfinished_tasks_ = 0;  // put() +1, task_done() -1, shutdown(true) -queued
    bool is_shutdown_ = false;          // false -> true once, never back
};

}  // namespace concur::queue::detail
