#include "machine.hpp"

#include <sys/utsname.h>

#include <fstream>
#include <thread>

#include "concur/asyncio.hpp"

namespace concur_bench {

Machine describe_machine() {
    Machine m;
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (line.rfind("model name", 0) == 0) {
            m.cpu_model = line.substr(line.find(':') + 2);
            break;
        }
    }
    if (m.cpu_model.empty()) m.cpu_model = "unknown CPU";
    m.cores = std::thread::hardware_concurrency();
    utsname u{};
    if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
#if defined(__clang__)
    m.compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
    m.compiler = "g++ " __VERSION__;
#endif
    try {
        concur::asyncio::EventLoop loop;
        m.loop_backend = std::string(loop.backend_name());
        loop.close();
    } catch (const std::exception& e) {
        m.loop_backend = std::string("none (") + e.what() + ")";
    }
    return m;
}

}  // namespace concur_bench
