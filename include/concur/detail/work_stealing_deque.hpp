// A Chase-Lev work-stealing deque of pointers ("Dynamic Circular
// Work-Stealing Deque", SPAA 2005; memory orders after Lê et al., PPoPP 2013).
//
//   owner thread:  push() / pop() at the bottom  (LIFO: fork-join locality)
//   any thread:    steal() at the top            (FIFO: oldest work first)
//
// The fences of the published algorithm are expressed as seq_cst operations
// on top/bottom so that ThreadSanitizer understands every synchronisation.
// Buffers are grown by the owner and the old ones kept until destruction, so
// a thief reading a stale buffer still reads valid memory.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace concur::detail {

template <class T>
class WorkStealingDeque {
    static_assert(std::is_pointer_v<T>, "WorkStealingDeque holds pointers");

    struct Buffer {
        explicit Buffer(int64_t cap) : mask(cap - 1), slots(new std::atomic<T>[cap]) {}
        int64_t capacity() const noexcept { return mask + 1; }
        T get(int64_t i) const noexcept { return slots[i & mask].load(std::memory_order_relaxed); }
        void put(int64_t i, T v) noexcept { slots[i & mask].store(v, std::memory_order_relaxed); }
        int64_t mask;
        std::unique_ptr<std::atomic<T>[]> slots;
    };

public:
    explicit WorkStealingDeque(int64_t capacity = 256) {
        retired_.push_back(std::make_unique<Buffer>(capacity));
        buffer_.store(retired_.back().get(), std::memory_order_relaxed);
    }
    WorkStealingDeque(const WorkStealingDeque&) = delete;
    WorkStealingDeque& operator=(const WorkStealingDeque&) = delete;

    // Owner only.
    void push(T item) {
        int64_t b = bottom_.load(std::memory_order_relaxed);
        int64_t t = top_.load(std::memory_order_acquire);
        Buffer* buf = buffer_.load(std::memory_order_relaxed);
        if (b - t >= buf->capacity()) buf = grow(buf, t, b);
        buf->put(b, item);
        bottom_.store(b + 1, std::memory_order_release);
    }

    // Owner only. Returns nullptr when empty.
    T pop() noexcept {
        int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
        Buffer* buf = buffer_.load(std::memory_order_relaxed);
        bottom_.store(b, std::memory_order_seq_cst);
        int64_t t = top_.load(std::memory_order_seq_cst);
        if (t > b) {  // empty
            bottom_.store(b + 1, std::memory_order_relaxed);
            return nullptr;
        }
        T item = buf->get(b);
        if (t == b) {  // last item: race the thieves for it
            if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                              std::memory_order_relaxed))
                item = nullptr;
            bottom_.store(b + 1, std::memory_order_relaxed);
        }
        return item;
    }

    // Any thread. Returns nullptr when empty or when it lost a race (the
    // caller's search loop simply moves on).
    T steal() noexcept {
        int64_t t = top_.load(std::memory_order_seq_cst);
        int64_t b = bottom_.load(std::memory_order_seq_cst);
        if (t >= b) return nullptr;
        Buffer* buf = buffer_.load(std::memory_order_acquire);
        T item = buf->get(t);
        if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                          std::memory_order_relaxed))
            return nullptr;
        return item;
    }

    // Any thread; a snapshot that may be stale by the time it returns.
    bool empty() const noexcept {
        return bottom_.load(std::memory_order_seq_cst) <= top_.load(std::memory_order_seq_cst);
    }

private:
    Buffer* grow(Buffer* old, int64_t t, int64_t b) {
        auto bigger = std::make_unique<Buffer>(old->capacity() * 2);
        for (int64_t i = t; i < b; ++i) bigger->put(i, old->get(i));
        Buffer* raw = bigger.get();
        retired_.push_back(std::move(bigger));
        buffer_.store(raw, std::memory_order_release);
        return raw;
    }

    alignas(64) std::atomic<int64_t> top_{0};
    alignas(64) std::atomic<int64_t> bottom_{0};
    std::atomic<Buffer*> buffer_{nullptr};
    std::vector<std::unique_ptr<Buffer>> retired_;  // owner only
};

}  // namespace concur::detail
