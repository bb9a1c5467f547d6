// The memory under every process-shared primitive: a small anonymous block
// (memfd_create + mmap(MAP_SHARED)) that a forked child inherits and that
// another process receives as a descriptor (wire/handles.hpp), plus the
// futex and thread-identity helpers that work across processes.
//
//   process A                           process B
//   ---------                           ---------
//   SharedBlock::create() -- memfd --+
//   handle.block  (mmap)             |  SCM_RIGHTS, or inherited by fork
//   codec::pack: attach_fd(fd) ------+--> codec::unpack: take_fd(i)
//                                          SharedBlock::adopt(fd) (mmap)
//   both mappings show the same pages; futex words in them are keyed by
//   (inode, offset), so a wake in A reaches a sleeper in B.
//
// The memfd has no name in any file system: nothing appears in /dev/shm and
// nothing can leak; the pages go when the last mapping and descriptor do.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#include "concur/detail/futex.hpp"
#include "concur/wire/codec.hpp"

namespace concur::multiprocessing::detail {

// Python's multiprocessing uses the pid and the thread together as an owner;
// the kernel's thread id (gettid) is unique among the live threads of every
// process in the pid namespace, so it alone names (pid, thread). Cached per
// thread (uncontended locks make no syscall); a fork() resets the cache of
// the forking thread in the child, where it has a new id.
inline thread_local std::uint32_t cached_thread_id = 0;
std::uint32_t thread_id_slow() noexcept;
inline std::uint32_t thread_id() noexcept {
    std::uint32_t id = cached_thread_id;
    return id != 0 ? id : thread_id_slow();
}

// concur::detail::futex_wait/futex_wake without FUTEX_PRIVATE_FLAG, so that
// sleepers and wakers in different processes meet. Blocks while `word` holds
// `expected`, until woken, until `deadline`, or spuriously (EINTR included);
// returns false only when the deadline has passed.
bool shared_futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                       const concur::detail::Clock::time_point* deadline = nullptr) noexcept;
void shared_futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept;
inline void shared_futex_wake_all(std::atomic<std::uint32_t>& word) noexcept {
    shared_futex_wake(word, 0x7fffffff);
}

// A mapping of one memfd, shared by every copy of the handles built on it
// (a Python object reference): unmapped and closed with the last copy.
class SharedBlock {
public:
    // A new zero-filled block of at least `size` bytes. `name` shows in
    // /proc/<pid>/fd for debugging. Throws OSError if the system refuses
    // (EMFILE: too many open descriptors; ENOMEM).
    static SharedBlock create(std::size_t size, const char* name);
    // Maps the memfd `fd`, taking ownership of it (closed on failure too).
    // Throws wire::DecodeError if it is not a mappable block.
    static SharedBlock adopt(int fd);

    std::byte* data() const noexcept { return m_->addr; }
    std::size_t size() const noexcept { return m_->size; }
    int fd() const noexcept { return m_->fd; }

private:
    struct Mapping {
        int fd = -1;
        std::byte* addr = nullptr;
        std::size_t size = 0;
        ~Mapping();
    };
    std::shared_ptr<Mapping> m_;
};

// Where one primitive's state lives: a block and an offset into it (a Value
// keeps its RLock in its own block, a Barrier its Lock and Condition).
// Every state struct starts with a 32-bit tag naming its type, which the
// decoder checks so that a damaged or mismatched message fails cleanly.
struct SharedRef {
    SharedBlock block;
    std::uint32_t offset = 0;

    template <class State>
    State* get() const noexcept {
        return reinterpret_cast<State*>(block.data() + offset);
    }
};

// Constructs a tagged, value-initialized `State` at `offset` of a new block
// (`b` must be fresh: nothing else may be using that range yet).
template <class State>
SharedRef place_state(const SharedBlock& b, std::uint32_t offset) {
    SharedRef r{b, offset};
    new (r.block.data() + offset) State{};
    r.get<State>()->tag.store(State::kTag, std::memory_order_relaxed);
    return r;
}

// A new block holding one `State`.
template <class State>
SharedRef make_shared_state(const char* name) {
    return place_state<State>(SharedBlock::create(sizeof(State), name), 0);
}

// The codec halves for a SharedRef: [descriptor index, offset].
void pack_ref(wire::Packer& p, const SharedRef& r);
// Checks that a `State` fits at the offset and carries its tag; throws
// wire::DecodeError if not (a damaged message, or a handle of another type).
SharedRef unpack_ref(const msgpack::object& o, std::uint32_t tag, std::size_t state_size);
SharedRef checked_ref(const SharedBlock& b, std::uint32_t offset, std::uint32_t tag, std::size_t state_size);

template <class State>
SharedRef unpack_state(const msgpack::object& o) {
    return unpack_ref(o, State::kTag, sizeof(State));
}
template <class State>
SharedRef checked_state(const SharedBlock& b, std::uint32_t offset) {
    return checked_ref(b, offset, State::kTag, sizeof(State));
}

// Four characters as a tag ('LOCK').
constexpr std::uint32_t make_tag(const char (&s)[5]) {
    return std::uint32_t(std::uint8_t(s[0])) | std::uint32_t(std::uint8_t(s[1])) << 8 |
           std::uint32_t(std::uint8_t(s[2])) << 16 | std::uint32_t(std::uint8_t(s[3])) << 24;
}

}  // namespace concur::multiprocessing::detail
