// File descriptors that travel beside a message.
//
// Some values stand for a kernel object rather than bytes: a Pipe's
// Connection, a process-shared Lock's memory, a SharedMemory block. Such a
// value is encoded as an index into the message's handle list; the transport
// sends the descriptors themselves out of band (SCM_RIGHTS on a Unix socket),
// so they arrive as new descriptors for the same kernel objects, whatever the
// start method of the receiving process.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace concur::wire {

// While a message is being encoded, its handle list is installed on the
// encoding thread; while one is decoded, its received descriptors are.
// Transports install them with these RAII scopes.
class EncodeHandles {
public:
    explicit EncodeHandles(std::vector<int>& out) noexcept;
    ~EncodeHandles();
    EncodeHandles(const EncodeHandles&) = delete;
    EncodeHandles& operator=(const EncodeHandles&) = delete;

private:
    std::vector<int>* prev_;
};

class DecodeHandles {
public:
    // `fds` are owned by the receiving transport; a decoder that keeps one
    // takes it with take_fd(), and the transport closes what is left.
    explicit DecodeHandles(std::span<int> fds) noexcept;
    ~DecodeHandles();
    DecodeHandles(const DecodeHandles&) = delete;
    DecodeHandles& operator=(const DecodeHandles&) = delete;

private:
    std::span<int>* prev_;
    std::span<int> fds_;
};

// For a value's encoder: appends `fd` (borrowed; the transport sends a copy)
// to the message being encoded and returns its index. Throws wire::EncodeError
// when the transport cannot carry descriptors (no EncodeHandles installed,
// e.g. a message to another host through MPI).
std::uint32_t attach_fd(int fd);

// For a value's decoder: takes ownership of the descriptor with that index.
// Throws wire::DecodeError if the message has no such descriptor or it was
// already taken.
int take_fd(std::uint32_t index);

}  // namespace concur::wire
