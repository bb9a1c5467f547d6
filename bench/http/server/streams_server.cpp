// The measurement behind the site server's design: the same 1 KiB response
// served through asyncio streams (start_server, one task per connection,
// readuntil + write), with no HTTP parsing at all, so an upper bound on what
// a streams-based site server could do. run_all.py --streams runs it beside
// site_server and nginx.
//
//   bench_site_streams PORT      (serves GET .../anything with 1,024 bytes until SIGINT/SIGTERM)
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "concur/asyncio.hpp"

namespace asyncio = concur::asyncio;

namespace {

const std::string& response() {
    static const std::string r = "HTTP/1.1 200 OK\r\nServer: concur-streams\r\nContent-Type: text/html\r\n"
                                 "Content-Length: 1024\r\nConnection: keep-alive\r\n\r\n" +
                                 std::string(1024, 'x');
    return r;
}

asyncio::Task<> client(asyncio::StreamReader reader, asyncio::StreamWriter writer) {
    try {
        for (;;) {
            std::string head = co_await reader.readuntil("\r\n\r\n");
            writer.write(response());
            co_await writer.drain();
        }
    } catch (const std::exception&) {
    }
    writer.close();
}

asyncio::Task<> main_(std::uint16_t port) {
    auto& loop = asyncio::get_running_loop();
    auto* self = loop.current_task();
    for (int sig : {SIGINT, SIGTERM}) loop.add_signal_handler(sig, [self] { self->cancel(); });
    asyncio::ServerOptions o;
    o.backlog = 4096;
    auto server = co_await asyncio::start_server(client, "127.0.0.1", port, o);
    std::printf("listening %u\n", port);
    std::fflush(stdout);
    co_await server.serve_forever();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: bench_site_streams PORT\n");
        return 2;
    }
    try {
        asyncio::run(main_(static_cast<std::uint16_t>(std::atoi(argv[1]))));
    } catch (const std::exception&) {
    }
    return 0;
}
