// What every concur executor has in common (Python's Executor base class):
// the Executor concept and map(), built on submit().
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <functional>
#include <iterator>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "concur/futures/future.hpp"

namespace concur::futures {

// Anything that runs callables and hands back concur Futures: thread pools,
// process pools, MPI pools.
template <class E>
concept Executor = requires(E& e) {
    { e.submit([] { return 0; }) };
    e.shutdown();
};

// Python's map() keyword arguments.
struct MapOptions {
    // Measured from the call to map(); a result not ready by then makes the
    // iteration throw TimeoutError.
    std::optional<std::chrono::nanoseconds> timeout = {};
    // Items per submitted job. Python ignores it for threads; concur honours
    // it everywhere because it cuts per-item overhead for tiny calls.
    std::size_t chunksize = 1;
};

// What map() yields for a function returning void (Python yields None).
using None = std::monostate;

template <class F, class... Items>
using map_value_t =
    std::conditional_t<std::is_void_v<std::invoke_result_t<F&, Items...>>, None,
                       std::invoke_result_t<F&, Items...>>;

// The lazy result of map(): yields results in input order, blocking for each.
// If iteration has started, destroying it cancels the calls not yet
// consumed (Python's generator does the same when closed); if it never
// started, the calls run to completion in the background, as in Python.
template <class V>
class MapResult {
public:
    MapResult(std::vector<Future<std::vector<V>>> chunks, concur::detail::Deadline deadline)
        : chunks_(std::move(chunks)), deadline_(deadline) {}
    MapResult(MapResult&&) noexcept = default;
    MapResult& operator=(MapResult&&) noexcept = default;
    ~MapResult() {
        if (started_)
            for (std::size_t i = next_chunk_; i < chunks_.size(); ++i) chunks_[i].cancel();
    }

    class iterator {
    public:
        using value_type = V;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(MapResult* owner) : owner_(owner) { owner_->advance(); }
        V& operator*() const { return owner_->current(); }
        V* operator->() const { return &owner_->current(); }
        iterator& operator++() {
            owner_->advance();
            return *this;
        }
        void operator++(int) { owner_->advance(); }
        friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

    private:
        bool at_end() const noexcept { return !owner_ || owner_->finished(); }
        MapResult* owner_ = nullptr;
    };

    // Blocks for the first result. Iteration throws the call's exception,
    // CancelledError, or TimeoutError. Owner thread only.
    iterator begin() { return iterator(this); }
    std::default_sentinel_t end() const noexcept { return {}; }

    // Collects every result (blocking), e.g. `auto v = ex.map(f, xs).list();`.
    std::vector<V> list() {
        std::vector<V> out;
        for (auto& v : *this) out.push_back(std::move(v));
        return out;
    }

private:
    bool finished() const noexcept { return pos_ >= current_chunk_.size() && next_chunk_ >= chunks_.size(); }
    V& current() { return current_chunk_[pos_]; }
    void advance() {
        if (!started_) {
            started_ = true;
        } else {
            ++pos_;
        }
        while (pos_ >= current_chunk_.size() && next_chunk_ < chunks_.size()) {
            Future<std::vector<V>>& f = chunks_[next_chunk_];
            if (!f.wait(remaining())) throw TimeoutError("map(): a result was not ready before the timeout");
            current_chunk_ = std::move(f).result();
            ++next_chunk_;
            pos_ = 0;
        }
    }
    std::chrono::nanoseconds remaining() const {
        if (deadline_.forever()) return std::chrono::hours(24 * 365 * 100);
        auto left = deadline_.at() - concur::detail::Clock::now();
        return left < left.zero() ? std::chrono::nanoseconds(0)
                                  : std::chrono::duration_cast<std::chrono::nanoseconds>(left);
    }

    std::vector<Future<std::vector<V>>> chunks_;
    concur::detail::Deadline deadline_;
    std::vector<V> current_chunk_;
    std::size_t next_chunk_ = 0;
    std::size_t pos_ = 0;
    bool started_ = false;
};

namespace detail {

// zip() of the input ranges, materialised (Python's map submits every call
// before it yields anything), cut into chunks of `chunksize` argument tuples.
template <class... Ranges>
auto zip_chunks(std::size_t chunksize, Ranges&&... ranges) {
    using Tuple = std::tuple<std::ranges::range_value_t<Ranges>...>;
    std::vector<std::vector<Tuple>> chunks;
    auto its = std::make_tuple(std::ranges::begin(ranges)...);
    auto ends = std::make_tuple(std::ranges::end(ranges)...);
    auto any_end = [&]<std::size_t... I>(std::index_sequence<I...>) {
        return ((std::get<I>(its) == std::get<I>(ends)) || ...);
    };
    auto take = [&]<std::size_t... I>(std::index_sequence<I...>) {
        Tuple t(*std::get<I>(its)...);
        (++std::get<I>(its), ...);
        return t;
    };
    constexpr auto idx = std::index_sequence_for<Ranges...>{};
    while (!any_end(idx)) {
        if (chunks.empty() || chunks.back().size() == chunksize) {
            chunks.emplace_back();
            chunks.back().reserve(chunksize);
        }
        chunks.back().push_back(take(idx));
    }
    return chunks;
}

}  // namespace detail

// Executor::map for any executor: submits every call at once (one job per
// chunk) and returns the lazy in-order result. `fn` is copied into each job.
// Throws what submit() throws (e.g. RuntimeError after shutdown).
template <class E, class F, class... Ranges>
auto executor_map(E& executor, F fn, const MapOptions& opts, Ranges&&... ranges) {
    using V = map_value_t<F, std::ranges::range_value_t<Ranges>...>;
    if (opts.chunksize < 1) throw ValueError("chunksize must be >= 1");
    concur::detail::Deadline deadline =
        opts.timeout ? concur::detail::Deadline(*opts.timeout) : concur::detail::Deadline();
    auto chunks = detail::zip_chunks(opts.chunksize, std::forward<Ranges>(ranges)...);
    std::vector<Future<std::vector<V>>> futures;
    futures.reserve(chunks.size());
    for (auto& chunk : chunks) {
        futures.push_back(executor.submit(
            [fn](auto items) mutable {
                std::vector<V> out;
                out.reserve(items.size());
                for (auto& args : items) {
                    if constexpr (std::is_void_v<decltype(std::apply(fn, args))>) {
                        std::apply(fn, args);
                        out.emplace_back();
                    } else {
                        out.push_back(std::apply(fn, args));
                    }
                }
                return out;
            },
            std::move(chunk)));
    }
    return MapResult<V>(std::move(futures), deadline);
}

}  // namespace concur::futures
