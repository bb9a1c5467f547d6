// Seed 002 (shared/seeds/002_be869974bb936a39.txt), section "使用multiprocessing"
// of the I/O-bound part (lines 139-175 of the seed): download every site on
// a multiprocessing.Pool() whose initializer gives each worker process its
// own global session; each download prints the worker's name and the page
// size. Seed 004 (the realpython.com article, section "multiprocessing 代码")
// has the same program with other sites; this one example ports both.
//
//   usage: seed002_download_pool [URL...]
//          with no URL: seed 002's two sites x 80 from the local site server
//
//   Python                                         C++
//   if __name__ == "__main__":                     multiprocessing::freeze_support();  (first in main)
//   session = None                                 std::optional<Session> session;
//   def set_global_session():                      void set_global_session() {
//       global session                                 (a global: one per worker process)
//       if not session:                                if (!session)
//           session = requests.Session()                   session.emplace();
//   with session.get(url) as response:             concur::http::Response response = session->get(url);
//   len(response.content)                          response.content.size()
//   multiprocessing.current_process().name         multiprocessing::current_process().name()
//   with multiprocessing.Pool(                     multiprocessing::Pool pool{{.initializer = set_global_session}};
//           initializer=set_global_session) as pool:
//       pool.map(download_site, sites)             pool.map(download_site, sites);
//
// The workers are named "ForkServerPoolWorker-1" ... (the default start
// method is "forkserver", Python 3.14's default on Linux), one per CPU.
//
// Where C++ differs:
//  * The sites come from the command line, or from concur's local site
//    server (support/local_sites.hpp, run by this parent process on a thread
//    of its own), instead of ["https://...", ...] * 80.
//  * The workers re-execute this binary, so main() begins with
//    freeze_support(), the C++ form of the `if __name__ == "__main__":` guard.
//  * A worker's stdout is a pipe, fully buffered: download_site() flushes
//    after each line so that it shows when the page arrives.
//  * As in Python, pool.map() raises the first failed download; the program
//    prints it and exits with status 1.
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "concur/multiprocessing.hpp"
#include "concur/http.hpp"
#include "support/local_sites.hpp"
#include "support/pyport.hpp"

namespace multiprocessing = concur::multiprocessing;
using concur::http::Session;

std::optional<Session> session;  // None until set_global_session() runs in this process

void set_global_session() {
    if (!session) session.emplace();
}

void download_site(const std::string& url) {
    concur::http::Response response = session->get(url);
    const std::string& name = multiprocessing::current_process().name();
    std::printf("%s:Read %zu from %s\n", name.c_str(), response.content.size(), url.c_str());
    std::fflush(stdout);
}

void download_all_sites(const std::vector<std::string>& sites) {
    multiprocessing::Pool pool{{.initializer = set_global_session}};
    pool.map(download_site, sites);
}  // the end of `with`: the pool is terminated

int main(int argc, char** argv) {
    // The C++ form of the seed's `if __name__ == "__main__":` guard: a worker
    // started by "forkserver" or "spawn" runs its work here and never returns.
    multiprocessing::freeze_support();

    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    try {
        local_sites::Sites sites(argc, argv);
        auto start_time = std::chrono::steady_clock::now();
        download_all_sites(sites.urls);
        double duration = pyport::seconds_since(start_time);
        std::printf("Downloaded %zu in %s seconds\n", sites.urls.size(), pyport::str(duration).c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: error: %s\n", argv[0], e.what());
        return 1;
    }
}
