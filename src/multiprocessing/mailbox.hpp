// A shared page between the parent and one pool worker, through which the
// worker hands a call's outcome straight to a parent thread that is polling
// for it. Internal to concur::multiprocessing.
//
// Why: over the channel alone a round trip costs three wake-ups (the worker,
// the pool's result handler, the thread in result()), and on a VM each
// wake-up of another CPU costs tens of microseconds. While a thread waits in
// result() for a short call, it polls the mailboxes itself (WorkerPool's
// RemoteWait hook) and the worker, spinning briefly between calls, reads its
// channel without sleeping: no one is woken.
//
//   state   who moves it                       when
//   idle    parent (under the pool's lock)     no thread polls; outcomes go by the channel
//   polling parent                             a thread polls: the worker may post
//   posted  worker (CAS from polling)          header and payload hold one outcome
//
// Only the worker writes the header and payload, and only in `polling`; the
// parent reads them only in `posted`, then moves the state back. Outcomes
// stay in order: the worker posts only when everything it wrote to the
// channel before has been sent, and the parent takes a posted outcome only
// when it is the next one it expects.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "concur/wire/frame.hpp"

namespace concur::multiprocessing::detail {

struct Mailbox {
    static constexpr std::uint32_t kIdle = 0, kPolling = 1, kPosted = 2;
    static constexpr std::size_t kSize = 16384;  // a trivial outcome is tens of bytes

    std::atomic<std::uint32_t> state{kIdle};
    wire::FrameHeader header;  // of the posted outcome: id, flags (run time), length
    char payload[kSize - 64];

    static constexpr std::size_t capacity() noexcept { return sizeof payload; }

    // Worker side: posts an outcome if the parent polls and it fits; false
    // means send it by the channel.
    bool try_post(std::uint64_t id, std::uint16_t flags, const char* data, std::size_t size) noexcept;
};
static_assert(sizeof(Mailbox) <= Mailbox::kSize);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "the state is shared between processes");

// Parent side: a new zeroed mailbox in anonymous shared memory (a memfd, so
// nothing is left in /dev/shm). `fd` receives the descriptor to send to the
// worker (the caller closes it). Null if the system refuses (the pool then
// uses the channel alone).
std::shared_ptr<Mailbox> create_mailbox(int& fd) noexcept;

// Worker side: maps the mailbox the parent sent; null on failure. Closes fd.
Mailbox* map_mailbox(int fd) noexcept;

}  // namespace concur::multiprocessing::detail
