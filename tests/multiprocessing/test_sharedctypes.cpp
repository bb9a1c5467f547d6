// multiprocessing::Value and Array: Python's sharedctypes in one process,
// across fork()ed processes, and through their codecs. Ideas from CPython's
// Lib/test/_test_multiprocessing.py (_TestValue, _TestArray).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "concur/multiprocessing/process.hpp"
#include "concur/multiprocessing/sharedctypes.hpp"
#include "concur/wire/handles.hpp"
#include "support.hpp"

namespace mp = concur::multiprocessing;
using namespace std::chrono_literals;

namespace {

// Runs `body` in a fork()ed child that exits 0 if its EXPECTs passed.
using mptest::fork_child;

int exit_status(pid_t pid) { return mptest::wait_child(pid); }

// Encodes as a message to another process would; decodes from dup()s.
template <class T, class U = T>
U round_trip(const T& v) {
    msgpack::sbuffer buf;
    std::vector<int> fds;
    {
        concur::wire::EncodeHandles scope(fds);
        concur::wire::Packer(buf).pack(v);
    }
    std::vector<int> received;
    for (int fd : fds) received.push_back(dup(fd));
    struct Closer {
        std::vector<int>& fds;
        ~Closer() {
            for (int fd : fds)
                if (fd >= 0) close(fd);
        }
    } closer{received};
    concur::wire::DecodeHandles scope(received);
    auto oh = msgpack::unpack(buf.data(), buf.size());
    return oh.get().as<U>();
}

struct Point {
    double x;
    int y;
};

}  // namespace

TEST(MpValue, HoldsAValueUnderItsLock) {
    mp::Value<int> v(7);
    EXPECT_EQ(v.value(), 7);
    v.value(8);
    EXPECT_EQ(v.get_obj(), 8);
    {
        std::lock_guard g(v.get_lock());
        v.value(v.value() + 1);  // the lock is an RLock: value() may re-take it
        EXPECT_TRUE(v.get_lock().locked());
    }
    EXPECT_FALSE(v.get_lock().locked());
    EXPECT_EQ(v.value(), 9);
    mp::Value<int> copy = v;  // a handle to the same memory
    copy.value(10);
    EXPECT_EQ(v.value(), 10);

    mp::Value<double> d;
    EXPECT_EQ(d.value(), 0.0);
    mp::Value<Point> p(Point{1.5, 2});
    EXPECT_EQ(p.value().x, 1.5);
    p.get_obj().y = 3;
    EXPECT_EQ(p.value().y, 3);
}

TEST(MpValue, WithoutLockHasNoLock) {
    mp::Value<long> v(1, /*lock=*/false);
    EXPECT_THROW(v.get_lock(), concur::RuntimeError);
    v.value(2);
    EXPECT_EQ(v.value(), 2);
}

TEST(MpValue, CounterUnderGetLockAcrossProcesses) {
    mp::Value<int> counter(0);
    constexpr int kTimes = 10'000;
    auto work = [&] {
        for (int i = 0; i < kTimes; ++i) {
            std::lock_guard g(counter.get_lock());
            counter.value(counter.value() + 1);
        }
    };
    pid_t a = fork_child(work);
    pid_t b = fork_child(work);
    work();
    EXPECT_EQ(exit_status(a), 0);
    EXPECT_EQ(exit_status(b), 0);
    EXPECT_EQ(counter.value(), 3 * kTimes);
}

TEST(MpArray, ConstructionAndAccess) {
    mp::Array<int> zeros(5);
    EXPECT_EQ(zeros.size(), 5u);
    for (int x : zeros) EXPECT_EQ(x, 0);
    mp::Array<int> listed{1, 2, 3};
    EXPECT_EQ(listed.size(), 3u);
    EXPECT_EQ(listed[2], 3);
    std::vector<double> init{0.5, 1.5};
    mp::Array<double> from_vector(init);
    EXPECT_EQ(from_vector.get(1), 1.5);
    from_vector.set(0, 2.5);
    EXPECT_EQ(from_vector.span()[0], 2.5);
    EXPECT_THROW(from_vector.get(2), std::out_of_range);
    EXPECT_THROW(from_vector.set(2, 0.0), std::out_of_range);
    mp::Array<char> empty(0);
    EXPECT_EQ(empty.size(), 0u);
    mp::Array<int> bare(3, /*lock=*/false);
    EXPECT_THROW(bare.get_lock(), concur::RuntimeError);
    bare[1] = 4;
    EXPECT_EQ(bare.get(1), 4);
    std::lock_guard g(listed.get_lock());
    listed[0] += 10;
    EXPECT_EQ(listed.get(0), 11);
}

TEST(MpArray, VisibleAcrossProcesses) {
    mp::Array<std::array<char, 8>> names(4);
    mp::Array<long> squares(100);
    pid_t child = fork_child([&] {
        for (std::size_t i = 0; i < squares.size(); ++i) squares.set(i, static_cast<long>(i * i));
        std::snprintf(names[2].data(), 8, "child");
    });
    ASSERT_EQ(exit_status(child), 0);
    for (std::size_t i = 0; i < squares.size(); ++i) EXPECT_EQ(squares.get(i), static_cast<long>(i * i));
    EXPECT_STREQ(names.get(2).data(), "child");
}

TEST(MpSharedctypesCodec, RoundTripSharesMemoryAndLock) {
    mp::Value<double> v(1.25);
    auto v2 = round_trip(v);
    EXPECT_EQ(v2.value(), 1.25);
    v2.value(2.5);
    EXPECT_EQ(v.value(), 2.5);
    std::lock_guard g(v.get_lock());
    EXPECT_TRUE(v2.get_lock().locked());  // one lock, in the shared block
    EXPECT_TRUE(v2.get_lock().acquire(false));  // same owner thread: recursion
    v2.get_lock().release();

    mp::Array<int> a{1, 2, 3, 4};
    auto a2 = round_trip(a);
    ASSERT_EQ(a2.size(), 4u);
    a2[3] = 40;
    EXPECT_EQ(a[3], 40);

    mp::Value<int> bare(5, false);
    auto bare2 = round_trip(bare);
    EXPECT_THROW(bare2.get_lock(), concur::RuntimeError);
    EXPECT_EQ(bare2.value(), 5);
}

TEST(MpSharedctypesCodec, AnotherElementTypeIsADecodeError) {
    mp::Value<int> v(1);
    using Wrong = mp::Value<double>;
    EXPECT_THROW((round_trip<mp::Value<int>, Wrong>(v)), concur::wire::DecodeError);
    mp::Array<int> a(3);
    EXPECT_THROW((round_trip<mp::Array<int>, mp::Value<int>>(a)), concur::wire::DecodeError);
    EXPECT_THROW((round_trip<mp::Array<int>, mp::Array<short>>(a)), concur::wire::DecodeError);
}

// ---- through multiprocessing::Process, every start method ----------------

namespace {

void add_under_get_lock(mp::Value<int> counter, int times) {
    for (int i = 0; i < times; ++i) {
        std::lock_guard g(counter.get_lock());
        counter.value(counter.value() + 1);
    }
}

void fill_squares(mp::Array<long> squares) {
    for (std::size_t i = 0; i < squares.size(); ++i) squares.set(i, static_cast<long>(i * i));
}

class MpCTypesThroughProcess : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(MpCTypesThroughProcess, ValueAndArray) {
    auto ctx = mp::get_context(GetParam());
    mp::Value<int> counter(0);
    constexpr int kTimes = 10'000;
    mp::Process a(ctx, add_under_get_lock, counter, kTimes);
    mp::Process b(ctx, add_under_get_lock, counter, kTimes);
    mp::Array<long> squares(50);
    mp::Process c(ctx, fill_squares, squares);
    a.start();
    b.start();
    c.start();
    add_under_get_lock(counter, kTimes);
    for (auto* p : {&a, &b, &c}) {
        EXPECT_TRUE(p->join(60s));
        EXPECT_EQ(p->exitcode(), 0);
    }
    EXPECT_EQ(counter.value(), 3 * kTimes);
    for (std::size_t i = 0; i < squares.size(); ++i) EXPECT_EQ(squares.get(i), static_cast<long>(i * i));
}

INSTANTIATE_TEST_SUITE_P(StartMethods, MpCTypesThroughProcess, ::testing::Values("fork", "spawn", "forkserver"),
                         [](const auto& info) { return info.param; });
