// Thread, ThreadHandle, the thread registry, and each thread's per-thread
// record. See thread.hpp for the start/join data flow.
//
// Per-thread record (PerThread): reached through a trivially destructible
// thread_local pointer, owned by a pthread key whose destructor runs after
// the thread's C++ thread_local destructors. At exit it destroys the
// thread's local<T> values first, then drops the current_thread() record,
// so a value's destructor may still call current_thread().
#include "concur/threading/thread.hpp"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include "concur/detail/thread_name.hpp"
#include "concur/threading/event.hpp"
#include "concur/threading/local.hpp"

namespace concur::threading {
namespace detail {

enum class Kind { thread, main, dummy };

struct ThreadState {
    ThreadState(Kind k, std::string n, bool d) : kind(k), name(std::move(n)), daemon(d) {}
    ~ThreadState() {
        // Only a thread lost to fork() (see after_fork_child) is still
        // joinable here; the child cannot join it, and must not terminate.
        if (native.joinable()) native.detach();
    }

    const Kind kind;
    mutable std::mutex mu;          // guards name and target
    std::string name;
    std::unique_ptr<Task> target;   // taken (once) by Thread::run()
    std::atomic<bool> daemon;
    std::atomic<unsigned long> ident{0};  // 0 until the thread runs
    std::atomic<long> native_id{0};       // 0 until the thread runs
    // start() was called (and did not fail): false -> true, once.
    std::atomic<bool> start_called{false};
    Event started;       // the thread runs and is registered: start() may return
    Event native_ready;  // start() has stored `native`: run() may begin
    Event released;      // run() no longer touches the Thread object
    Event finished;      // run() has returned and the thread is unregistered
    // Who joins or detaches `native`: false -> true by that one caller;
    // the others wait for `reaped`.
    std::atomic<bool> native_claimed{false};
    Event reaped;
    std::thread native;  // written by start() only, before native_ready
    std::uint64_t serial = 0;  // registry key; guarded by the registry's mutex
};

namespace {

// ---- the registry: Python's threading._active ----------------------------

struct Registry {
    std::mutex mu;  // guards everything below
    std::map<std::uint64_t, std::shared_ptr<ThreadState>> alive;  // by registration order
    std::uint64_t next_serial = 0;
    std::shared_ptr<ThreadState> main;
};

std::atomic<unsigned> name_counter{0};  // Python's _counter: "Thread-N", "Dummy-N"

std::string new_name(const char* prefix) {
    return prefix + std::to_string(name_counter.fetch_add(1, std::memory_order_relaxed) + 1);
}

void after_fork_prepare() noexcept;
void after_fork_parent() noexcept;
void after_fork_child() noexcept;

// Immortal: daemon threads may still use it while the process exits.
Registry& registry() {
    static Registry* r = [] {
        auto* reg = new Registry;
        reg->main = std::make_shared<ThreadState>(Kind::main, "MainThread", false);
        reg->main->native_id.store(getpid(), std::memory_order_relaxed);  // the initial TID
        reg->main->start_called.store(true, std::memory_order_relaxed);
        reg->main->started.set();
        reg->main->released.set();
        reg->main->serial = reg->next_serial++;
        reg->alive.emplace(reg->main->serial, reg->main);
        pthread_atfork(after_fork_prepare, after_fork_parent, after_fork_child);
        return reg;
    }();
    return *r;
}

void register_alive(const std::shared_ptr<ThreadState>& st) {
    Registry& r = registry();
    std::lock_guard g(r.mu);
    st->serial = r.next_serial++;
    r.alive.emplace(st->serial, st);
}

void unregister(ThreadState& st) {
    Registry& r = registry();
    std::lock_guard g(r.mu);
    r.alive.erase(st.serial);
}

// ---- the per-thread record -------------------------------------------------

struct PerThread {
    std::shared_ptr<ThreadState> state;  // null until current_thread() or bootstrap
    LocalTable* locals = nullptr;
};

thread_local PerThread* tls_record = nullptr;

void on_thread_exit(void* p) noexcept {
    auto* rec = static_cast<PerThread*>(p);
    // A value's destructor may create values of other locals: loop.
    while (rec->locals != nullptr) {
        LocalTable* table = rec->locals;
        rec->locals = nullptr;
        destroy_local_table(table);
    }
    if (rec->state && rec->state->kind == Kind::dummy) {
        unregister(*rec->state);
        rec->state->finished.set();
    }
    tls_record = nullptr;
    delete rec;
}

pthread_key_t record_key() {
    static const pthread_key_t key = [] {
        pthread_key_t k;
        if (pthread_key_create(&k, on_thread_exit) != 0) std::abort();
        return k;
    }();
    return key;
}

PerThread& this_thread_record() {
    if (tls_record == nullptr) {
        pthread_key_t key = record_key();
        tls_record = new PerThread;
        pthread_setspecific(key, tls_record);
    }
    return *tls_record;
}

bool is_current(const ThreadState& st) noexcept {
    return tls_record != nullptr && tls_record->state.get() == &st;
}

// The record current_thread() reports on a thread that has none yet.
std::shared_ptr<ThreadState> adopt_current_thread() {
    Registry& r = registry();
    if (gettid() == getpid()) {  // the process's initial thread
        std::lock_guard g(r.mu);
        r.main->ident.store(get_ident(), std::memory_order_relaxed);
        r.main->native_id.store(gettid(), std::memory_order_relaxed);
        return r.main;
    }
    auto st = std::make_shared<ThreadState>(Kind::dummy, new_name("Dummy-"), true);
    st->ident.store(get_ident(), std::memory_order_relaxed);
    st->native_id.store(gettid(), std::memory_order_relaxed);
    st->start_called.store(true, std::memory_order_relaxed);
    st->started.set();
    st->released.set();
    register_alive(st);
    return st;
}

void set_kernel_name(const std::string& name) noexcept {
    // The kernel keeps 15 bytes plus NUL; cut before a partial UTF-8 character.
    std::size_t n = name.size() < 15 ? name.size() : 15;
    if (n < name.size())
        while (n > 0 && (static_cast<unsigned char>(name[n]) & 0xC0) == 0x80) --n;
    char buf[16] = {};
    name.copy(buf, n);
    pthread_setname_np(pthread_self(), buf);
}

void reap_native(ThreadState& st, bool join) noexcept {
    if (st.native_claimed.exchange(true, std::memory_order_acq_rel)) {
        st.reaped.wait();
        return;
    }
    if (st.native.joinable()) {
        if (join)
            st.native.join();
        else
            st.native.detach();
    }
    st.reaped.set();
}

// ---- fork: the child has one thread, the one that forked --------------------

void after_fork_prepare() noexcept { registry().mu.lock(); }
void after_fork_parent() noexcept { registry().mu.unlock(); }

void after_fork_child() noexcept {
    Registry& r = registry();  // r.mu is held, by this very thread
    std::shared_ptr<ThreadState> self = tls_record ? tls_record->state : nullptr;
    if (!self || self->kind == Kind::dummy) {
        // As Python, the forking thread becomes the child's main thread.
        self = std::make_shared<ThreadState>(Kind::main, "MainThread", false);
        self->start_called.store(true, std::memory_order_relaxed);
        self->started.set();
        self->released.set();
        if (tls_record == nullptr) {
            tls_record = new PerThread;
            pthread_setspecific(record_key(), tls_record);
        }
        tls_record->state = self;
    }
    self->ident.store(get_ident(), std::memory_order_relaxed);
    self->native_id.store(gettid(), std::memory_order_relaxed);
    for (auto& [serial, st] : r.alive) {
        if (st == self) continue;
        // Gone in the child: never joined (impossible), only reported finished.
        st->native_claimed.store(true, std::memory_order_relaxed);
        st->reaped.set();
        st->released.set();
        st->finished.set();
    }
    r.alive.clear();
    self->serial = r.next_serial++;
    r.alive.emplace(self->serial, self);
    r.main = self;
    r.mu.unlock();
}

}  // namespace

LocalTable*& local_table_slot() { return this_thread_record().locals; }
LocalTable* local_table() noexcept { return tls_record ? tls_record->locals : nullptr; }

void name_current_thread(std::string name) { current_thread().name(std::move(name)); }

}  // namespace detail

using detail::Kind;
using detail::ThreadState;

// ---- ThreadHandle --------------------------------------------------------

std::string ThreadHandle::name() const {
    std::lock_guard g(st_->mu);
    return st_->name;
}

void ThreadHandle::name(std::string name) const {
    if (detail::is_current(*st_)) detail::set_kernel_name(name);
    std::lock_guard g(st_->mu);
    st_->name = std::move(name);
}

std::optional<unsigned long> ThreadHandle::ident() const {
    unsigned long id = st_->ident.load(std::memory_order_relaxed);
    return id ? std::optional<unsigned long>(id) : std::nullopt;
}

std::optional<long> ThreadHandle::native_id() const {
    long id = st_->native_id.load(std::memory_order_relaxed);
    return id ? std::optional<long>(id) : std::nullopt;
}

bool ThreadHandle::is_alive() const { return st_->started.is_set() && !st_->finished.is_set(); }

bool ThreadHandle::daemon() const { return st_->daemon.load(std::memory_order_relaxed); }

void ThreadHandle::join() const { join_until(concur::detail::Deadline()); }

bool ThreadHandle::join_until(const concur::detail::Deadline& d) const {
    if (st_->kind == Kind::dummy) throw RuntimeError("cannot join a dummy thread");
    if (!st_->started.is_set()) throw RuntimeError("cannot join thread before it is started");
    if (detail::is_current(*st_)) throw RuntimeError("cannot join current thread");
    if (d.forever()) return st_->finished.wait();
    return st_->finished.wait_until(d.at());
}

// ---- Thread --------------------------------------------------------------

Thread::Thread(Options options, std::unique_ptr<detail::Task> target) {
    std::string name = options.name.empty() ? detail::new_name("Thread-") : std::move(options.name);
    bool daemonic = options.daemon ? *options.daemon : current_thread().daemon();
    state_ = std::make_shared<ThreadState>(Kind::thread, std::move(name), daemonic);
    state_->target = std::move(target);
}

Thread::~Thread() { finalize(); }

void Thread::start() {
    ThreadState& st = *state_;
    if (st.start_called.exchange(true, std::memory_order_acq_rel))
        throw RuntimeError("threads can only be started once");
    try {
        st.native = std::thread(&Thread::bootstrap, state_, this);
    } catch (const std::system_error&) {
        st.start_called.store(false, std::memory_order_release);
        throw RuntimeError("can't start new thread");
    } catch (...) {
        st.start_called.store(false, std::memory_order_release);
        throw;
    }
    st.native_ready.set();
    st.started.wait();
}

void Thread::bootstrap(std::shared_ptr<ThreadState> st, Thread* self) noexcept {
    detail::this_thread_record().state = st;
    st->ident.store(get_ident(), std::memory_order_relaxed);
    st->native_id.store(gettid(), std::memory_order_relaxed);
    {
        std::lock_guard g(st->mu);
        detail::set_kernel_name(st->name);
    }
    detail::register_alive(st);
    st->started.set();
    // If run() destroys this Thread, finalize() must find `native` stored.
    st->native_ready.wait();
    try {
        self->run();
    } catch (...) {
        detail::call_excepthook(std::current_exception(), ThreadHandle(st));
    }
    st->released.set();
    detail::unregister(*st);
    st->finished.set();
}

void Thread::run() {
    std::shared_ptr<ThreadState> st = state_;
    std::unique_ptr<detail::Task> target;
    {
        std::lock_guard g(st->mu);
        target = std::move(st->target);
    }
    // From here on `this` is never touched: a daemon Thread's destructor,
    // waiting for `released`, may now return.
    if (detail::is_current(*st)) st->released.set();
    if (target) (*target)();
}

void Thread::join() {
    handle().join();
    reap();
}

void Thread::reap() noexcept { detail::reap_native(*state_, true); }

void Thread::finalize() noexcept {
    ThreadState& st = *state_;
    if (!st.start_called.load(std::memory_order_acquire)) return;
    if (detail::is_current(st)) {  // destroyed by its own thread: cannot join
        detail::reap_native(st, false);
        return;
    }
    if (st.daemon.load(std::memory_order_relaxed) && !st.finished.is_set()) {
        st.released.wait();
        detail::reap_native(st, false);
        return;
    }
    st.finished.wait();
    detail::reap_native(st, true);
}

bool Thread::is_alive() const { return handle().is_alive(); }
std::string Thread::name() const { return handle().name(); }
void Thread::name(std::string name) { handle().name(std::move(name)); }
bool Thread::daemon() const { return handle().daemon(); }
std::optional<unsigned long> Thread::ident() const { return handle().ident(); }
std::optional<long> Thread::native_id() const { return handle().native_id(); }

void Thread::daemon(bool daemonic) {
    if (state_->start_called.load(std::memory_order_acquire))
        throw RuntimeError("cannot set daemon status of active thread");
    state_->daemon.store(daemonic, std::memory_order_relaxed);
}

// ---- module functions ----------------------------------------------------

ThreadHandle current_thread() {
    detail::PerThread& rec = detail::this_thread_record();
    if (!rec.state) rec.state = detail::adopt_current_thread();
    return ThreadHandle(rec.state);
}

ThreadHandle main_thread() {
    detail::Registry& r = detail::registry();
    std::lock_guard g(r.mu);
    return ThreadHandle(r.main);
}

long get_native_id() noexcept { return gettid(); }

std::size_t active_count() {
    detail::Registry& r = detail::registry();
    std::lock_guard g(r.mu);
    return r.alive.size();
}

std::vector<ThreadHandle> enumerate() {
    detail::Registry& r = detail::registry();
    std::lock_guard g(r.mu);
    std::vector<ThreadHandle> out;
    out.reserve(r.alive.size());
    for (auto& [serial, st] : r.alive) out.emplace_back(st);
    return out;
}

namespace {
// Records the main thread's ident while static initialisation runs on it, so
// that main_thread().ident() is right even if another thread asks first.
[[maybe_unused]] const bool main_thread_adopted = [] {
    if (gettid() == getpid()) (void)current_thread();
    return true;
}();
}  // namespace

}  // namespace concur::threading
