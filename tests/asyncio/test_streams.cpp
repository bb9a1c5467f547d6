// asyncio streams: the reading functions' semantics (on hand-fed readers,
// as CPython's test_streams.py does), then real connections over
// 127.0.0.1, ::1, "localhost", Unix sockets and pipes. Every test counts
// the process's descriptors before and after: nothing may leak.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support.hpp"

namespace asyncio = concur::asyncio;
using asyncio::StreamReader;
using asyncio::StreamWriter;
using asyncio::Task;
using namespace std::chrono_literals;

namespace {

// Runs body() on a fresh loop; every descriptor it opened must be closed
// again by the time the loop is gone.
template <class F>
void run_no_leak(F&& body) {
    int before = asyncio::testing::open_fds();
    asyncio::testing::run(body());
    EXPECT_EQ(asyncio::testing::open_fds(), before) << "descriptors leaked";
}

Task<> echo(StreamReader r, StreamWriter w) {
    for (;;) {
        std::string data = co_await r.read(64 * 1024);
        if (data.empty()) break;
        w.write(data);
        co_await w.drain();
    }
    w.close();
    co_await w.wait_closed();
}

uint16_t port_of(const asyncio::Server& s) { return s.sockets().at(0).port; }

bool ipv6_loopback_available() {
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    return ok;
}

std::string temp_socket_path() {
    char dir[] = "/tmp/concur-streams-XXXXXX";
    if (!mkdtemp(dir)) return {};
    return std::string(dir) + "/sock";
}

}  // namespace

// ---- reading, on hand-fed readers ------------------------------------------------

// CPython test_streams: test_readline / test_readline_eof.
TEST(Streams, ReadlineSplitsLinesAndReturnsTheRestAtEof) {
    run_no_leak([]() -> Task<> {
        StreamReader r;
        r.feed_data("line1\nline2\nrest");
        EXPECT_EQ(co_await r.readline(), "line1\n");
        EXPECT_EQ(co_await r.readline(), "line2\n");
        r.feed_eof();
        EXPECT_EQ(co_await r.readline(), "rest");
        EXPECT_EQ(co_await r.readline(), "");
        EXPECT_TRUE(r.at_eof());
    });
}

// CPython test_streams: test_readline_read_byte_count (a line in chunks).
TEST(Streams, ReadlineWaitsForTheRestOfALine) {
    run_no_leak([]() -> Task<> {
        StreamReader r;
        asyncio::get_running_loop().call_later(5ms, [r]() mutable { r.feed_data("lo\nnext"); });
        r.feed_data("hel");
        EXPECT_EQ(co_await r.readline(), "hello\n");
        EXPECT_FALSE(r.at_eof());
    });
}

// CPython test_streams: test_readexactly.
TEST(Streams, ReadexactlyWaitsForExactlyNBytes) {
    run_no_leak([]() -> Task<> {
        StreamReader r;
        auto& loop = asyncio::get_running_loop();
        loop.call_later(2ms, [r]() mutable { r.feed_data("abcd"); });
        loop.call_later(4ms, [r]() mutable { r.feed_data("efghij"); });
        EXPECT_EQ(co_await r.readexactly(7), "abcdefg");
        EXPECT_EQ(co_await r.readexactly(3), "hij");
        EXPECT_EQ(co_await r.readexactly(0), "");
    });
}

// CPython test_streams: test_readexactly_eof.
TEST(Streams, ReadexactlyAtEofRaisesIncompleteReadErrorWithThePartialData) {
    run_no_leak([]() -> Task<> {
        StreamReader r;
        r.feed_data("abc");
        r.feed_eof();
        try {
            (void)co_await r.readexactly(10);
            ADD_FAILURE() << "no IncompleteReadError";
        } catch (const asyncio::IncompleteReadError& e) {
            EXPECT_EQ(e.partial(), "abc");
            EXPECT_EQ(e.expected(), 10u);
        }
        EXPECT_TRUE(r.at_eof());
    });
}

// CPython test_streams: test_readuntil_multi_chunks.
TEST(Streams, ReaduntilReturnsDataUpToAndIncludingTheSeparator) {
    run_no_leak([]() -> Task<> {
        StreamReader r;
        auto& loop = asyncio::get_running_loop();
        loop.call_later(2ms, [r]() mutable { r.feed_data("lineA"); });
        loop.call_later(4ms, [r]() mutable { r.feed_data("A"); });
        loop.call_later(6ms, [r]() mutable { r.feed_data("AxyzAAA"); });
        EXPECT_EQ(co_await r.readuntil("AAA"), "lineAAA");
        EXPECT_EQ(co_await r.readuntil("AAA"), "xyzAAA");
    });
}

// CPython test_streams: test_readuntil_eof.
TEST(Streams, ReaduntilAtEofRaisesIncompleteReadErrorWithTheWholeBuffer) {
    run_no_leak([]() -> Task<> {
        StreamReader r;
        r.feed_data("some dataAA");
        r.feed_eof();
        try {
            (void)co_await r.readuntil("AAA");
            ADD_FAILURE() << "no IncompleteReadError";
        } catch (const asyncio::IncompleteReadError& e) {
            EXPECT_EQ(e.partial(), "some dataAA");
        }
        EXPECT_TRUE(r.at_eof());
    });
}

// CPython test_streams: test_readuntil_separator (an empty one).
TEST(Streams, ReaduntilWithAnEmptySeparatorIsAValueError) {
    run_no_leak([]() -> Task<> {
        StreamReader r;
        EXPECT_THROW((void)co_await r.readuntil(""), concur::ValueError);
    });
}

// CPython test_streams: test_readuntil_limit_found_sep. The data stays
// buffered, so the stream can still be read, as Python specifies.
TEST(Streams, ReaduntilPastTheLimitRaisesLimitOverrunErrorAndKeepsTheData) {
    run_no_leak([]() -> Task<> {
        StreamReader r(3);
        r.feed_data("some dataAA");
        try {
            (void)co_await r.readuntil("AAA");
            ADD_FAILURE() << "no LimitOverrunError";
        } catch (const asyncio::LimitOverrunError& e) {
            EXPECT_NE(std::string(e.what()).find("not found"), std::string::npos);
            EXPECT_EQ(e.consumed(), 9u);
        }
        r.feed_data("A");
        std::size_t consumed = 0;
        try {
            (void)co_await r.readuntil("AAA");
            ADD_FAILURE() << "no LimitOverrunError";
        } catch (const asyncio::LimitOverrunError& e) {
            EXPECT_NE(std::string(e.what()).find("is found"), std::string::npos);
            consumed = e.consumed();
        }
        EXPECT_EQ(consumed, 9u);
        EXPECT_EQ(co_await r.readexactly(consumed), "some data");
        EXPECT_EQ(co_await r.readuntil("AAA"), "AAA");
    });
}

// CPython test_streams: test_readline_limit. The long line is dropped and
// the next one reads normally.
TEST(Streams, ReadlineLongerThanTheLimitIsAValueErrorAndTheNextLineReads) {
    run_no_leak([]() -> Task<> {
        StreamReader r(7);
        r.feed_data("1234567\n");
        EXPECT_EQ(co_await r.readline(), "1234567\n");
        r.feed_data("12345678\nok\n");
        EXPECT_THROW((void)co_await r.readline(), concur::ValueError);
        EXPECT_EQ(co_await r.readline(), "ok\n");
        r.feed_data("123456789012");  // no newline yet: the buffer is dropped
        EXPECT_THROW((void)co_await r.readline(), concur::ValueError);
        r.feed_data("fine\n");
        EXPECT_EQ(co_await r.readline(), "fine\n");
    });
}

// CPython test_streams: test_read_zero / test_read (a short read).
TEST(Streams, ReadReturnsWhatIsBufferedUpToN) {
    run_no_leak([]() -> Task<> {
        StreamReader r;
        EXPECT_EQ(co_await r.read(0), "");
        r.feed_data("abcdef");
        EXPECT_EQ(co_await r.read(4), "abcd");
        EXPECT_EQ(co_await r.read(100), "ef");
        r.feed_eof();
        EXPECT_EQ(co_await r.read(100), "");
    });
}

// CPython test_streams: test_exception / test_exception_waiter.
TEST(Streams, SetExceptionEndsTheWaitingRead) {
    run_no_leak([]() -> Task<> {
        StreamReader r;
        asyncio::get_running_loop().call_later(2ms, [r]() mutable {
            r.set_exception(std::make_exception_ptr(concur::ValueError("boom")));
        });
        EXPECT_THROW((void)co_await r.readline(), concur::ValueError);
        EXPECT_TRUE(r.exception() != nullptr);
    });
}

// Python's _wait_for_data: "read() called while another coroutine is
// already waiting for incoming data".
TEST(Streams, ASecondWaitingReaderIsARuntimeError) {
    run_no_leak([]() -> Task<> {
        StreamReader r;
        auto first = asyncio::create_task(r.read(10));
        co_await asyncio::sleep(0ms);
        EXPECT_THROW((void)co_await r.readline(), concur::RuntimeError);
        r.feed_data("x");
        EXPECT_EQ(co_await first, "x");
    });
}

// ---- connections --------------------------------------------------------------------

// CPython test_streams: test_open_connection / test_start_server.
TEST(Streams, EchoRoundTripOverTcp) {
    run_no_leak([]() -> Task<> {
        asyncio::Server server = co_await asyncio::start_server(echo, "127.0.0.1", 0);
        auto conn = co_await asyncio::open_connection("127.0.0.1", port_of(server));
        auto& [r, w] = conn;
        w.write("hello\n");
        co_await w.drain();
        EXPECT_EQ(co_await r.readline(), "hello\n");
        w.close();
        co_await w.wait_closed();
        server.close();
        co_await server.wait_closed();
    });
}

// CPython test_server: the port chosen for port 0 is readable.
TEST(Streams, ServerOnPortZeroReportsTheChosenPort) {
    run_no_leak([]() -> Task<> {
        asyncio::Server server = co_await asyncio::start_server(echo, "127.0.0.1", 0);
        auto socks = server.sockets();
        EXPECT_EQ(socks.size(), 1u);
        EXPECT_EQ(socks.at(0).family, AF_INET);
        EXPECT_EQ(socks.at(0).host, "127.0.0.1");
        EXPECT_NE(socks.at(0).port, 0);
        EXPECT_EQ(socks.at(0).to_string(), "127.0.0.1:" + std::to_string(socks.at(0).port));
        EXPECT_TRUE(server.is_serving());
        server.close();
        EXPECT_FALSE(server.is_serving());
        EXPECT_TRUE(server.sockets().empty());
        co_await server.wait_closed();
    });
}

// CPython test_streams: test_get_extra_info-style (peername / sockname).
TEST(Streams, ExtraInfoGivesBothEndsAddresses) {
    run_no_leak([]() -> Task<> {
        std::optional<asyncio::SocketAddress> server_peer;
        auto handler = [&](StreamReader r, StreamWriter w) -> Task<> {
            server_peer = w.get_extra_info("peername");
            co_await echo(std::move(r), std::move(w));
        };
        asyncio::Server server = co_await asyncio::start_server(handler, "127.0.0.1", 0);
        auto conn = co_await asyncio::open_connection("127.0.0.1", port_of(server));
        auto& [r, w] = conn;
        w.write("x");
        EXPECT_EQ(co_await r.readexactly(1), "x");
        auto peer = w.get_extra_info("peername");
        auto sock = w.get_extra_info("sockname");
        EXPECT_TRUE(peer && sock);
        EXPECT_EQ(peer->port, port_of(server));
        EXPECT_TRUE(server_peer.has_value());
        EXPECT_EQ(server_peer, sock);
        EXPECT_FALSE(w.get_extra_info("nonsense").has_value());
        EXPECT_GE(w.transport().fileno(), 0);
        w.close();
        co_await w.wait_closed();
        EXPECT_EQ(w.transport().fileno(), -1);
        server.close();
        co_await server.wait_closed();
    });
}

// CPython test_streams: test_read (n bytes asked, fewer there).
TEST(Streams, ReadWithASizeReturnsPartialDataWithoutWaitingForMore) {
    run_no_leak([]() -> Task<> {
        auto handler = [](StreamReader, StreamWriter w) -> Task<> {
            w.write("abc");
            co_await w.drain();
            co_await asyncio::sleep(50ms);  // the rest never comes in time
            w.close();
        };
        asyncio::Server server = co_await asyncio::start_server(handler, "127.0.0.1", 0);
        auto conn = co_await asyncio::open_connection("127.0.0.1", port_of(server));
        auto& [r, w] = conn;
        EXPECT_EQ(co_await r.read(100), "abc");
        EXPECT_EQ(co_await r.read(100), "");  // EOF
        EXPECT_TRUE(r.at_eof());
        w.close();
        server.close();
        co_await server.wait_closed();
    });
}

// CPython test_streams: test_read_all_from_pipe_reader style: read() to
// EOF over more than 2*limit bytes (reading pauses and resumes on the way).
TEST(Streams, ReadWithoutASizeReadsEverythingToEof) {
    run_no_leak([]() -> Task<> {
        const std::string payload(300 * 1024, 'z');
        auto handler = [&](StreamReader, StreamWriter w) -> Task<> {
            w.write(payload);
            w.close();
            co_await w.wait_closed();
        };
        asyncio::Server server = co_await asyncio::start_server(handler, "127.0.0.1", 0);
        auto conn = co_await asyncio::open_connection("127.0.0.1", port_of(server));
        auto& [r, w] = conn;
        std::string all = co_await r.read();
        EXPECT_EQ(all.size(), payload.size());
        EXPECT_EQ(all, payload);
        EXPECT_TRUE(r.at_eof());
        w.close();
        server.close();
        co_await server.wait_closed();
    });
}

// A reader that falls behind: the buffer stops growing near 2*limit
// (reading pauses), and every byte still arrives once it reads again.
TEST(Streams, ASlowReaderPausesReadingAndLosesNothing) {
    run_no_leak([]() -> Task<> {
        constexpr std::size_t total = 2 * 1024 * 1024;
        auto handler = [&](StreamReader, StreamWriter w) -> Task<> {
            std::string chunk(64 * 1024, 'q');
            for (std::size_t sent = 0; sent < total; sent += chunk.size()) {
                w.write(chunk);
                co_await w.drain();
            }
            w.close();
        };
        asyncio::Server server = co_await asyncio::start_server(handler, "127.0.0.1", 0);
        asyncio::ConnectOptions opts;
        opts.limit = 16 * 1024;
        auto conn = co_await asyncio::open_connection("127.0.0.1", port_of(server), opts);
        auto& [r, w] = conn;
        co_await asyncio::sleep(100ms);  // not reading: the sender must stall
        std::size_t got = 0;
        for (;;) {
            std::string part = co_await r.read(4096);
            if (part.empty()) break;
            got += part.size();
        }
        EXPECT_EQ(got, total);
        w.close();
        server.close();
        co_await server.wait_closed();
    });
}

// CPython test_streams: test_write_eof / half-close: the server reads to
// EOF, then answers on the same connection.
TEST(Streams, WriteEofHalfClosesAndThePeerStillAnswers) {
    run_no_leak([]() -> Task<> {
        auto handler = [](StreamReader r, StreamWriter w) -> Task<> {
            std::string all = co_await r.read();
            w.write("got " + std::to_string(all.size()));
            w.close();
            co_await w.wait_closed();
        };
        asyncio::Server server = co_await asyncio::start_server(handler, "127.0.0.1", 0);
        auto conn = co_await asyncio::open_connection("127.0.0.1", port_of(server));
        auto& [r, w] = conn;
        EXPECT_TRUE(w.can_write_eof());
        w.write("hello");
        w.write_eof();
        EXPECT_THROW(w.write("more"), concur::RuntimeError);
        EXPECT_EQ(co_await r.read(), "got 5");
        w.close();
        co_await w.wait_closed();
        server.close();
        co_await server.wait_closed();
    });
}

// writelines: every piece arrives, in order.
TEST(Streams, WritelinesSendsEveryPieceInOrder) {
    run_no_leak([]() -> Task<> {
        asyncio::Server server = co_await asyncio::start_server(echo, "127.0.0.1", 0);
        auto conn = co_await asyncio::open_connection("127.0.0.1", port_of(server));
        auto& [r, w] = conn;
        std::vector<std::string> lines;
        std::string expected;
        for (int i = 0; i < 40; ++i) {  // more than one gathered send
            lines.push_back("line " + std::to_string(i) + "\n");
            expected += lines.back();
        }
        w.writelines(lines);
        co_await w.drain();
        EXPECT_EQ(co_await r.readexactly(expected.size()), expected);
        w.close();
        server.close();
        co_await server.wait_closed();
    });
}

// Python's get_write_buffer_limits / set_write_buffer_limits defaults.
TEST(Streams, WriteBufferLimitsFollowPythonsRules) {
    run_no_leak([]() -> Task<> {
        using Limits = std::pair<std::size_t, std::size_t>;  // (low, high)
        asyncio::Server server = co_await asyncio::start_server(echo, "127.0.0.1", 0);
        auto conn = co_await asyncio::open_connection("127.0.0.1", port_of(server));
        asyncio::Transport t = conn.second.transport();
        EXPECT_EQ(t.get_write_buffer_limits(), Limits(16 * 1024, 64 * 1024));
        t.set_write_buffer_limits(1000);
        EXPECT_EQ(t.get_write_buffer_limits(), Limits(250, 1000));
        t.set_write_buffer_limits(std::nullopt, 100);
        EXPECT_EQ(t.get_write_buffer_limits(), Limits(100, 400));
        t.set_write_buffer_limits(0);
        EXPECT_EQ(t.get_write_buffer_limits(), Limits(0, 0));
        EXPECT_THROW(t.set_write_buffer_limits(10, 20), concur::ValueError);
        conn.second.close();
        server.close();
        co_await server.wait_closed();
    });
}

// drain() flow control: a peer that does not read makes drain() suspend
// with the write buffer bounded near the high-water mark; once the peer
// reads, drain() returns and every byte arrives.
TEST(Streams, DrainSuspendsWhileThePeerDoesNotReadAndTheBufferStaysBounded) {
    run_no_leak([]() -> Task<> {
        asyncio::Future<> go;
        std::size_t received = 0;
        auto handler = [&](StreamReader r, StreamWriter w) -> Task<> {
            co_await go;
            for (;;) {
                std::string part = co_await r.read(64 * 1024);
                if (part.empty()) break;
                received += part.size();
            }
            w.close();
        };
        asyncio::Server server = co_await asyncio::start_server(handler, "127.0.0.1", 0);
        auto conn = co_await asyncio::open_connection("127.0.0.1", port_of(server));
        // A plain reference, not a structured binding: the lambda below uses
        // it, which clang 14 does not allow for bindings.
        auto& w = conn.second;
        const std::string chunk(8 * 1024, 'd');
        const std::size_t high = w.transport().get_write_buffer_limits().second;
        EXPECT_EQ(high, 64u * 1024);
        const std::size_t total = 16 * 1024 * 1024;
        std::size_t written = 0, max_buffered = 0;
        bool in_drain = false, done = false;
        auto write_all = [&]() -> Task<> {
            while (written < total) {
                w.write(chunk);
                written += chunk.size();
                max_buffered = std::max(max_buffered, w.transport().get_write_buffer_size());
                in_drain = true;
                co_await w.drain();
                in_drain = false;
            }
            w.close();
            done = true;
        };
        auto writer = asyncio::create_task(write_all());
        // The kernel's socket buffers take a few MB first; then the writer
        // must stop making progress, parked in drain().
        std::size_t last = 0;
        for (int still = 0, i = 0; still < 3 && i < 200; ++i) {
            co_await asyncio::sleep(20ms);
            still = written == last ? still + 1 : 0;
            last = written;
        }
        EXPECT_TRUE(in_drain) << "drain() did not suspend";
        EXPECT_LT(written, total);
        EXPECT_LE(max_buffered, high + chunk.size());
        go.set_result();
        co_await writer;
        EXPECT_TRUE(done);
        EXPECT_LE(max_buffered, high + chunk.size());
        server.close();
        co_await server.wait_closed();
        EXPECT_EQ(received, written);
    });
}

// Python's StreamWriter.__del__: dropping every handle closes the
// connection, after sending what was written (more than the kernel takes
// at once), and the peer reads it all, then EOF.
TEST(Streams, DroppingTheLastHandleFlushesThenCloses) {
    run_no_leak([]() -> Task<> {
        const std::size_t total = 4 * 1024 * 1024;
        asyncio::Future<std::size_t> got;
        auto handler = [&](StreamReader r, StreamWriter) -> Task<> {
            co_await asyncio::sleep(50ms);  // let the client buffer and let go first
            std::string all = co_await r.read();
            got.set_result(all.size());
        };
        asyncio::Server server = co_await asyncio::start_server(handler, "127.0.0.1", 0);
        {
            auto conn = co_await asyncio::open_connection("127.0.0.1", port_of(server));
            conn.second.write(std::string(total, 'f'));
            EXPECT_GT(conn.second.transport().get_write_buffer_size(), 0u);
        }  // the handles go here, with data still buffered
        EXPECT_EQ(co_await got, total);
        server.close();
        co_await server.wait_closed();
    });
}

// CPython test_server: test_wait_closed_basic (3.12 semantics): the server
// is done once closed and its last connection is gone.
TEST(Streams, ServerWaitClosedWaitsForItsConnections) {
    run_no_leak([]() -> Task<> {
        asyncio::Server server = co_await asyncio::start_server(echo, "127.0.0.1", 0);
        uint16_t port = port_of(server);
        auto conn = co_await asyncio::open_connection("127.0.0.1", port);
        auto& [r, w] = conn;
        w.write("ping");
        EXPECT_EQ(co_await r.readexactly(4), "ping");
        server.close();
        EXPECT_THROW((void)co_await asyncio::open_connection("127.0.0.1", port), asyncio::ConnectionRefusedError);
        EXPECT_THROW(co_await asyncio::wait_for(server.wait_closed(), 50ms), concur::TimeoutError);
        w.write("still served");  // accepted connections outlive close()
        EXPECT_EQ(co_await r.readexactly(12), "still served");
        w.close();
        co_await asyncio::wait_for(server.wait_closed(), 5s);
    });
}

// CPython test_server: test_serve_forever (closing the server ends
// serve_forever with CancelledError; cancelling it closes the server).
TEST(Streams, ServeForeverEndsWhenTheServerIsClosedOrTheTaskCancelled) {
    run_no_leak([]() -> Task<> {
        asyncio::Server a = co_await asyncio::start_server(echo, "127.0.0.1", 0);
        auto serving = asyncio::create_task(a.serve_forever());
        co_await asyncio::sleep(0ms);
        EXPECT_THROW(co_await a.serve_forever(), concur::RuntimeError);
        a.close();
        EXPECT_THROW(co_await serving, concur::CancelledError);

        asyncio::ServerOptions opts;
        opts.start_serving = false;
        asyncio::Server b = co_await asyncio::start_server(echo, "127.0.0.1", 0, opts);
        EXPECT_FALSE(b.is_serving());
        auto forever = asyncio::create_task(b.serve_forever());
        co_await asyncio::sleep(0ms);
        EXPECT_TRUE(b.is_serving());
        auto conn = co_await asyncio::open_connection("127.0.0.1", port_of(b));
        conn.second.write("x");
        EXPECT_EQ(co_await conn.first.readexactly(1), "x");
        conn.second.close();
        forever.cancel();
        EXPECT_THROW(co_await forever, concur::CancelledError);
        EXPECT_FALSE(b.is_serving());
        EXPECT_TRUE(b.sockets().empty());
    });
}

// CPython test_streams: test_open_unix_connection / test_start_unix_server.
TEST(Streams, EchoRoundTripOverAUnixSocket) {
    std::string path = temp_socket_path();
    ASSERT_FALSE(path.empty());
    run_no_leak([&]() -> Task<> {
        asyncio::Server server = co_await asyncio::start_unix_server(echo, path);
        EXPECT_EQ(server.sockets().at(0).family, AF_UNIX);
        EXPECT_EQ(server.sockets().at(0).host, path);
        auto conn = co_await asyncio::open_unix_connection(path);
        auto& [r, w] = conn;
        w.write("over unix\n");
        EXPECT_EQ(co_await r.readline(), "over unix\n");
        EXPECT_EQ(w.get_extra_info("peername")->host, path);
        w.close();
        co_await w.wait_closed();
        server.close();
        co_await server.wait_closed();
    });
    EXPECT_NE(access(path.c_str(), F_OK), 0) << "the socket file was left behind";
    rmdir(path.substr(0, path.rfind('/')).c_str());
}

// Python removes a stale socket file before binding.
TEST(Streams, UnixServerReplacesAStaleSocketFile) {
    std::string path = temp_socket_path();
    ASSERT_FALSE(path.empty());
    run_no_leak([&]() -> Task<> {
        for (int round = 0; round < 2; ++round) {
            asyncio::Server server = co_await asyncio::start_unix_server(echo, path);
            auto conn = co_await asyncio::open_unix_connection(path);
            conn.second.write("r");
            EXPECT_EQ(co_await conn.first.readexactly(1), "r");
            conn.second.close();
        }  // the first server is dropped without close(): its file goes too
    });
    rmdir(path.substr(0, path.rfind('/')).c_str());
}

// IPv6 loopback.
TEST(Streams, EchoRoundTripOverIpv6) {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "::1 is not available here";
    run_no_leak([]() -> Task<> {
        asyncio::Server server = co_await asyncio::start_server(echo, "::1", 0);
        EXPECT_EQ(server.sockets().at(0).family, AF_INET6);
        EXPECT_EQ(server.sockets().at(0).to_string(), "[::1]:" + std::to_string(port_of(server)));
        auto conn = co_await asyncio::open_connection("::1", port_of(server));
        auto& [r, w] = conn;
        w.write("v6\n");
        EXPECT_EQ(co_await r.readline(), "v6\n");
        EXPECT_EQ(w.get_extra_info("peername")->family, AF_INET6);
        w.close();
        server.close();
        co_await server.wait_closed();
    });
}

// Names go through getaddrinfo on the executor; "localhost" may give ::1
// first, which is refused here, then 127.0.0.1.
TEST(Streams, LocalhostResolves) {
    run_no_leak([]() -> Task<> {
        asyncio::Server server = co_await asyncio::start_server(echo, "127.0.0.1", 0);
        auto conn = co_await asyncio::open_connection("localhost", port_of(server));
        auto& [r, w] = conn;
        w.write("named\n");
        EXPECT_EQ(co_await r.readline(), "named\n");
        w.close();
        server.close();
        co_await server.wait_closed();
    });
}

// A plain function as client_connected_cb (Python accepts non-coroutines).
TEST(Streams, APlainFunctionHandlerGetsTheStreams) {
    run_no_leak([]() -> Task<> {
        int calls = 0;
        auto handler = [&](StreamReader, StreamWriter w) {
            ++calls;
            w.write("hi");
            w.close();
        };
        asyncio::Server server = co_await asyncio::start_server(handler, "127.0.0.1", 0);
        auto conn = co_await asyncio::open_connection("127.0.0.1", port_of(server));
        EXPECT_EQ(co_await conn.first.read(), "hi");
        EXPECT_EQ(calls, 1);
        conn.second.close();
        server.close();
        co_await server.wait_closed();
    });
}

// Pipes, as subprocess uses them: the writer's write_eof() closes its
// end, which the reader sees as EOF.
TEST(Streams, PipeStreamsCarryDataAndEof) {
    run_no_leak([]() -> Task<> {
        int p[2];
        EXPECT_EQ(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
        StreamReader r = asyncio::detail::make_pipe_reader(p[0]);
        StreamWriter w = asyncio::detail::make_pipe_writer(p[1]);
        EXPECT_FALSE(w.get_extra_info("peername").has_value());
        w.write("through a pipe\nsecond");
        co_await w.drain();
        EXPECT_EQ(co_await r.readline(), "through a pipe\n");
        w.write_eof();
        co_await w.wait_closed();
        EXPECT_EQ(co_await r.read(), "second");
        EXPECT_TRUE(r.at_eof());
    });
}

// A large write through a pipe: more than the pipe holds, so the rest is
// buffered and sent as the reader drains it.
TEST(Streams, PipeWriterBuffersWhatThePipeCannotTakeYet) {
    run_no_leak([]() -> Task<> {
        int p[2];
        EXPECT_EQ(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
        StreamReader r = asyncio::detail::make_pipe_reader(p[0]);
        StreamWriter w = asyncio::detail::make_pipe_writer(p[1]);
        const std::string payload(1024 * 1024, 'p');
        w.write(payload);
        EXPECT_GT(w.transport().get_write_buffer_size(), 0u);
        auto drained = asyncio::create_task(w.drain());
        EXPECT_EQ(co_await r.readexactly(payload.size()), payload);
        co_await drained;
        w.close();
        EXPECT_EQ(co_await r.read(), "");
    });
}
