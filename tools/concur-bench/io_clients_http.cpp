// The io slot filled with concur's HTTP clients (see io_clients.hpp): seed
// 004's four download programs. Built instead of io_clients_stub.cpp when
// CMake's CONCUR_BENCH_HTTP is ON.
//
//   sequential  main thread --Session.get--------------------------> sites
//   threads     ThreadPoolExecutor(5) workers, a Session each -----> sites
//   asyncio     one loop, one ClientSession, a task per URL -------> sites
//   processes   Pool workers, a Session each (initializer) --------> sites
//                 ^ URLs go out, byte counts come back over the pool's pipes
#include <optional>

#include "concur/asyncio.hpp"
#include "concur/asyncio/http.hpp"
#include "concur/futures.hpp"
#include "concur/http/server.hpp"
#include "concur/http/session.hpp"
#include "concur/multiprocessing.hpp"
#include "concur/threading.hpp"
#include "io_clients.hpp"

namespace concur_bench::io {

namespace {

namespace http = concur::http;
namespace asyncio = concur::asyncio;

// requests' timeout= for every call: a stuck site fails the run, never hangs it.
constexpr auto kTimeout = std::chrono::seconds(30);

class Local final : public LocalSites {
public:
    explicit Local(std::chrono::milliseconds latency) : server_(options(latency)) {}
    std::vector<std::string> urls() const override { return {server_.url("/baidu"), server_.url("/weibo")}; }

private:
    static http::SiteOptions options(std::chrono::milliseconds latency) {
        http::SiteOptions o;
        o.latency = latency;
        return o;
    }
    http::SiteServer server_;
};

uint64_t download_site(const std::string& url, http::Session& session) {
    http::RequestOptions o;
    o.timeout = kTimeout;
    http::Response r = session.get(url, o);
    r.raise_for_status();
    return r.content.size();
}

// The threads version's thread_local session (seed: get_session()).
concur::threading::local<http::Session> thread_session;

uint64_t download_site_threaded(const std::string& url) { return download_site(url, thread_session.get()); }

// The processes version's global session, made by the pool's initializer.
std::optional<http::Session> global_session;

void set_global_session() {
    if (!global_session) global_session.emplace();
}

uint64_t download_site_process(std::string url) { return download_site(url, *global_session); }

// Every task finishes (an error becomes a flag) before the session goes, so
// no request outlives it; the first error is rethrown afterwards.
asyncio::Task<uint64_t> download_site_async(asyncio::http::ClientSession& session, std::string url,
                                            std::exception_ptr& error) {
    try {
        auto r = co_await session.get(url);
        r.raise_for_status();
        co_return r.body().size();
    } catch (...) {
        if (!error) error = std::current_exception();
        co_return 0;
    }
}

asyncio::Task<uint64_t> download_all_sites_async(std::vector<std::string> urls) {
    std::exception_ptr error;
    uint64_t total = 0;
    {
        asyncio::http::ClientSessionOptions o;
        o.timeout.total = kTimeout;
        asyncio::http::ClientSession session(o);
        std::vector<asyncio::Task<uint64_t>> tasks;
        for (const std::string& url : urls)
            tasks.push_back(asyncio::create_task(download_site_async(session, url, error)));
        for (uint64_t n : co_await asyncio::gather(std::move(tasks))) total += n;
    }
    if (error) std::rethrow_exception(error);
    co_return total;
}

}  // namespace

bool clients_available() { return true; }
std::string unavailable_reason() { return ""; }

std::unique_ptr<LocalSites> start_local_sites(std::chrono::milliseconds latency) {
    return std::make_unique<Local>(latency);
}

uint64_t download_sequential(const std::vector<std::string>& urls) {
    http::Session session;
    uint64_t total = 0;
    for (const std::string& url : urls) total += download_site(url, session);
    return total;
}

uint64_t download_threads(const std::vector<std::string>& urls, unsigned workers) {
    concur::futures::ThreadPoolExecutor executor{{.max_workers = workers}};
    uint64_t total = 0;
    for (uint64_t n : executor.map(download_site_threaded, urls)) total += n;
    return total;
}

uint64_t download_asyncio(const std::vector<std::string>& urls) {
    return asyncio::run(download_all_sites_async(urls));
}

uint64_t download_processes(const std::vector<std::string>& urls, unsigned workers,
                            const std::string& start_method) {
    concur::multiprocessing::PoolOptions o;
    o.processes = int(workers);
    o.initializer = set_global_session;
    if (!start_method.empty()) o.context = concur::multiprocessing::get_context(start_method);
    concur::multiprocessing::Pool pool(o);
    uint64_t total = 0;
    for (uint64_t n : pool.map(download_site_process, urls)) total += n;
    return total;
}

}  // namespace concur_bench::io
