// What MPIPoolExecutor::map and MPICommExecutor::map return: mpi4py's
// map(fn, *iterables, timeout, chunksize, unordered) result as a lazy range,
// in input order, or in completion order of the chunks when `unordered`.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "concur/detail/deadline.hpp"
#include "concur/detail/prefault.hpp"
#include "concur/errors.hpp"
#include "concur/futures/future.hpp"
#include "concur/futures/wait.hpp"
#include "concur/wire/codec.hpp"

namespace concur::mpi {

namespace detail {

// Future::wait(), but the waiter sleeps on its own condition variable that
// a done-callback signals. Why: Future::wait's waker node lives in the
// waiter's frame, and the waiter spins until the settling thread has let go
// of it; when the woken waiter preempts the settling thread (the executor's
// manager) on a busy CPU, that spin lasts until the next scheduler tick
// (~4 ms), once per chunk. Any thread. Returns whether the future is done.
template <class T>
bool wait_done(futures::Future<T>& f, std::chrono::nanoseconds timeout) {
    if (f.done()) return true;
    struct Signal {
        std::mutex m;
        std::condition_variable cv;
        bool set = false;
    };
    auto signal = std::make_shared<Signal>();
    f.add_done_callback([signal] {
        std::lock_guard lock(signal->m);
        signal->set = true;
        signal->cv.notify_one();
    });
    std::unique_lock lock(signal->m);
    return signal->cv.wait_for(lock, timeout, [&] { return signal->set; });
}

}  // namespace detail

template <class V>
class MapResult {
public:
    // `items`: how many results the chunks hold in all (list() reserves them).
    MapResult(std::vector<futures::Future<wire::PackedBulk<V>>> chunks, concur::detail::Deadline deadline, bool unordered,
              std::size_t items = 0)
        : chunks_(std::move(chunks)), deadline_(deadline), items_(items) {
        if (unordered) {
            std::vector<concur::detail::StateBase*> states;
            states.reserve(chunks_.size());
            for (auto& f : chunks_) states.push_back(f.state());
            completed_ = std::make_unique<futures::detail::CompletionQueue>(std::move(states));
        }
    }
    MapResult(MapResult&&) noexcept = default;
    MapResult& operator=(MapResult&&) noexcept = default;
    // Once iteration has started, the calls not yet consumed are cancelled
    // (those already sent to a worker still run), as a closed Python generator.
    ~MapResult() {
        if (started_ && !completed_)
            for (std::size_t i = next_; i < chunks_.size(); ++i) chunks_[i].cancel();
    }

    class iterator {
    public:
        using value_type = V;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(MapResult* owner) : owner_(owner) { owner_->advance(); }
        V& operator*() const { return owner_->current_[owner_->pos_]; }
        V* operator->() const { return &owner_->current_[owner_->pos_]; }
        iterator& operator++() {
            owner_->advance();
            return *this;
        }
        void operator++(int) { owner_->advance(); }
        friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

    private:
        bool at_end() const noexcept { return !owner_ || owner_->done_; }
        MapResult* owner_ = nullptr;
    };

    // Blocks until the first result. Iterating blocks for each chunk and
    // throws the call's exception, CancelledError, BrokenMPIExecutor, or
    // TimeoutError when map()'s timeout passes first. The owner's thread only.
    iterator begin() { return iterator(this); }
    std::default_sentinel_t end() const noexcept { return {}; }

    // Every result (blocking), e.g. `auto v = ex.map(f, xs).list();`.
    // Throws as iterating does, and wire::DecodeError for a chunk of results that
    // arrived torn.
    std::vector<V> list() {
        std::vector<V> out;
        if (started_) {
            for (auto& v : *this) out.push_back(std::move(v));
            return out;
        }
        started_ = true;
        out.reserve(items_);  // one allocation, faulted in at once: fresh pages are dear
        concur::detail::prefault(out.data(), out.capacity() * sizeof(V));
        while (next_ < chunks_.size()) take(next_chunk(), out);  // decoded straight into `out`
        done_ = true;
        return out;
    }

private:
    void advance() {
        if (started_) ++pos_;
        started_ = true;
        while (pos_ >= current_.size()) {
            if (next_ >= chunks_.size()) {
                done_ = true;
                return;
            }
            current_.clear();
            take(next_chunk(), current_);
            pos_ = 0;
        }
    }
    // Waits for the next chunk in the order asked for; its index.
    std::size_t next_chunk() {
        std::size_t index = next_;
        if (completed_) {
            index = static_cast<std::size_t>(completed_->next(deadline_));
        } else if (!detail::wait_done(chunks_[index], remaining())) {
            throw TimeoutError("map(): a result was not ready before the timeout");
        }
        ++next_;
        return index;
    }
    // Appends chunk `index`'s results to `out`, or throws its exception.
    void take(std::size_t index, std::vector<V>& out) {
        wire::PackedBulk<V> results = std::move(chunks_[index]).result();
        try {
            results.append_to(out);
        } catch (const msgpack::type_error&) {
            throw wire::DecodeError("concur::mpi: map(): a chunk of results arrived torn or corrupted");
        }
    }
    std::chrono::nanoseconds remaining() const {
        if (deadline_.forever()) return std::chrono::hours(24 * 365 * 100);
        auto left = deadline_.at() - concur::detail::Clock::now();
        return left < left.zero() ? std::chrono::nanoseconds(0)
                                  : std::chrono::duration_cast<std::chrono::nanoseconds>(left);
    }

    std::vector<futures::Future<wire::PackedBulk<V>>> chunks_;
    concur::detail::Deadline deadline_;
    std::size_t items_ = 0;
    std::unique_ptr<futures::detail::CompletionQueue> completed_;  // set when unordered
    std::vector<V> current_;
    std::size_t next_ = 0;  // chunks taken so far
    std::size_t pos_ = 0;
    bool started_ = false;
    bool done_ = false;
};

}  // namespace concur::mpi
