// multiprocessing.Value and multiprocessing.Array: plain data in shared
// memory, with an RLock beside it (Python's synchronized wrappers).
//
//   void work(multiprocessing::Value<int> counter) {
//       std::lock_guard g(counter.get_lock());   // Python's `with counter.get_lock():`
//       counter.get_obj() += 1;                  // counter.value += 1
//   }
//
// Both are handles, cheap to copy, like a Python object reference; every
// copy, in any process (forked, or received as an argument), names the same
// memory. value() / value(v), get(i) / set(i, v) take the lock for the one
// access, as Python's do; a read-modify-write needs the lock held around it.
//
// T must be trivially copyable: its bytes are shared as they are, so a
// pointer inside one means nothing to the other process.
//
// Thread safety: as for the values themselves; the lock is the tool.
#pragma once

#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "concur/multiprocessing/synchronize.hpp"

namespace concur::multiprocessing {

namespace detail {

// The head of a Value's or Array's block; its RLock follows at
// kCTypeLockOffset, the elements at kCTypeDataOffset.
struct CTypeHeader {
    std::atomic<std::uint32_t> tag;        // VALU or ARRY
    std::atomic<std::uint32_t> elem_size;  // sizeof(T): checked when received
    std::atomic<std::uint64_t> length;     // elements (1 for a Value)
    std::atomic<std::uint32_t> has_lock;   // 0: made with lock = false
};
inline constexpr std::uint32_t kValueTag = make_tag("VALU");
inline constexpr std::uint32_t kArrayTag = make_tag("ARRY");
inline constexpr std::uint32_t kCTypeLockOffset = 64;
inline constexpr std::uint32_t kCTypeDataOffset = 128;

// A new zero-filled block for `length` elements of `elem_size` bytes.
// Throws ValueError if that overflows, OSError as Lock().
SharedRef new_ctype_block(std::uint32_t tag, std::size_t elem_size, std::size_t length, bool lock);
// Checks the tag, the element size and that the elements fit; the codecs'
// halves. wire::DecodeError on a mismatch.
SharedRef unpack_ctype(const msgpack::object& o, std::uint32_t tag, std::size_t elem_size);

template <class T>
constexpr bool check_ctype() {
    static_assert(std::is_trivially_copyable_v<T>,
                  "concur::multiprocessing::Value<T> / Array<T>: T must be trivially copyable (a number, "
                  "an enum, a std::array or a plain struct of them): its bytes are shared between "
                  "processes as they are; use a multiprocessing Queue for other types");
    static_assert(!std::is_pointer_v<T>,
                  "concur::multiprocessing::Value<T> / Array<T>: a pointer means nothing in another process");
    static_assert(alignof(T) <= kCTypeDataOffset, "concur::multiprocessing: T is over-aligned");
    return true;
}

// What Value and Array have in common: the block, the optional lock, the data.
template <class T>
class CTypeBase {
protected:
    explicit CTypeBase(SharedRef r)
        : ref_(std::move(r)),
          data_(reinterpret_cast<T*>(ref_.block.data() + kCTypeDataOffset)),
          length_(ref_.template get<CTypeHeader>()->length.load(std::memory_order_relaxed)) {
        if (ref_.template get<CTypeHeader>()->has_lock.load(std::memory_order_relaxed))
            lock_.emplace(RLock(SharedRef{ref_.block, kCTypeLockOffset}));
    }
    RLock& lock_or_throw(const char* what) const {
        if (!lock_)
            throw RuntimeError(std::string("this ") + what +
                               " was created with lock = false and has no lock: create it with lock = true, "
                               "or guard it with a multiprocessing::Lock of your own");
        return *lock_;
    }
    // Runs f under the lock if there is one (Python's synchronized access).
    template <class F>
    decltype(auto) locked(F&& f) const {
        if (!lock_) return f();
        std::lock_guard g(*lock_);
        return f();
    }

    SharedRef ref_;
    mutable std::optional<RLock> lock_;
    T* data_;
    std::size_t length_;
};

}  // namespace detail

// Python's multiprocessing.Value(typecode, value, lock=True).
template <class T>
class Value : private detail::CTypeBase<T> {
    static_assert(detail::check_ctype<T>());
    using Base = detail::CTypeBase<T>;

public:
    // A new shared T holding `initial`, with an RLock unless lock = false.
    // Throws OSError if the system has no memory or descriptors left.
    explicit Value(const T& initial = T{}, bool lock = true)
        : Base(detail::new_ctype_block(detail::kValueTag, sizeof(T), 1, lock)) {
        std::memcpy(static_cast<void*>(this->data_), &initial, sizeof(T));
    }

    // Python's .value: a copy read, or a write, under the lock (blocks on it;
    // recursive, so also fine while the caller holds get_lock()).
    T value() const {
        return this->locked([&] {
            T v;
            std::memcpy(static_cast<void*>(&v), this->data_, sizeof(T));
            return v;
        });
    }
    void value(const T& v) {
        this->locked([&] { std::memcpy(static_cast<void*>(this->data_), &v, sizeof(T)); });
    }

    // The lock guarding the value, for read-modify-write (Python's
    // get_lock()). Throws RuntimeError if made with lock = false.
    RLock& get_lock() const { return this->lock_or_throw("Value"); }
    // The shared object itself, unsynchronized (Python's get_obj()).
    T& get_obj() const noexcept { return *this->data_; }

private:
    friend struct wire::codec<Value>;
    explicit Value(detail::SharedRef r) : Base(std::move(r)) {}
};

// Python's multiprocessing.Array(typecode, size_or_initializer, lock=True).
// Array<int>(5) is five zeros; Array<int>{5} (a braced list) is one 5.
template <class T>
class Array : private detail::CTypeBase<T> {
    static_assert(detail::check_ctype<T>());
    using Base = detail::CTypeBase<T>;

public:
    // `size` zero-filled elements. Throws ValueError if too large, OSError
    // as Lock().
    explicit Array(std::size_t size, bool lock = true)
        : Base(detail::new_ctype_block(detail::kArrayTag, sizeof(T), size, lock)) {}
    Array(std::initializer_list<T> init, bool lock = true) : Array(std::span<const T>(init), lock) {}
    explicit Array(std::span<const T> init, bool lock = true) : Array(init.size(), lock) {
        if (!init.empty()) std::memcpy(static_cast<void*>(this->data_), init.data(), init.size_bytes());
    }

    std::size_t size() const noexcept { return this->length_; }
    // Unsynchronized access, as to a std::vector: hold get_lock() around
    // what must be atomic.
    T& operator[](std::size_t i) const noexcept { return this->data_[i]; }
    T* data() const noexcept { return this->data_; }
    std::span<T> span() const noexcept { return {this->data_, this->length_}; }
    T* begin() const noexcept { return this->data_; }
    T* end() const noexcept { return this->data_ + this->length_; }
    // The elements, unsynchronized (Python's get_obj()).
    std::span<T> get_obj() const noexcept { return span(); }

    // One element read or written under the lock (Python's arr[i]; blocks on
    // the lock, if any). Throws std::out_of_range (Python's IndexError) for
    // i >= size().
    T get(std::size_t i) const {
        check(i);
        return this->locked([&] {
            T v;
            std::memcpy(static_cast<void*>(&v), this->data_ + i, sizeof(T));
            return v;
        });
    }
    void set(std::size_t i, const T& v) {
        check(i);
        this->locked([&] { std::memcpy(static_cast<void*>(this->data_ + i), &v, sizeof(T)); });
    }

    // Throws RuntimeError if made with lock = false.
    RLock& get_lock() const { return this->lock_or_throw("Array"); }

private:
    friend struct wire::codec<Array>;
    explicit Array(detail::SharedRef r) : Base(std::move(r)) {}
    void check(std::size_t i) const {
        if (i >= this->length_)
            throw std::out_of_range("array index " + std::to_string(i) + " out of range (size " +
                                    std::to_string(this->length_) + ")");
    }
};

}  // namespace concur::multiprocessing

// Both cross a process as their memfd (a descriptor beside the message).
namespace concur::wire {

template <class T>
struct codec<multiprocessing::Value<T>> {
    static void pack(Packer& p, const multiprocessing::Value<T>& v) { multiprocessing::detail::pack_ref(p, v.ref_); }
    static multiprocessing::Value<T> unpack(const msgpack::object& o) {
        return multiprocessing::Value<T>(
            multiprocessing::detail::unpack_ctype(o, multiprocessing::detail::kValueTag, sizeof(T)));
    }
};

template <class T>
struct codec<multiprocessing::Array<T>> {
    static void pack(Packer& p, const multiprocessing::Array<T>& v) { multiprocessing::detail::pack_ref(p, v.ref_); }
    static multiprocessing::Array<T> unpack(const msgpack::object& o) {
        return multiprocessing::Array<T>(
            multiprocessing::detail::unpack_ctype(o, multiprocessing::detail::kArrayTag, sizeof(T)));
    }
};

}  // namespace concur::wire
