// Seed 003 (shared/seeds/003_38d3fecb11d86e4d.txt), section "## 线程" (threads),
// way two (方式二): a subclass of Thread that overrides run() and names itself
// in its constructor (`self.name = name`).
//
//   usage: seed003_thread_subclass [SECONDS [NAME]]   (default 2 and "egon", as the seed)
//
// Prints "主线程" ("main thread") at once, then "egon say hello" after the
// sleep: run() reads the thread's own name, as the seed's self.name.
//
// Where C++ differs: Python's `super().__init__()` is the implicit call of
// Thread's default constructor; and a subclass's destructor calls finalize()
// (join, for a non-daemon thread) first, so that run() never outlives the
// Sayhi part of the object (Python joins non-daemon threads at exit).
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>

#include "concur/threading.hpp"
#include "support/pyport.hpp"

using concur::threading::Thread;

std::chrono::duration<double> sleep_time{2.0};  // time.sleep(2), or argv[1]

class Sayhi : public Thread {
public:
    explicit Sayhi(std::string name) { this->name(std::move(name)); }
    ~Sayhi() override { finalize(); }

    void run() override {
        std::this_thread::sleep_for(sleep_time);
        std::printf("%s say hello\n", name().c_str());
    }
};

int main(int argc, char** argv) {
    std::string name = "egon";
    if (argc > 1) {
        auto seconds = pyport::to_float(argv[1]);
        if (argc > 3 || !seconds || !(*seconds >= 0)) {
            std::fprintf(stderr, "usage: %s [SECONDS [NAME]]   (default 2 egon)\n", argv[0]);
            return 2;
        }
        sleep_time = std::chrono::duration<double>(*seconds);
        if (argc > 2) name = argv[2];
    }

    Sayhi t(name);
    t.start();
    std::printf("主线程\n");
}
