// The io experiment's slot for concur's HTTP clients: what the experiment
// calls, one function per seed method. io_clients_http.cpp implements them
// on concur::http::Session, asyncio::http::ClientSession and SiteServer;
// io_clients_stub.cpp, built with -DCONCUR_BENCH_HTTP=OFF (no libcurl),
// answers "not in this build" and the experiment skips its C++ rows.
//
//   io_experiment --urls--> download_*(urls) --GET each--> sites
//        |                                                  ^
//        +--start_local_sites(latency)--> SiteServer -------+  (default)
//
// Every download function fetches each URL once, fails (throws) on a
// transport error or a non-2xx status, and returns the total number of body
// bytes read: the checksum the bench compares between methods and with
// Python's (which sums len(response.content)). Each runs on main's thread
// and blocks until every download finished.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "concur/errors.hpp"

namespace concur_bench::io {

// False in the stub build; unavailable_reason() then says why.
bool clients_available();
std::string unavailable_reason();

// Local sites standing in for the seed's two web sites: each answers every
// GET after `latency` with a fixed body. Stopped by the destructor.
class LocalSites {
public:
    virtual ~LocalSites() = default;
    // Two base URLs, e.g. {"http://127.0.0.1:PORT/a", "http://127.0.0.1:PORT/b"}.
    virtual std::vector<std::string> urls() const = 0;
};
// Starts them on 127.0.0.1, port 0. Throws concur::RuntimeError if it cannot.
std::unique_ptr<LocalSites> start_local_sites(std::chrono::milliseconds latency);

// Seed 004's four programs:
//   sequential: one http::Session, get() each URL in turn.
uint64_t download_sequential(const std::vector<std::string>& urls);
//   threads: futures::ThreadPoolExecutor{{.max_workers = workers}} (5 in the
//   seed), map over the URLs, a Session per thread (threading::local).
uint64_t download_threads(const std::vector<std::string>& urls, unsigned workers);
//   asyncio: asyncio::run of one asyncio::http::ClientSession, a task per
//   URL, gather.
uint64_t download_asyncio(const std::vector<std::string>& urls);
//   processes: multiprocessing::Pool{{.processes = workers, .initializer =
//   set_global_session, .context = context}} and pool.map over the URLs.
//   `start_method` is settings.start_method ("" = concur's default).
uint64_t download_processes(const std::vector<std::string>& urls, unsigned workers,
                            const std::string& start_method);

}  // namespace concur_bench::io
