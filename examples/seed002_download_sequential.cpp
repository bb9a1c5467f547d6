// Seed 002 (shared/seeds/002_be869974bb936a39.txt), section "正常情况下发起网络请求"
// (the plain version), and seed 004's "同步版本": download every site one
// after the other on one requests.Session, printing the size of each page.
//
//   usage: seed002_download_sequential [URL...]
//          with no URL: seed 002's two sites x 80 from the local site server
//
//   Python                                     C++
//   def download_site(url, session):           void download_site(const std::string& url, http::Session& session)
//       with session.get(url) as response:         http::Response response = session.get(url);
//           print(f"Read {len(response.content)} from {url}")
//   with requests.Session() as session:        http::Session session;
//       for url in sites:                      for (const auto& url : sites)
//           download_site(url, session)            download_site(url, session);
//
// Where C++ differs:
//  * The sites come from the command line, or from concur's local site
//    server (support/local_sites.hpp), instead of ["https://...", ...] * 80.
//  * A failed download raises in Python too; here it is printed and the
//    program exits with status 1.
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "concur/http.hpp"
#include "support/local_sites.hpp"
#include "support/pyport.hpp"

namespace http = concur::http;

void download_site(const std::string& url, http::Session& session) {
    http::Response response = session.get(url);
    std::printf("Read %zu from %s\n", response.content.size(), url.c_str());
}

void download_all_sites(const std::vector<std::string>& sites) {
    http::Session session;
    for (const auto& url : sites) download_site(url, session);
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
