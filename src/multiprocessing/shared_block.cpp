// SharedBlock, the shared futex and the cached thread id. See
// detail/shared_block.hpp for the picture.
#include "concur/multiprocessing/detail/shared_block.hpp"

#include <linux/futex.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

#include "concur/errors.hpp"
#include "concur/wire/handles.hpp"

namespace concur::multiprocessing::detail {

namespace {

void reset_thread_id_in_child() noexcept { cached_thread_id = 0; }

std::size_t page_round(std::size_t n) {
    auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return (n + page - 1) / page * page;
}

}  // namespace

std::uint32_t thread_id_slow() noexcept {
    // Registered before the first id is cached, so no cache outlives a fork.
    static const bool registered = (pthread_atfork(nullptr, nullptr, reset_thread_id_in_child), true);
    (void)registered;
    cached_thread_id = static_cast<std::uint32_t>(syscall(SYS_gettid));
    return cached_thread_id;
}

bool shared_futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                       const concur::detail::Clock::time_point* deadline) noexcept {
    timespec ts{};
    timespec* tsp = nullptr;
    if (deadline) {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline->time_since_epoch()).count();
        if (ns < 0) ns = 0;
        ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
        ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
        tsp = &ts;
    }
    // Absolute CLOCK_MONOTONIC deadline (steady_clock): a wait that EINTR
    // interrupts resumes against the same deadline in the caller's loop.
    long rc = syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_BITSET, expected, tsp,
                      nullptr, FUTEX_BITSET_MATCH_ANY);
    return !(rc == -1 && errno == ETIMEDOUT);
}

void shared_futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept {
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, count, nullptr, nullptr, 0);
}

SharedBlock::Mapping::~Mapping() {
    if (addr) munmap(addr, size);
    if (fd >= 0) close(fd);
}

SharedBlock SharedBlock::create(std::size_t size, const char* name) {
    auto m = std::make_shared<Mapping>();
    m->size = page_round(size);
    m->fd = memfd_create(name, MFD_CLOEXEC);
    if (m->fd < 0) {
        int err = errno;
        throw OSError(err, std::string("concur::multiprocessing: cannot create the shared memory of a ") + name +
                               ": memfd_create: " + std::strerror(err) +
                               (err == EMFILE ? " (each primitive holds one descriptor: raise ulimit -n)" : ""));
    }
    int rc;
    while ((rc = ftruncate(m->fd, static_cast<off_t>(m->size))) == -1 && errno == EINTR) {
    }
    if (rc == -1) {
        int err = errno;
        throw OSError(err, std::string("concur::multiprocessing: cannot size the shared memory of a ") + name +
                               ": " + std::strerror(err));
    }
    void* p = mmap(nullptr, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        throw OSError(err, std::string("concur::multiprocessing: cannot map the shared memory of a ") + name +
                               ": " + std::strerror(err));
    }
    m->addr = static_cast<std::byte*>(p);
    SharedBlock b;
    b.m_ = std::move(m);
    return b;
}

SharedBlock SharedBlock::adopt(int fd) {
    auto m = std::make_shared<Mapping>();
    m->fd = fd;  // closed by ~Mapping if anything below throws
    struct stat st{};
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size <= 0)
        throw wire::DecodeError("concur::multiprocessing: a received lock or shared value does not refer to "
                                "shared memory (the message is damaged or from another program)");
    m->size = static_cast<std::size_t>(st.st_size);
    void* p = mmap(nullptr, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        throw OSError(err, std::string("concur::multiprocessing: cannot map received shared memory: ") +
                               std::strerror(err));
    }
    m->addr = static_cast<std::byte*>(p);
    SharedBlock b;
    b.m_ = std::move(m);
    return b;
}

void pack_ref(wire::Packer& p, const SharedRef& r) {
    p.pack_array(2);
    p.pack(wire::attach_fd(r.block.fd()));
    p.pack(r.offset);
}

SharedRef checked_ref(const SharedBlock& b, std::uint32_t offset, std::uint32_t tag, std::size_t state_size) {
    SharedRef r{b, offset};
    if (std::size_t(offset) + state_size > b.size() || offset % alignof(std::max_align_t) != 0 ||
        r.get<std::atomic<std::uint32_t>>()->load(std::memory_order_relaxed) != tag)
        throw wire::DecodeError("concur::multiprocessing: a received shared object is not of the type the "
                                "function expects (the message is damaged or from another program)");
    return r;
}

SharedRef unpack_ref(const msgpack::object& o, std::uint32_t tag, std::size_t state_size) {
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 2) throw msgpack::type_error();
    auto index = o.via.array.ptr[0].as<std::uint32_t>();
    auto offset = o.via.array.ptr[1].as<std::uint32_t>();
    return checked_ref(SharedBlock::adopt(wire::take_fd(index)), offset, tag, state_size);
}

}  // namespace concur::multiprocessing::detail
