// Future / Promise semantics, after CPython's
// Lib/test/test_concurrent_futures/test_future.py (FutureTests).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "concur/futures.hpp"

using namespace concur;
using namespace concur::futures;
using namespace std::chrono_literals;

TEST(Future, ResultOfSetValue) {
    Promise<int> p;
    auto f = p.get_future();
    EXPECT_FALSE(f.done());
    p.set_result(42);
    EXPECT_TRUE(f.done());
    EXPECT_EQ(f.result(), 42);
    EXPECT_EQ(f.result(), 42);  // repeatable, as Python's
    EXPECT_EQ(f.exception(), nullptr);
}

TEST(Future, VoidFuture) {
    Promise<void> p;
    auto f = p.get_future();
    p.set_result();
    f.result();
    EXPECT_TRUE(f.done());
}

TEST(Future, MoveOnlyValueMovesOut) {
    Promise<std::unique_ptr<int>> p;
    auto f = p.get_future();
    p.set_result(std::make_unique<int>(7));
    std::unique_ptr<int> v = std::move(f).result();
    ASSERT_TRUE(v);
    EXPECT_EQ(*v, 7);
}

// CPython FutureTests.test_result_with_success / test_exception_with_success
TEST(Future, ExceptionIsRethrownAsItself) {
    Promise<int> p;
    auto f = p.get_future();
    p.set_exception(std::make_exception_ptr(std::out_of_range("bad index")));
    EXPECT_THROW(f.result(), std::out_of_range);
    auto e = f.exception();
    ASSERT_NE(e, nullptr);
    EXPECT_THROW(std::rethrow_exception(e), std::out_of_range);
}

// CPython FutureTests.test_result_with_timeout
TEST(Future, ResultTimesOut) {
    Promise<int> p;
    auto f = p.get_future();
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_THROW(f.result(50ms), TimeoutError);
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
    EXPECT_THROW(f.exception(1ms), TimeoutError);
    EXPECT_FALSE(f.wait(1ms));
}

TEST(Future, ZeroTimeoutOnDoneFutureSucceeds) {
    auto f = make_ready_future<int>(3);
    EXPECT_EQ(f.result(0s), 3);
}

TEST(Future, NegativeTimeoutIsValueError) {
    Promise<int> p;
    auto f = p.get_future();
    EXPECT_THROW(f.result(-1s), ValueError);
}

TEST(Future, ResultWokenByAnotherThread) {
    Promise<int> p;
    auto f = p.get_future();
    std::thread t([&] {
        std::this_thread::sleep_for(20ms);
        p.set_result(5);
    });
    EXPECT_EQ(f.result(), 5);
    t.join();
}

// CPython FutureTests.test_cancel
TEST(Future, CancelPending) {
    Promise<int> p;
    auto f = p.get_future();
    EXPECT_TRUE(f.cancel());
    EXPECT_TRUE(f.cancelled());
    EXPECT_TRUE(f.done());
    EXPECT_TRUE(f.cancel());  // cancelling again still reports cancelled
    EXPECT_THROW(f.result(), CancelledError);
    EXPECT_THROW(f.exception(), CancelledError);
    EXPECT_FALSE(p.set_running_or_notify_cancel());
    EXPECT_THROW(p.set_result(1), InvalidStateError);
}

TEST(Future, CancelRunningOrFinishedFails) {
    Promise<int> p;
    auto f = p.get_future();
    EXPECT_TRUE(p.set_running_or_notify_cancel());
    EXPECT_TRUE(f.running());
    EXPECT_FALSE(f.cancel());
    EXPECT_FALSE(f.cancelled());
    p.set_result(1);
    EXPECT_FALSE(f.cancel());
    EXPECT_EQ(f.result(), 1);
}

// CPython FutureTests.test_set_running_or_notify_cancel
TEST(Future, SetRunningTwiceIsInvalidState) {
    Promise<int> p;
    EXPECT_TRUE(p.set_running_or_notify_cancel());
    EXPECT_THROW(p.set_running_or_notify_cancel(), InvalidStateError);
}

// CPython FutureTests.test_multiple_set_result / test_multiple_set_exception
TEST(Future, SettlingTwiceIsInvalidState) {
    Promise<int> p;
    p.set_result(1);
    EXPECT_THROW(p.set_result(2), InvalidStateError);
    EXPECT_THROW(p.set_exception(std::make_exception_ptr(std::runtime_error("x"))),
                 InvalidStateError);
    EXPECT_EQ(p.get_future().result(), 1);
}

TEST(Future, DestroyedPromiseBreaksTheFuture) {
    Future<int> f;
    {
        Promise<int> p;
        f = p.get_future();
    }
    EXPECT_TRUE(f.done());
    EXPECT_THROW(f.result(), BrokenPromise);
}

// CPython FutureTests.test_done_callback_with_result
TEST(Future, CallbackRunsOnceWithTheFuture) {
    Promise<int> p;
    auto f = p.get_future();
    int calls = 0, seen = 0;
    f.add_done_callback([&](Future<int>& done) {
        ++calls;
        seen = done.result();
    });
    EXPECT_EQ(calls, 0);
    p.set_result(9);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(seen, 9);
}

// CPython FutureTests.test_done_callback_already_successful
TEST(Future, CallbackOnDoneFutureRunsAtOnce) {
    auto f = make_ready_future<int>(1);
    int calls = 0;
    f.add_done_callback([&] { ++calls; });
    EXPECT_EQ(calls, 1);
}

// CPython FutureTests.test_done_callback_with_cancel
TEST(Future, CallbackRunsOnCancel) {
    Promise<int> p;
    auto f = p.get_future();
    bool was_cancelled = false;
    f.add_done_callback([&](Future<int>& done) { was_cancelled = done.cancelled(); });
    EXPECT_TRUE(f.cancel());
    EXPECT_TRUE(was_cancelled);
}

TEST(Future, CallbacksRunInRegistrationOrder) {
    Promise<int> p;
    auto f = p.get_future();
    std::vector<int> order;
    for (int i = 0; i < 5; ++i) f.add_done_callback([&order, i] { order.push_back(i); });
    p.set_result(0);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

// CPython FutureTests.test_done_callback_raises: the error is reported, the
// other callbacks still run, and the future is unaffected.
TEST(Future, ThrowingCallbackIsReportedAndIgnored) {
    Promise<int> p;
    auto f = p.get_future();
    bool second = false;
    f.add_done_callback([] { throw std::runtime_error("callback failure"); });
    f.add_done_callback([&] { second = true; });
    testing::internal::CaptureStderr();
    p.set_result(3);
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("callback failure"), std::string::npos) << err;
    EXPECT_TRUE(second);
    EXPECT_EQ(f.result(), 3);
}

TEST(Future, CallbackMayDropTheLastHandle) {
    auto holder = std::make_shared<std::optional<Future<int>>>();
    Promise<int> p;
    *holder = p.get_future();
    (*holder)->add_done_callback([holder] { holder->reset(); });
    p.set_result(1);  // must not touch freed memory (ASan checks)
    EXPECT_FALSE(holder->has_value());
}

TEST(Future, CopiesShareTheState) {
    Promise<int> p;
    auto a = p.get_future();
    Future<int> b = a;
    EXPECT_TRUE(a == b);
    p.set_result(4);
    EXPECT_EQ(b.result(), 4);
    EXPECT_EQ(a.result(), 4);
}
