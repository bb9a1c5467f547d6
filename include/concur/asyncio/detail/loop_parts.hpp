// The event loop's inner data structures, kept in a header so that the hot
// paths (waking a task, arming a timer) inline into the awaiters: a FIFO ring
// of ready callbacks, an indexed min-heap of timers (O(log n) removal, so a
// cancelled sleep leaves nothing behind), and the intrusive nodes that other
// threads push to the loop without allocating.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace concur::asyncio {

// asyncio's clock: monotonic, as Python's loop.time().
using Clock = std::chrono::steady_clock;

namespace detail {

// now + delay, saturated at the clock's end instead of overflowing (a
// sleep of hours::max() waits forever rather than not at all).
template <class Rep, class Period>
Clock::time_point deadline_after(std::chrono::duration<Rep, Period> delay) noexcept {
    auto now = Clock::now();
    using Secs = std::chrono::duration<double>;
    if (std::chrono::duration_cast<Secs>(delay) >= std::chrono::duration_cast<Secs>(Clock::time_point::max() - now))
        return Clock::time_point::max();
    return now + std::chrono::ceil<Clock::duration>(delay);
}

// One unit of work on the ready queue: a plain function and its argument.
struct ReadyItem {
    void (*run)(void* arg) noexcept;
    void* arg;
};

// Grow-only ring buffer; FIFO like Python's loop._ready deque.
class ReadyQueue {
public:
    bool empty() const noexcept { return head_ == tail_; }
    std::size_t size() const noexcept { return tail_ - head_; }
    void push(ReadyItem item) {
        if (tail_ - head_ == cap_) grow();
        buf_[tail_++ & (cap_ - 1)] = item;
    }
    ReadyItem pop() noexcept { return buf_[head_++ & (cap_ - 1)]; }

private:
    void grow() {
        std::size_t cap = cap_ ? cap_ * 2 : 256;
        auto buf = std::make_unique<ReadyItem[]>(cap);
        for (std::size_t i = head_; i != tail_; ++i) buf[i - head_] = buf_[i & (cap_ - 1)];
        tail_ -= head_;
        head_ = 0;
        buf_ = std::move(buf);
        cap_ = cap;
    }
    std::unique_ptr<ReadyItem[]> buf_;
    std::size_t cap_ = 0;
    std::size_t head_ = 0;
    std::size_t tail_ = 0;
};

// A timer entry lives in whatever owns it (a sleeping coroutine's frame, a
// TimerHandle); the heap only points at it and records its index.
struct TimerEntry {
    static constexpr std::size_t kNotQueued = ~std::size_t{0};
    Clock::time_point when{};
    uint64_t seq = 0;  // FIFO among equal deadlines, as Python's heap of (when, seq)
    std::size_t index = kNotQueued;
    void (*fire)(TimerEntry* self) noexcept = nullptr;
    bool queued() const noexcept { return index != kNotQueued; }
};

class TimerHeap {
public:
    bool empty() const noexcept { return heap_.empty(); }
    std::size_t size() const noexcept { return heap_.size(); }
    TimerEntry* top() const noexcept { return heap_.front(); }

    void push(TimerEntry* t) {
        t->seq = next_seq_++;
        t->index = heap_.size();
        heap_.push_back(t);
        up(t->index);
    }
    void remove(TimerEntry* t) noexcept {
        std::size_t i = t->index;
        if (i == TimerEntry::kNotQueued) return;
        t->index = TimerEntry::kNotQueued;
        TimerEntry* last = heap_.back();
        heap_.pop_back();
        if (last == t) return;
        heap_[i] = last;
        last->index = i;
        up(i);
        down(last->index);
    }

private:
    static bool before(const TimerEntry* a, const TimerEntry* b) noexcept {
        return a->when < b->when || (a->when == b->when && a->seq < b->seq);
    }
    void place(std::size_t i, TimerEntry* t) noexcept {
        heap_[i] = t;
        t->index = i;
    }
    void up(std::size_t i) noexcept {
        TimerEntry* t = heap_[i];
        while (i > 0) {
            std::size_t parent = (i - 1) / 2;
            if (!before(t, heap_[parent])) break;
            place(i, heap_[parent]);
            i = parent;
        }
        place(i, t);
    }
    void down(std::size_t i) noexcept {
        TimerEntry* t = heap_[i];
        std::size_t n = heap_.size();
        for (;;) {
            std::size_t c = 2 * i + 1;
            if (c >= n) break;
            if (c + 1 < n && before(heap_[c + 1], heap_[c])) ++c;
            if (!before(heap_[c], t)) break;
            place(i, heap_[c]);
            i = c;
        }
        place(i, t);
    }
    std::vector<TimerEntry*> heap_;
    uint64_t next_seq_ = 0;
};

// Work handed to the loop from another thread (call_soon_threadsafe, a
// concurrent future settling). Pushed onto a lock-free stack; the loop takes
// the whole stack at once and runs it oldest first.
struct PostNode {
    void (*run)(PostNode* self) noexcept = nullptr;
    PostNode* next = nullptr;
};

// Readiness of a file descriptor, for the backends to report into (Python's
// add_reader / add_writer callbacks, and the coroutine waiters built on them).
struct IoWatch {
    void (*ready)(IoWatch* self) noexcept = nullptr;
};

// A socket whose reads and writes the backend performs itself (io_uring
// completions): received gets n > 0 bytes at p (valid for the call only), 0
// at end of stream, -errno on error; sent gets the bytes the kernel took or
// -errno.
struct SocketWatch {
    void (*received)(SocketWatch* self, const char* p, int n) noexcept = nullptr;
    void (*sent)(SocketWatch* self, int res) noexcept = nullptr;
};

}  // namespace detail
}  // namespace concur::asyncio
