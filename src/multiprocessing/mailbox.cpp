#include "mailbox.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "launcher.hpp"

namespace concur::multiprocessing::detail {

bool Mailbox::try_post(std::uint64_t id, std::uint16_t flags, const char* data, std::size_t size) noexcept {
    if (size > capacity() || state.load(std::memory_order_acquire) != kPolling) return false;
    header = wire::FrameHeader{};
    header.kind = kResult;
    header.id = id;
    header.flags = flags;
    header.length = static_cast<std::uint32_t>(size);
    std::memcpy(payload, data, size);
    // Fails if the parent stopped polling meanwhile: then what was written
    // here is never read, and the outcome goes by the channel.
    std::uint32_t expected = kPolling;
    return state.compare_exchange_strong(expected, kPosted, std::memory_order_release, std::memory_order_relaxed);
}

std::shared_ptr<Mailbox> create_mailbox(int& fd) noexcept {
    fd = ::memfd_create("concur-mailbox", MFD_CLOEXEC);
    if (fd < 0) return nullptr;
    if (::ftruncate(fd, Mailbox::kSize) != 0) {
        ::close(fd);
        fd = -1;
        return nullptr;
    }
    void* p = ::mmap(nullptr, Mailbox::kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        ::close(fd);
        fd = -1;
        return nullptr;
    }
    auto* box = new (p) Mailbox;  // memfd pages start zeroed: state idle
    return std::shared_ptr<Mailbox>(box, [](Mailbox* b) { ::munmap(b, Mailbox::kSize); });
}

Mailbox* map_mailbox(int fd) noexcept {
    void* p = ::mmap(nullptr, Mailbox::kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    return p == MAP_FAILED ? nullptr : static_cast<Mailbox*>(p);
}

}  // namespace concur::multiprocessing::detail
