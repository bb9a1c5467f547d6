// Starting a child process with one of Python's start methods, and what the
// child does first. Internal to concur::multiprocessing.
//
// Every child is connected to its parent by one Unix stream socket (the
// "channel"). The parent's first frame is BOOT (who the child is); then
// either the call to run (a Process) or the pool's tasks (a pool worker).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "concur/wire/codec.hpp"

namespace concur::multiprocessing::detail {

// Frame kinds of the parent <-> child protocol.
enum Kind : std::uint16_t {
    kBoot = 1,      // parent -> child: BootInfo
    kCall = 2,      // parent -> child: a call to run (id = task id)
    kResult = 3,    // child -> parent: its outcome (id = task id; flags = run time in us)
    kInit = 4,      // parent -> worker: the initializer call; answered by kResult with id 0
    kRunLocal = 5,  // parent -> forked child: call run() on the Process at this address
    kExit = 6,      // parent -> worker: finish and exit
    kRetire = 7,    // worker -> parent: max_tasks_per_child reached; exiting
    kReady = 8,     // worker -> parent: booted (and initialized)
    kMailbox = 9,   // parent -> worker: the descriptor of its mailbox (mailbox.hpp)
};

enum class Role : std::uint8_t { process = 1, pool_worker = 2 };

struct BootInfo {
    std::string name;
    std::vector<std::uint32_t> identity;  // Python's _identity, e.g. {1} or {1, 2}
    bool daemon = false;
    std::uint8_t role = 0;
    std::int32_t parent_pid = 0;
    std::string parent_name;
    std::uint64_t max_tasks = 0;  // pool worker: exit after this many tasks; 0 = never
    std::string start_method;
    MSGPACK_DEFINE(name, identity, daemon, role, parent_pid, parent_name, max_tasks, start_method)
};

// A started child, as its parent sees it.
struct Child {
    pid_t pid = 0;
    // Readable when the child has exited: a pidfd (fork, spawn) or the status
    // pipe the fork server writes to (forkserver).
    int sentinel = -1;
    bool via_forkserver = false;
    std::optional<int> status;  // raw wait status once reaped

    // Reaps the child if it has exited (blocking until then if `block`).
    // Returns the raw wait status, or nothing if still running. Never throws.
    std::optional<int> reap(bool block) noexcept;
    void close() noexcept;  // closes the sentinel (after reaping)
};

// This process's argv, from /proc/self/cmdline: what a re-executed child
// (spawn, the fork server) is started with.
std::vector<std::string> own_argv();

// Python's exitcode from a raw wait status: the exit value, or -signal.
int exitcode_of(int status) noexcept;

// Starts a child running child_main() on `child_channel` (closed here in the
// parent once started). `die_with_parent` makes the child exit when this
// thread's process dies (pool workers). `close_in_child`: descriptors of the
// parent a forked child must not keep (other workers' channels). Blocks until
// the child exists. Throws OSError, or RuntimeError for a method that needs
// freeze_support() in a program that did not call it.
Child launch(const std::string& method, int child_channel, bool die_with_parent,
             std::span<const int> close_in_child = {});

// The child side: reads BOOT and runs the child's work; never returns.
[[noreturn]] void child_main(int channel) noexcept;

// The child's worker loop (worker.cpp); returns the exit code.
int worker_loop(int channel, const BootInfo& boot) noexcept;

// Records who this process is (context.cpp), from BOOT.
void set_current_process(const BootInfo& boot);

// A new child has no children yet: a forked one drops the list it inherited
// (process.cpp), as Python's bootstrap resets process._children.
void forget_inherited_children() noexcept;

// The next number in this process's child counter (Python's _process_counter)
// and the identity a new child gets.
std::vector<std::uint32_t> next_child_identity();

// "Fork", "Spawn", "ForkServer": Python's prefix for process names.
std::string name_prefix(const std::string& method);

// Name of the calling process (for BOOT's parent_name).
const std::string& current_name() noexcept;

}  // namespace concur::multiprocessing::detail
