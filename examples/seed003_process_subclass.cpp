// Seed 003 (shared/seeds/003_38d3fecb11d86e4d.txt), section "## 进程"
// (processes), way two (方式二, lines 72-84 of the seed): a subclass of
// multiprocessing.Process that overrides run(); five of them, each started
// and joined in turn.
//
//   Python                                       C++
//   class MyProcess(multiprocessing.Process):    class MyProcess : public multiprocessing::Process {
//       (the base's __init__ is implicit)            MyProcess() : Process(this) {}
//       def run(self):                               void run() override {
//           print('... %s' % self.name)                  std::printf("... %s\n", ...);
//   if __name__ == '__main__':                   multiprocessing::freeze_support();  (first in main)
//   p = MyProcess(); jobs.append(p)              MyProcess& p = jobs.emplace_back();
//   p.start(); p.join()                          p.start(); p.join();
//
// Prints "called run method in process: ForkServerProcess-1" ... "-5", one
// line per process, in order.
//
// Where C++ differs:
//  * Python names a subclass's processes after the class ("MyProcess-1");
//    C++ cannot know the class's name, so they get the start method's name,
//    as ctx.Process(...) gets in Python: "ForkServerProcess-1" with the
//    default start method, "forkserver" (Python 3.14's default on Linux).
//  * "forkserver" re-executes this binary, so main() begins with
//    freeze_support(), the C++ form of the seed's `if __name__ == '__main__':`
//    guard; and the child receives a copy of the MyProcess object: the base
//    is constructed as Process(this), and MSGPACK_DEFINE lists the members
//    that travel (none here), as process.hpp explains.
//  * In the child, run() reads its name as current_process().name(), which
//    is Python's self.name there: the copy that the child receives does not
//    carry the name (see the note at run()).
//  * A child's stdout is a pipe, fully buffered: run() flushes before it
//    returns, as Python flushes stdout when a child exits.
#include <cstdio>
#include <deque>

#include "concur/multiprocessing.hpp"

namespace multiprocessing = concur::multiprocessing;

class MyProcess : public multiprocessing::Process {
public:
    MyProcess() : Process(this) {}

    void run() override {
        // Python's self.name. (this->name() would be empty here: the object
        // run() is called on is the child's fresh copy, which was never
        // started, so it is current_process() that knows the name.)
        std::printf("called run method in process: %s\n", multiprocessing::current_process().name().c_str());
        std::fflush(stdout);
        return;
    }

    MSGPACK_DEFINE()  // no members to send (the macro defines functions: no semicolon)
};

int main() {
    // The C++ form of the seed's `if __name__ == '__main__':` guard: a child
    // started by "forkserver" or "spawn" runs its work here and never returns.
    multiprocessing::freeze_support();

    std::deque<MyProcess> jobs;  // a Process cannot be copied or moved: built in place
    for (int i = 0; i < 5; ++i) {
        MyProcess& p = jobs.emplace_back();
        p.start();
        p.join();
    }
}
