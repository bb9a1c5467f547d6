// Python's concurrent.futures.wait and as_completed, over any range of
// futures.
//
//   futures --settle--> WaitNode (one per pending future) --unpark--> the waiting thread
//                          |
//                          +--> as_completed: pushed on a lock-free stack that
//                               the iterating thread drains in completion order
//
// Both work on futures of any executor (threads, processes, MPI) and on a
// pool worker they run other jobs of that pool while they wait.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <vector>

#include "concur/futures/future.hpp"

namespace concur::futures {

enum class ReturnWhen { FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED };
inline constexpr ReturnWhen FIRST_COMPLETED = ReturnWhen::FIRST_COMPLETED;
inline constexpr ReturnWhen FIRST_EXCEPTION = ReturnWhen::FIRST_EXCEPTION;
inline constexpr ReturnWhen ALL_COMPLETED = ReturnWhen::ALL_COMPLETED;

// Python's DoneAndNotDoneFutures named tuple. Each holds every distinct input
// future once (Python returns sets), in first-seen input order.
template <class T>
struct DoneAndNotDone {
    std::vector<Future<T>> done;
    std::vector<Future<T>> not_done;
};

namespace detail {

// Blocks until `return_when` holds for `states` (distinct) or the deadline
// passes. Non-template core of wait().
void wait_states(const std::vector<concur::detail::StateBase*>& states,
                 const concur::detail::Deadline& deadline, ReturnWhen return_when);

// The non-template core of as_completed(): yields indexes into `states` in
// completion order. Lives on the heap so that the range object can move.
class CompletionQueue {
public:
    explicit CompletionQueue(std::vector<concur::detail::StateBase*> states);
    ~CompletionQueue();
    CompletionQueue(const CompletionQueue&) = delete;
    CompletionQueue& operator=(const CompletionQueue&) = delete;

    // Next index in completion order; -1 when all were yielded. Throws
    // TimeoutError when the deadline passes first.
    std::ptrdiff_t next(const concur::detail::Deadline& deadline);
    std::size_t size() const noexcept { return states_.size(); }

private:
    struct Node : concur::detail::CallbackNode {
        CompletionQueue* queue = nullptr;
        std::size_t index = 0;
        Node* next_done = nullptr;
        std::atomic<bool> fired{false};
    };
    static void on_fire(concur::detail::CallbackNode* n, concur::detail::StateBase&) noexcept;

    std::vector<concur::detail::StateBase*> states_;
    std::unique_ptr<Node[]> nodes_;
    std::atomic<Node*> completed_{nullptr};   // newest first, pushed by settling threads
    std::vector<std::size_t> ready_;          // drained, oldest first (owner only)
    std::size_t ready_pos_ = 0;
    std::size_t yielded_ = 0;
    concur::detail::Parker* parker_;
};

// For each key, whether it is the first occurrence (Python's set(fs)).
std::vector<bool> first_occurrences(const std::vector<const void*>& keys);

template <class Range>
auto unique_futures(const Range& fs) {
    using F = std::ranges::range_value_t<Range>;
    std::vector<const void*> keys;
    for (const auto& f : fs) keys.push_back(f.state());
    std::vector<bool> first = first_occurrences(keys);
    std::vector<F> out;
    out.reserve(keys.size());
    std::size_t i = 0;
    for (const auto& f : fs)
        if (first[i++]) out.push_back(f);
    return out;
}

}  // namespace detail

// Blocks until `return_when` holds (ALL_COMPLETED by default) or the timeout
// passes, then partitions the distinct futures into done / not_done. Never
// throws the futures' own exceptions; a timeout is not an error here (as in
// Python). Any thread.
template <std::ranges::input_range Range, class Rep = int64_t, class Period = std::ratio<1>>
auto wait(const Range& fs, std::optional<std::chrono::duration<Rep, Period>> timeout = std::nullopt,
          ReturnWhen return_when = ALL_COMPLETED) {
    using F = std::ranges::range_value_t<Range>;
    auto deadline = concur::detail::Deadline::from(timeout);
    if (return_when == ALL_COMPLETED) {
        // One pass: wait for each distinct future in turn and file it at
        // once, touching each (possibly cold) state only while it is hot.
        std::vector<const void*> keys;
        for (const auto& f : fs) keys.push_back(f.state());
        std::vector<bool> first = detail::first_occurrences(keys);
        DoneAndNotDone<typename F::value_type> out;
        out.done.reserve(keys.size());
        bool timed_out = false;
        std::size_t i = 0;
        for (const auto& f : fs) {
            if (!first[i++]) continue;
            if (!timed_out && !f.state()->wait(deadline)) timed_out = true;
            (f.done() ? out.done : out.not_done).push_back(f);
        }
        return out;
    }
    auto unique = detail::unique_futures(fs);
    std::vector<concur::detail::StateBase*> states;
    states.reserve(unique.size());
    for (auto& f : unique) states.push_back(f.state());
    detail::wait_states(states, deadline, return_when);
    DoneAndNotDone<typename F::value_type> out;
    for (auto& f : unique) (f.done() ? out.done : out.not_done).push_back(std::move(f));
    return out;
}

template <std::ranges::input_range Range, class Rep, class Period>
auto wait(const Range& fs, std::chrono::duration<Rep, Period> timeout,
          ReturnWhen return_when = ALL_COMPLETED) {
    return wait(fs, std::optional(timeout), return_when);
}

template <std::ranges::input_range Range>
auto wait(const Range& fs, ReturnWhen return_when) {
    return wait(fs, std::optional<std::chrono::seconds>(), return_when);
}

template <class T>
auto wait(std::initializer_list<Future<T>> fs, ReturnWhen return_when = ALL_COMPLETED) {
    return wait(std::vector<Future<T>>(fs), return_when);
}

// The range returned by as_completed(): iterate it once, on the thread that
// created it.
template <class T>
class AsCompleted {
public:
    AsCompleted(std::vector<Future<T>> futures, concur::detail::Deadline deadline)
        : futures_(std::move(futures)), deadline_(deadline) {
        std::vector<concur::detail::StateBase*> states;
        states.reserve(futures_.size());
        for (auto& f : futures_) states.push_back(f.state());
        queue_ = std::make_unique<detail::CompletionQueue>(std::move(states));
    }

    class iterator {
    public:
        using value_type = Future<T>;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(AsCompleted* owner) : owner_(owner) { advance(); }
        Future<T>& operator*() const { return owner_->futures_[static_cast<size_t>(index_)]; }
        Future<T>* operator->() const { return &**this; }
        // Blocks until the next future settles; throws TimeoutError when the
        // as_completed() timeout passes first.
        iterator& operator++() {
            advance();
            return *this;
        }
        void operator++(int) { advance(); }
        friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.index_ < 0; }

    private:
        void advance() { index_ = owner_->queue_->next(owner_->deadline_); }
        AsCompleted* owner_ = nullptr;
        std::ptrdiff_t index_ = -1;
    };

    // Blocks until the first future settles (see iterator::operator++).
    iterator begin() { return iterator(this); }
    std::default_sentinel_t end() const noexcept { return {}; }

private:
    std::vector<Future<T>> futures_;
    concur::detail::Deadline deadline_;
    std::unique_ptr<detail::CompletionQueue> queue_;
};

// Yields each distinct future as it settles: those already settled first,
// then in completion order. Advancing past the timeout (measured from this
// call) throws TimeoutError, as Python's iterator does.
template <std::ranges::input_range Range>
auto as_completed(const Range& fs) {
    using T = typename std::ranges::range_value_t<Range>::value_type;
    return AsCompleted<T>(detail::unique_futures(fs), concur::detail::Deadline());
}
template <std::ranges::input_range Range, class Rep, class Period>
auto as_completed(const Range& fs, std::chrono::duration<Rep, Period> timeout) {
    using T = typename std::ranges::range_value_t<Range>::value_type;
    return AsCompleted<T>(detail::unique_futures(fs), concur::detail::Deadline(timeout));
}

}  // namespace concur::futures
