// serve() on the caller's loop, and SiteServer: serve() on a thread of its
// own.
//
//   constructor --starts--> site thread: EventLoop, serve() task
//       <--listening (port) or the error, through a promise--
//   any thread: counters <--relaxed atomics-- site thread
//   stop() --call_soon_threadsafe(cancel the task)--> site thread:
//       serve() closes everything, the loop ends --join--> stop() returns
#include <future>

#include "concur/asyncio/locks.hpp"
#include "concur/asyncio/runners.hpp"
#include "site.hpp"

namespace concur::http {

asyncio::Task<> serve(SiteOptions options, std::shared_ptr<SiteStats> stats,
                      std::function<void(std::uint16_t port)> on_listening) {
    server::Site site(asyncio::get_running_loop(), std::move(options), std::move(stats));
    if (on_listening) on_listening(site.port());
    asyncio::Event never;
    co_await never.wait();  // until cancelled; the site closes as the frame unwinds
}

SiteServer::SiteServer(SiteOptions options) : pages_(options.pages), host_(options.host) {
    if (host_ == "localhost") host_ = "127.0.0.1";
    std::promise<std::uint16_t> listening;
    auto started = listening.get_future();
    thread_ = std::thread([this, o = std::move(options), p = std::move(listening)]() mutable { run(std::move(o), p); });
    try {
        port_ = started.get();
    } catch (...) {
        thread_.join();
        throw;
    }
}

SiteServer::~SiteServer() { stop(); }

void SiteServer::run(SiteOptions options, std::promise<std::uint16_t>& listening) {
    bool told = false;
    try {
        std::optional<asyncio::LoopBackend> backend = options.backend;
        asyncio::EventLoop loop = backend ? asyncio::EventLoop(*backend) : asyncio::EventLoop();
        {
            asyncio::Task<> task = serve(std::move(options), stats_, [&](std::uint16_t port) {
                {
                    std::lock_guard lock(mu_);
                    loop_ = &loop;
                }
                told = true;
                listening.set_value(port);
            });
            task_ = &task;
            try {
                loop.run_until_complete(task);
            } catch (const CancelledError&) {
            }
            std::lock_guard lock(mu_);
            loop_ = nullptr;
            task_ = nullptr;
        }
        asyncio::detail::cancel_all_tasks(loop);
        loop.close();
    } catch (...) {
        {
            std::lock_guard lock(mu_);
            loop_ = nullptr;
            task_ = nullptr;
        }
        if (!told) listening.set_exception(std::current_exception());
        // After listening, serve() ends only by cancellation: nothing to report.
    }
}

void SiteServer::stop() {
    {
        std::lock_guard lock(mu_);
        if (loop_ && !stopped_) {
            loop_->call_soon_threadsafe([this] {
                if (task_) task_->cancel();
            });
        }
        stopped_ = true;
    }
    std::lock_guard lock(join_mu_);  // two stop()s at once: one joins, both wait
    if (thread_.joinable()) thread_.join();
}

std::string SiteServer::url(std::string_view path) const {
    std::string u = "http://";
    bool v6 = host_.find(':') != std::string::npos;
    if (v6) u += '[';
    u += host_;
    if (v6) u += ']';
    u += ':';
    u += std::to_string(port_);
    u.append(path);
    return u;
}

std::vector<std::string> SiteServer::urls() const {
    std::vector<std::string> all;
    for (const Page& p : pages_) all.push_back(url(p.path));
    return all;
}

}  // namespace concur::http
