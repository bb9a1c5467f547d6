// Seed 002 (shared/seeds/002_be869974bb936a39.txt), section "使用multiprocessing"
// of the I/O-bound part (lines 139-175 of the seed): download every site on
// a multiprocessing.Pool() whose initializer gives each worker process its
// own global session; each download prints the worker's name and the page
// size. Seed 004 (the realpython.com article, section "multiprocessing 代码")
// has the same program with other sites; this one example ports both.
//
//   usage: seed002_download_pool URL...   (http:// only)
//   e.g.   seed002_download_pool $(for i in $(seq 80); do echo http://a/ http://b/; done)
//
//   Python                                         C++
//   if __name__ == "__main__":                     multiprocessing::freeze_support();  (first in main)
//   session = None                                 std::optional<Session> session;
//   def set_global_session():                      void set_global_session() {
//       global session                                 (a global: one per worker process)
//       if not session:                                if (!session)
//           session = requests.Session()                   session.emplace();
//   with session.get(url) as response:             http_get::Response response = session->get(url);
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
//  * The sites come from the command line instead of ["https://...", ...] * 80,
//    and concur has no HTTP client yet (concur::http, on libcurl, is a later
//    issue): support/http_get.hpp is a minimal blocking http:// client whose
//    Session keeps one keep-alive connection, as requests.Session does.
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
#include "support/http_get.hpp"
#include "support/pyport.hpp"

namespace multiprocessing = concur::multiprocessing;
using http_get::Session;

std::optional<Session> session;  // None until set_global_session() runs in this process

void set_global_session() {
    if (!session) session.emplace();
}

void download_site(const std::string& url) {
    http_get::Response response = session->get(url);
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

    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: %s URL...\n"
                     "Downloads every URL (http:// only) on a process pool, one keep-alive\n"
                     "connection per worker process, and prints the size of each page.\n",
                     argv[0]);
        return 2;
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::vector<std::string> sites(argv + 1, argv + argc);
    auto start_time = std::chrono::steady_clock::now();
    try {
        download_all_sites(sites);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: error: %s\n", argv[0], e.what());
        return 1;
    }
    double duration = pyport::seconds_since(start_time);
    std::printf("Downloaded %zu in %s seconds\n", sites.size(), pyport::str(duration).c_str());
}
