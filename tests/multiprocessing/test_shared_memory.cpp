// multiprocessing::shared_memory::SharedMemory: create, attach by name in
// another process, close, unlink, the errors Python raises, and the exit-time
// safety net. Every test checks that it leaves nothing in /dev/shm. Ideas
// from CPython's Lib/test/_test_multiprocessing.py (_TestSharedMemory).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "concur/multiprocessing/process.hpp"
#include "concur/multiprocessing/shared_memory.hpp"
#include "concur/wire/handles.hpp"
#include "support.hpp"

namespace mp = concur::multiprocessing;
using mp::shared_memory::SharedMemory;

namespace {

using mptest::fork_child;

int exit_status(pid_t pid) { return mptest::wait_child(pid); }

bool in_dev_shm(const std::string& name) { return std::filesystem::exists("/dev/shm/" + name); }

std::string unique_name(const char* tag) {
    return "concur_test_" + std::string(tag) + "_" + std::to_string(getpid());
}

int os_errno(const std::function<void()>& f) {
    try {
        f();
    } catch (const concur::OSError& e) {
        return e.errno_value();
    }
    return 0;
}

}  // namespace

TEST(SharedMemory, CreateWithAGeneratedName) {
    SharedMemory shm("", true, 4096);
    EXPECT_EQ(shm.name().rfind("psm_", 0), 0u) << shm.name();
    EXPECT_EQ(shm.size(), 4096u);
    ASSERT_EQ(shm.buf().size(), 4096u);
    for (std::byte b : shm.buf()) ASSERT_EQ(b, std::byte{0});
    EXPECT_TRUE(in_dev_shm(shm.name()));
    SharedMemory other("", true, 10);
    EXPECT_NE(other.name(), shm.name());
    EXPECT_EQ(other.size(), 10u);
    shm.close();
    EXPECT_TRUE(shm.buf().empty());
    shm.close();  // idempotent
    shm.unlink();
    other.unlink();
    EXPECT_FALSE(in_dev_shm(shm.name()));
    EXPECT_FALSE(in_dev_shm(other.name()));
}

TEST(SharedMemory, AttachByNameInAnotherProcess) {
    std::string name = unique_name("attach");
    SharedMemory shm(name, true, 64);
    EXPECT_EQ(shm.name(), name);
    std::memcpy(shm.buf().data(), "parent", 7);
    pid_t child = fork_child([name] {
        SharedMemory mine(name);  // attach; the size comes from the block
        EXPECT_EQ(mine.size(), 64u);
        EXPECT_STREQ(reinterpret_cast<const char*>(mine.buf().data()), "parent");
        std::memcpy(mine.buf().data() + 8, "child", 6);
        mine.close();
    });
    ASSERT_EQ(exit_status(child), 0);
    EXPECT_STREQ(reinterpret_cast<const char*>(shm.buf().data() + 8), "child");
    SharedMemory slashed("/" + name);  // a leading slash is dropped
    EXPECT_EQ(slashed.name(), name);
    shm.close();
    slashed.close();
    shm.unlink();
    EXPECT_FALSE(in_dev_shm(name));
}

TEST(SharedMemory, ErrorsArePythons) {
    std::string name = unique_name("errors");
    // FileNotFoundError: attach to a name that does not exist.
    EXPECT_EQ(os_errno([&] { SharedMemory missing(name); }), ENOENT);
    try {
        SharedMemory missing(name);
    } catch (const concur::OSError& e) {
        EXPECT_NE(std::string(e.what()).find("create = true"), std::string::npos) << e.what();
    }
    // ValueError: creating nothing, or attaching to no name.
    EXPECT_THROW(SharedMemory(name, true, 0), concur::ValueError);
    EXPECT_THROW(SharedMemory("", false), concur::ValueError);
    // FileExistsError: creating a name that exists.
    SharedMemory shm(name, true, 16);
    EXPECT_EQ(os_errno([&] { SharedMemory again(name, true, 16); }), EEXIST);
    // A name with a slash inside is refused by the system.
    EXPECT_NE(os_errno([&] { SharedMemory bad("a/b", true, 16); }), 0);
    shm.unlink();
    EXPECT_EQ(os_errno([&] { shm.unlink(); }), ENOENT);  // once only
    EXPECT_EQ(os_errno([&] { SharedMemory gone(name); }), ENOENT);
    EXPECT_EQ(shm.buf().size(), 16u);  // still mapped until closed
    EXPECT_FALSE(in_dev_shm(name));
}

TEST(SharedMemory, CrossesByName) {
    SharedMemory shm("", true, 32);
    shm.buf()[0] = std::byte{42};
    msgpack::sbuffer buf;
    std::vector<int> fds;
    {
        concur::wire::EncodeHandles scope(fds);
        concur::wire::Packer(buf).pack(shm);
    }
    EXPECT_TRUE(fds.empty());  // a name, no descriptor
    pid_t child = fork_child([&] {
        auto oh = msgpack::unpack(buf.data(), buf.size());
        auto mine = oh.get().as<SharedMemory>();
        EXPECT_EQ(mine.name(), shm.name());
        EXPECT_EQ(mine.buf()[0], std::byte{42});
        mine.buf()[1] = std::byte{43};
    });
    ASSERT_EQ(exit_status(child), 0);
    EXPECT_EQ(shm.buf()[1], std::byte{43});
    shm.unlink();
    EXPECT_FALSE(in_dev_shm(shm.name()));
}

TEST(SharedMemory, LeakedBlocksAreUnlinkedAtExitWithAWarning) {
    int err[2];
    ASSERT_EQ(pipe(err), 0);
    std::string kept_name = unique_name("untracked");
    // Created by this process and not unlinked: the child's exit must not
    // touch it (it is the parent's).
    SharedMemory parents("", true, 8);
    pid_t child = fork();
    if (child == 0) {
        dup2(err[1], 2);
        SharedMemory leaked("", true, 8);
        SharedMemory kept(kept_name, true, 8, /*track=*/false);
        SharedMemory unlinked("", true, 8);
        unlinked.unlink();
        std::fprintf(stderr, "NAME %s\n", leaked.name().c_str());
        std::exit(0);  // a normal exit runs the safety net
    }
    close(err[1]);
    std::string out;
    char chunk[512];
    for (ssize_t n; (n = read(err[0], chunk, sizeof chunk)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        out.append(chunk, static_cast<std::size_t>(n));
    }
    close(err[0]);
    ASSERT_EQ(exit_status(child), 0) << out;
    auto at = out.find("NAME ");
    ASSERT_NE(at, std::string::npos) << out;
    std::string leaked = out.substr(at + 5, out.find('\n', at) - at - 5);
    EXPECT_NE(out.find("concur: 1 leaked shared_memory object to clean up at shutdown: /" + leaked),
              std::string::npos)
        << out;
    EXPECT_FALSE(in_dev_shm(leaked));
    EXPECT_TRUE(in_dev_shm(parents.name()));
    EXPECT_TRUE(in_dev_shm(kept_name));  // track = false: the creator opted out
    SharedMemory(kept_name).unlink();
    parents.unlink();
    EXPECT_FALSE(in_dev_shm(kept_name));
    EXPECT_FALSE(in_dev_shm(parents.name()));
}

// ---- through multiprocessing::Process, every start method ----------------

namespace {

void write_in_child(SharedMemory shm, std::string text) {
    if (shm.size() < text.size() + 1) throw std::runtime_error("wrong size");
    std::memcpy(shm.buf().data(), text.c_str(), text.size() + 1);
    shm.close();
}

class SharedMemoryThroughProcess : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(SharedMemoryThroughProcess, AttachedByNameInTheChild) {
    SharedMemory shm("", true, 128);
    mp::Process p(mp::get_context(GetParam()), write_in_child, shm, std::string("hello from ") + GetParam());
    p.start();
    EXPECT_TRUE(p.join(std::chrono::seconds(60)));
    EXPECT_EQ(p.exitcode(), 0);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(shm.buf().data())), "hello from " + GetParam());
    shm.close();
    shm.unlink();
    EXPECT_FALSE(in_dev_shm(shm.name()));
}

INSTANTIATE_TEST_SUITE_P(StartMethods, SharedMemoryThroughProcess, ::testing::Values("fork", "spawn", "forkserver"),
                         [](const auto& info) { return info.param; });
