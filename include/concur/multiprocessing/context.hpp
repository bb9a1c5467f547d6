// Start methods and the process-wide facts of Python's multiprocessing:
// freeze_support, get_context, set_start_method, current_process,
// parent_process, active_children, cpu_count.
//
// How a child process begins (Python's start methods):
//   "fork"       the child is a copy of this process at the moment of
//                start(); fastest, but only the forking thread exists in the
//                child, so a lock that another thread held at that moment
//                stays locked there forever (malloc's own are handled; yours,
//                stdio's and any library's are not). Use it from a process that
//                runs no other threads, or when you know what they hold.
//   "spawn"      the child re-executes this program's binary and goes straight
//                to the worker loop from freeze_support(); slowest to start,
//                nothing inherited but what is sent.
//   "forkserver" (the default) a server process is spawned once, while it
//                still runs one thread, and forks each child from itself:
//                fork's start-up cost without fork's danger.
// "spawn" and "forkserver" re-execute the binary, so main() must call
// multiprocessing::freeze_support() first -- the C++ form of Python's
// `if __name__ == "__main__":` guard. A child started that way never returns
// from it; in the parent it returns at once.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace concur::multiprocessing {

class Process;

// Must be the first statement of main() in a program that uses the "spawn"
// or "forkserver" start methods (the default). In a child started by one of
// them it runs that child's work and exits without returning; elsewhere it
// returns at once. Thread: main's, before any other thread starts.
void freeze_support();

// Whether freeze_support() was called in this process.
bool freeze_support_called() noexcept;

// The start methods this platform offers: {"fork", "spawn", "forkserver"}.
std::vector<std::string> get_all_start_methods();

// The start method used by Process and Pool when none is named. Python 3.14's
// default on Linux, "forkserver", unless set_start_method() chose another.
std::string get_start_method();

// Sets the default start method once, as Python's set_start_method. Throws
// ValueError for an unknown method, RuntimeError if already set and `force`
// is false. Any thread.
void set_start_method(const std::string& method, bool force = false);

// A handle naming a start method, like Python's multiprocessing context:
// get_context("spawn").Process(f, args...), .Pool(...), and
// ProcessPoolExecutor's mp_context. Cheap to copy.
class Context {
public:
    // Throws ValueError for an unknown method.
    explicit Context(std::string method);
    const std::string& start_method() const noexcept { return method_; }
    friend bool operator==(const Context&, const Context&) = default;

private:
    std::string method_;
};

// The context for `method`, or for the default start method when empty.
// Throws ValueError for an unknown method.
Context get_context(const std::string& method = "");

// What Python's current_process() returns, for the calling process: the main
// process is "MainProcess"; a child started by Process is named as Python
// names it ("ForkProcess-1", "SpawnProcess-2:1", ...) unless given a name; a
// pool worker is "ForkPoolWorker-3" and so on.
class ProcessInfo {
public:
    const std::string& name() const noexcept { return name_; }
    pid_t pid() const noexcept { return pid_; }
    pid_t ident() const noexcept { return pid_; }
    bool daemon() const noexcept { return daemon_; }

    ProcessInfo(std::string name, pid_t pid, bool daemon) : name_(std::move(name)), pid_(pid), daemon_(daemon) {}

private:
    std::string name_;
    pid_t pid_;
    bool daemon_;
};

// Never blocks; any thread.
const ProcessInfo& current_process();

// The process that started this one, or nullptr in the main process (Python
// returns None). Its pid is valid even if it has since exited.
const ProcessInfo* parent_process();

// The children started by Process in this process that are still running,
// as Python's active_children() (which also reaps finished ones).
std::vector<Process*> active_children();

// Python's os.cpu_count(): the CPUs this process may run on (its affinity mask).
int cpu_count();

}  // namespace concur::multiprocessing
