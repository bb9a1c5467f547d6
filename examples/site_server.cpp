// The local site server: the seeds' sites (/baidu /weibo /jython /dice) on
// 127.0.0.1, each response delayed by --latency milliseconds (default 50) to
// mimic a round trip across the internet. Prints one URL per page, then
// serves until Ctrl-C (SIGINT) or SIGTERM.
//
//   site_server [--host H] [--port P] [--latency MS] [--page /path=BYTES]...
//               [--max-header-bytes N] [--idle-timeout MS]
//
// --page adds a page to the default ones (the benchmark's /1k=1024, say);
// --port 0 picks a free port (the printed URLs say which).
#include <signal.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "concur/asyncio.hpp"
#include "concur/http/server.hpp"

namespace asyncio = concur::asyncio;
namespace http = concur::http;

namespace {

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "site_server: %s\nusage: site_server [--host H] [--port P] [--latency MS] "
                 "[--page /path=BYTES]... [--max-header-bytes N] [--idle-timeout MS]\n",
                 why);
    std::exit(2);
}

unsigned long number(std::string_view s, const char* what) {
    unsigned long v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) usage(what);
    return v;
}

asyncio::Task<> main_(http::SiteOptions options) {
    // SIGINT and SIGTERM end it, even where SIGINT came in ignored (a
    // background job of a shell script), when asyncio::run leaves it alone.
    auto& loop = asyncio::get_running_loop();
    auto* self = loop.current_task();
    for (int sig : {SIGINT, SIGTERM}) loop.add_signal_handler(sig, [self] { self->cancel(); });
    std::string host = options.host;
    std::vector<http::Page> pages = options.pages;
    co_await http::serve(std::move(options), nullptr, [&](std::uint16_t port) {
        for (const auto& p : pages)
            std::printf("http://%s:%u%s  (%zu bytes)\n", host.c_str(), port, p.path.c_str(), p.size);
        std::fflush(stdout);
    });
}

}  // namespace

int main(int argc, char** argv) {
    http::SiteOptions options;
    options.port = 8000;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= argc) usage("an option lacks its value");
            return argv[++i];
        };
        if (a == "--host") {
            options.host = std::string(value());
        } else if (a == "--port") {
            unsigned long p = number(value(), "--port takes a number from 0 to 65535");
            if (p > 65535) usage("--port takes a number from 0 to 65535");
            options.port = static_cast<std::uint16_t>(p);
        } else if (a == "--latency") {
            options.latency = std::chrono::milliseconds(number(value(), "--latency takes milliseconds"));
        } else if (a == "--max-header-bytes") {
            options.max_header_bytes = number(value(), "--max-header-bytes takes a number of bytes");
        } else if (a == "--idle-timeout") {
            options.idle_timeout = std::chrono::milliseconds(number(value(), "--idle-timeout takes milliseconds"));
        } else if (a == "--page") {
            std::string_view v = value();
            auto eq = v.find('=');
            if (eq == std::string_view::npos) usage("--page takes /path=BYTES");
            options.pages.push_back({std::string(v.substr(0, eq)), number(v.substr(eq + 1), "--page takes /path=BYTES")});
        } else if (a == "-h" || a == "--help") {
            usage("serves the seed sites");
        } else {
            usage("unknown option");
        }
    }
    try {
        asyncio::run(main_(std::move(options)));
    } catch (const concur::KeyboardInterrupt&) {
    } catch (const asyncio::CancelledError&) {
    } catch (const std::exception& e) {
        std::fprintf(stderr, "site_server: %s\n", e.what());
        return 1;
    }
    return 0;
}
