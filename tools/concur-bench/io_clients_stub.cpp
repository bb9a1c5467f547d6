// The io slot in a build without concur::http (-DCONCUR_BENCH_HTTP=OFF):
// every function says so, and the io experiment reports its C++ rows as
// skipped.
#include "io_clients.hpp"

namespace concur_bench::io {

namespace {
[[noreturn]] void unavailable() { throw concur::RuntimeError(unavailable_reason()); }
}  // namespace

bool clients_available() { return false; }

std::string unavailable_reason() {
    return "concur's HTTP clients (http::Session, asyncio::http::ClientSession) and "
           "http::SiteServer are not in this build (configure with -DCONCUR_BENCH_HTTP=ON)";
}

std::unique_ptr<LocalSites> start_local_sites(std::chrono::milliseconds) { unavailable(); }
uint64_t download_sequential(const std::vector<std::string>&) { unavailable(); }
uint64_t download_threads(const std::vector<std::string>&, unsigned) { unavailable(); }
uint64_t download_asyncio(const std::vector<std::string>&) { unavailable(); }
uint64_t download_processes(const std::vector<std::string>&, unsigned, const std::string&) {
    unavailable();
}

}  // namespace concur_bench::io
