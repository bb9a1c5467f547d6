#include "concur/multiprocessing/context.hpp"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "concur/errors.hpp"
#include "concur/multiprocessing/process.hpp"
#include "launcher.hpp"

namespace concur::multiprocessing {

namespace detail {
[[noreturn]] void forkserver_main(int control) noexcept;  // forkserver.cpp
std::vector<Process*> live_children();                     // process.cpp
}  // namespace detail

namespace {

std::atomic<bool> g_freeze_support{false};
std::mutex g_mu;
std::string g_default_method;  // empty: not set

// A child of fork() has only the forking thread: a lock another thread held
// at the fork stays held forever there. The child makes this one anew before
// it takes it to become the process it was told to be (as Python's
// os.register_at_fork(after_in_child=...) re-creates its module locks).
[[maybe_unused]] const bool g_fork_handler =
    (::pthread_atfork(nullptr, nullptr, [] { new (&g_mu) std::mutex(); }), true);

struct Identity {
    std::unique_ptr<ProcessInfo> self = std::make_unique<ProcessInfo>("MainProcess", ::getpid(), false);
    std::unique_ptr<ProcessInfo> parent;
    std::vector<std::uint32_t> identity;  // empty in the main process
    std::uint32_t counter = 0;
};
Identity& ident() {
    static Identity* id = new Identity();  // never destroyed: used until _exit
    return *id;
}

bool known_method(const std::string& m) { return m == "fork" || m == "spawn" || m == "forkserver"; }

int env_fd(const char* var) {
    const char* v = std::getenv(var);
    if (!v || !*v) return -1;
    int fd = std::atoi(v);
    ::unsetenv(var);  // not inherited by what this child starts itself
    return fd;
}

}  // namespace

void freeze_support() {
    g_freeze_support.store(true, std::memory_order_relaxed);
    // A spawned child or the fork server: the parent set one of these and
    // kept the descriptor open across exec.
    int server = env_fd("CONCUR_MP_FORKSERVER");
    if (server >= 0) detail::forkserver_main(server);
    int channel = env_fd("CONCUR_MP_CHILD");
    if (channel >= 0) detail::child_main(channel);
}

bool freeze_support_called() noexcept { return g_freeze_support.load(std::memory_order_relaxed); }

std::vector<std::string> get_all_start_methods() { return {"forkserver", "spawn", "fork"}; }

std::string get_start_method() {
    std::lock_guard lock(g_mu);
    return g_default_method.empty() ? "forkserver" : g_default_method;
}

void set_start_method(const std::string& method, bool force) {
    if (!known_method(method))
        throw ValueError("cannot find context for '" + method + "': use fork, spawn or forkserver");
    std::lock_guard lock(g_mu);
    if (!g_default_method.empty() && !force) throw RuntimeError("context has already been set");
    g_default_method = method;
}

Context::Context(std::string method) : method_(std::move(method)) {
    if (!known_method(method_))
        throw ValueError("cannot find context for '" + method_ + "': use fork, spawn or forkserver");
}

Context get_context(const std::string& method) { return Context(method.empty() ? get_start_method() : method); }

const ProcessInfo& current_process() {
    std::lock_guard lock(g_mu);
    return *ident().self;
}

const ProcessInfo* parent_process() {
    std::lock_guard lock(g_mu);
    return ident().parent.get();
}

std::vector<Process*> active_children() { return detail::live_children(); }

int cpu_count() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<int>(n) : 1;
}

namespace detail {

void set_current_process(const BootInfo& boot) {
    std::lock_guard lock(g_mu);
    auto& id = ident();
    id.self = std::make_unique<ProcessInfo>(boot.name, ::getpid(), boot.daemon);
    id.parent = std::make_unique<ProcessInfo>(boot.parent_name, boot.parent_pid, false);
    id.identity = boot.identity;
    id.counter = 0;
}

std::vector<std::uint32_t> next_child_identity() {
    std::lock_guard lock(g_mu);
    auto& id = ident();
    std::vector<std::uint32_t> out = id.identity;
    out.push_back(++id.counter);
    return out;
}

std::string name_prefix(const std::string& method) {
    if (method == "fork") return "Fork";
    if (method == "spawn") return "Spawn";
    return "ForkServer";
}

const std::string& current_name() noexcept { return ident().self->name(); }

}  // namespace detail

}  // namespace concur::multiprocessing
