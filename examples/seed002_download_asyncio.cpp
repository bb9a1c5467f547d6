// Seed 002 (shared/seeds/002_be869974bb936a39.txt), section "asyncio", and
// seed 004's "asyncio 异步版本" (the same program with other sites): download
// every site with one task each on one aiohttp.ClientSession, gathered with
// return_exceptions=True; prints what response.content_length says for each
// page and the total time.
//
//   usage: seed002_download_asyncio [URL...]
//          with no URL: seed 002's two sites x 80 from the local site server
//
//   Python                                          C++
//   async def download_site(session, url):          asyncio::Task<> download_site(ClientSession& session, std::string url)
//       async with session.get(url) as response:        auto response = co_await session.get(url);
//           print("Read {0} from {1}".format(response.content_length, url))
//   async with aiohttp.ClientSession() as session:  ClientSession session;
//       task = asyncio.ensure_future(download_site(session, url))
//                                                   auto task = asyncio::create_task(download_site(session, url));
//       await asyncio.gather(*tasks, return_exceptions=True)
//                                                   co_await asyncio::gather(std::move(tasks), asyncio::return_exceptions);
//   asyncio.get_event_loop().run_until_complete(download_all_sites(sites))
//                                                   asyncio::run(download_all_sites(sites))
//
// Where C++ differs:
//  * The sites come from the command line, or from concur's local site
//    server (support/local_sites.hpp, on a thread of its own with its own
//    loop), instead of ["https://...", ...] * 80.
//  * Python's return_exceptions=True drops every failure silently; here each
//    one is printed to stderr and the program exits 1, so a broken download
//    cannot pass for a timing.
//  * `async with ClientSession()` closes the session at the block's end; here
//    `co_await session.close()` does, before the session goes out of scope.
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "concur/asyncio.hpp"
#include "concur/asyncio/http.hpp"
#include "support/local_sites.hpp"
#include "support/pyport.hpp"

namespace asyncio = concur::asyncio;
using concur::asyncio::http::ClientSession;

asyncio::Task<> download_site(ClientSession& session, std::string url) {
    auto response = co_await session.get(url);
    std::string length = response.content_length ? std::to_string(*response.content_length) : "None";
    std::printf("Read %s from %s\n", length.c_str(), url.c_str());
}

asyncio::Task<int> download_all_sites(std::vector<std::string> sites) {
    ClientSession session;
    std::vector<asyncio::Task<>> tasks;
    for (const auto& url : sites) {
        auto task = asyncio::create_task(download_site(session, url));
        tasks.push_back(task);
    }
    auto outcomes = co_await asyncio::gather(std::move(tasks), asyncio::return_exceptions);
    co_await session.close();
    int failed = 0;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        if (auto e = outcomes[i].exception()) {
            ++failed;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                std::fprintf(stderr, "%s: %s\n", sites[i].c_str(), ex.what());
            }
        }
    }
    co_return failed;
}

int main(int argc, char** argv) {
    try {
        local_sites::Sites sites(argc, argv);
        auto start_time = std::chrono::steady_clock::now();
        int failed = asyncio::run(download_all_sites(sites.urls));
        double duration = pyport::seconds_since(start_time);
        std::printf("Downloaded %zu sites in %s seconds\n", sites.urls.size(), pyport::str(duration).c_str());
        return failed ? 1 : 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: error: %s\n", argv[0], e.what());
        return 1;
    }
}
