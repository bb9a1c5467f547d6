// Seed 002 (shared/seeds/002_be869974bb936a39.txt), section "使用线程" (with
// threads): download every site on a ThreadPoolExecutor(max_workers=5), each
// worker thread with its own session in a threading.local(). Seed 004 (the
// realpython.com article, section "threading 多线程版本") has the same program
// with other sites; this one example ports both.
//
//   usage: seed002_download_threads [URL...]
//          with no URL: seed 002's two sites x 80 from the local site server
//
//   Python                                   C++
//   thread_local = threading.local()         threading::local<Session> thread_local_session
//   hasattr(thread_local, "session")         thread_local_session.has_value()
//   thread_local.session = Session()         thread_local_session.emplace()
//   with ThreadPoolExecutor(max_workers=5)   ThreadPoolExecutor executor{{.max_workers = 5}}
//   executor.map(download_site, sites)       executor.map(download_site, sites).list()
//
// Where C++ differs:
//  * The sites come from the command line, or from concur's local site
//    server (support/local_sites.hpp), instead of ["https://...", ...] * 80.
//  * concur's http::Session, unlike requests', may be shared by threads; the
//    seed's one-session-per-thread is kept because it is what it teaches.
//  * Python never reads executor.map()'s results, so a failed download
//    vanishes without a word and the program still says "Downloaded 160".
//    Here .list() reads them, which rethrows the first failure: the program
//    prints it and exits with status 1 (the pool cancels what has not started).
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "concur/futures.hpp"
#include "concur/threading.hpp"
#include "concur/http.hpp"
#include "support/local_sites.hpp"
#include "support/pyport.hpp"

using concur::futures::ThreadPoolExecutor;
using concur::http::Session;

concur::threading::local<Session> thread_local_session;  // `thread_local` is a C++ keyword

Session& get_session() {
    if (!thread_local_session.has_value()) thread_local_session.emplace();
    return *thread_local_session;
}

void download_site(const std::string& url) {
    Session& session = get_session();
    concur::http::Response response = session.get(url);
    std::printf("Read %zu from %s\n", response.content.size(), url.c_str());
}

void download_all_sites(const std::vector<std::string>& sites) {
    ThreadPoolExecutor executor{{.max_workers = 5}};
    executor.map(download_site, sites).list();  // rethrows the first failure (see above)
}

int main(int argc, char** argv) {
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
