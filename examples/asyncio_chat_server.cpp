// A small chat server on asyncio streams: every line a client sends goes to
// every other client, prefixed with the sender's name (its first line).
// Shows one task per connection, a shared registry of writers, a Lock-free
// design (all tasks run on one thread: no data race is possible between
// awaits), drain() so that one slow client cannot make the server buffer
// without bound, and clean-up when a client leaves or resets.
//
//   usage: asyncio_chat_server [PORT]     (default 8889; 0 picks a free port)
//   then:  nc 127.0.0.1 8889  (first line: your name)
//
// Python would be:
//   async def handle(reader, writer):
//       name = (await reader.readline()).decode().strip()
//       clients.add(writer); await broadcast(f"* {name} joined\n", writer)
//       while line := await reader.readline(): await broadcast(f"{name}: {line.decode()}", writer)
#include <signal.h>

#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "concur/asyncio.hpp"
#include "support/pyport.hpp"

namespace asyncio = concur::asyncio;

namespace {

struct Client {
    std::string name;
    asyncio::StreamWriter writer;
};
std::vector<Client*> clients;  // loop thread only

// Keeps a client registered for exactly as long as its task's frame lives,
// whichever way the task ends (EOF, reset, cancellation at shutdown).
struct Registration {
    Client* c;
    explicit Registration(Client* client) : c(client) { clients.push_back(c); }
    ~Registration() { std::erase(clients, c); }
};

std::string strip(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
}

asyncio::Task<> broadcast(std::string line, const Client* from) {
    std::vector<asyncio::StreamWriter> targets;
    for (Client* c : clients)
        if (c != from) targets.push_back(c->writer);
    for (auto& w : targets) w.write(line);
    for (auto& w : targets) {
        try {
            co_await w.drain();  // a client that stopped reading slows only its own sender
        } catch (const asyncio::ConnectionError&) {
            // That client is gone; its own task notices and cleans up.
        }
    }
}

asyncio::Task<> handle(asyncio::StreamReader reader, asyncio::StreamWriter writer) {
    Client me{"", writer};
    std::optional<Registration> registered;
    try {
        writer.write("name? ");
        me.name = strip(co_await reader.readline());
        if (me.name.empty()) me.name = writer.get_extra_info("peername")->to_string();
        registered.emplace(&me);
        std::printf("%s joined\n", me.name.c_str());
        std::fflush(stdout);
        co_await broadcast("* " + me.name + " joined\n", &me);
        for (;;) {
            std::string line = co_await reader.readline();
            if (line.empty()) break;  // EOF: the client left
            co_await broadcast(me.name + ": " + line, &me);
        }
    } catch (const asyncio::ConnectionError&) {
    } catch (const asyncio::LimitOverrunError&) {
        writer.write("line too long, bye\n");
    }
    registered.reset();
    std::printf("%s left\n", me.name.c_str());
    std::fflush(stdout);
    if (!me.name.empty()) co_await broadcast("* " + me.name + " left\n", &me);
    writer.close();
}

// Ctrl-C or SIGTERM: stop accepting, close every client's connection (their
// tasks see EOF and say goodbye), wait for them, return. (Python's
// serve_forever() would wait for connected clients to leave by themselves:
// Server.wait_closed() waits for every connection.)
asyncio::Task<> main_(uint16_t port) {
    auto server = co_await asyncio::start_server(handle, "127.0.0.1", port);
    std::printf("Serving on %s\n", server.sockets().at(0).to_string().c_str());
    std::fflush(stdout);
    asyncio::Event stop;
    auto& loop = asyncio::get_running_loop();
    for (int sig : {SIGINT, SIGTERM}) loop.add_signal_handler(sig, [&stop] { stop.set(); });
    co_await stop.wait();
    for (int sig : {SIGINT, SIGTERM}) loop.remove_signal_handler(sig);
    server.close();
    server.close_clients();
    co_await server.wait_closed();
    std::printf("server stopped\n");
}

}  // namespace

int main(int argc, char** argv) {
    auto port = argc > 1 ? pyport::to_int(argv[1]) : std::optional<long>(8889);
    if (!port || *port < 0 || *port > 65535) {
        std::fprintf(stderr, "usage: asyncio_chat_server [PORT]\n");
        return 2;
    }
    asyncio::run(main_(static_cast<uint16_t>(*port)));
}
