#include "concur/wire/handles.hpp"

#include "concur/errors.hpp"

namespace concur::wire {

namespace {
thread_local std::vector<int>* encoding = nullptr;
thread_local std::span<int>* decoding = nullptr;
}  // namespace

EncodeHandles::EncodeHandles(std::vector<int>& out) noexcept : prev_(encoding) { encoding = &out; }
EncodeHandles::~EncodeHandles() { encoding = prev_; }

DecodeHandles::DecodeHandles(std::span<int> fds) noexcept : prev_(decoding), fds_(fds) { decoding = &fds_; }
DecodeHandles::~DecodeHandles() { decoding = prev_; }

std::uint32_t attach_fd(int fd) {
    if (!encoding)
        throw EncodeError(
            "concur::wire: this value stands for a kernel object (a pipe, a lock, shared memory) and can "
            "only be sent to a process on this machine through a multiprocessing channel");
    if (fd < 0) throw EncodeError("concur::wire: the value's descriptor is closed");
    encoding->push_back(fd);
    return static_cast<std::uint32_t>(encoding->size() - 1);
}

int take_fd(std::uint32_t index) {
    if (!decoding || index >= decoding->size())
        throw DecodeError("concur::wire: a value refers to descriptor #" + std::to_string(index) +
                          " that did not arrive with its message");
    int fd = (*decoding)[index];
    if (fd < 0) throw DecodeError("concur::wire: descriptor #" + std::to_string(index) + " was already taken");
    (*decoding)[index] = -1;
    return fd;
}

}  // namespace concur::wire
