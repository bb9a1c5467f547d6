#include "concur/wire/frame.hpp"

#include "concur/errors.hpp"

namespace concur::wire {

void check_frame(const FrameHeader& h) {
    if (h.magic != frame_magic)
        throw DecodeError("concur::wire: the stream is not a concur channel, or it lost its framing (bad magic)");
    if (h.version != frame_version)
        throw DecodeError("concur::wire: the peer speaks wire version " + std::to_string(h.version) +
                          ", this build speaks " + std::to_string(frame_version) + ": run the same build on both sides");
    if (h.length > max_frame_length)
        throw DecodeError("concur::wire: a frame claims " + std::to_string(h.length) + " bytes (limit " +
                          std::to_string(max_frame_length) + "): corrupted");
    if (h.fds > max_frame_fds) throw DecodeError("concur::wire: a frame claims too many descriptors: corrupted");
}

}  // namespace concur::wire
