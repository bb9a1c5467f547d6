// multiprocessing.shared_memory.SharedMemory: a named block of memory that
// any process on this machine may attach to by name (POSIX shm_open, a file
// in /dev/shm, as Python's).
//
//   creator                                     any other process
//   -------                                     -----------------
//   SharedMemory shm{"", true, 4096};  // "psm_1a2b3c4d"
//   send shm (or shm.name())  ----------------> SharedMemory shm{name};
//   ... both use shm.buf() ...                  ... shm.close();
//   shm.close(); shm.unlink();
//
// Ownership, as in Python: close() ends this process's use (every process
// calls it, or lets the last handle go); unlink() removes the name and the
// memory once every process has closed it, and is the creator's job, once.
// As Python's resource tracker, a safety net unlinks at normal exit (atexit,
// in the creating process) each block this process created and never
// unlinked, with a warning on stderr; pass track = false to opt out (Python
// 3.13's track=False) when another process is to unlink it. A process that
// dies by a signal or _exit() leaves its blocks in /dev/shm.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "concur/errors.hpp"
#include "concur/wire/codec.hpp"

namespace concur::multiprocessing::shared_memory {

// A handle, cheap to copy, like a reference to a Python SharedMemory object:
// copies share one mapping, and close() through any of them closes it for all.
// Thread safety: buf() from any thread; close() and unlink() must not race
// with other use of the same handle.
class SharedMemory {
public:
    // With create = true: a new block of `size` bytes (zero-filled) named
    // `name`, or a fresh unique "psm_XXXXXXXX" when `name` is empty. With
    // create = false: attaches to the existing block `name`; `size` is
    // ignored (the block's own size is used). A name has no leading slash
    // (one given is dropped). Throws ValueError for create with size 0, or
    // for an empty name without create; OSError (errno_value()) EEXIST if
    // `name` exists already (Python's FileExistsError), ENOENT if it does
    // not (FileNotFoundError), EACCES, ENAMETOOLONG, EINVAL for a name with
    // '/', EMFILE. Never blocks beyond the system calls.
    explicit SharedMemory(std::string name = "", bool create = false, std::size_t size = 0, bool track = true);

    // The name, without the leading slash, as Python's .name.
    const std::string& name() const noexcept;
    // The block's size in bytes.
    std::size_t size() const noexcept;
    // The memory; empty after close().
    std::span<std::byte> buf() const noexcept;

    // Unmaps the block and closes its descriptor, for this handle and its
    // copies; idempotent. The block itself lives on until unlink(). Never
    // throws.
    void close() noexcept;

    // Removes the name from the system (shm_unlink); the memory goes once
    // every process has closed it. Call once, from one process (the
    // creator's job). Throws OSError ENOENT if already unlinked.
    void unlink();

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace concur::multiprocessing::shared_memory

// Crosses a process by name, as Python pickles it: the receiver attaches
// (create = false) and does not track it.
namespace concur::wire {
template <>
struct codec<multiprocessing::shared_memory::SharedMemory> {
    static void pack(Packer& p, const multiprocessing::shared_memory::SharedMemory& v) { p.pack(v.name()); }
    static multiprocessing::shared_memory::SharedMemory unpack(const msgpack::object& o) {
        return multiprocessing::shared_memory::SharedMemory(o.as<std::string>());
    }
};
}  // namespace concur::wire
