// SharedMemory and its exit-time safety net (Python's resource_tracker,
// reduced to one process: see shared_memory.hpp).
#include "concur/multiprocessing/shared_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <utility>
#include <vector>

#include "concur/errors.hpp"

namespace concur::multiprocessing::shared_memory {

namespace {

// Blocks created here and not yet unlinked, with the pid that created them:
// a forked child inherits the list but must not unlink its parent's blocks.
struct Tracker {
    std::mutex mutex;
    std::vector<std::pair<pid_t, std::string>> names;
};
Tracker& tracker() {
    static Tracker* t = [] {
        // Another thread may have held the lock at a fork (see context.cpp).
        ::pthread_atfork(nullptr, nullptr, [] { new (&tracker().mutex) std::mutex(); });
        return new Tracker;  // never destroyed: used from atexit
    }();
    return *t;
}

void unlink_leaked_at_exit() {
    Tracker& t = tracker();
    std::vector<std::string> leaked;
    {
        std::lock_guard g(t.mutex);
        pid_t me = getpid();
        for (auto& [pid, name] : t.names)
            // ENOENT: another process unlinked it, which is no leak.
            if (pid == me && shm_unlink(("/" + name).c_str()) == 0) leaked.push_back("/" + name);
        t.names.clear();
    }
    if (leaked.empty()) return;
    std::string list;
    for (auto& n : leaked) list += (list.empty() ? "" : ", ") + n;
    std::fprintf(stderr,
                 "concur: %zu leaked shared_memory object%s to clean up at shutdown: %s "
                 "(call unlink() once when done, or pass track = false)\n",
                 leaked.size(), leaked.size() == 1 ? "" : "s", list.c_str());
}

void track(const std::string& name) {
    static std::once_flag once;
    std::call_once(once, [] { std::atexit(unlink_leaked_at_exit); });
    Tracker& t = tracker();
    std::lock_guard g(t.mutex);
    t.names.emplace_back(getpid(), name);
}

void untrack(const std::string& name) {
    Tracker& t = tracker();
    std::lock_guard g(t.mutex);
    pid_t me = getpid();
    std::erase_if(t.names, [&](const auto& e) { return e.first == me && e.second == name; });
}

// Python's _make_filename(): "psm_" and 8 random hex digits. Fresh entropy
// each time: a generator's state would be copied into forked children.
std::string random_name() {
    char buf[16];
    std::snprintf(buf, sizeof buf, "psm_%08x", static_cast<unsigned>(std::random_device{}()));
    return buf;
}

[[noreturn]] void throw_os(int err, const std::string& name, const char* what) {
    std::string msg = "shared memory '" + name + "': ";
    if (err == EEXIST)
        msg += "already exists (FileExistsError): choose another name, attach to it with create = false, "
               "or unlink() the old one";
    else if (err == ENOENT)
        msg += "no such shared memory (FileNotFoundError): create it first with create = true, or check the "
               "name (it is given without a leading slash)";
    else
        msg += std::string(what) + ": " + std::strerror(err);
    throw OSError(err, msg);
}

}  // namespace

struct SharedMemory::Impl {
    std::string name;
    std::size_t size = 0;
    int fd = -1;
    std::byte* addr = nullptr;
    bool tracked = false;
    std::mutex mutex;  // close() against close() through another copy

    ~Impl() { close(); }
    void close() noexcept {
        std::lock_guard g(mutex);
        if (addr) munmap(addr, size);
        if (fd >= 0) ::close(fd);
        addr = nullptr;
        fd = -1;
    }
};

SharedMemory::SharedMemory(std::string name, bool create, std::size_t size, bool track_it)
    : impl_(std::make_shared<Impl>()) {
    if (!name.empty() && name.front() == '/') name.erase(0, 1);
    if (name.empty() && !create) throw ValueError("SharedMemory: a name is required unless create = true");
    if (create && size == 0) throw ValueError("SharedMemory: 'size' must be a positive number when creating");
    Impl& m = *impl_;
    const bool generated = name.empty();
    for (;;) {
        m.name = generated ? random_name() : name;
        int flags = create ? O_CREAT | O_EXCL | O_RDWR : O_RDWR;
        m.fd = shm_open(("/" + m.name).c_str(), flags | O_CLOEXEC, 0600);
        if (m.fd >= 0) break;
        if (!(generated && errno == EEXIST)) throw_os(errno, m.name, "shm_open");
    }
    // From here a failure must not leave a block that we created behind.
    auto fail = [&](int err, const char* what) {
        if (create) shm_unlink(("/" + m.name).c_str());
        throw_os(err, m.name, what);
    };
    if (create) {
        int rc;
        while ((rc = ftruncate(m.fd, static_cast<off_t>(size))) == -1 && errno == EINTR) {
        }
        if (rc == -1) fail(errno, "ftruncate");
        m.size = size;
    } else {
        struct stat st{};
        if (fstat(m.fd, &st) == -1) fail(errno, "fstat");
        if (st.st_size == 0) throw ValueError("shared memory '" + m.name + "' is empty and cannot be mapped");
        m.size = static_cast<std::size_t>(st.st_size);
    }
    void* p = mmap(nullptr, m.size, PROT_READ | PROT_WRITE, MAP_SHARED, m.fd, 0);
    if (p == MAP_FAILED) fail(errno, "mmap");
    m.addr = static_cast<std::byte*>(p);
    if (create && track_it) {
        track(m.name);
        m.tracked = true;
    }
}

const std::string& SharedMemory::name() const noexcept { return impl_->name; }
std::size_t SharedMemory::size() const noexcept { return impl_->size; }
std::span<std::byte> SharedMemory::buf() const noexcept {
    return impl_->addr ? std::span<std::byte>(impl_->addr, impl_->size) : std::span<std::byte>();
}

void SharedMemory::close() noexcept { impl_->close(); }

void SharedMemory::unlink() {
    if (impl_->tracked) untrack(impl_->name);
    if (shm_unlink(("/" + impl_->name).c_str()) == -1) throw_os(errno, impl_->name, "shm_unlink");
}

}  // namespace concur::multiprocessing::shared_memory
