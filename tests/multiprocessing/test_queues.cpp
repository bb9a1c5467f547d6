// multiprocessing::Queue, JoinableQueue, SimpleQueue. Cases marked "Ported"
// come from CPython's Lib/test/_test_multiprocessing.py, _TestQueue and
// _TestSimpleQueue. Cross-process cases fork() directly: the child does its
// part and _exit()s 0 on success; the parent waitpid()s and checks. Timeouts
// are generous and nothing asserts speed.
#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "concur/multiprocessing/process.hpp"
#include "concur/multiprocessing/queues.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
namespace mp = concur::multiprocessing;
using concur::queue::Empty;
using concur::queue::Full;

namespace {

using mptest::open_fds;
using mptest::fork_child;
using mptest::wait_child;

class QueueTest : public ::testing::Test {
protected:
    void SetUp() override { fds_before_ = open_fds(); }
    void TearDown() override { EXPECT_EQ(open_fds(), fds_before_) << "descriptors leaked"; }
    int fds_before_ = 0;
};

// What a child must do before _exit() (which skips destructors) when it
// put items: Python does the same at a normal exit.
template <class Q>
void flush(Q& q) {
    q.close();
    q.join_thread();
}

}  // namespace

// Ported: _TestQueue.test_put / test_get (same process), FIFO order.
TEST_F(QueueTest, FifoOrderAndSizes) {
    mp::Queue<int> q(6);
    EXPECT_TRUE(q.empty());
    EXPECT_FALSE(q.full());
    EXPECT_EQ(q.qsize(), 0u);
    EXPECT_EQ(q.maxsize(), 6);
    q.put(1);
    q.put(2, true);
    q.put(3, true, 10s);
    q.put(4, 10s);
    q.put(5, false);
    q.put_nowait(6);
    EXPECT_EQ(q.qsize(), 6u);
    EXPECT_TRUE(q.full());
    EXPECT_FALSE(q.empty());
    EXPECT_THROW(q.put(7, false), Full);
    EXPECT_THROW(q.put(7, false, 1s), Full);
    EXPECT_THROW(q.put_nowait(7), Full);
    auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(q.put(7, true, 100ms), Full);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 90ms);
    EXPECT_THROW(q.put(7, 50ms), Full);

    EXPECT_EQ(q.get(), 1);
    EXPECT_EQ(q.get(true), 2);
    EXPECT_EQ(q.get(true, 10s), 3);
    EXPECT_EQ(q.get(10s), 4);
    EXPECT_EQ(q.get(false), 5);
    EXPECT_EQ(q.get_nowait(), 6);
    EXPECT_TRUE(q.empty());
    EXPECT_THROW((void)q.get(false), Empty);
    EXPECT_THROW((void)q.get(false, 1s), Empty);
    EXPECT_THROW((void)q.get_nowait(), Empty);
    start = std::chrono::steady_clock::now();
    EXPECT_THROW((void)q.get(true, 100ms), Empty);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 90ms);
    EXPECT_THROW((void)q.get(50ms), Empty);
}

TEST_F(QueueTest, NegativeTimeoutIsValueError) {
    mp::Queue<int> q(1);
    EXPECT_THROW(q.put(1, true, -1s), concur::ValueError);
    q.put(1, false, -1s);  // ignored without blocking, as Python
    EXPECT_THROW((void)q.get(true, -1s), concur::ValueError);
    EXPECT_EQ(q.get(false, -1s), 1);
}

TEST_F(QueueTest, ManyTypes) {
    mp::Queue<std::variant<int, std::string, std::vector<double>>> q;
    q.put(1);
    q.put(std::string("two"));
    q.put(std::vector<double>{3.0});
    EXPECT_EQ(std::get<int>(q.get()), 1);
    EXPECT_EQ(std::get<std::string>(q.get()), "two");
    EXPECT_EQ(std::get<std::vector<double>>(q.get()), std::vector<double>{3.0});
}

// Ported: a put() of large items then get() in one thread must not
// deadlock (Python: the feeder thread); 8 MiB is over any socket buffer.
TEST_F(QueueTest, LargeItemsInOneThread) {
    mp::Queue<std::string> q;
    for (int i = 0; i < 8; ++i) q.put(std::string(1 << 20, char('a' + i)));
    EXPECT_EQ(q.qsize(), 8u);
    for (int i = 0; i < 8; ++i) ASSERT_EQ(q.get(60s), std::string(1 << 20, char('a' + i)));
    EXPECT_TRUE(q.empty());
}

// Ported: test_fork: items put by a child, and large ones, arrive intact.
TEST_F(QueueTest, LargeItemsFromAChild) {
    mp::Queue<std::string> q;
    pid_t pid = fork_child([q]() mutable {
        for (int i = 0; i < 20; ++i) q.put(std::string(1 << 20, char('a' + i)) + std::to_string(i));
        flush(q);
    });
    for (int i = 0; i < 20; ++i) ASSERT_EQ(q.get(120s), std::string(1 << 20, char('a' + i)) + std::to_string(i));
    EXPECT_EQ(wait_child(pid), 0);
    EXPECT_TRUE(q.empty());
}

// A bounded queue's put() waits for a getter in another process.
TEST_F(QueueTest, BoundedPutWaitsForAnotherProcess) {
    mp::Queue<int> q(2);
    q.put(1);
    q.put(2);
    mp::Queue<int> go;
    pid_t pid = fork_child([q, go]() mutable {
        CHILD_CHECK(go.get(120s) == 0);
        CHILD_CHECK(q.get(120s) == 1);
    });
    go.put(0);
    q.put(3, true, 120s);  // the child frees a slot
    EXPECT_EQ(wait_child(pid), 0);
    EXPECT_EQ(q.get(), 2);
    EXPECT_EQ(q.get(), 3);
}

// qsize() counts every process's items.
TEST_F(QueueTest, QsizeAcrossProcesses) {
    mp::Queue<int> q;
    pid_t pid = fork_child([q]() mutable {
        for (int i = 0; i < 5; ++i) q.put(i);
        flush(q);
    });
    EXPECT_EQ(wait_child(pid), 0);
    EXPECT_EQ(q.qsize(), 5u);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(q.get_nowait(), i);
}

// Ported: test_queue_feeder_donot_stop_onexc / many producers and consumers:
// nothing lost, nothing duplicated.
TEST_F(QueueTest, ProducersAndConsumersLoseNothing) {
    constexpr int producers = 3, consumers = 2, per_producer = 10000;
    mp::Queue<int> q(500);
    mp::Queue<std::vector<int>> results;
    std::vector<pid_t> pids;
    for (int c = 0; c < consumers; ++c)
        pids.push_back(fork_child([q, results]() mutable {
            std::vector<int> got;
            for (int item; (item = q.get(300s)) != -1;) got.push_back(item);
            results.put(got);
            flush(results);
        }));
    for (int p = 0; p < producers; ++p)
        pids.push_back(fork_child([q, p]() mutable {
            for (int i = 0; i < per_producer; ++i) q.put(p * 1000000 + i, true, 300s);
            flush(q);
        }));
    for (std::size_t i = consumers; i < pids.size(); ++i) EXPECT_EQ(wait_child(pids[i]), 0);
    for (int c = 0; c < consumers; ++c) q.put(-1);
    std::vector<int> all;
    for (int c = 0; c < consumers; ++c) {
        auto part = results.get(300s);
        all.insert(all.end(), part.begin(), part.end());
    }
    for (int c = 0; c < consumers; ++c) EXPECT_EQ(wait_child(pids[c]), 0);
    std::vector<int> expected;
    for (int p = 0; p < producers; ++p)
        for (int i = 0; i < per_producer; ++i) expected.push_back(p * 1000000 + i);
    std::sort(all.begin(), all.end());
    EXPECT_EQ(all.size(), expected.size());
    EXPECT_TRUE(all == expected);
    EXPECT_TRUE(q.empty());
}

// Many threads of one process on one queue (a TSan target).
TEST_F(QueueTest, ThreadsPutAndGet) {
    constexpr int threads = 4, per_thread = 2000;
    mp::Queue<int> q(64);
    std::vector<std::thread> workers;
    std::vector<std::vector<int>> got(threads);
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([q, t]() mutable {
            for (int i = 0; i < per_thread; ++i) q.put(t * per_thread + i, 300s);
        });
        workers.emplace_back([q, &mine = got[t]]() mutable {
            for (int i = 0; i < per_thread; ++i) mine.push_back(q.get(300s));
        });
    }
    for (auto& w : workers) w.join();
    std::vector<int> all;
    for (auto& g : got) all.insert(all.end(), g.begin(), g.end());
    std::sort(all.begin(), all.end());
    for (int i = 0; i < threads * per_thread; ++i) ASSERT_EQ(all[i], i);
}

// Ported: _TestQueue.test_task_done, with consumers in other processes.
TEST_F(QueueTest, JoinableTaskDoneAndJoin) {
    mp::JoinableQueue<int> q;
    std::vector<pid_t> pids;
    for (int w = 0; w < 2; ++w)
        pids.push_back(fork_child([q]() mutable {
            for (int item; (item = q.get(300s)) != -1;) q.task_done();
            q.task_done();
        }));
    for (int i = 0; i < 100; ++i) q.put(i);
    q.join();  // every item was taken and marked done
    EXPECT_TRUE(q.empty());
    for (int w = 0; w < 2; ++w) q.put(-1);
    q.join();
    for (pid_t pid : pids) EXPECT_EQ(wait_child(pid), 0);
    EXPECT_THROW(q.task_done(), concur::ValueError);
}

TEST_F(QueueTest, TaskDoneTooOftenIsValueError) {
    mp::JoinableQueue<int> q;
    EXPECT_THROW(q.task_done(), concur::ValueError);
    q.put(1);
    (void)q.get();
    q.task_done();
    q.join();
    EXPECT_THROW(q.task_done(), concur::ValueError);
}

// Ported: test_closed_queue_put_get_exceptions.
TEST_F(QueueTest, CloseAndJoinThread) {
    mp::Queue<int> q;
    EXPECT_THROW(q.join_thread(), concur::ValueError);  // before close(), as Python
    q.put(1);
    q.close();
    q.close();  // idempotent
    EXPECT_THROW(q.put(2), concur::ValueError);
    EXPECT_THROW((void)q.get(), concur::ValueError);
    q.join_thread();
    q.join_thread();
}

// Ported: test_cancel_join_thread-like: a child whose queue nobody reads can
// still exit once it cancels the flush (without cancel it would wait).
TEST_F(QueueTest, CancelJoinThreadLetsAChildExit) {
    mp::Queue<std::string> q;
    pid_t pid = fork_child([q]() mutable {
        for (int i = 0; i < 8; ++i) q.put(std::string(1 << 20, 'z'));  // more than the socket holds
        q.cancel_join_thread();
        q.close();
        q.join_thread();  // returns: the feeder drops what it could not write
    });
    EXPECT_EQ(wait_child(pid), 0);
    // The queue is not read here: the child stopped inside an item, so a
    // reader would wait for the rest of it forever (Python's warning too).
}

// Ported: _TestSimpleQueue.test_empty and put/get order, across a fork.
TEST_F(QueueTest, SimpleQueue) {
    mp::SimpleQueue<std::string> q;
    EXPECT_TRUE(q.empty());
    q.put("a");
    EXPECT_FALSE(q.empty());
    EXPECT_EQ(q.get(), "a");
    EXPECT_TRUE(q.empty());
    pid_t pid = fork_child([q]() mutable {
        CHILD_CHECK(q.get() == "ping");
        q.put("pong");
        q.close();
    });
    q.put("ping");
    EXPECT_EQ(wait_child(pid), 0);
    EXPECT_EQ(q.get(), "pong");
    q.close();
    EXPECT_THROW(q.put("x"), concur::ValueError);
}

// A queue sent through a Connection reaches the same queue (its codec), and
// a queue's items may themselves carry descriptors.
TEST_F(QueueTest, QueueThroughAConnectionAndConnectionsThroughAQueue) {
    auto [a, b] = mp::Pipe();
    mp::Queue<mp::Connection> q;
    a.send(q);
    auto q2 = b.recv<mp::Queue<mp::Connection>>();
    auto [c, d] = mp::Pipe();
    q2.put(d);
    mp::Connection d2 = q.get(10s);
    c.send(9);
    EXPECT_EQ(d2.recv<int>(), 9);

    mp::JoinableQueue<int> jq;
    a.send(jq);
    auto jq2 = b.recv<mp::Queue<int>>();  // a JoinableQueue is a Queue
    jq2.put(1);
    EXPECT_EQ(jq.get(), 1);
    jq.task_done();
    jq.join();
}

TEST_F(QueueTest, MismatchedQueueIsDecodeError) {
    auto [a, b] = mp::Pipe();
    mp::Queue<int> q;
    a.send(q);
    EXPECT_THROW((void)b.recv<mp::Queue<std::string>>(), concur::wire::DecodeError);
    a.send(q);
    EXPECT_THROW((void)b.recv<mp::JoinableQueue<int>>(), concur::wire::DecodeError);
    a.send(q);
    EXPECT_THROW((void)b.recv<mp::SimpleQueue<int>>(), concur::wire::DecodeError);
    a.send(q);
    EXPECT_NO_THROW((void)b.recv<mp::Queue<int>>());
}

// ---- the key cases through multiprocessing::Process, with every start
// method: the queues cross as Process arguments (their codecs).

namespace {

void produce(mp::Queue<int> q, int base, int n) {
    for (int i = 0; i < n; ++i) q.put(base + i, true, std::chrono::seconds(300));
}  // the argument's destructor flushes this process's feeder

void consume_until_sentinel(mp::JoinableQueue<std::string> q, mp::Queue<std::size_t> sizes) {
    for (;;) {
        std::string item = q.get(std::chrono::seconds(300));
        q.task_done();
        if (item.empty()) return;
        sizes.put(item.size());
    }
}

}  // namespace

class QueueProcessTest : public QueueTest, public ::testing::WithParamInterface<const char*> {
protected:
    // A first "forkserver" Process starts the server, which keeps a
    // descriptor here: start one before counting descriptors.
    void SetUp() override {
        {
            mp::Process warm_up(mp::get_context(GetParam()), +[] {});
            warm_up.start();
            warm_up.join();
        }
        QueueTest::SetUp();
    }
};

TEST_P(QueueProcessTest, ProducersAndConsumerLoseNothing) {
    auto ctx = mp::get_context(GetParam());
    mp::Queue<int> q(100);
    std::vector<std::unique_ptr<mp::Process>> producers;
    for (int p = 0; p < 3; ++p) {
        producers.push_back(std::make_unique<mp::Process>(ctx, produce, q, p * 100000, 2000));
        producers.back()->start();
    }
    std::vector<int> all;
    for (int i = 0; i < 3 * 2000; ++i) all.push_back(q.get(300s));
    for (auto& p : producers) {
        EXPECT_TRUE(p->join());
        EXPECT_EQ(p->exitcode(), 0);
    }
    std::sort(all.begin(), all.end());
    for (int p = 0; p < 3; ++p)
        for (int i = 0; i < 2000; ++i) ASSERT_EQ(all[p * 2000 + i], p * 100000 + i);
    EXPECT_TRUE(q.empty());
}

TEST_P(QueueProcessTest, JoinableWithLargeItems) {
    auto ctx = mp::get_context(GetParam());
    mp::JoinableQueue<std::string> work;
    mp::Queue<std::size_t> sizes;
    mp::Process consumer(ctx, consume_until_sentinel, work, sizes);
    consumer.start();
    for (int i = 1; i <= 5; ++i) work.put(std::string(std::size_t(i) << 20, 'w'));
    work.put(std::string());
    work.join();
    for (int i = 1; i <= 5; ++i) EXPECT_EQ(sizes.get(300s), std::size_t(i) << 20);
    EXPECT_TRUE(consumer.join());
    EXPECT_EQ(consumer.exitcode(), 0);
}

INSTANTIATE_TEST_SUITE_P(StartMethods, QueueProcessTest, ::testing::Values("fork", "spawn", "forkserver"));
