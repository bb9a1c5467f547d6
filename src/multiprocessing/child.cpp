// What a child does first, whatever its start method: read BOOT, become the
// process it was told to be, then run a Process's target or a pool's worker
// loop, and exit with Python's exit code.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "concur/multiprocessing/detail/channel.hpp"
#include "concur/multiprocessing/process.hpp"
#include "launcher.hpp"

namespace concur::multiprocessing {

struct ProcessAccess {
    static void run(Process* p) { p->run(); }
};

namespace detail {

namespace {

// Python prints the traceback of an exception that escapes run() and exits 1.
void report(const BootInfo& boot, const std::string& type, const std::string& message) {
    std::fprintf(stderr, "Process %s:\n%s: %s\n", boot.name.c_str(), type.c_str(), message.c_str());
}

int run_process(int channel, const BootInfo& boot) {
    Frame f;
    if (!recv_frame(channel, f)) return 1;
    if (f.header.kind == kRunLocal) {
        // A forked child: the Process object is here, at the same address.
        std::uint64_t addr = 0;
        if (f.payload.size() != sizeof addr) return 1;
        std::memcpy(&addr, f.payload.data(), sizeof addr);
        try {
            ProcessAccess::run(reinterpret_cast<Process*>(addr));
        } catch (const std::exception& e) {
            report(boot, wire::demangle(typeid(e).name()), e.what());
            return 1;
        } catch (...) {
            report(boot, "unknown", "an exception not derived from std::exception");
            return 1;
        }
        return 0;
    }
    if (f.header.kind != kCall) return 1;
    msgpack::sbuffer reply;
    {
        wire::DecodeHandles handles(f.fds);
        wire::run_call(f.payload.data(), f.payload.size(), reply);
    }
    // The outcome is [0, value] or [1, type, message, function, pid].
    msgpack::object_handle oh = msgpack::unpack(reply.data(), reply.size());
    const msgpack::object& o = oh.get();
    if (o.via.array.ptr[0].as<int>() == 0) return 0;
    report(boot, o.via.array.ptr[1].as<std::string>(), o.via.array.ptr[2].as<std::string>());
    return 1;
}

}  // namespace

void child_main(int channel) noexcept {
    int code = 1;
    try {
        Frame f;
        if (recv_frame(channel, f) && f.header.kind == kBoot) {
            BootInfo boot;
            msgpack::unpack(f.payload.data(), f.payload.size()).get().convert(boot);
            set_current_process(boot);
            forget_inherited_children();
            code = boot.role == static_cast<std::uint8_t>(Role::pool_worker) ? worker_loop(channel, boot)
                                                                               : run_process(channel, boot);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "concur: a child process could not start: %s\n", e.what());
        code = 1;
    }
    std::cout.flush();
    std::fflush(nullptr);
    ::_exit(code);
}

}  // namespace detail

}  // namespace concur::multiprocessing
