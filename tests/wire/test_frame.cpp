// The frame every concur message travels in, the channel that reads and
// writes frames over a Unix socket with descriptors beside them, and the
// handle scopes through which values hand descriptors to that channel.
// What a user relies on: a frame arrives whole and alone whatever its size;
// descriptors arrive usable; every way a stream can be cut or corrupted is
// reported as EOFError or DecodeError (saying what is wrong), never misread.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "concur/detail/deadline.hpp"
#include "concur/multiprocessing/detail/channel.hpp"
#include "concur/wire.hpp"

namespace wire = concur::wire;
namespace mp = concur::multiprocessing::detail;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

template <class F>
std::string decode_error_message(F f) {
    try {
        f();
    } catch (const wire::DecodeError& e) {
        return e.what();
    }
    ADD_FAILURE() << "no DecodeError";
    return {};
}

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

// A connected socket pair closed at the end of the test (either end may be
// closed early by setting it to -1).
struct Sockets {
    int fd[2];
    Sockets() { mp::socket_pair(fd); }
    ~Sockets() {
        for (int f : fd)
            if (f >= 0) ::close(f);
    }
    void close(int i) {
        ::close(fd[i]);
        fd[i] = -1;
    }
};

void write_raw(int fd, const void* data, std::size_t size) {
    ASSERT_EQ(::write(fd, data, size), static_cast<ssize_t>(size));
}

}  // namespace

// ---- check_frame ------------------------------------------------------------------

TEST(Frame, AcceptsAGoodHeader) {
    wire::FrameHeader h;
    EXPECT_NO_THROW(wire::check_frame(h));
    h.length = wire::max_frame_length;  // the limits themselves are allowed
    h.fds = wire::max_frame_fds;
    h.kind = 0xffff;
    h.flags = 0xffff;
    h.id = ~std::uint64_t{0};
    EXPECT_NO_THROW(wire::check_frame(h));
}

TEST(Frame, HeaderLayoutIsFixed) {
    // Both ends of a channel may be different builds of the same version:
    // the header's layout is part of the protocol.
    static_assert(sizeof(wire::FrameHeader) == 24);
    wire::FrameHeader h;
    unsigned char bytes[sizeof h];
    std::memcpy(bytes, &h, sizeof h);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(bytes), 4), "CCW1");
}

TEST(Frame, RejectsBadMagic) {
    wire::FrameHeader h;
    h.magic = 0x50545448;  // "HTTP": something else on the socket
    EXPECT_TRUE(contains(decode_error_message([&] { wire::check_frame(h); }), "bad magic"));
}

TEST(Frame, RejectsAnotherVersion) {
    wire::FrameHeader h;
    h.version = wire::frame_version + 1;
    std::string m = decode_error_message([&] { wire::check_frame(h); });
    EXPECT_TRUE(contains(m, "version " + std::to_string(wire::frame_version + 1))) << m;
    h.version = 0;
    EXPECT_TRUE(contains(decode_error_message([&] { wire::check_frame(h); }), "version 0"));
}

TEST(Frame, RejectsAHugeLength) {
    wire::FrameHeader h;
    h.length = wire::max_frame_length + 1;
    std::string m = decode_error_message([&] { wire::check_frame(h); });
    EXPECT_TRUE(contains(m, std::to_string(wire::max_frame_length + 1))) << m;
    EXPECT_TRUE(contains(m, "limit")) << m;
    h.length = 0xffffffffu;
    EXPECT_THROW(wire::check_frame(h), wire::DecodeError);
}

TEST(Frame, RejectsTooManyDescriptors) {
    wire::FrameHeader h;
    h.fds = wire::max_frame_fds + 1;
    EXPECT_TRUE(contains(decode_error_message([&] { wire::check_frame(h); }), "too many descriptors"));
}

// ---- send_frame / recv_frame --------------------------------------------------------

TEST(Channel, SocketPairIsCloseOnExec) {
    Sockets s;
    for (int f : s.fd) EXPECT_TRUE(::fcntl(f, F_GETFD) & FD_CLOEXEC);
}

TEST(Channel, PayloadsOfEverySize) {
    Sockets s;
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{1} << 20}) {
        SCOPED_TRACE(size);
        std::string payload(size, '\0');
        for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>(i * 131 + 17);
        // 1 MiB is more than the socket buffers: send while the other end reads.
        std::thread sender(
            [&] { mp::send_frame(s.fd[0], 7, 0x1122334455667788ull, payload.data(), payload.size()); });
        mp::Frame f;
        bool got = mp::recv_frame(s.fd[1], f);
        sender.join();
        ASSERT_TRUE(got);
        EXPECT_EQ(f.header.kind, 7);
        EXPECT_EQ(f.header.id, 0x1122334455667788ull);
        EXPECT_EQ(f.header.length, size);
        EXPECT_EQ(f.header.fds, 0);
        EXPECT_TRUE(f.fds.empty());
        EXPECT_TRUE(f.payload == payload);
    }
}

TEST(Channel, FramesKeepTheirBoundaries) {
    Sockets s;
    // Back to back, small enough to sit in the socket buffer together.
    for (int i = 0; i < 5; ++i) {
        std::string p(static_cast<std::size_t>(i) * 10, static_cast<char>('a' + i));
        mp::send_frame(s.fd[0], static_cast<std::uint16_t>(i), static_cast<std::uint64_t>(i), p.data(),
                       p.size());
    }
    for (int i = 0; i < 5; ++i) {
        mp::Frame f;
        ASSERT_TRUE(mp::recv_frame(s.fd[1], f));
        EXPECT_EQ(f.header.id, static_cast<std::uint64_t>(i));
        EXPECT_EQ(f.payload, std::string(static_cast<std::size_t>(i) * 10, static_cast<char>('a' + i)));
    }
}

TEST(Channel, DescriptorsTravelBesideAFrame) {
    Sockets s;
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    const int sent[] = {p[0]};
    mp::send_frame(s.fd[0], 1, 2, "with a pipe", 11, sent);
    ::close(p[0]);  // the receiver's copy must not depend on ours

    mp::Frame f;
    ASSERT_TRUE(mp::recv_frame(s.fd[1], f));
    EXPECT_EQ(f.payload, "with a pipe");
    EXPECT_EQ(f.header.fds, 1);
    ASSERT_EQ(f.fds.size(), 1u);
    int received = f.fds[0];
    // Close-on-exec, so that it cannot leak into a child that execs.
    EXPECT_TRUE(::fcntl(received, F_GETFD) & FD_CLOEXEC);
    // The same kernel object: what is written to our write end is read there.
    ASSERT_EQ(::write(p[1], "ping", 4), 4);
    char buf[8] = {};
    ASSERT_EQ(::read(received, buf, sizeof buf), 4);
    EXPECT_STREQ(buf, "ping");
    ::close(p[1]);
}

TEST(Channel, SeveralDescriptorsInOrder) {
    Sockets s;
    int a[2], b[2];
    ASSERT_EQ(::pipe(a), 0);
    ASSERT_EQ(::pipe(b), 0);
    const int sent[] = {a[0], b[0]};
    mp::send_frame(s.fd[0], 0, 0, "", 0, sent);
    mp::Frame f;
    ASSERT_TRUE(mp::recv_frame(s.fd[1], f));
    ASSERT_EQ(f.fds.size(), 2u);
    ASSERT_EQ(::write(a[1], "A", 1), 1);
    ASSERT_EQ(::write(b[1], "B", 1), 1);
    char c = 0;
    ASSERT_EQ(::read(f.fds[0], &c, 1), 1);
    EXPECT_EQ(c, 'A');
    ASSERT_EQ(::read(f.fds[1], &c, 1), 1);
    EXPECT_EQ(c, 'B');
    for (int fd : {a[0], a[1], b[0], b[1]}) ::close(fd);
}

TEST(Channel, FrameClosesTheDescriptorsNobodyTook) {
    Sockets s;
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    const int sent[] = {p[0], p[0]};
    mp::send_frame(s.fd[0], 0, 0, "x", 1, sent);
    ::close(p[0]);
    int kept = -1, left = -1;
    {
        mp::Frame f;
        ASSERT_TRUE(mp::recv_frame(s.fd[1], f));
        ASSERT_EQ(f.fds.size(), 2u);
        left = f.fds[1];
        wire::DecodeHandles scope(f.fds);
        kept = wire::take_fd(0);
        EXPECT_EQ(f.fds[0], -1) << "taken: no longer the frame's";
    }
    EXPECT_TRUE(is_open(kept)) << "a taken descriptor belongs to the taker";
    EXPECT_FALSE(is_open(left)) << "the frame closed the one nobody took";
    ::close(kept);
    ::close(p[1]);
}

TEST(Channel, CleanEndOfStreamReturnsFalse) {
    Sockets s;
    mp::send_frame(s.fd[0], 0, 1, "last", 4);
    s.close(0);
    mp::Frame f;
    ASSERT_TRUE(mp::recv_frame(s.fd[1], f));  // what was sent before the close still arrives
    EXPECT_EQ(f.payload, "last");
    EXPECT_FALSE(mp::recv_frame(s.fd[1], f));
    EXPECT_FALSE(mp::recv_frame(s.fd[1], f)) << "and stays at the end";
}

TEST(Channel, EndOfStreamInsideTheHeaderIsEOFError) {
    Sockets s;
    wire::FrameHeader h;
    write_raw(s.fd[0], &h, 10);
    s.close(0);
    mp::Frame f;
    EXPECT_THROW(mp::recv_frame(s.fd[1], f), concur::EOFError);
}

TEST(Channel, EndOfStreamInsideThePayloadIsEOFError) {
    Sockets s;
    wire::FrameHeader h;
    h.length = 100;
    write_raw(s.fd[0], &h, sizeof h);
    write_raw(s.fd[0], "only ten b", 10);
    s.close(0);
    mp::Frame f;
    EXPECT_THROW(mp::recv_frame(s.fd[1], f), concur::EOFError);
}

TEST(Channel, GarbageHeaderIsDecodeError) {
    Sockets s;
    std::string garbage(sizeof(wire::FrameHeader), 'x');
    write_raw(s.fd[0], garbage.data(), garbage.size());
    mp::Frame f;
    std::string m = decode_error_message([&] { mp::recv_frame(s.fd[1], f); });
    EXPECT_TRUE(contains(m, "bad magic")) << m;
}

TEST(Channel, HugeLengthIsRefusedBeforeAllocating) {
    Sockets s;
    wire::FrameHeader h;
    h.length = 0xfffffff0u;
    write_raw(s.fd[0], &h, sizeof h);
    mp::Frame f;
    EXPECT_THROW(mp::recv_frame(s.fd[1], f), wire::DecodeError);
}

TEST(Channel, DescriptorsThatDidNotArriveAreDecodeError) {
    Sockets s;
    wire::FrameHeader h;
    h.fds = 1;  // claimed, but sent without SCM_RIGHTS
    write_raw(s.fd[0], &h, sizeof h);
    mp::Frame f;
    std::string m = decode_error_message([&] { mp::recv_frame(s.fd[1], f); });
    EXPECT_TRUE(contains(m, "descriptors")) << m;
}

TEST(Channel, DeadlineBeforeTheFirstByteIsTimeoutError) {
    Sockets s;
    mp::Frame f;
    auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(mp::recv_frame(s.fd[1], f, concur::detail::Deadline(std::chrono::milliseconds(50))),
                 concur::TimeoutError);
    // It waited for the deadline rather than giving up at once (a lower
    // bound only: the deadline can be late, never early).
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
    // A zero timeout polls.
    EXPECT_THROW(mp::recv_frame(s.fd[1], f, concur::detail::Deadline(std::chrono::seconds(0))),
                 concur::TimeoutError);
    // The channel is still usable after a timeout, and a frame already there
    // is returned whatever the deadline.
    mp::send_frame(s.fd[0], 0, 3, "late", 4);
    ASSERT_TRUE(mp::recv_frame(s.fd[1], f, concur::detail::Deadline(std::chrono::seconds(0))));
    EXPECT_EQ(f.payload, "late");
}

TEST(Channel, SendRefusesWhatCannotBeFramed) {
    Sockets s;
    // Checked before the payload is read, so no buffer of that size is needed.
    EXPECT_THROW(mp::send_frame(s.fd[0], 0, 0, nullptr, std::size_t{wire::max_frame_length} + 1),
                 concur::ValueError);
    std::vector<int> many(wire::max_frame_fds + 1, s.fd[0]);
    EXPECT_THROW(mp::send_frame(s.fd[0], 0, 0, "", 0, many), concur::ValueError);
}

TEST(Channel, SendToAClosedPeerIsBrokenPipe) {
    Sockets s;
    s.close(1);
    // MSG_NOSIGNAL: an exception, not a SIGPIPE that kills the test.
    EXPECT_THROW(mp::send_frame(s.fd[0], 0, 0, "x", 1), concur::BrokenPipeError);
}

// ---- handle scopes -----------------------------------------------------------------

TEST(Handles, AttachWithoutAScopeIsEncodeError) { EXPECT_THROW(wire::attach_fd(0), wire::EncodeError); }

TEST(Handles, AttachCollectsIntoTheInnermostScope) {
    std::vector<int> outer, inner;
    {
        wire::EncodeHandles o(outer);
        EXPECT_EQ(wire::attach_fd(10), 0u);
        EXPECT_EQ(wire::attach_fd(11), 1u);
        {
            wire::EncodeHandles i(inner);
            EXPECT_EQ(wire::attach_fd(20), 0u);  // indices are per message
        }
        EXPECT_EQ(wire::attach_fd(12), 2u);  // the outer scope is back
        EXPECT_THROW(wire::attach_fd(-1), wire::EncodeError);
    }
    EXPECT_EQ(outer, (std::vector<int>{10, 11, 12}));
    EXPECT_EQ(inner, (std::vector<int>{20}));
    EXPECT_THROW(wire::attach_fd(0), wire::EncodeError) << "no scope after the last one ended";
}

TEST(Handles, ScopesBelongToTheirThread) {
    std::vector<int> fds;
    wire::EncodeHandles scope(fds);
    bool threw = false;
    std::thread([&] {
        try {
            wire::attach_fd(3);
        } catch (const wire::EncodeError&) {
            threw = true;
        }
    }).join();
    EXPECT_TRUE(threw);
    EXPECT_TRUE(fds.empty());
}

TEST(Handles, TakeSemantics) {
    EXPECT_THROW(wire::take_fd(0), wire::DecodeError) << "no scope";
    std::vector<int> fds{100, 101};
    {
        wire::DecodeHandles scope(fds);
        EXPECT_EQ(wire::take_fd(1), 101);
        EXPECT_EQ(fds[1], -1);
        std::string twice;
        try {
            wire::take_fd(1);
        } catch (const wire::DecodeError& e) {
            twice = e.what();
        }
        EXPECT_TRUE(contains(twice, "already taken")) << twice;
        std::string missing;
        try {
            wire::take_fd(2);
        } catch (const wire::DecodeError& e) {
            missing = e.what();
        }
        EXPECT_TRUE(contains(missing, "#2")) << missing;
        EXPECT_TRUE(contains(missing, "did not arrive")) << missing;
        {
            std::vector<int> other{200};
            wire::DecodeHandles nested(other);
            EXPECT_EQ(wire::take_fd(0), 200);
        }
        EXPECT_EQ(wire::take_fd(0), 100) << "the outer scope is back";
    }
    EXPECT_THROW(wire::take_fd(0), wire::DecodeError);
}

// ---- a call with a descriptor, end to end ----------------------------------------------
// A value that stands for a kernel object, the way multiprocessing's handles
// are written: its codec attaches the descriptor, the receiving codec takes it.

struct ReadEnd {
    int fd = -1;
};

template <>
struct concur::wire::codec<ReadEnd> {
    static void pack(concur::wire::Packer& p, const ReadEnd& v) { p.pack(concur::wire::attach_fd(v.fd)); }
    static ReadEnd unpack(const msgpack::object& o) {
        return ReadEnd{concur::wire::take_fd(o.as<std::uint32_t>())};
    }
};

std::string drain(ReadEnd r) {
    std::string out;
    char buf[64];
    ssize_t n;
    while ((n = ::read(r.fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    ::close(r.fd);
    return out;
}

TEST(Handles, ACallCarriesADescriptorThroughAChannel) {
    Sockets s;
    int p[2];
    ASSERT_EQ(::pipe(p), 0);

    msgpack::sbuffer call;
    std::vector<int> fds;
    {
        wire::EncodeHandles scope(fds);
        wire::encode_call(call, &drain, ReadEnd{p[0]});
    }
    ASSERT_EQ(fds, std::vector<int>{p[0]});
    mp::send_frame(s.fd[0], 0, 0, call.data(), call.size(), fds);
    ::close(p[0]);
    ASSERT_EQ(::write(p[1], "through the socket", 18), 18);
    ::close(p[1]);

    mp::Frame f;
    ASSERT_TRUE(mp::recv_frame(s.fd[1], f));
    msgpack::sbuffer reply;
    {
        wire::DecodeHandles scope(f.fds);
        wire::run_call(f.payload.data(), f.payload.size(), reply);
    }
    EXPECT_EQ(wire::decode_result<std::string>(reply.data(), reply.size()), "through the socket");

    // The same call encoded where descriptors cannot travel: an EncodeError
    // at the sender, not a message the receiver cannot use.
    msgpack::sbuffer nowhere;
    EXPECT_THROW(wire::encode_call(nowhere, &drain, ReadEnd{0}), wire::EncodeError);
    // And received without its descriptor: the call fails with a DecodeError.
    msgpack::sbuffer lost;
    wire::run_call(f.payload.data(), f.payload.size(), lost);
    EXPECT_THROW(wire::decode_result<std::string>(lost.data(), lost.size()), wire::DecodeError);
}
