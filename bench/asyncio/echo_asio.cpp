// echo_asio: Boost.Asio echo server written the idiomatic C++20-coroutine way
// (awaitable + co_spawn + use_awaitable), one coroutine per connection, one
// io_context run on one thread: the closest C++ peer of an asyncio streams
// server.
//
//   echo_asio PORT [CPU]      (PORT 0 picks a free port)
//
// e.g.  ./echo_asio 9000 0 &  ./echo_client --port 9000 --seconds 5 --cpu 1
//
// Listens on 127.0.0.1 only, prints "listening PORT" once ready, and exits 0
// on SIGTERM or SIGINT.

#include <sched.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange unincluded

#include <boost/asio.hpp>

#if !defined(BOOST_ASIO_HAS_CO_AWAIT)
#error "this Boost.Asio/compiler pair has no C++20 coroutine support"
#endif

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Errors come back as error codes, not exceptions: every client disconnect
// would otherwise cost a throw, and EOF is the normal way a session ends.
asio::awaitable<void> session(tcp::socket socket) {
  std::array<char, 65536> buf;
  boost::system::error_code ec;
  for (;;) {
    std::size_t n = co_await socket.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    co_await asio::async_write(socket, asio::buffer(buf.data(), n), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
}

asio::awaitable<void> listener(tcp::acceptor& acceptor) {
  boost::system::error_code ec;
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) continue;  // e.g. EMFILE: keep serving the open connections
    // The same setting as every other server in the comparison.
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s PORT [CPU]\n", argv[0]);
    return 2;
  }
  if (argc == 3) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(std::atoi(argv[2]), &set);
    if (::sched_setaffinity(0, sizeof set, &set) < 0) {
      std::perror("sched_setaffinity");
      return 1;
    }
  }
  try {
    // Concurrency hint 1: the documented promise that only one thread runs it.
    asio::io_context ioc{1};
    tcp::endpoint where{asio::ip::address_v4::loopback(), static_cast<unsigned short>(std::atoi(argv[1]))};
    tcp::acceptor acceptor{ioc, where};  // sets SO_REUSEADDR
    asio::signal_set signals{ioc, SIGINT, SIGTERM};
    signals.async_wait([&](const boost::system::error_code&, int) { ioc.stop(); });
    asio::co_spawn(ioc, listener(acceptor), asio::detached);

    std::printf("listening %u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
    std::fflush(stdout);
    ioc.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_asio: %s\n", e.what());
    return 1;
  }
  return 0;
}
