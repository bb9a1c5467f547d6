// The io slot while concur's HTTP clients are being written: every function
// says so, and the io experiment reports its C++ rows as skipped. Replace
// this file with io_clients.cpp in CMakeLists.txt (see io_clients.hpp).
#include "io_clients.hpp"

namespace concur_bench::io {

namespace {
[[noreturn]] void unavailable() { throw concur::RuntimeError(unavailable_reason()); }
}  // namespace

bool clients_available() { return false; }

std::string unavailable_reason() {
    return "concur's HTTP clients (http::Session, asyncio::http::ClientSession) and "
           "http::SiteServer are not in this build yet";
}

std::unique_ptr<LocalSites> start_local_sites(std::chrono::milliseconds) { unavailable(); }
uint64_t download_sequential(const std::vector<std::string>&) { unavailable(); }
uint64_t download_threads(const std::vector<std::string>&, unsigned) { unavailable(); }
uint64_t download_asyncio(const std::vector<std::string>&) { unavailable(); }
uint64_t download_processes(const std::vector<std::string>&, unsigned, const std::string&) {
    unavailable();
}

}  // namespace concur_bench::io
