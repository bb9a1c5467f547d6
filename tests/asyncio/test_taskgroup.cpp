// asyncio::TaskGroup / task_group(), after CPython's
// Lib/test/test_asyncio/test_taskgroups.py.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

namespace asyncio = concur::asyncio;
using asyncio::CancelledError;
using asyncio::Task;
using asyncio::TaskGroup;
using asyncio::testing::MyExc;
using asyncio::testing::what;
using concur::ExceptionGroup;
using namespace std::chrono_literals;

namespace {

Task<int> after(int yields, int v) {
    co_await asyncio::testing::yield_n(yields);
    co_return v;
}

// Sleeps "forever"; counts the cancellations it sees.
Task<int> sleep_long(int* cancels = nullptr) {
    try {
        co_await asyncio::sleep(10s);
    } catch (const CancelledError&) {
        if (cancels) ++*cancels;
        throw;
    }
    co_return 0;
}

// Fails once woken by `gate` (a Future already set fails on the first step).
Task<int> fail_on(asyncio::Future<> gate, std::string msg) {
    co_await gate;
    throw MyExc(msg);
}

// What ExceptionGroup holds, as what() strings.
std::vector<std::string> messages(const ExceptionGroup& eg) {
    std::vector<std::string> out;
    for (const auto& e : eg.exceptions()) out.push_back(what(e));
    return out;
}

}  // namespace

// test_taskgroups.py: test_taskgroup_01 -- the group waits for every child.
TEST(TaskGroup, WaitsForAllChildren) {
    auto main = []() -> Task<> {
        Task<int> t1, t2;
        co_await asyncio::task_group([&](TaskGroup& g) -> Task<> {
            t1 = g.create_task(after(3, 42));
            t2 = g.create_task(after(1, 11));
            co_return;
        });
        EXPECT_TRUE(t1.done());
        EXPECT_TRUE(t2.done());
        EXPECT_EQ(t1.result(), 42);
        EXPECT_EQ(t2.result(), 11);
    };
    asyncio::testing::run(main());
}

// test_taskgroups.py: test_taskgroup_02 -- children may be added while the
// body awaits; the body's value is the group's.
TEST(TaskGroup, ChildrenAddedWhileTheBodyAwaits) {
    auto main = []() -> Task<> {
        Task<int> t1, t2;
        int v = co_await asyncio::task_group([&](TaskGroup& g) -> Task<int> {
            t1 = g.create_task(after(1, 42));
            co_await asyncio::sleep(0s);
            t2 = g.create_task(after(1, 11));
            co_return 5;
        });
        EXPECT_EQ(v, 5);
        EXPECT_EQ(t1.result(), 42);
        EXPECT_EQ(t2.result(), 11);
    };
    asyncio::testing::run(main());
}

// test_taskgroups.py: test_taskgroup_03 -- cancelling one child explicitly is
// not an error for the group.
TEST(TaskGroup, ExplicitlyCancelledChildIsNotAnError) {
    auto main = []() -> Task<> {
        Task<int> t1, t2;
        co_await asyncio::task_group([&](TaskGroup& g) -> Task<> {
            t1 = g.create_task(sleep_long());
            co_await asyncio::sleep(0s);
            t1.cancel();
            t2 = g.create_task(after(1, 11));
        });
        EXPECT_TRUE(t1.cancelled());
        EXPECT_EQ(t2.result(), 11);
    };
    asyncio::testing::run(main());
}

// test_taskgroups.py: test_cancel_children_on_child_error / test_taskgroup_04 --
// a failing child cancels its siblings and the body; the group raises
// ExceptionGroup; code after the group does not run.
TEST(TaskGroup, ChildErrorCancelsSiblingsAndTheBody) {
    int sibling_cancels = 0;
    bool body_cancelled = false;
    bool after_group = false;
    auto runner = [&]() -> Task<> {
        asyncio::Future<> gate;
        co_await asyncio::task_group([&](TaskGroup& g) -> Task<> {
            (void)g.create_task(fail_on(gate, "zero"));
            (void)g.create_task(sleep_long(&sibling_cancels));
            (void)g.create_task(sleep_long(&sibling_cancels));
            co_await asyncio::sleep(0s);  // the children are running now
            gate.set_result();
            try {
                co_await asyncio::sleep(10s);
            } catch (const CancelledError&) {
                body_cancelled = true;
                throw;
            }
        });
        after_group = true;
    };
    auto main = [&]() -> Task<> {
        auto r = asyncio::create_task(runner());
        try {
            co_await r;
            ADD_FAILURE() << "no ExceptionGroup";
        } catch (const ExceptionGroup& eg) {
            EXPECT_EQ(messages(eg), std::vector<std::string>{"zero"});
        }
        EXPECT_FALSE(r.cancelled());
    };
    asyncio::testing::run(main());
    EXPECT_EQ(sibling_cancels, 2);
    EXPECT_TRUE(body_cancelled);
    EXPECT_FALSE(after_group);
}

// test_taskgroups.py: test_taskgroup_19 -- every error is collected: the
// child's and the one the body raised while being cancelled.
TEST(TaskGroup, ExceptionGroupHoldsEveryError) {
    auto main = []() -> Task<> {
        asyncio::Future<> gate;
        auto nested = []() -> Task<> {
            try {
                co_await asyncio::sleep(10s);
            } catch (const CancelledError&) {
                throw MyExc("body");
            }
        };
        try {
            co_await asyncio::task_group([&](TaskGroup& g) -> Task<> {
                (void)g.create_task(fail_on(gate, "child"));
                // A sibling that fails while being cancelled counts too.
                (void)g.create_task([]() -> Task<int> {
                    try {
                        co_await asyncio::sleep(10s);
                    } catch (const CancelledError&) {
                        throw MyExc("sibling");
                    }
                    co_return 0;
                }());
                co_await asyncio::sleep(0s);  // the children are running now
                gate.set_result();
                co_await nested();
            });
            ADD_FAILURE() << "no ExceptionGroup";
        } catch (const ExceptionGroup& eg) {
            // Children in the order they failed, then the body's.
            EXPECT_EQ(messages(eg), (std::vector<std::string>{"child", "sibling", "body"}));
        }
    };
    asyncio::testing::run(main());
}

// test_taskgroups.py: test_taskgroup_09 / test_taskgroup_10 -- an error in the
// body cancels the children and is raised in an ExceptionGroup.
TEST(TaskGroup, BodyErrorCancelsTheChildren) {
    auto main = []() -> Task<> {
        Task<int> t1, t2;
        try {
            co_await asyncio::task_group([&](TaskGroup& g) -> Task<> {
                t1 = g.create_task(sleep_long());
                t2 = g.create_task(sleep_long());
                co_await asyncio::sleep(0s);
                throw MyExc("body");
            });
            ADD_FAILURE() << "no ExceptionGroup";
        } catch (const ExceptionGroup& eg) {
            EXPECT_EQ(messages(eg), std::vector<std::string>{"body"});
        }
        EXPECT_TRUE(t1.cancelled());
        EXPECT_TRUE(t2.cancelled());
        // test_taskgroup_10: raising before any await, too.
        Task<int> t3;
        EXPECT_THROW(co_await asyncio::task_group([&](TaskGroup& g) -> Task<> {
            t3 = g.create_task(sleep_long());
            throw MyExc("at once");
            co_return;
        }),
                     ExceptionGroup);
        EXPECT_TRUE(t3.cancelled());
    };
    asyncio::testing::run(main());
}

// test_taskgroups.py: test_cancellation / test_taskgroup_07 -- cancelling the
// task running the group cancels body and children; CancelledError (with
// the message) comes out.
TEST(TaskGroup, ExternalCancellationPropagates) {
    int child_cancels = 0;
    bool body_cancelled = false;
    auto runner = [&]() -> Task<> {
        co_await asyncio::task_group([&](TaskGroup& g) -> Task<> {
            for (int i = 0; i < 5; ++i) (void)g.create_task(sleep_long(&child_cancels));
            try {
                co_await asyncio::sleep(10s);
            } catch (const CancelledError&) {
                body_cancelled = true;
                throw;
            }
        });
    };
    auto main = [&]() -> Task<> {
        auto r = asyncio::create_task(runner());
        co_await asyncio::testing::yield_n(2);
        EXPECT_FALSE(r.done());
        r.cancel("test");
        try {
            co_await r;
            ADD_FAILURE() << "no CancelledError";
        } catch (const CancelledError& e) {
            EXPECT_STREQ(e.what(), "test");
        }
        EXPECT_TRUE(r.cancelled());
    };
    asyncio::testing::run(main());
    EXPECT_EQ(child_cancels, 5);
    EXPECT_TRUE(body_cancelled);
}

// test_taskgroups.py: test_taskgroup_22 -- cancelled while the group waits for
// its children at the end.
TEST(TaskGroup, ExternalCancellationWhileWaitingForChildren) {
    int child_cancels = 0;
    auto runner = [&]() -> Task<> {
        co_await asyncio::task_group([&](TaskGroup& g) -> Task<> {
            (void)g.create_task(sleep_long(&child_cancels));
            (void)g.create_task(sleep_long(&child_cancels));
            co_return;
        });
    };
    auto main = [&]() -> Task<> {
        auto r = asyncio::create_task(runner());
        co_await asyncio::testing::yield_n(2);
        r.cancel();
        EXPECT_THROW(co_await r, CancelledError);
        EXPECT_TRUE(r.cancelled());
    };
    asyncio::testing::run(main());
    EXPECT_EQ(child_cancels, 2);
}

// test_taskgroups.py: test_taskgroup_18 -- a body that turns the cancellation
// into another error: ExceptionGroup with that error.
TEST(TaskGroup, BodyRaisingInsteadOfCancelledError) {
    auto runner = []() -> Task<> {
        co_await asyncio::task_group([](TaskGroup&) -> Task<> {
            try {
                co_await asyncio::sleep(10s);
            } catch (const CancelledError&) {
                throw MyExc("instead");
            }
        });
    };
    auto main = [&]() -> Task<> {
        auto r = asyncio::create_task(runner());
        co_await asyncio::testing::yield_n(2);
        r.cancel();
        try {
            co_await r;
            ADD_FAILURE() << "no ExceptionGroup";
        } catch (const ExceptionGroup& eg) {
            EXPECT_EQ(messages(eg), std::vector<std::string>{"instead"});
        }
    };
    asyncio::testing::run(main());
}

// Python 3.13's TaskGroup._aexit: when the errors win over a cancellation
// from outside, that cancellation stays pending: the parent's next await
// raises CancelledError.
TEST(TaskGroup, ExternalCancellationIsNotLostBehindErrors) {
    bool cancelled_after = false;
    auto runner = [&]() -> Task<> {
        bool got_group = false;
        try {
            co_await asyncio::task_group([](TaskGroup& g) -> Task<> {
                (void)g.create_task([]() -> Task<int> {
                    try {
                        co_await asyncio::sleep(10s);
                    } catch (const CancelledError&) {
                        throw MyExc("while cancelled");
                    }
                    co_return 0;
                }());
                co_await asyncio::sleep(10s);
            });
        } catch (const ExceptionGroup&) {
            got_group = true;
        }
        EXPECT_TRUE(got_group);
        EXPECT_EQ(asyncio::current_task().cancelling(), 1u);
        try {
            co_await asyncio::sleep(0s);
        } catch (const CancelledError&) {
            cancelled_after = true;
            throw;
        }
    };
    auto main = [&]() -> Task<> {
        auto r = asyncio::create_task(runner());
        co_await asyncio::testing::yield_n(2);
        r.cancel();
        EXPECT_THROW(co_await r, CancelledError);
        EXPECT_TRUE(r.cancelled());
    };
    asyncio::testing::run(main());
    EXPECT_TRUE(cancelled_after);
}

// test_taskgroups.py: test_taskgroup_04's comment -- after an ExceptionGroup
// caught by the parent, the parent is not left cancelled.
TEST(TaskGroup, ParentGoesOnAfterCatchingTheGroupError) {
    auto main = []() -> Task<> {
        asyncio::Future<> gate;
        gate.set_result();
        bool caught = false;
        try {
            co_await asyncio::task_group([&](TaskGroup& g) -> Task<> {
                (void)g.create_task(fail_on(gate, "x"));
                co_await asyncio::sleep(10s);
            });
        } catch (const ExceptionGroup&) {
            caught = true;
        }
        EXPECT_TRUE(caught);
        EXPECT_EQ(asyncio::current_task().cancelling(), 0u);
        co_await asyncio::sleep(0s);  // no CancelledError
        EXPECT_EQ(co_await after(1, 3), 3);
    };
    asyncio::testing::run(main());
}

// test_taskgroups.py: test_taskgroup_13 / test_taskgroup_14 -- nested groups:
// the inner group's ExceptionGroup is one error of the outer.
TEST(TaskGroup, NestedGroups) {
    auto main = []() -> Task<> {
        asyncio::Future<> gate;
        gate.set_result();
        try {
            co_await asyncio::task_group([&](TaskGroup& g1) -> Task<> {
                (void)g1.create_task(sleep_long());
                co_await asyncio::task_group([&](TaskGroup& g2) -> Task<> {
                    (void)g2.create_task(fail_on(gate, "inner"));
                    co_return;
                });
            });
            ADD_FAILURE() << "no ExceptionGroup";
        } catch (const ExceptionGroup& outer) {
            CO_ASSERT_TRUE(outer.exceptions().size() == 1u);
            try {
                std::rethrow_exception(outer.exceptions()[0]);
            } catch (const ExceptionGroup& inner) {
                EXPECT_EQ(messages(inner), std::vector<std::string>{"inner"});
            } catch (...) {
                ADD_FAILURE() << "the outer group's error is not the inner group";
            }
        }
    };
    asyncio::testing::run(main());
}

// test_taskgroups.py: test_taskgroup_24 -- children may add children.
TEST(TaskGroup, ChildrenCreatingChildren) {
    auto root = [](TaskGroup* g, int* count) -> Task<> {
        co_await asyncio::sleep(0s);
        auto leaf = [](int* c) -> Task<> {
            co_await asyncio::sleep(0s);
            ++*c;
        };
        (void)g->create_task(leaf(count));
        (void)g->create_task(leaf(count));
    };
    int count = 0;
    auto main = [&]() -> Task<> {
        co_await asyncio::task_group([&](TaskGroup& g) -> Task<> {
            (void)g.create_task(root(&g, &count));
            co_return;
        });
    };
    asyncio::testing::run(main());
    EXPECT_EQ(count, 2);
}

// test_taskgroups.py: test_taskgroup_finished -- create_task after the group
// finished is a RuntimeError.
TEST(TaskGroup, CreateTaskAfterFinishIsARuntimeError) {
    auto main = []() -> Task<> {
        TaskGroup g;
        (void)g.create_task(after(1, 1));
        co_await g.exit(nullptr);
        EXPECT_THROW((void)g.create_task(after(0, 2)), concur::RuntimeError);
    };
    asyncio::testing::run(main());
}

// test_taskgroups.py: create_task "is shutting down" -- no new children once a
// child failed and the group is aborting.
TEST(TaskGroup, CreateTaskWhileShuttingDownIsARuntimeError) {
    auto main = []() -> Task<> {
        asyncio::Future<> gate;
        gate.set_result();
        bool refused = false;
        try {
            co_await asyncio::task_group([&](TaskGroup& g) -> Task<> {
                (void)g.create_task(fail_on(gate, "x"));
                try {
                    co_await asyncio::sleep(10s);
                } catch (const CancelledError&) {
                    try {
                        (void)g.create_task(after(0, 1));
                    } catch (const concur::RuntimeError&) {
                        refused = true;
                    }
                    throw;
                }
            });
        } catch (const ExceptionGroup&) {
        }
        EXPECT_TRUE(refused);
    };
    asyncio::testing::run(main());
}

// A TaskGroup needs a task: outside one it is a RuntimeError.
TEST(TaskGroup, OutsideATaskIsARuntimeError) { EXPECT_THROW(TaskGroup(), concur::RuntimeError); }

// test_taskgroups.py: test_taskgroup_task_name.
TEST(TaskGroup, TaskName) {
    auto main = []() -> Task<> {
        co_await asyncio::task_group([](TaskGroup& g) -> Task<> {
            auto t = g.create_task(after(1, 0), "yolo");
            EXPECT_EQ(t.get_name(), "yolo");
            co_return;
        });
    };
    asyncio::testing::run(main());
}

// An empty group, and a group whose children are all done before the end.
TEST(TaskGroup, EmptyAndAlreadyFinishedGroups) {
    auto main = []() -> Task<> {
        co_await asyncio::task_group([](TaskGroup&) -> Task<> { co_return; });
        int v = co_await asyncio::task_group([](TaskGroup& g) -> Task<int> {
            auto t = g.create_task(after(0, 4));
            co_return co_await t;
        });
        EXPECT_EQ(v, 4);
    };
    asyncio::testing::run(main());
}
