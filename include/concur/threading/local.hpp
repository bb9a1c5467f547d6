// threading.local, typed: local<T> holds one T per thread.
//
//   thread A's table ──┐                       ┌── local<T> x's core
//   (per thread)       ├─ Entry{core, T* in A} ─┤   (per local: mutex +
//   thread B's table ──┼─ Entry{core, T* in B} ─┤    set of its entries)
//                      └─ ...                   └── ...
//
// A thread reads its own table without locking. Each value is destroyed
// exactly once, by whichever comes first:
//  * its thread exits: the thread's table is destroyed, taking its values
//    out of their cores (under each core's mutex), after the thread's C++
//    thread_local objects; or
//  * the local<T> is destroyed: it takes every remaining value out of its
//    core and marks the core dead; threads drop dead entries lazily.
// The main thread's values are destroyed with their local<T> (the process
// exit runs no per-thread cleanup for it).
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <utility>

#include "concur/errors.hpp"

namespace concur::threading {

namespace detail {

struct LocalCore;   // src/threading/local.cpp
struct LocalTable;  // one thread's entries

// The calling thread's table (null until its first value), kept in the
// thread's per-thread record (src/threading/thread.cpp), whose exit handler
// destroys it with destroy_local_table() (src/threading/local.cpp) before it
// drops the thread's current_thread() record.
LocalTable*& local_table_slot();           // makes the record if missing
LocalTable* local_table() noexcept;        // null if no table yet
void destroy_local_table(LocalTable* table) noexcept;

// The type-erased half of local<T>.
class LocalBase {
protected:
    LocalBase();
    ~LocalBase();  // destroys every thread's value of this local
    LocalBase(const LocalBase&) = delete;
    LocalBase& operator=(const LocalBase&) = delete;

    // The calling thread's value, or null.
    void* find() const noexcept;
    // Installs `value` as the calling thread's value, destroying the old one
    // (after installing). Takes ownership of `value` even if it throws.
    void insert(void* value, void (*destroy)(void*) noexcept);
    // Destroys the calling thread's value, if any.
    void erase() noexcept;

private:
    std::shared_ptr<LocalCore> core_;
};

}  // namespace detail

// Python's threading.local for one attribute of type T. Each thread that
// touches it sees its own T, created on first get() from the factory given
// to the constructor, else default-constructed.
//
// Thread safety: any member from any thread; each thread only sees its own
// value. The factory may be called by several threads at once. Destroying the
// local<T> while another thread uses its value is a use-after-free, like
// destroying any object in use.
template <class T>
class local : private detail::LocalBase {
public:
    local() = default;
    explicit local(std::function<T()> factory) : factory_(std::move(factory)) {}

    // This thread's value, created first if missing (from the factory, else
    // T{}). Throws what the factory or T's constructor throws, and
    // RuntimeError if T is not default-constructible and there is no factory.
    T& get() {
        if (void* p = find()) return *static_cast<T*>(p);
        if (factory_) return adopt(new T(factory_()));  // no move: T may be immovable
        if constexpr (std::default_initializable<T>) {
            return adopt(new T());
        } else {
            throw RuntimeError(
                "threading::local<T>: no value in this thread and no factory; call emplace()");
        }
    }
    T& operator*() { return get(); }
    T* operator->() { return &get(); }

    // Whether this thread has a value (Python's hasattr()). Never creates one.
    bool has_value() const noexcept { return find() != nullptr; }

    // Sets this thread's value to T(args...), replacing any (Python's
    // setattr). Throws what T's constructor throws; the old value stays then.
    template <class... Args>
    T& emplace(Args&&... args) {
        return adopt(new T(std::forward<Args>(args)...));
    }

    // Destroys this thread's value, if any (Python's delattr).
    void reset() noexcept { erase(); }

private:
    static void destroy(void* p) noexcept { delete static_cast<T*>(p); }
    T& adopt(T* value) {
        insert(value, &destroy);
        return *value;
    }

    std::function<T()> factory_;
};

}  // namespace concur::threading
