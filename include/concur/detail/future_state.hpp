// The shared state behind a Future: one status word, an intrusive list of
// completion callbacks, and the result.
//
//   Promise / executor job  --settle-->  FutureState  <--result()--  Future handles
//                                             |
//                                             +--> callbacks (user callbacks, Wakers
//                                                  of threads blocked in result(),
//                                                  wait(), as_completed(), co_await)
//
// A job queued on a pool is the same allocation as its state (see
// futures::ThreadPoolExecutor::submit), so a submit costs one allocation.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "concur/detail/deadline.hpp"
#include "concur/detail/parker.hpp"
#include "concur/errors.hpp"

namespace concur::detail {

class StateBase;

// What a thread about to park on a state that another process settles runs
// first (see StateBase::park_without_spinning): multiprocessing installs one
// that reads the outcome from the worker's shared mailbox itself, on the
// waiting thread, instead of sleeping until the pool's result handler wakes
// it. It
// returns when the state is settled, the deadline passes, or polling no
// longer pays. Must not throw.
using RemoteWait = void (*)(StateBase& state, const Deadline& deadline) noexcept;

// Installs the hook (once per process; later calls replace it). Any thread.
void set_remote_wait(RemoteWait hook) noexcept;

// A completion callback node. Intrusive so that blocking waits allocate
// nothing; user callbacks are heap nodes that delete themselves.
struct CallbackNode {
    // Called once, on the thread that settles the future (or at once, on the
    // registering thread, if it was already settled). Must not throw.
    void (*fire)(CallbackNode* self, StateBase& state) noexcept = nullptr;
    CallbackNode* next = nullptr;
};

// A node that unparks a waiting thread. `fired` lets the waiter know the
// settling thread has finished touching the node before the waiter's stack
// frame (where the node lives) goes away.
struct Waker : CallbackNode {
    explicit Waker(Parker& p) : parker(&p) {
        fire = [](CallbackNode* self, StateBase&) noexcept {
            auto* w = static_cast<Waker*>(self);
            // Unpark first: the waiter cannot leave (and its thread cannot
            // exit) before it sees `fired`, so the Parker is alive.
            w->parker->unpark();
            w->fired.store(true, std::memory_order_release);  // last touch of *w
        };
    }
    Parker* parker;
    std::atomic<bool> fired{false};
};

enum class Status : uint32_t {
    pending = 0,
    running = 1,
    cancelled = 2,             // cancel() succeeded
    cancelled_notified = 3,    // ...and set_running_or_notify_cancel() saw it
    finished = 4,              // a value or an exception is stored
};

class StateBase {
public:
    StateBase() = default;
    StateBase(const StateBase&) = delete;
    StateBase& operator=(const StateBase&) = delete;

    void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

    Status status() const noexcept {
        return static_cast<Status>(word_.load(std::memory_order_acquire) & kStatusMask);
    }
    bool done() const noexcept { return status() >= Status::cancelled; }
    bool running() const noexcept { return status() == Status::running; }
    bool cancelled() const noexcept {
        Status s = status();
        return s == Status::cancelled || s == Status::cancelled_notified;
    }

    // Python's Future.cancel(): true if the future is cancelled now (also when
    // it already was); false once it runs or has finished. Any thread.
    bool cancel() noexcept;

    // Python's set_running_or_notify_cancel(): pending -> running (true), or
    // cancelled -> cancelled_notified (false); otherwise InvalidStateError.
    bool set_running_or_notify_cancel();

    // Stores an exception and settles. Returns false if already settled.
    bool set_exception(std::exception_ptr e) noexcept;

    // Adds `node`; if the state is already settled, fires it at once on the
    // calling thread (and returns false).
    bool add_callback(CallbackNode* node) noexcept;

    // Removes a node that has not fired. Returns false if it was already
    // detached for firing (the caller must then wait for it to finish firing).
    bool remove_callback(CallbackNode* node) noexcept;

    // Blocks until settled or the deadline passes; a pool worker runs other
    // jobs of its pool meanwhile. Returns done(). Any thread.
    bool wait(const Deadline& deadline);

    // The stored exception, or CancelledError if cancelled. Only when done().
    std::exception_ptr error() const noexcept { return error_; }

    // For a state settled only after a round trip to another process (a
    // process pool's): wait() does not spin on the state first, it runs the
    // RemoteWait hook (if one is installed) and then parks. The spin pays off
    // when another thread of this process is about to settle the state; here
    // that thread would first have to be woken by the other process.
    void park_without_spinning() noexcept { spin_ = false; }

    // Throws CancelledError or the stored exception. Only when done().
    void throw_if_failed() const {
        if (cancelled()) throw CancelledError();
        if (error_) std::rethrow_exception(error_);
    }

protected:
    virtual ~StateBase() = default;

    // Settles as finished after `store` has written the value; `store` runs
    // under the state lock and only if the state is not yet settled. Returns
    // false if it was already settled (nothing stored).
    template <class Store>
    bool settle(Store&& store) noexcept {
        uint32_t w = lock();
        Status s = static_cast<Status>(w & kStatusMask);
        if (s != Status::pending && s != Status::running) {
            unlock(w);
            return false;
        }
        try {
            store();
        } catch (...) {
            error_ = std::current_exception();
        }
        finish(Status::finished);
        return true;
    }

private:
    // word_: bits 0-2 Status; bit 3 kLocked while the callback list or the
    // result is being edited (a few instructions; waiters spin).
    bool spin_ = true;
    static constexpr uint32_t kStatusMask = 7;
    static constexpr uint32_t kLocked = 8;

    uint32_t lock() noexcept;  // returns the word as it was, unlocked
    void unlock(uint32_t unlocked_word) noexcept {
        word_.store(unlocked_word, std::memory_order_release);
    }
    // Sets the final status, unlocks, fires the callbacks (in the order added).
    void finish(Status final_status) noexcept;

    std::atomic<uint32_t> word_{0};
    std::atomic<uint32_t> refs_{1};
    std::exception_ptr error_;
    CallbackNode* callbacks_ = nullptr;  // newest first; guarded by kLocked
};

template <class T>
class FutureState : public StateBase {
public:
    FutureState() {}
    ~FutureState() override {
        if (has_value_) value_.~T();
    }

    template <class... A>
    bool set_value(A&&... args) noexcept {
        return settle([&] {
            ::new (static_cast<void*>(&value_)) T(std::forward<A>(args)...);
            has_value_ = true;
        });
    }

    // Only after done() returned true with no error.
    T& value() noexcept { return value_; }

private:
    union {
        T value_;
    };
    bool has_value_ = false;
};

template <>
class FutureState<void> : public StateBase {
public:
    bool set_value() noexcept {
        return settle([] {});
    }
};

}  // namespace concur::detail
