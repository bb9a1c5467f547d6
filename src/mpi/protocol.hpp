// The messages between an MPI executor's client (client.cpp) and its worker
// ranks (server.cpp). Internal to concur::mpi.
//
//   client -> worker  tag kCalls:   { CallHeader, encoded call }*   (wire::encode_call)
//   client -> worker  tag kExit:    empty; the worker sends what it still owes, then
//   worker -> client  tag kBye:     empty, its last message on the communicator
//   worker -> client  tag kResults: { ResultHeader, encoded outcome }*  (wire::run_call);
//                     an empty one when the worker starts (it opens the connection)
//
// MPI keeps the order of messages from one sender on one communicator, so an
// initializer (call id 0) sent first runs first, and kExit comes after every
// call sent before it; the client reads until every worker's kBye, so that no
// message is left unreceived when the communicator is released (Open MPI may
// match it on a later communicator). Both ends are the same binary: headers are raw structs.
#pragma once

#include "concur/mpi/detail/mpi_c.hpp"

#include <cstdint>
#include <mutex>
#include <string>

namespace concur::mpi::detail {

enum Tag : int { kCalls = 0x7c01, kResults = 0x7c02, kExit = 0x7c03, kBye = 0x7c04 };

inline constexpr std::uint64_t kInitializerId = 0;

// Calls and outcomes travel in messages of about this size at most: a worker
// starts on the first calls while the next are on their way, the client
// decodes the first outcomes while the next come, and Open MPI sends a
// message below its eager limit (64 KiB over TCP) at once, where a larger one
// waits for a rendezvous that needs both ends to poll.
inline constexpr std::size_t kBatchBytes = 32 * 1024;

struct CallHeader {
    std::uint64_t id;
    std::uint32_t length;
    std::uint32_t reserved;
};

struct ResultHeader {
    std::uint64_t id;
    std::uint32_t length;
    std::uint32_t micros;  // how long the call ran (saturated), for the client's batching
};

// Every MPI call concur makes holds this lock (runtime.cpp), so that MPI
// needs only MPI_THREAD_SERIALIZED and several executors may live at once.
std::mutex& mpi_mutex();

// MPI_Error_string of `code`, for messages.
std::string error_string(int code);

// The worker loop: runs the calls the client at `client` sends on `comm`
// until kExit. Returns normally after kExit; false if an MPI call failed.
// Takes mpi_mutex() itself around each MPI call.
bool serve(MPI_Comm comm, int client);

// MPI_Iprobe that looks at the wire: Open MPI's progress engine reads its
// sockets (the TCP transport, which is what joins spawned ranks to their
// parent) only on every 8th progress call, so a single Iprobe after each
// sleep would see a new message only every 8th wake-up, a millisecond or
// more after it came. Up to 8 tries make one real look; a message already
// matched is found by the first. Call holding mpi_mutex().
inline int probe(int source, int tag, MPI_Comm comm, int* flag, MPI_Status* status) {
    constexpr int kProgressPeriod = 8;
    int rc = MPI_SUCCESS;
    for (int i = 0; i < kProgressPeriod; ++i) {
        rc = MPI_Iprobe(source, tag, comm, flag, status);
        if (rc != MPI_SUCCESS || *flag) break;
    }
    return rc;
}

}  // namespace concur::mpi::detail
