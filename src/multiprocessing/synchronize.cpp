// The slow paths of the process-shared primitives, their codecs, and
// Barrier (CPython's, as threading::Barrier). See synchronize.hpp for the
// state words.
#include "concur/multiprocessing/synchronize.hpp"

#include <climits>
#include <mutex>

#include "concur/wire/function.hpp"

namespace concur::multiprocessing {

namespace detail {

bool lock_slow(LockState& s, const concur::detail::Deadline& d) {
    // A brief spin often sees a short critical section end, saving two
    // syscalls; stop at once if others already sleep (2): join them.
    if (!d.expired()) {
        for (int i = 0; i < 100; ++i) {
            std::uint32_t c = s.word.load(std::memory_order_relaxed);
            if (c == 0) {
                if (s.word.compare_exchange_weak(c, 1, std::memory_order_acquire, std::memory_order_relaxed)) {
                    s.owner.store(thread_id(), std::memory_order_relaxed);
                    return true;
                }
            } else if (c == 2) {
                break;
            }
            concur::detail::cpu_relax();
        }
    }
    // Taking it as "contended" is conservative: at worst one needless wake.
    while (s.word.exchange(2, std::memory_order_acquire) != 0) {
        if (d.expired()) return false;
        shared_futex_wait(s.word, 2, d.get());
    }
    s.owner.store(thread_id(), std::memory_order_relaxed);
    return true;
}

bool semaphore_slow(SemaphoreState& s, const concur::detail::Deadline& d) {
    for (;;) {
        // Try before the deadline check: a waiter woken at its deadline takes
        // the unit meant for it instead of stranding it.
        if (semaphore_try(s)) return true;
        if (d.expired()) return false;
        s.sleepers.fetch_add(1, std::memory_order_seq_cst);
        if (s.value.load(std::memory_order_seq_cst) == 0) shared_futex_wait(s.value, 0, d.get());
        s.sleepers.fetch_sub(1, std::memory_order_relaxed);
    }
}

}  // namespace detail

// ---- Lock, RLock ---------------------------------------------------------

Lock::Lock() : Lock(detail::make_shared_state<detail::PlainLockState>("concur.Lock")) {}

void Lock::release() {
    if (!detail::lock_release(*s_)) throw ValueError("semaphore or lock released too many times");
}

RLock::RLock() : RLock(detail::make_shared_state<detail::RLockState>("concur.RLock")) {}

void RLock::release() {
    if (!owned_by_me()) throw RuntimeError("cannot release un-acquired lock");
    std::uint32_t depth = s_->count.load(std::memory_order_relaxed) - 1;
    s_->count.store(depth, std::memory_order_relaxed);
    if (depth == 0) detail::lock_release(*s_);
}

std::uint32_t RLock::release_save() {
    if (!owned_by_me()) throw RuntimeError("cannot release un-acquired lock");
    std::uint32_t depth = s_->count.load(std::memory_order_relaxed);
    s_->count.store(0, std::memory_order_relaxed);
    detail::lock_release(*s_);
    return depth;
}

void RLock::acquire_restore(std::uint32_t depth) {
    if (!detail::lock_try(*s_)) detail::lock_slow(*s_, concur::detail::Deadline());
    s_->count.store(depth, std::memory_order_relaxed);
}

// ---- Semaphore -----------------------------------------------------------

Semaphore::Semaphore(long long value, bool bounded)
    : Semaphore([&] {
          if (value < 0) throw ValueError("semaphore initial value must be >= 0");
          if (value > INT32_MAX) throw ValueError("semaphore initial value is too large (INT32_MAX at most)");
          return detail::make_shared_state<detail::SemaphoreState>(bounded ? "concur.BoundedSemaphore"
                                                                          : "concur.Semaphore");
      }()) {
    s_->value.store(static_cast<std::uint32_t>(value), std::memory_order_relaxed);
    s_->bound.store(bounded ? static_cast<std::uint32_t>(value) : INT32_MAX, std::memory_order_relaxed);
    s_->bounded.store(bounded, std::memory_order_relaxed);
}

void Semaphore::release() {
    std::uint32_t bound = s_->bound.load(std::memory_order_relaxed);
    std::uint32_t v = s_->value.load(std::memory_order_relaxed);
    do {
        if (v >= bound) throw ValueError("semaphore or lock released too many times");
    } while (!s_->value.compare_exchange_weak(v, v + 1, std::memory_order_seq_cst, std::memory_order_relaxed));
    // seq_cst pairs with semaphore_slow(): either we see its sleeper count,
    // or it sees our value before it sleeps.
    if (s_->sleepers.load(std::memory_order_seq_cst) != 0) detail::shared_futex_wake(s_->value, 1);
}

// ---- Event ---------------------------------------------------------------

Event::Event() : Event(detail::make_shared_state<detail::EventState>("concur.Event")) {}

void Event::set() noexcept {
    constexpr std::uint32_t kSet = 1, kWaiters = 2, kGeneration = 4;
    std::uint32_t s = s_->word.load(std::memory_order_relaxed);
    std::uint32_t next;
    do {
        if (s & kSet) return;
        next = ((s & ~kWaiters) + kGeneration) | kSet;
    } while (!s_->word.compare_exchange_weak(s, next, std::memory_order_release, std::memory_order_relaxed));
    if (s & kWaiters) detail::shared_futex_wake_all(s_->word);
}

bool Event::wait_deadline(const concur::detail::Deadline& d) {
    constexpr std::uint32_t kSet = 1, kWaiters = 2;
    std::uint32_t s = s_->word.load(std::memory_order_acquire);
    const std::uint32_t generation = s >> 2;
    for (;;) {
        if ((s & kSet) || (s >> 2) != generation) return true;
        if (d.expired()) return false;
        if (!(s & kWaiters)) {
            if (!s_->word.compare_exchange_weak(s, s | kWaiters, std::memory_order_acquire,
                                                std::memory_order_acquire))
                continue;
            s |= kWaiters;
        }
        detail::shared_futex_wait(s_->word, s, d.get());
        s = s_->word.load(std::memory_order_acquire);
    }
}

// ---- Condition -----------------------------------------------------------

// A default Condition keeps its RLock in its own block: one descriptor.
constexpr std::uint32_t kConditionLockOffset = 64;
static_assert(sizeof(detail::ConditionState) <= kConditionLockOffset);

Condition::Condition() : Condition(detail::SharedBlock::create(128, "concur.Condition")) {}

Condition::Condition(const detail::SharedBlock& fresh)
    : Condition(detail::place_state<detail::ConditionState>(fresh, 0),
                RLock(detail::place_state<detail::RLockState>(fresh, kConditionLockOffset))) {}

Condition::Condition(Lock lock)
    : Condition(detail::make_shared_state<detail::ConditionState>("concur.Condition"), std::move(lock)) {}

Condition::Condition(RLock lock)
    : Condition(detail::make_shared_state<detail::ConditionState>("concur.Condition"), std::move(lock)) {}

bool Condition::wait_until(const concur::detail::Deadline& d) {
    if (!is_owned()) throw RuntimeError("cannot wait on un-acquired lock");
    // Both under the lock, so a notify() that follows sees this waiter
    // counted and bumps seq past the value read here.
    s_->waiters.fetch_add(1, std::memory_order_seq_cst);
    const std::uint32_t seq = s_->seq.load(std::memory_order_seq_cst);
    std::uint32_t depth = 1;
    if (auto* r = std::get_if<RLock>(&lock_))
        depth = r->release_save();
    else
        std::get<Lock>(lock_).release();
    bool notified = true;
    for (;;) {
        if (s_->seq.load(std::memory_order_acquire) != seq) break;
        if (d.expired()) {
            notified = false;
            break;
        }
        detail::shared_futex_wait(s_->seq, seq, d.get());
    }
    s_->waiters.fetch_sub(1, std::memory_order_relaxed);
    if (auto* r = std::get_if<RLock>(&lock_))
        r->acquire_restore(depth);
    else
        std::get<Lock>(lock_).acquire();
    return notified;
}

void Condition::notify(std::size_t n) {
    if (!is_owned()) throw RuntimeError("cannot notify on un-acquired lock");
    if (n == 0 || s_->waiters.load(std::memory_order_seq_cst) == 0) return;
    s_->seq.fetch_add(1, std::memory_order_seq_cst);
    detail::shared_futex_wake(s_->seq, n >= INT_MAX ? INT_MAX : static_cast<int>(n));
}

// ---- Barrier -------------------------------------------------------------
// One block: the barrier's state, its Lock and its Condition.

namespace {
constexpr std::uint32_t kBarrierLockOffset = 64;
constexpr std::uint32_t kBarrierCondOffset = 128;
static_assert(sizeof(detail::BarrierState) <= kBarrierLockOffset);
enum : std::uint32_t { kFilling, kDraining, kResetting, kBroken };

detail::SharedRef new_barrier_block(int parties, std::optional<std::chrono::nanoseconds> timeout) {
    if (parties < 1) throw ValueError("parties must be >= 1");
    if (timeout && *timeout < timeout->zero()) throw ValueError("timeout must be a non-negative duration");
    auto block = detail::SharedBlock::create(192, "concur.Barrier");
    detail::place_state<detail::PlainLockState>(block, kBarrierLockOffset);
    detail::place_state<detail::ConditionState>(block, kBarrierCondOffset);
    auto r = detail::place_state<detail::BarrierState>(block, 0);
    auto* s = r.get<detail::BarrierState>();
    s->parties.store(parties, std::memory_order_relaxed);
    s->timeout_ns.store(timeout ? timeout->count() : -1, std::memory_order_relaxed);
    return r;
}
}  // namespace

Barrier::Barrier(int parties, void (*action)(), std::optional<std::chrono::nanoseconds> timeout)
    : Barrier(new_barrier_block(parties, timeout), action) {}

Barrier::Barrier(detail::SharedRef r, void (*action)())
    : ref_(std::move(r)),
      s_(ref_.get<detail::BarrierState>()),
      cond_(detail::SharedRef{ref_.block, kBarrierCondOffset},
            Lock(detail::SharedRef{ref_.block, kBarrierLockOffset})),
      action_(action) {}

std::optional<std::chrono::nanoseconds> Barrier::default_timeout() const noexcept {
    auto ns = s_->timeout_ns.load(std::memory_order_relaxed);
    if (ns < 0) return std::nullopt;
    return std::chrono::nanoseconds(ns);
}

// The members below port CPython's Barrier; fields are relaxed atomics only
// because other processes touch them, always under the barrier's lock.
int Barrier::wait_impl(std::optional<std::chrono::nanoseconds> timeout) {
    std::unique_lock lk(cond_);
    enter();  // blocks while the previous round drains
    int index = s_->count.fetch_add(1, std::memory_order_relaxed);
    struct Leave {  // Python's `finally: self._count -= 1; self._exit()`
        Barrier* b;
        ~Leave() {
            b->s_->count.fetch_sub(1, std::memory_order_relaxed);
            b->exit();
        }
    } leave{this};
    if (index + 1 == parties())
        release_all();
    else
        wait_release(timeout);
    return index;
}

void Barrier::enter() {
    auto filling_or_broken = [this] {
        auto st = s_->state.load(std::memory_order_relaxed);
        return st != kDraining && st != kResetting;
    };
    cond_.wait_for(filling_or_broken);
    if (s_->state.load(std::memory_order_relaxed) == kBroken) throw BrokenBarrierError();
}

void Barrier::release_all() {
    try {
        if (action_) action_();
        s_->state.store(kDraining, std::memory_order_relaxed);
        cond_.notify_all();
    } catch (...) {
        break_barrier();
        throw;
    }
}

void Barrier::wait_release(std::optional<std::chrono::nanoseconds> timeout) {
    auto released = [this] { return s_->state.load(std::memory_order_relaxed) != kFilling; };
    bool ok = timeout ? cond_.wait_for(released, *timeout) : cond_.wait_for(released);
    if (!ok) {
        break_barrier();
        throw BrokenBarrierError();
    }
    auto st = s_->state.load(std::memory_order_relaxed);
    if (st == kBroken || st == kResetting) throw BrokenBarrierError();
}

void Barrier::exit() {
    auto st = s_->state.load(std::memory_order_relaxed);
    if (s_->count.load(std::memory_order_relaxed) == 0 && (st == kResetting || st == kDraining)) {
        s_->state.store(kFilling, std::memory_order_relaxed);
        cond_.notify_all();
    }
}

void Barrier::reset() {
    std::lock_guard lk(cond_);
    auto st = s_->state.load(std::memory_order_relaxed);
    if (s_->count.load(std::memory_order_relaxed) > 0) {
        if (st == kFilling || st == kBroken) s_->state.store(kResetting, std::memory_order_relaxed);
    } else {
        s_->state.store(kFilling, std::memory_order_relaxed);
    }
    cond_.notify_all();
}

void Barrier::abort() {
    std::lock_guard lk(cond_);
    break_barrier();
}

void Barrier::break_barrier() {
    s_->state.store(kBroken, std::memory_order_relaxed);
    cond_.notify_all();
}

int Barrier::n_waiting() {
    std::lock_guard lk(cond_);
    return s_->state.load(std::memory_order_relaxed) == kFilling ? s_->count.load(std::memory_order_relaxed) : 0;
}

bool Barrier::broken() {
    std::lock_guard lk(cond_);
    return s_->state.load(std::memory_order_relaxed) == kBroken;
}

}  // namespace concur::multiprocessing

// ---- codecs --------------------------------------------------------------

namespace concur::wire {

namespace mp = concur::multiprocessing;
namespace mpd = concur::multiprocessing::detail;

void codec<mp::Lock>::pack(Packer& p, const mp::Lock& v) { mpd::pack_ref(p, v.ref_); }
mp::Lock codec<mp::Lock>::unpack(const msgpack::object& o) {
    return mp::Lock(mpd::unpack_state<mpd::PlainLockState>(o));
}

void codec<mp::RLock>::pack(Packer& p, const mp::RLock& v) { mpd::pack_ref(p, v.ref_); }
mp::RLock codec<mp::RLock>::unpack(const msgpack::object& o) {
    return mp::RLock(mpd::unpack_state<mpd::RLockState>(o));
}

void codec<mp::Semaphore>::pack(Packer& p, const mp::Semaphore& v) { mpd::pack_ref(p, v.ref_); }
mp::Semaphore codec<mp::Semaphore>::unpack(const msgpack::object& o) {
    return mp::Semaphore(mpd::unpack_state<mpd::SemaphoreState>(o));
}

void codec<mp::BoundedSemaphore>::pack(Packer& p, const mp::BoundedSemaphore& v) {
    codec<mp::Semaphore>::pack(p, v);
}
mp::BoundedSemaphore codec<mp::BoundedSemaphore>::unpack(const msgpack::object& o) {
    return mp::BoundedSemaphore(codec<mp::Semaphore>::unpack(o));
}

void codec<mp::Event>::pack(Packer& p, const mp::Event& v) { mpd::pack_ref(p, v.ref_); }
mp::Event codec<mp::Event>::unpack(const msgpack::object& o) {
    return mp::Event(mpd::unpack_state<mpd::EventState>(o));
}

// [condition ref, 0 = Lock | 1 = RLock, lock ref]
void codec<mp::Condition>::pack(Packer& p, const mp::Condition& v) {
    p.pack_array(3);
    mpd::pack_ref(p, v.ref_);
    if (auto* r = std::get_if<mp::RLock>(&v.lock_)) {
        p.pack(1);
        codec<mp::RLock>::pack(p, *r);
    } else {
        p.pack(0);
        codec<mp::Lock>::pack(p, std::get<mp::Lock>(v.lock_));
    }
}
mp::Condition codec<mp::Condition>::unpack(const msgpack::object& o) {
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 3) throw msgpack::type_error();
    const msgpack::object* a = o.via.array.ptr;
    auto ref = mpd::unpack_state<mpd::ConditionState>(a[0]);
    if (a[1].as<int>() == 1) return mp::Condition(std::move(ref), codec<mp::RLock>::unpack(a[2]));
    return mp::Condition(std::move(ref), codec<mp::Lock>::unpack(a[2]));
}

// [barrier ref, action as (module, offset) or nil]
void codec<mp::Barrier>::pack(Packer& p, const mp::Barrier& v) {
    p.pack_array(2);
    mpd::pack_ref(p, v.ref_);
    if (v.action_) {
        CodeAddress where = locate(reinterpret_cast<const void*>(v.action_));
        p.pack(std::make_tuple(where.module, where.offset));
    } else {
        p.pack_nil();
    }
}
mp::Barrier codec<mp::Barrier>::unpack(const msgpack::object& o) {
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 2) throw msgpack::type_error();
    const msgpack::object* a = o.via.array.ptr;
    auto ref = mpd::unpack_state<mpd::BarrierState>(a[0]);
    mpd::checked_state<mpd::PlainLockState>(ref.block, mp::kBarrierLockOffset);
    mpd::checked_state<mpd::ConditionState>(ref.block, mp::kBarrierCondOffset);
    void (*action)() = nullptr;
    if (a[1].type != msgpack::type::NIL) {
        auto [module, offset] = a[1].as<std::tuple<std::string, std::uint64_t>>();
        action = reinterpret_cast<void (*)()>(const_cast<void*>(resolve(CodeAddress{module, offset})));
    }
    return mp::Barrier(std::move(ref), action);
}

}  // namespace concur::wire
