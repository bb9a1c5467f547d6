// multiprocessing::Pipe / Connection. Most cases are ported from CPython's
// Lib/test/_test_multiprocessing.py, _TestConnection (marked "Ported");
// cross-process cases fork() directly: the child does its part and _exit()s
// 0 on success, the parent waitpid()s and checks.
#include <dirent.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <variant>
#include <vector>

#include "concur/multiprocessing/connection.hpp"
#include "concur/multiprocessing/process.hpp"
#include "concur/wire/frame.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
namespace mp = concur::multiprocessing;

namespace {

using mptest::open_fds;
using mptest::fork_child;
using mptest::wait_child;

// Every test must leave as many descriptors open as it found.
class ConnectionTest : public ::testing::Test {
protected:
    void SetUp() override { fds_before_ = open_fds(); }
    void TearDown() override { EXPECT_EQ(open_fds(), fds_before_) << "descriptors leaked"; }
    int fds_before_ = 0;
};

struct Point {
    int x = 0;
    std::string label;
    std::vector<double> weights;
    bool operator==(const Point&) const = default;
    MSGPACK_DEFINE(x, label, weights)
};

enum class Colour : std::uint8_t { red = 1, green = 2 };

template <class T>
void round_trip(mp::Connection& a, mp::Connection& b, const T& value) {
    a.send(value);
    EXPECT_EQ(b.recv<T>(), value);
}

}  // namespace

// Ported: test_connection's send/recv of assorted objects, both directions.
TEST_F(ConnectionTest, SendRecvManyTypes) {
    auto [a, b] = mp::Pipe();
    round_trip(a, b, 42);
    round_trip(b, a, -7LL);
    round_trip(a, b, 3.25);
    round_trip(a, b, true);
    round_trip(a, b, std::string("hello"));
    round_trip(a, b, std::string());
    round_trip(a, b, std::vector<int>{1, 2, 3});
    round_trip(a, b, std::map<std::string, std::vector<int>>{{"a", {1}}, {"b", {}}});
    round_trip(a, b, std::optional<int>{});
    round_trip(a, b, std::optional<int>{5});
    round_trip(a, b, std::variant<int, std::string>{std::string("v")});
    round_trip(a, b, std::tuple<int, std::string, double>{1, "two", 3.0});
    round_trip(a, b, std::monostate{});
    round_trip(a, b, Colour::green);
    round_trip(b, a, Point{3, "p", {0.5, 1.5}});
    round_trip(a, b, std::vector<Point>{{1, "a", {}}, {2, "b", {2.0}}});
    EXPECT_FALSE(a.poll());
    EXPECT_FALSE(b.poll());
}

// Ported: test_connection's messages queued before any is read come out in order.
TEST_F(ConnectionTest, ManyMessagesKeepOrder) {
    auto [a, b] = mp::Pipe();
    for (int i = 0; i < 1000; ++i) a.send(i);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(b.recv<int>(), i);
}

// Ported: test_connection's send_bytes(arr, offset, size) and recv_bytes.
TEST_F(ConnectionTest, SendBytesOffsetAndSize) {
    auto [a, b] = mp::Pipe();
    std::string msg = "abcdefghijklmnopqrstuvwxyz";
    a.send_bytes(msg);
    EXPECT_EQ(b.recv_bytes(), msg);
    a.send_bytes(msg, 5);
    EXPECT_EQ(b.recv_bytes(), msg.substr(5));
    a.send_bytes(msg, 7, 3);
    EXPECT_EQ(b.recv_bytes(), "hij");
    a.send_bytes(msg, msg.size());  // an empty message is a message
    EXPECT_EQ(b.recv_bytes(), "");
    std::vector<std::byte> raw{std::byte{0}, std::byte{255}, std::byte{7}};
    a.send_bytes(raw, 1, 2);
    EXPECT_EQ(b.recv_bytes(), std::string("\xff\x07", 2));

    EXPECT_THROW(a.send_bytes(msg, msg.size() + 1), concur::ValueError);
    EXPECT_THROW(a.send_bytes(msg, 20, 7), concur::ValueError);
    EXPECT_THROW(a.send_bytes(msg, 0, msg.size() + 1), concur::ValueError);
    EXPECT_FALSE(b.poll());
}

// Ported: test_connection's maxlength check; here the stream stays usable.
TEST_F(ConnectionTest, RecvBytesMaxlength) {
    auto [a, b] = mp::Pipe();
    a.send_bytes("0123456789");
    a.send_bytes("ok");
    try {
        (void)b.recv_bytes(9);
        FAIL() << "expected OSError";
    } catch (const concur::OSError& e) {
        EXPECT_NE(std::string(e.what()).find("bad message length"), std::string::npos);
    }
    EXPECT_EQ(b.recv_bytes(2), "ok");
    a.send_bytes("0123456789");
    EXPECT_EQ(b.recv_bytes(10), "0123456789");
}

// Ported: recv() is loads(recv_bytes()) in Python; the two views of one message.
TEST_F(ConnectionTest, BytesAndValuesShareTheStream) {
    auto [a, b] = mp::Pipe();
    a.send(std::string("x"));
    std::string raw = b.recv_bytes();
    b.send_bytes(raw);
    EXPECT_EQ(a.recv<std::string>(), "x");
}

// Ported: test_connection's 16 MiB message, read by another thread.
TEST_F(ConnectionTest, ReallyBigMessage) {
    auto [a, b] = mp::Pipe();
    std::string big(16 << 20, 'X');
    big[12345] = 'y';
    std::thread reader([&b = b, &big] { EXPECT_EQ(b.recv_bytes(), big); });
    a.send_bytes(big);
    reader.join();
}

// Ported: test_connection's poll() with and without timeouts.
TEST_F(ConnectionTest, Poll) {
    auto [a, b] = mp::Pipe();
    EXPECT_FALSE(b.poll());
    EXPECT_FALSE(b.poll(0s));
    EXPECT_FALSE(b.poll(50ms));
    EXPECT_THROW((void)b.poll(-1s), concur::ValueError);
    a.send(1);
    EXPECT_TRUE(b.poll());
    EXPECT_TRUE(b.poll(std::nullopt));
    EXPECT_TRUE(b.poll(10s));  // true at once, no wait for the timeout
    EXPECT_EQ(b.recv<int>(), 1);
    EXPECT_FALSE(b.poll());

    std::thread sender([&a = a] {
        std::this_thread::sleep_for(20ms);
        a.send(2);
    });
    EXPECT_TRUE(b.poll(std::nullopt));
    EXPECT_EQ(b.recv<int>(), 2);
    sender.join();
}

// Ported: test_connection's EOFError once the peer has closed.
TEST_F(ConnectionTest, EOFAfterPeerCloses) {
    auto [a, b] = mp::Pipe();
    a.send(7);
    a.close();
    EXPECT_TRUE(a.closed());
    a.close();  // idempotent
    EXPECT_EQ(b.recv<int>(), 7);  // what was sent before close still arrives
    EXPECT_TRUE(b.poll());        // end of stream is "ready"
    EXPECT_THROW((void)b.recv<int>(), concur::EOFError);
    EXPECT_THROW((void)b.recv_bytes(), concur::EOFError);
    EXPECT_THROW(b.send(1), concur::BrokenPipeError);
}

TEST_F(ConnectionTest, ClosedConnectionThrowsOSError) {
    auto [a, b] = mp::Pipe();
    b.close();
    EXPECT_THROW(b.send(1), concur::OSError);
    EXPECT_THROW((void)b.recv<int>(), concur::OSError);
    EXPECT_THROW((void)b.poll(), concur::OSError);
    EXPECT_THROW((void)b.fileno(), concur::OSError);
    mp::Connection moved = std::move(a);
    EXPECT_TRUE(a.closed());  // NOLINT(bugprone-use-after-move): moved-from is closed
    EXPECT_FALSE(moved.closed());
    EXPECT_GE(moved.fileno(), 0);
}

// Ported: test_duplex_false.
TEST_F(ConnectionTest, DuplexFalse) {
    auto [reader, writer] = mp::Pipe(false);
    EXPECT_TRUE(reader.readable());
    EXPECT_FALSE(reader.writable());
    EXPECT_FALSE(writer.readable());
    EXPECT_TRUE(writer.writable());
    writer.send(std::string("one way"));
    EXPECT_EQ(reader.recv<std::string>(), "one way");
    try {
        reader.send(1);
        FAIL() << "expected OSError";
    } catch (const concur::OSError& e) {
        EXPECT_NE(std::string(e.what()).find("read-only"), std::string::npos);
    }
    EXPECT_THROW((void)writer.recv<int>(), concur::OSError);
    EXPECT_THROW((void)writer.poll(), concur::OSError);
    EXPECT_THROW(reader.send_bytes("x"), concur::OSError);
}

// Ported: test_fd_transfer / _TestPicklingConnections: a Connection sent
// through a Connection is a working end on the receiving side.
TEST_F(ConnectionTest, ConnectionThroughConnection) {
    auto [a, b] = mp::Pipe();
    {
        auto [c, d] = mp::Pipe();
        a.send(d);
        mp::Connection d2 = b.recv<mp::Connection>();
        EXPECT_NE(d2.fileno(), d.fileno());
        c.send(42);
        EXPECT_EQ(d2.recv<int>(), 42);
        d2.send(std::string("back"));
        EXPECT_EQ(c.recv<std::string>(), "back");
    }
    {  // directions survive the trip
        auto [r, w] = mp::Pipe(false);
        a.send(std::make_tuple(std::move(r), 5));  // NOLINT: a tuple holding a Connection
    }
    auto [r2, n] = b.recv<std::tuple<mp::Connection, int>>();
    EXPECT_EQ(n, 5);
    EXPECT_TRUE(r2.readable());
    EXPECT_FALSE(r2.writable());
    EXPECT_TRUE(r2.poll());  // its writer is gone everywhere: end of stream
    EXPECT_THROW((void)r2.recv<int>(), concur::EOFError);
}

// A closed Connection cannot be sent.
TEST_F(ConnectionTest, SendingAClosedConnectionThrows) {
    auto [a, b] = mp::Pipe();
    mp::Connection closed;
    EXPECT_THROW(a.send(closed), concur::wire::EncodeError);
    EXPECT_FALSE(b.poll());
}

// Descriptors that arrive with a message nobody decodes are closed, not leaked.
TEST_F(ConnectionTest, UnclaimedDescriptorsAreClosed) {
    auto [a, b] = mp::Pipe();
    auto [c, d] = mp::Pipe();
    a.send(std::vector<mp::Connection>{});  // nothing attached
    EXPECT_TRUE(b.recv<std::vector<mp::Connection>>().empty());
    a.send(d);
    (void)b.recv_bytes();  // the descriptor that came with it is closed
    a.send(d);
    EXPECT_THROW((void)b.recv<int>(), concur::wire::DecodeError);
}

TEST_F(ConnectionTest, WrongTypeIsDecodeErrorNamingTheType) {
    auto [a, b] = mp::Pipe();
    a.send(std::string("not a number"));
    try {
        (void)b.recv<int>();
        FAIL() << "expected DecodeError";
    } catch (const concur::wire::DecodeError& e) {
        EXPECT_NE(std::string(e.what()).find("int"), std::string::npos) << e.what();
    }
    a.send(1);  // the stream is still in step after a type mismatch
    EXPECT_EQ(b.recv<int>(), 1);
}

// Bytes written raw into the socket: every kind of damage is a clear error.
TEST_F(ConnectionTest, CorruptedFramesAreDecodeErrors) {
    {  // not a frame at all
        auto [a, b] = mp::Pipe();
        const char junk[] = "this is not a concur frame, not at all";
        ASSERT_EQ(::write(a.fileno(), junk, sizeof junk), (ssize_t)sizeof junk);
        EXPECT_THROW((void)b.recv<int>(), concur::wire::DecodeError);
    }
    {  // a good header before bytes that are not msgpack
        auto [a, b] = mp::Pipe();
        concur::wire::FrameHeader h;
        h.kind = mp::detail::frame_value;
        h.length = 3;
        const char payload[3] = {'\xc1', '\xc1', '\xc1'};  // 0xc1 is never valid msgpack
        ASSERT_EQ(::write(a.fileno(), &h, sizeof h), (ssize_t)sizeof h);
        ASSERT_EQ(::write(a.fileno(), payload, 3), 3);
        EXPECT_THROW((void)b.recv<int>(), concur::wire::DecodeError);
    }
    {  // a value followed by trailing bytes
        auto [a, b] = mp::Pipe();
        a.send_bytes(std::string("\x01\x02", 2));
        EXPECT_THROW((void)b.recv<int>(), concur::wire::DecodeError);
    }
    {  // a header that promises descriptors that never come
        auto [a, b] = mp::Pipe();
        concur::wire::FrameHeader h;
        h.fds = 2;
        ASSERT_EQ(::write(a.fileno(), &h, sizeof h), (ssize_t)sizeof h);
        EXPECT_THROW((void)b.recv<int>(), concur::wire::DecodeError);
    }
    {  // a Connection whose descriptor is missing
        auto [a, b] = mp::Pipe();
        msgpack::sbuffer buf;
        concur::wire::Packer p(buf);
        p.pack(std::make_tuple(0u, true, true));
        a.send_frame(mp::detail::frame_value, buf.data(), buf.size());
        EXPECT_THROW((void)b.recv<mp::Connection>(), concur::wire::DecodeError);
    }
    {  // the peer dies in the middle of a frame
        auto [a, b] = mp::Pipe();
        concur::wire::FrameHeader h;
        h.length = 100;
        ASSERT_EQ(::write(a.fileno(), &h, sizeof h), (ssize_t)sizeof h);
        ASSERT_EQ(::write(a.fileno(), "abc", 3), 3);
        a.close();
        EXPECT_THROW((void)b.recv<int>(), concur::EOFError);
    }
}

// Several threads sending on one end: each message arrives whole.
TEST_F(ConnectionTest, ThreadsSendingAtOnceKeepMessagesWhole) {
    auto [a, b] = mp::Pipe();
    constexpr int threads = 4, per_thread = 500;
    std::vector<std::thread> senders;
    for (int t = 0; t < threads; ++t)
        senders.emplace_back([&a = a, t] {
            for (int i = 0; i < per_thread; ++i) a.send(std::make_pair(t, std::string(1000 + i, char('a' + t))));
        });
    std::vector<int> next(threads, 0);
    for (int n = 0; n < threads * per_thread; ++n) {
        auto [t, s] = b.recv<std::pair<int, std::string>>();
        ASSERT_EQ(s, std::string(1000 + next[t], char('a' + t)));
        ++next[t];  // per thread, order is kept
    }
    for (auto& s : senders) s.join();
}

// Ported: test_connection with a child that echoes what it gets.
TEST_F(ConnectionTest, EchoThroughAForkedChild) {
    auto [parent, child] = mp::Pipe();
    pid_t pid = fork_child([&parent = parent, &child = child] {
        parent.close();
        try {
            for (;;) child.send_bytes(child.recv_bytes());
        } catch (const concur::EOFError&) {
        }
    });
    child.close();
    std::string big(1 << 20, 'b');
    for (const std::string& msg : {std::string("hello"), std::string(), big}) {
        parent.send_bytes(msg);
        EXPECT_EQ(parent.recv_bytes(), msg);
    }
    parent.send(Point{1, "pt", {2.0}});
    EXPECT_EQ(parent.recv<Point>(), (Point{1, "pt", {2.0}}));
    parent.close();  // the child sees EOF and exits
    EXPECT_EQ(wait_child(pid), 0);
}

// Ported: _TestPicklingConnections: a Connection sent to another process
// through a Connection, then used there to talk back.
TEST_F(ConnectionTest, ConnectionSentToAForkedChild) {
    auto [parent, child] = mp::Pipe();
    pid_t pid = fork_child([&parent = parent, &child = child] {
        parent.close();
        auto [reply_to, n] = child.recv<std::tuple<mp::Connection, int>>();
        CHILD_CHECK(reply_to.writable() && !reply_to.readable());
        for (int i = 0; i < n; ++i) reply_to.send(i * i);
        child.send(std::string("done"));
    });
    child.close();
    {
        auto [results, results_writer] = mp::Pipe(false);
        parent.send(std::make_tuple(std::move(results_writer), 100));  // the only writer now lives in the child
        EXPECT_EQ(parent.recv<std::string>(), "done");
        for (int i = 0; i < 100; ++i) ASSERT_EQ(results.recv<int>(), i * i);
        EXPECT_EQ(wait_child(pid), 0);
        EXPECT_THROW((void)results.recv<int>(), concur::EOFError);  // the child exited
    }
}

// A child that dies (exits without a word) is EOFError, never a hang.
TEST_F(ConnectionTest, ChildExitIsEOF) {
    auto [parent, child] = mp::Pipe();
    pid_t pid = fork_child([] { ::_exit(0); });
    child.close();
    EXPECT_EQ(wait_child(pid), 0);
    EXPECT_THROW((void)parent.recv<int>(), concur::EOFError);
}

// ---- the same through multiprocessing::Process, with every start method:
// the Connection crosses as a Process argument (its codec).

namespace {

// Ported: _TestConnection._echo, which stops at a sentinel rather than at
// EOF: a "fork" child inherits the parent's end too, so EOF never comes.
void echo_until_empty(mp::Connection conn) {
    for (std::string msg; !(msg = conn.recv_bytes()).empty();) conn.send_bytes(msg);
}

void reply_through(mp::Connection requests) {
    auto [reply_to, n] = requests.recv<std::tuple<mp::Connection, int>>();
    for (int i = 0; i < n; ++i) reply_to.send(i * 3);
}

}  // namespace

class ConnectionProcessTest : public ConnectionTest, public ::testing::WithParamInterface<const char*> {
protected:
    // A first "forkserver" Process starts the server, which keeps a
    // descriptor here: start one before counting descriptors.
    void SetUp() override {
        {
            mp::Process warm_up(mp::get_context(GetParam()), +[] {});
            warm_up.start();
            warm_up.join();
        }
        ConnectionTest::SetUp();
    }
};

TEST_P(ConnectionProcessTest, EchoChild) {
    auto [parent, child] = mp::Pipe();
    mp::Process p(mp::get_context(GetParam()), echo_until_empty, std::move(child));
    p.start();
    child.close();  // the Process keeps its own copy for the child
    for (const std::string& msg : {std::string("hi"), std::string(1 << 20, 'q')}) {
        parent.send_bytes(msg);
        EXPECT_EQ(parent.recv_bytes(), msg);
    }
    parent.send_bytes("");
    EXPECT_TRUE(p.join());
    EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ConnectionProcessTest, ConnectionSentToTheChild) {
    auto [parent, child] = mp::Pipe();
    mp::Process p(mp::get_context(GetParam()), reply_through, std::move(child));
    p.start();
    child.close();
    auto [results, writer] = mp::Pipe(false);
    parent.send(std::make_tuple(std::move(writer), 50));
    for (int i = 0; i < 50; ++i) ASSERT_EQ(results.recv<int>(), i * 3);
    EXPECT_TRUE(p.join());
    EXPECT_EQ(p.exitcode(), 0);
}

INSTANTIATE_TEST_SUITE_P(StartMethods, ConnectionProcessTest, ::testing::Values("fork", "spawn", "forkserver"));
