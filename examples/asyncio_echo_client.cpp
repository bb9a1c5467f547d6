// The TCP echo client of Python's asyncio streams documentation
// ("TCP echo client using streams"), ported line by line.
//
//   usage: asyncio_echo_client [PORT] [MESSAGE]   (default 8888, "Hello World!")
//
//   Python                                          C++
//   reader, writer = await asyncio.open_connection('127.0.0.1', 8888)
//                                                   auto [reader, writer] = ... co_await asyncio::open_connection(...)
//   writer.write(message.encode())                  writer.write(message);
//   data = await reader.read(100)                   std::string data = co_await reader.read(100);
//   print(f'Received: {data.decode()!r}')           std::printf("Received: '%s'\n", ...)
//
// A refused connection is reported as Python's ConnectionRefusedError
// would be, and the program exits 1.
#include <cstdio>
#include <string>

#include "concur/asyncio.hpp"
#include "support/pyport.hpp"

namespace asyncio = concur::asyncio;

asyncio::Task<> tcp_echo_client(std::string message, uint16_t port) {
    auto streams = co_await asyncio::open_connection("127.0.0.1", port);
    auto& [reader, writer] = streams;

    std::printf("Send: '%s'\n", message.c_str());
    writer.write(message);
    co_await writer.drain();

    std::string data = co_await reader.read(100);
    std::printf("Received: '%s'\n", data.c_str());

    std::printf("Close the connection\n");
    writer.close();
    co_await writer.wait_closed();
}

int main(int argc, char** argv) {
    auto port = argc > 1 ? pyport::to_int(argv[1]) : std::optional<long>(8888);
    if (!port || *port <= 0 || *port > 65535) {
        std::fprintf(stderr, "usage: asyncio_echo_client [PORT] [MESSAGE]\n");
        return 2;
    }
    std::string message = argc > 2 ? argv[2] : "Hello World!";
    try {
        asyncio::run(tcp_echo_client(message, static_cast<uint16_t>(*port)));
    } catch (const asyncio::ConnectionRefusedError& e) {
        std::fprintf(stderr, "ConnectionRefusedError: %s\n", e.what());
        return 1;
    }
}
