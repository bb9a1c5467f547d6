// The TCP echo server of Python's asyncio streams documentation
// ("TCP echo server using streams"), ported line by line.
//
//   usage: asyncio_echo_server [PORT]     (default 8888; 0 picks a free port)
//
//   Python                                          C++
//   async def handle_echo(reader, writer):          asyncio::Task<> handle_echo(StreamReader reader, StreamWriter writer)
//       data = await reader.read(100)                   std::string data = co_await reader.read(100);
//       addr = writer.get_extra_info('peername')        auto addr = writer.get_extra_info("peername");
//       writer.write(data); await writer.drain()        writer.write(data); co_await writer.drain();
//       writer.close(); await writer.wait_closed()      writer.close(); co_await writer.wait_closed();
//   server = await asyncio.start_server(handle_echo, '127.0.0.1', 8888)
//   async with server: await server.serve_forever()  co_await server.serve_forever();
//
// Ctrl-C (SIGINT) cancels the main task; asyncio::run then throws
// KeyboardInterrupt, which this program reports and exits 0.
#include <cstdio>
#include <string>

#include "concur/asyncio.hpp"
#include "support/pyport.hpp"

namespace asyncio = concur::asyncio;

asyncio::Task<> handle_echo(asyncio::StreamReader reader, asyncio::StreamWriter writer) {
    std::string data = co_await reader.read(100);
    std::string message = data;
    auto addr = writer.get_extra_info("peername");
    std::printf("Received %s from %s\n", message.c_str(), addr ? addr->to_string().c_str() : "?");
    std::printf("Send: %s\n", message.c_str());
    std::fflush(stdout);
    writer.write(data);
    co_await writer.drain();
    std::printf("Close the connection\n");
    std::fflush(stdout);
    writer.close();
    co_await writer.wait_closed();
}

asyncio::Task<> main_(uint16_t port) {
    auto server = co_await asyncio::start_server(handle_echo, "127.0.0.1", port);
    std::string addrs;
    for (const auto& sock : server.sockets()) addrs += (addrs.empty() ? "" : ", ") + sock.to_string();
    std::printf("Serving on %s\n", addrs.c_str());
    std::fflush(stdout);
    co_await server.serve_forever();
}

int main(int argc, char** argv) {
    auto port = argc > 1 ? pyport::to_int(argv[1]) : std::optional<long>(8888);
    if (!port || *port < 0 || *port > 65535) {
        std::fprintf(stderr, "usage: asyncio_echo_server [PORT]\n");
        return 2;
    }
    try {
        asyncio::run(main_(static_cast<uint16_t>(*port)));
    } catch (const concur::KeyboardInterrupt&) {
        std::printf("KeyboardInterrupt: server stopped\n");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "asyncio_echo_server: %s\n", e.what());
        return 1;
    }
}
