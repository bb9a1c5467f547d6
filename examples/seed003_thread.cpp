// Seed 003 (shared/seeds/003_38d3fecb11d86e4d.txt), section "## 线程" (threads),
// way one (方式一): a Thread with a target function and its arguments.
//
//   usage: seed003_thread [SECONDS]   (how long sayhi sleeps; default 2, as the seed)
//
// Prints "主线程" ("main thread") at once, then "egon say hello" after the
// sleep. As in Python, the program does not end until the thread has: the
// Thread's destructor joins it, where Python joins non-daemon threads at exit.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "concur/threading.hpp"
#include "support/pyport.hpp"

using concur::threading::Thread;

std::chrono::duration<double> sleep_time{2.0};  // time.sleep(2), or argv[1]

void sayhi(const std::string& name) {
    std::this_thread::sleep_for(sleep_time);
    std::printf("%s say hello\n", name.c_str());
}

int main(int argc, char** argv) {
    if (argc > 1) {
        auto seconds = pyport::to_float(argv[1]);
        if (argc > 2 || !seconds || !(*seconds >= 0)) {
            std::fprintf(stderr, "usage: %s [SECONDS]   (sleep before saying hello, default 2)\n",
                         argv[0]);
            return 2;
        }
        sleep_time = std::chrono::duration<double>(*seconds);
    }

    Thread t(sayhi, std::string("egon"));
    t.start();
    std::printf("主线程\n");
}
