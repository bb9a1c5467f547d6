// One framed message stream over a Unix stream socket, with descriptors
// carried beside frames (SCM_RIGHTS). The transport under Connection (Pipe),
// the queues, and the pool's worker channels.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "concur/detail/deadline.hpp"
#include "concur/wire/frame.hpp"

namespace concur::multiprocessing::detail {

// A received frame. Owns the descriptors that came with it until a decoder
// takes them (wire::take_fd); the rest are closed with the frame.
struct Frame {
    wire::FrameHeader header;
    std::string payload;
    std::vector<int> fds;

    Frame() = default;
    Frame(Frame&& o) noexcept;
    Frame& operator=(Frame&& o) noexcept;
    ~Frame();
    void close_fds() noexcept;
};

// Writes one whole frame: header and payload, with `fds` (borrowed; the
// receiver gets copies) attached to its first byte. Blocks until written.
// Throws BrokenPipeError / ConnectionResetError if the peer is gone, OSError
// otherwise. Callers serialize writers of one socket themselves.
void send_frame(int sock, std::uint16_t kind, std::uint64_t id, const char* payload, std::size_t size,
                std::span<const int> fds = {});

// Reads one whole frame. Returns false at a clean end of stream (the peer
// closed between frames); throws EOFError if it closed inside a frame,
// wire::DecodeError for a malformed header, TimeoutError if `deadline`
// passed before the frame's first byte (once a frame has begun, it is read to
// its end). Callers serialize readers of one socket themselves.
bool recv_frame(int sock, Frame& out, const concur::detail::Deadline& deadline = {});

// Waits until `sock` is readable (data or end of stream). Returns false if the
// deadline passed first. Retries EINTR.
bool wait_readable(int sock, const concur::detail::Deadline& deadline);

// A connected pair of Unix stream sockets, close-on-exec.
void socket_pair(int fds[2]);

}  // namespace concur::multiprocessing::detail
