// The frame every concur message travels in between processes: a fixed
// header, then `length` bytes of msgpack, with `fds` descriptors beside it.
// Checked before anything is decoded, so that a corrupted, truncated or
// foreign stream is reported as such instead of being misread.
#pragma once

#include <cstdint>

namespace concur::wire {

inline constexpr std::uint32_t frame_magic = 0x31574343;  // "CCW1" little-endian
inline constexpr std::uint16_t frame_version = 1;
// A frame larger than this is refused (a corrupted length would otherwise
// make the receiver allocate gigabytes).
inline constexpr std::uint32_t max_frame_length = 1u << 30;
inline constexpr std::uint16_t max_frame_fds = 250;  // SCM_RIGHTS allows 253

struct FrameHeader {
    std::uint32_t magic = frame_magic;
    std::uint16_t version = frame_version;
    std::uint16_t kind = 0;    // what the payload is; defined by the protocol using it
    std::uint32_t length = 0;  // payload bytes after the header
    std::uint16_t fds = 0;     // descriptors sent with the frame's first byte
    std::uint16_t flags = 0;
    std::uint64_t id = 0;      // e.g. the call a reply belongs to
};
static_assert(sizeof(FrameHeader) == 24);

// Throws wire::DecodeError naming what is wrong (magic, version, length).
void check_frame(const FrameHeader& h);

}  // namespace concur::wire
