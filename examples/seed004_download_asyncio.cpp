// Seed 004 (shared/seeds/004_7bf92765f8bfe5b7.txt), section "asyncio 异步版本":
// download every site with one task each, gathered with
// return_exceptions=True; prints what aiohttp's response.content_length says
// for each page and the total time.
//
//   usage: seed004_download_asyncio URL...   (http:// only)
//
//   Python                                          C++
//   async def download_site(session, url):          asyncio::Task<> download_site(std::string url)
//       async with session.get(url) as response:        auto response = co_await async_http_get::get(url);
//           print("Read {0} from {1}".format(response.content_length, url))
//   tasks.append(asyncio.ensure_future(download_site(session, url)))
//                                                   tasks.push_back(asyncio::create_task(download_site(url)));
//   await asyncio.gather(*tasks, return_exceptions=True)
//                                                   co_await asyncio::gather(std::move(tasks), asyncio::return_exceptions);
//   asyncio.get_event_loop().run_until_complete(download_all_sites(sites))
//                                                   asyncio::run(download_all_sites(sites))
//
// Where C++ differs:
//  * No aiohttp yet (concur's ClientSession comes with the HTTP issue):
//    support/async_http_get.hpp is a minimal GET on asyncio streams, one
//    connection per request. As aiohttp, content_length is None for a
//    chunked response.
//  * Python's return_exceptions=True drops every failure silently; here each
//    one is printed to stderr and the program exits 1, so a broken download
//    cannot pass for a timing.
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "concur/asyncio.hpp"
#include "support/async_http_get.hpp"
#include "support/pyport.hpp"

namespace asyncio = concur::asyncio;

asyncio::Task<> download_site(std::string url) {
    auto response = co_await async_http_get::get(url);
    std::string length = response.content_length ? std::to_string(*response.content_length) : "None";
    std::printf("Read %s from %s\n", length.c_str(), url.c_str());
}

asyncio::Task<int> download_all_sites(std::vector<std::string> sites) {
    std::vector<asyncio::Task<>> tasks;
    for (const auto& url : sites) {
        auto task = asyncio::create_task(download_site(url));
        tasks.push_back(task);
    }
    auto outcomes = co_await asyncio::gather(std::move(tasks), asyncio::return_exceptions);
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
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: %s URL...\n"
                     "Downloads every URL (http:// only) with one asyncio task each.\n",
                     argv[0]);
        return 2;
    }
    std::vector<std::string> sites(argv + 1, argv + argc);
    auto start_time = std::chrono::steady_clock::now();
    int failed = asyncio::run(download_all_sites(sites));
    double duration = pyport::seconds_since(start_time);
    std::printf("Downloaded %zu sites in %s seconds\n", sites.size(), pyport::str(duration).c_str());
    return failed ? 1 : 0;
}
