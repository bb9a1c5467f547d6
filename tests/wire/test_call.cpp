// wire's calls: encode_call on the sender, run_call in the worker,
// decode_result back on the sender. What a user relies on: every kind of
// sendable callable runs with its arguments and returns its result; an
// exception comes back as itself (standard and concur types) or as a
// RemoteError that says what, where and in which process; a malformed
// message is a DecodeError, never a crash; and a function is found by
// identity in a forked child and in a fresh exec of the same binary.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <numeric>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include "concur/wire.hpp"

namespace wire = concur::wire;

namespace {

// ---- byte plumbing for the fork and exec tests ---------------------------------

void write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) std::_Exit(90);  // in a child: the parent sees a bad exit status
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

std::string read_all(int fd) {
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

// ---- the exec worker -------------------------------------------------------------
// Function identity must survive an exec of the same binary (the spawn start
// method): the test binary re-executes itself with this variable set, and this
// global constructor -- run before GoogleTest's main -- turns the new process
// into a one-call worker: call on stdin, reply on stdout.
constexpr const char* exec_worker_env = "CONCUR_WIRE_TEST_EXEC_WORKER";

struct ExecWorker {
    ExecWorker() {
        if (!std::getenv(exec_worker_env)) return;
        std::string call = read_all(0);
        msgpack::sbuffer reply;
        wire::run_call(call.data(), call.size(), reply);
        write_all(1, reply.data(), reply.size());
        std::_Exit(0);
    }
} exec_worker;

}  // namespace

// ---- what is called ----------------------------------------------------------------

int add(int a, int b) { return a + b; }

std::string greet(const std::string& who) { return "hello, " + who; }

std::string concat3(std::string a, const std::string& b, std::string c) { return a + b + c; }

int bump(int& x) { return ++x; }  // a T& parameter binds to the worker's copy

std::size_t length(const std::string& s) { return s.size(); }

void fill(std::vector<int>& v) { v.assign(3, 7); }

int calls_of_nothing = 0;
void nothing() { ++calls_of_nothing; }

int answer() { return 42; }

const std::string& static_ref() {
    static const std::string s = "by reference";
    return s;
}

std::vector<std::uint8_t> echo_bytes(const std::vector<std::uint8_t>& v) { return v; }

std::uint64_t sum_ints(const std::vector<int>& v) {
    return std::accumulate(v.begin(), v.end(), std::uint64_t{0});
}

long my_pid() { return static_cast<long>(::getpid()); }

struct Multiply {
    int operator()(int a, int b) const { return a * b; }
};

// A stateless functor overloaded on its argument types: the invoker is chosen
// by (functor, argument types), so each call reaches its own overload.
struct Which {
    std::string operator()(int) const { return "int"; }
    std::string operator()(const std::string&) const { return "string"; }
    std::string operator()(double, double) const { return "two doubles"; }
};

namespace app {
struct ParseError : std::exception {
    const char* what() const noexcept override { return "unexpected token ']'"; }
};
}  // namespace app

int parse_config(const std::string&) { throw app::ParseError(); }

struct Thrower {
    int operator()() const { throw app::ParseError(); }
};

int throw_int() { throw 42; }

template <class E>
int throw_with(std::string message) {
    throw E(message);
}

// ---- helpers ---------------------------------------------------------------------

template <class R, class F, class... A>
wire::wire_value_t<R> call_here(F&& f, A&&... args) {
    msgpack::sbuffer call, reply;
    wire::encode_call(call, std::forward<F>(f), std::forward<A>(args)...);
    wire::run_call(call.data(), call.size(), reply);
    return wire::decode_result<R>(reply.data(), reply.size());
}

// Runs a raw call and decodes its outcome as R, expecting a DecodeError;
// returns its message.
template <class R = int>
std::string decode_error_of(const char* data, std::size_t size) {
    msgpack::sbuffer reply;
    wire::run_call(data, size, reply);  // noexcept: it must not throw whatever the input
    try {
        wire::decode_result<R>(reply.data(), reply.size());
    } catch (const wire::DecodeError& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected a DecodeError, got " << typeid(e).name() << ": " << e.what();
        return {};
    }
    ADD_FAILURE() << "a malformed call ran and returned a value";
    return {};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---- compile-time contract -----------------------------------------------------------

static_assert(std::is_same_v<wire::arg_t<const char*>, std::string>);
static_assert(std::is_same_v<wire::arg_t<char*>, std::string>);
static_assert(std::is_same_v<wire::arg_t<const char (&)[6]>, std::string>);  // a string literal
static_assert(std::is_same_v<wire::arg_t<const int&>, int>);
static_assert(std::is_same_v<wire::call_result_t<decltype(&add), int, int>, int>);
static_assert(std::is_same_v<wire::call_result_t<decltype(&nothing)>, void>);
static_assert(std::is_same_v<wire::wire_value_t<void>, std::monostate>);
static_assert(std::is_same_v<wire::wire_value_t<const std::string&>, std::string>);
static_assert(wire::Sendable<decltype(&add)>);
static_assert(wire::Sendable<decltype(add)&>);
static_assert(wire::Sendable<Multiply>);
static_assert(wire::Sendable<decltype([](int x) { return x; })>);
static_assert(!wire::Sendable<decltype([n = 1](int x) { return x + n; })>);
static_assert(!wire::Sendable<std::function<int(int)>>);
static_assert(!wire::Sendable<int>);
// run_call answers every input with an outcome; it never throws.
static_assert(noexcept(wire::run_call(nullptr, 0, std::declval<msgpack::sbuffer&>())));

// ---- callables ---------------------------------------------------------------------

TEST(Call, PlainFunction) {
    EXPECT_EQ(call_here<int>(&add, 2, 40), 42);
    EXPECT_EQ(call_here<int>(add, -2, -40), -42);  // a function name decays to its pointer
    EXPECT_EQ(call_here<int>(&answer), 42);        // no arguments
}

TEST(Call, CaptureLessLambda) {
    auto twice = [](int x) { return 2 * x; };
    EXPECT_EQ(call_here<int>(twice, 21), 42);
    EXPECT_EQ(
        call_here<std::string>([](const std::string& s, int n) { return s + std::to_string(n); }, "n=", 5),
        "n=5");
}

TEST(Call, GenericLambdaInstantiatedPerArgumentTypes) {
    auto plus = [](auto a, auto b) { return a + b; };
    EXPECT_EQ(call_here<int>(plus, 1, 2), 3);
    EXPECT_EQ(call_here<std::string>(plus, std::string("a"), std::string("b")), "ab");
    EXPECT_DOUBLE_EQ(call_here<double>(plus, 0.5, 0.25), 0.75);
}

TEST(Call, StatelessFunctor) {
    EXPECT_EQ(call_here<int>(Multiply{}, 6, 7), 42);
    EXPECT_EQ(call_here<std::string>(Which{}, 1), "int");
    EXPECT_EQ(call_here<std::string>(Which{}, std::string("x")), "string");
    EXPECT_EQ(call_here<std::string>(Which{}, 1.0, 2.0), "two doubles");
}

TEST(Call, ReferenceParameters) {
    int x = 1;
    EXPECT_EQ(call_here<int>(&bump, x), 2);
    EXPECT_EQ(x, 1) << "the caller's variable is not the worker's";
    const std::string s = "four";
    EXPECT_EQ(call_here<std::size_t>(&length, s), 4u);
    EXPECT_EQ(call_here<std::string>(&concat3, std::string("a"), std::string("b"), std::string("c")), "abc");
    std::vector<int> v{1};
    EXPECT_EQ(call_here<void>(&fill, v), std::monostate{});
    EXPECT_EQ(v, std::vector<int>{1});
}

TEST(Call, ReferenceResultIsSentAsAValue) {
    EXPECT_EQ(call_here<const std::string&>(&static_ref), "by reference");
}

TEST(Call, VoidFunctionsReturnMonostate) {
    calls_of_nothing = 0;
    std::monostate r = call_here<void>(&nothing);
    (void)r;
    EXPECT_EQ(calls_of_nothing, 1) << "the void function really ran";
    int seen = 0;
    static int* out;
    out = &seen;
    call_here<void>([](int v) { *out = v; }, 5);
    EXPECT_EQ(seen, 5);
}

TEST(Call, CStringArgumentsAreSentAsStrings) {
    EXPECT_EQ(call_here<std::string>(&greet, "world"), "hello, world");
    const char* p = "pointer";
    EXPECT_EQ(call_here<std::string>(&greet, p), "hello, pointer");
    char mutable_buf[] = "buffer";
    EXPECT_EQ(call_here<std::string>(&greet, static_cast<char*>(mutable_buf)), "hello, buffer");
    EXPECT_EQ(call_here<std::size_t>(&length, ""), 0u);
    // The pointer is not sent: the worker receives the characters.
    EXPECT_EQ(call_here<std::string>([](std::string s) { return s; }, "abc"), "abc");
}

TEST(Call, LargeArguments) {
    // 10 MB through the argument and back through the result.
    std::vector<std::uint8_t> big(10 * 1024 * 1024);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 31 + 7);
    auto back = call_here<std::vector<std::uint8_t>>(&echo_bytes, big);
    EXPECT_EQ(back.size(), big.size());
    EXPECT_TRUE(back == big);
    // 10 MB of ints: one msgpack value each.
    std::vector<int> ints(10 * 1024 * 1024 / sizeof(int));
    std::iota(ints.begin(), ints.end(), -1000);
    std::uint64_t want = std::accumulate(ints.begin(), ints.end(), std::uint64_t{0});
    EXPECT_EQ(call_here<std::uint64_t>(&sum_ints, ints), want);
}

TEST(Call, RunCallReportsTheFunctionName) {
    msgpack::sbuffer call, reply;
    wire::encode_call(call, Multiply{}, 1, 2);
    std::string name;
    wire::run_call(call.data(), call.size(), reply, &name);
    EXPECT_TRUE(contains(name, "Multiply")) << name;
    // Also when the call fails to decode: the caller still gets a name.
    msgpack::sbuffer bad;
    std::string bad_name;
    wire::run_call("", 0, bad, &bad_name);
    EXPECT_FALSE(bad_name.empty());
}

// ---- exceptions -------------------------------------------------------------------

// Runs throw_with<E> in the "worker" and checks the sender sees exactly E
// with the same message.
template <class E>
void expect_rethrown_as_itself(const char* type) {
    SCOPED_TRACE(type);
    const std::string message = std::string("message of ") + type;
    try {
        call_here<int>(&throw_with<E>, message);
        ADD_FAILURE() << "nothing thrown";
    } catch (const concur::RemoteError& e) {
        ADD_FAILURE() << "came back as RemoteError: " << e.what();
    } catch (const E& e) {
        EXPECT_EQ(typeid(e), typeid(E)) << "came back as " << typeid(e).name();
        EXPECT_EQ(std::string(e.what()), message);
    }
}

TEST(CallExceptions, StandardExceptionsComeBackAsThemselves) {
    expect_rethrown_as_itself<std::runtime_error>("std::runtime_error");
    expect_rethrown_as_itself<std::logic_error>("std::logic_error");
    expect_rethrown_as_itself<std::invalid_argument>("std::invalid_argument");
    expect_rethrown_as_itself<std::out_of_range>("std::out_of_range");
    expect_rethrown_as_itself<std::domain_error>("std::domain_error");
    expect_rethrown_as_itself<std::length_error>("std::length_error");
    expect_rethrown_as_itself<std::range_error>("std::range_error");
    expect_rethrown_as_itself<std::overflow_error>("std::overflow_error");
    expect_rethrown_as_itself<std::underflow_error>("std::underflow_error");
}

TEST(CallExceptions, BadAllocComesBackAsItself) {
    // Thrown, not provoked: a real failed allocation aborts under ASan.
    EXPECT_THROW(call_here<int>([]() -> int { throw std::bad_alloc(); }), std::bad_alloc);
}

TEST(CallExceptions, ConcurExceptionsComeBackAsThemselves) {
    expect_rethrown_as_itself<concur::Error>("concur::Error");
    expect_rethrown_as_itself<concur::ValueError>("concur::ValueError");
    expect_rethrown_as_itself<concur::RuntimeError>("concur::RuntimeError");
    expect_rethrown_as_itself<concur::TimeoutError>("concur::TimeoutError");
    expect_rethrown_as_itself<concur::CancelledError>("concur::CancelledError");
    expect_rethrown_as_itself<concur::InvalidStateError>("concur::InvalidStateError");
    expect_rethrown_as_itself<concur::EOFError>("concur::EOFError");
    expect_rethrown_as_itself<wire::EncodeError>("concur::wire::EncodeError");
    expect_rethrown_as_itself<wire::DecodeError>("concur::wire::DecodeError");
    expect_rethrown_as_itself<concur::futures::BrokenExecutor>("concur::futures::BrokenExecutor");
    expect_rethrown_as_itself<concur::futures::BrokenThreadPool>("concur::futures::BrokenThreadPool");
    expect_rethrown_as_itself<concur::futures::BrokenProcessPool>("concur::futures::BrokenProcessPool");
    expect_rethrown_as_itself<concur::threading::BrokenBarrierError>("concur::threading::BrokenBarrierError");
    expect_rethrown_as_itself<concur::queue::Empty>("concur::queue::Empty");
    expect_rethrown_as_itself<concur::queue::Full>("concur::queue::Full");
    expect_rethrown_as_itself<concur::queue::ShutDown>("concur::queue::ShutDown");
    expect_rethrown_as_itself<concur::asyncio::QueueEmpty>("concur::asyncio::QueueEmpty");
    expect_rethrown_as_itself<concur::asyncio::QueueFull>("concur::asyncio::QueueFull");
    expect_rethrown_as_itself<concur::asyncio::QueueShutDown>("concur::asyncio::QueueShutDown");
    EXPECT_THROW(call_here<int>([]() -> int { throw concur::KeyboardInterrupt(); }),
                 concur::KeyboardInterrupt);
}

TEST(CallExceptions, ExceptionsCarryingMoreThanAMessageBecomeRemoteError) {
    // An OSError would lose its errno if rebuilt from the message alone.
    try {
        call_here<int>([]() -> int { throw concur::OSError(ENOENT, "no such file"); });
        FAIL() << "nothing thrown";
    } catch (const concur::RemoteError& e) {
        EXPECT_EQ(e.type_name(), "concur::OSError");
        EXPECT_EQ(e.message(), "no such file");
    }
}

TEST(CallExceptions, UserExceptionBecomesRemoteError) {
    try {
        call_here<int>(&parse_config, "x = ]");
        FAIL() << "nothing thrown";
    } catch (const concur::RemoteError& e) {
        EXPECT_EQ(e.type_name(), "app::ParseError");
        EXPECT_EQ(e.message(), "unexpected token ']'");
        EXPECT_EQ(e.pid(), static_cast<long>(::getpid()));  // run_call ran here
        // The function as wire names it (its symbol where the executable
        // exports one, else module+offset): the same name describe() gives.
        EXPECT_EQ(e.function(), wire::describe(reinterpret_cast<const void*>(&parse_config)));
        // what() puts it together for a log line.
        std::string what = e.what();
        EXPECT_TRUE(contains(what, "app::ParseError")) << what;
        EXPECT_TRUE(contains(what, "unexpected token")) << what;
        EXPECT_TRUE(contains(what, std::to_string(::getpid()))) << what;
    }
    // A functor is named by its type.
    try {
        call_here<int>(Thrower{});
        FAIL() << "nothing thrown";
    } catch (const concur::RemoteError& e) {
        EXPECT_EQ(e.type_name(), "app::ParseError");
        EXPECT_TRUE(contains(e.function(), "Thrower")) << e.function();
    }
}

TEST(CallExceptions, NonStdExceptionBecomesRemoteError) {
    try {
        call_here<int>(&throw_int);
        FAIL() << "nothing thrown";
    } catch (const concur::RemoteError& e) {
        EXPECT_EQ(e.type_name(), "unknown");
        EXPECT_TRUE(contains(e.message(), "not derived from std::exception")) << e.message();
        EXPECT_EQ(e.pid(), static_cast<long>(::getpid()));
        EXPECT_FALSE(e.function().empty());
    }
}

TEST(CallExceptions, RemoteErrorReRaisedKeepsItsOrigin) {
    // A worker that itself decoded a failed nested call and let the
    // RemoteError escape: the original type, pid and function come back.
    try {
        call_here<int>(
            []() -> int { throw concur::RemoteError("deep::Failure", "inner", 12345, "inner_fn"); });
        FAIL() << "nothing thrown";
    } catch (const concur::RemoteError& e) {
        EXPECT_EQ(e.type_name(), "deep::Failure");
        EXPECT_EQ(e.message(), "inner");
        EXPECT_EQ(e.pid(), 12345);
        EXPECT_EQ(e.function(), "inner_fn");
    }
}

// ---- malformed calls and replies ------------------------------------------------------

TEST(CallDecode, EmptyBuffer) {
    EXPECT_TRUE(contains(decode_error_of(nullptr, 0), "could not be decoded"));
    EXPECT_TRUE(contains(decode_error_of("", 0), "could not be decoded"));
}

TEST(CallDecode, EveryTruncationOfACallIsADecodeError) {
    msgpack::sbuffer call;
    wire::encode_call(call, &concat3, std::string("first"), std::string("second"), std::string("third"));
    for (std::size_t n = 0; n < call.size(); ++n) {
        SCOPED_TRACE("prefix of " + std::to_string(n) + " bytes");
        std::string prefix(call.data(), n);  // its own allocation: ASan sees any over-read
        decode_error_of<std::string>(prefix.data(), prefix.size());
    }
}

TEST(CallDecode, FlippedBitsAreDecodeErrorsOrValues) {
    // Every single-bit flip of a call, except in the invoker's offset (a flip
    // there may name other code of this very binary, which no format can tell
    // from the right code): either a DecodeError or a value, never a crash,
    // never another exception. A lambda is sent so the message holds no
    // second code offset.
    msgpack::sbuffer call;
    wire::encode_call(
        call, [](int a, const std::string& s) { return s + std::to_string(a); }, 7, std::string("hello"));
    const std::string good(call.data(), call.size());
    // Layout: fixarray(5), module "" (0xa0), the offset (type byte + payload),
    // nil, nil, the arguments.
    ASSERT_EQ(static_cast<unsigned char>(good[0]), 0x95);
    ASSERT_EQ(static_cast<unsigned char>(good[1]), 0xa0) << "the invoker is in the main executable";
    const unsigned char type = static_cast<unsigned char>(good[2]);
    std::size_t offset_size = type <= 0x7f ? 1 : type == 0xcc ? 2 : type == 0xcd ? 3 : type == 0xce ? 5 : 9;
    const std::size_t offset_end = 2 + offset_size;
    int errors = 0, values = 0;
    for (std::size_t i = 0; i < good.size(); ++i) {
        if (i >= 2 && i < offset_end) continue;
        for (int bit = 0; bit < 8; ++bit) {
            std::string bad = good;
            bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
            msgpack::sbuffer reply;
            wire::run_call(bad.data(), bad.size(), reply);
            try {
                wire::decode_result<std::string>(reply.data(), reply.size());
                ++values;
            } catch (const wire::DecodeError&) {
                ++errors;
            } catch (const std::exception& e) {
                ADD_FAILURE() << "byte " << i << " bit " << bit << ": " << typeid(e).name() << ": "
                              << e.what();
            }
        }
    }
    // The structure bytes (array header, module, nils, argument headers) must
    // be caught; flips inside the values may decode as other values.
    EXPECT_GT(errors, 20);
    EXPECT_GT(values, 0);
}

TEST(CallDecode, NotACall) {
    msgpack::sbuffer b;
    msgpack::pack(b, 42);
    EXPECT_TRUE(contains(decode_error_of(b.data(), b.size()), "not a call"));
    msgpack::sbuffer four;
    msgpack::pack(four, std::make_tuple(std::string(), 1, msgpack::type::nil_t(), msgpack::type::nil_t()));
    EXPECT_TRUE(contains(decode_error_of(four.data(), four.size()), "not a call"));
}

// [module, offset, fn module, fn offset, args] written by hand.
template <class Args>
msgpack::sbuffer hand_call(const std::string& module, std::uint64_t offset, const Args& args) {
    msgpack::sbuffer b;
    wire::Packer p(b);
    p.pack_array(5);
    p.pack(module);
    p.pack(offset);
    p.pack_nil();
    p.pack_nil();
    p.pack(args);
    return b;
}

TEST(CallDecode, OffsetOutsideCode) {
    for (std::uint64_t offset : {std::uint64_t{1} << 40, ~std::uint64_t{0}, std::uint64_t{1} << 63}) {
        auto call = hand_call("", offset, std::make_tuple());
        std::string message = decode_error_of(call.data(), call.size());
        EXPECT_TRUE(contains(message, "outside the code")) << message;
        EXPECT_TRUE(contains(message, "main executable")) << message;
    }
}

TEST(CallDecode, ModuleNotLoaded) {
    auto call = hand_call("/nonexistent/libnothing.so.7", 4096, std::make_tuple());
    std::string message = decode_error_of(call.data(), call.size());
    EXPECT_TRUE(contains(message, "/nonexistent/libnothing.so.7")) << message;
    EXPECT_TRUE(contains(message, "not loaded")) << message;
}

TEST(CallDecode, FunctionOffsetOutsideCode) {
    // The invoker is right, the function pointer beside it is not.
    msgpack::sbuffer good;
    wire::encode_call(good, &add, 1, 2);
    auto holder = msgpack::unpack(good.data(), good.size());
    const auto& f = holder.get().via.array.ptr;
    msgpack::sbuffer bad;
    wire::Packer p(bad);
    p.pack_array(5);
    p.pack(f[0]);
    p.pack(f[1]);
    p.pack(std::string());
    p.pack(~std::uint64_t{0});
    p.pack(f[4]);
    EXPECT_TRUE(contains(decode_error_of(bad.data(), bad.size()), "outside the code"));
}

TEST(CallDecode, IdentityOfTheWrongType) {
    msgpack::sbuffer b;
    msgpack::pack(b, std::make_tuple(7, std::string("not an offset"), msgpack::type::nil_t(),
                                     msgpack::type::nil_t(), std::make_tuple()));
    EXPECT_TRUE(contains(decode_error_of(b.data(), b.size()), "function identity"));
}

TEST(CallDecode, ArgumentsThatDoNotMatchTheFunction) {
    // A real invoker for add(int, int), with arguments another build might send.
    msgpack::sbuffer good;
    wire::encode_call(good, &add, 1, 2);
    auto holder = msgpack::unpack(good.data(), good.size());
    const auto& f = holder.get().via.array.ptr;
    auto with_args = [&](auto args) {
        msgpack::sbuffer b;
        wire::Packer p(b);
        p.pack_array(5);
        for (int i = 0; i < 4; ++i) p.pack(f[i]);
        p.pack(args);
        return decode_error_of(b.data(), b.size());
    };
    std::string count = with_args(std::make_tuple(1));
    EXPECT_TRUE(contains(count, "argument count")) << count;
    EXPECT_TRUE(contains(count, "got 1, expected 2")) << count;
    std::string types = with_args(std::make_tuple(std::string("x"), 2));
    EXPECT_TRUE(contains(types, "argument types")) << types;
    std::string not_array = with_args(5);
    EXPECT_TRUE(contains(not_array, "argument count")) << not_array;
}

TEST(CallDecode, EveryTruncationOfAReplyIsADecodeError) {
    msgpack::sbuffer call, value_reply, error_reply;
    wire::encode_call(call, &greet, "reply");
    wire::run_call(call.data(), call.size(), value_reply);
    msgpack::sbuffer failing;
    wire::encode_call(failing, &parse_config, "x");
    wire::run_call(failing.data(), failing.size(), error_reply);
    for (const auto* reply : {&value_reply, &error_reply}) {
        for (std::size_t n = 0; n < reply->size(); ++n) {
            SCOPED_TRACE("prefix of " + std::to_string(n) + " bytes");
            std::string prefix(reply->data(), n);
            EXPECT_THROW(wire::decode_result<std::string>(prefix.data(), prefix.size()), wire::DecodeError);
        }
    }
}

TEST(CallDecode, ReplyOfAnotherResultType) {
    msgpack::sbuffer call, reply;
    wire::encode_call(call, &greet, "x");
    wire::run_call(call.data(), call.size(), reply);
    try {
        wire::decode_result<int>(reply.data(), reply.size());
        FAIL() << "a string decoded as an int";
    } catch (const wire::DecodeError& e) {
        EXPECT_TRUE(contains(e.what(), "expected type int")) << e.what();
    }
    // A void call's reply read as a value, and a value read as void.
    msgpack::sbuffer vcall, vreply;
    wire::encode_call(vcall, &nothing);
    wire::run_call(vcall.data(), vcall.size(), vreply);
    EXPECT_THROW(wire::decode_result<std::string>(vreply.data(), vreply.size()), wire::DecodeError);
    EXPECT_THROW(wire::decode_result<void>(reply.data(), reply.size()), wire::DecodeError);
}

TEST(CallDecode, ReplyThatIsNotAnOutcome) {
    for (auto make : {+[](msgpack::sbuffer& b) { msgpack::pack(b, 1); },
                      +[](msgpack::sbuffer& b) { msgpack::pack(b, std::make_tuple(7, 1)); },
                      +[](msgpack::sbuffer& b) { msgpack::pack(b, std::make_tuple(1, 2)); },  // error, short
                      +[](msgpack::sbuffer& b) { msgpack::pack(b, std::make_tuple(1, 1, 2, 3, 4)); },
                      +[](msgpack::sbuffer& b) { msgpack::pack(b, std::make_tuple(std::string("0"), 1)); }}) {
        msgpack::sbuffer b;
        make(b);
        EXPECT_THROW(wire::decode_result<int>(b.data(), b.size()), wire::DecodeError);
    }
}

TEST(CallDecode, EncodeErrorOutcome) {
    // What a transport writes when it fails a call before running it.
    msgpack::sbuffer reply;
    wire::encode_error(reply, "concur::wire::EncodeError", "no descriptors here", "f", 1);
    EXPECT_THROW(wire::decode_result<int>(reply.data(), reply.size()), wire::EncodeError);
    msgpack::sbuffer custom;
    wire::encode_exception(custom, std::make_exception_ptr(app::ParseError()), "g", 77);
    try {
        wire::decode_result<int>(custom.data(), custom.size());
        FAIL();
    } catch (const concur::RemoteError& e) {
        EXPECT_EQ(e.type_name(), "app::ParseError");
        EXPECT_EQ(e.function(), "g");
        EXPECT_EQ(e.pid(), 77);
    }
}

// ---- function identity ------------------------------------------------------------

TEST(FunctionIdentity, LocateResolveRoundTrip) {
    const void* code = reinterpret_cast<const void*>(&add);
    wire::CodeAddress at = wire::locate(code);
    EXPECT_EQ(at.module, "") << "a function of the executable is in the main module";
    EXPECT_EQ(wire::resolve(at), code);
    // A function of a shared library: named by the library, found again.
    const void* libc_fn = reinterpret_cast<const void*>(&::getppid);
    wire::CodeAddress lib = wire::locate(libc_fn);
    EXPECT_EQ(wire::resolve(lib), libc_fn);
}

TEST(FunctionIdentity, ResolveRejectsWhatIsNotHere) {
    EXPECT_THROW(wire::resolve({"/no/such/module.so", 16}), wire::DecodeError);
    EXPECT_THROW(wire::resolve({"", ~std::uint64_t{0}}), wire::DecodeError);
}

TEST(FunctionIdentity, LocateRejectsWhatIsInNoModule) {
    int on_the_stack = 0;
    EXPECT_THROW(wire::locate(&on_the_stack), wire::EncodeError);
}

TEST(FunctionIdentity, DescribeGivesAReadableName) {
    // A library function: its exported symbol.
    std::string libc = wire::describe(reinterpret_cast<const void*>(&::getppid));
    EXPECT_TRUE(contains(libc, "getppid")) << libc;
    // An executable's function: its symbol if exported, else module+offset.
    std::string own = wire::describe(reinterpret_cast<const void*>(&add));
    EXPECT_TRUE(contains(own, "add") || own.rfind("<main>+0x", 0) == 0) << own;
    EXPECT_EQ(wire::demangle(typeid(app::ParseError).name()), "app::ParseError");
}

// A forked child reads calls from a pipe (8-byte length, then the call) and
// answers each on another until EOF.
TEST(FunctionIdentity, AcrossFork) {
    int to_child[2], to_parent[2];
    ASSERT_EQ(::pipe2(to_child, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(to_parent, O_CLOEXEC), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(to_child[1]);
        ::close(to_parent[0]);
        for (;;) {
            std::uint64_t n = 0;
            ssize_t got = ::read(to_child[0], &n, sizeof n);
            if (got == 0) std::_Exit(0);
            if (got != sizeof n) std::_Exit(91);
            std::string call(n, '\0');
            std::size_t have = 0;
            while (have < n) {
                ssize_t r = ::read(to_child[0], call.data() + have, n - have);
                if (r <= 0) std::_Exit(92);
                have += static_cast<std::size_t>(r);
            }
            msgpack::sbuffer reply;
            wire::run_call(call.data(), call.size(), reply);
            std::uint64_t m = reply.size();
            write_all(to_parent[1], reinterpret_cast<const char*>(&m), sizeof m);
            write_all(to_parent[1], reply.data(), reply.size());
        }
    }
    ::close(to_child[0]);
    ::close(to_parent[1]);
    auto remote = [&](const msgpack::sbuffer& call) {
        std::uint64_t n = call.size();
        write_all(to_child[1], reinterpret_cast<const char*>(&n), sizeof n);
        write_all(to_child[1], call.data(), call.size());
        std::uint64_t m = 0;
        EXPECT_EQ(::read(to_parent[0], &m, sizeof m), static_cast<ssize_t>(sizeof m));
        std::string reply(m, '\0');
        std::size_t have = 0;
        while (have < m) {
            ssize_t r = ::read(to_parent[0], reply.data() + have, m - have);
            if (r <= 0) break;
            have += static_cast<std::size_t>(r);
        }
        EXPECT_EQ(have, m);
        return reply;
    };
    {
        msgpack::sbuffer call;
        wire::encode_call(call, &add, 40, 2);
        std::string r = remote(call);
        EXPECT_EQ(wire::decode_result<int>(r.data(), r.size()), 42);
    }
    {
        msgpack::sbuffer call;
        wire::encode_call(call, &my_pid);
        std::string r = remote(call);
        EXPECT_EQ(wire::decode_result<long>(r.data(), r.size()), static_cast<long>(child));
    }
    {
        msgpack::sbuffer call;
        wire::encode_call(call, Which{}, std::string("s"));
        std::string r = remote(call);
        EXPECT_EQ(wire::decode_result<std::string>(r.data(), r.size()), "string");
    }
    {
        msgpack::sbuffer call;
        wire::encode_call(call, &parse_config, "x");
        std::string r = remote(call);
        try {
            wire::decode_result<int>(r.data(), r.size());
            ADD_FAILURE() << "nothing thrown";
        } catch (const concur::RemoteError& e) {
            EXPECT_EQ(e.type_name(), "app::ParseError");
            EXPECT_EQ(e.pid(), static_cast<long>(child)) << "the pid of the process that raised it";
        }
    }
    {
        std::vector<std::uint8_t> big(3 * 1024 * 1024, 0x5a);  // more than a pipe holds
        msgpack::sbuffer call;
        wire::encode_call(call, &echo_bytes, big);
        std::string r = remote(call);
        EXPECT_TRUE(wire::decode_result<std::vector<std::uint8_t>>(r.data(), r.size()) == big);
    }
    ::close(to_child[1]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    ::close(to_parent[0]);
}

// Runs one call in a fresh exec of this test binary (see ExecWorker): a new
// address space, where ASLR put the executable and the libraries elsewhere.
std::string run_in_exec(const msgpack::sbuffer& call, pid_t* pid_out) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
        ADD_FAILURE() << "pipe2: " << std::strerror(errno);
        return {};
    }
    pid_t child = ::fork();
    if (child == 0) {
        ::dup2(in[0], 0);  // dup2 clears close-on-exec on the copies
        ::dup2(out[1], 1);
        ::setenv(exec_worker_env, "1", 1);
        char arg0[] = "wire_test_call_exec_worker";
        char* argv[] = {arg0, nullptr};
        ::execv("/proc/self/exe", argv);
        std::_Exit(93);
    }
    ::close(in[0]);
    ::close(out[1]);
    if (child < 0) {
        ADD_FAILURE() << "fork: " << std::strerror(errno);
        ::close(in[1]);
        ::close(out[0]);
        return {};
    }
    write_all(in[1], call.data(), call.size());
    ::close(in[1]);
    std::string reply = read_all(out[0]);
    ::close(out[0]);
    int status = 0;
    EXPECT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "exec worker status " << status;
    if (pid_out) *pid_out = child;
    return reply;
}

TEST(FunctionIdentity, AcrossExecOfTheSameBinary) {
    {
        msgpack::sbuffer call;
        wire::encode_call(call, &add, 40, 2);  // a function pointer: module + offset
        std::string r = run_in_exec(call, nullptr);
        EXPECT_EQ(wire::decode_result<int>(r.data(), r.size()), 42);
    }
    {
        msgpack::sbuffer call;
        wire::encode_call(
            call, [](const std::string& s) { return s + "!"; }, "lambda");
        std::string r = run_in_exec(call, nullptr);
        EXPECT_EQ(wire::decode_result<std::string>(r.data(), r.size()), "lambda!");
    }
    {
        msgpack::sbuffer call;
        wire::encode_call(call, &my_pid);
        pid_t child = 0;
        std::string r = run_in_exec(call, &child);
        EXPECT_EQ(wire::decode_result<long>(r.data(), r.size()), static_cast<long>(child));
    }
    {
        // A function of a shared library, found by the library's name there.
        msgpack::sbuffer call;
        wire::encode_call(call, &::getppid);
        std::string r = run_in_exec(call, nullptr);
        EXPECT_EQ(wire::decode_result<pid_t>(r.data(), r.size()), ::getpid());
    }
    {
        msgpack::sbuffer call;
        wire::encode_call(call, &parse_config, "x");
        pid_t child = 0;
        std::string r = run_in_exec(call, &child);
        try {
            wire::decode_result<int>(r.data(), r.size());
            ADD_FAILURE() << "nothing thrown";
        } catch (const concur::RemoteError& e) {
            EXPECT_EQ(e.type_name(), "app::ParseError");
            EXPECT_EQ(e.pid(), static_cast<long>(child));
        }
    }
    {
        // A malformed call is answered with a DecodeError there too.
        auto call = hand_call("", ~std::uint64_t{0}, std::make_tuple());
        std::string r = run_in_exec(call, nullptr);
        EXPECT_THROW(wire::decode_result<int>(r.data(), r.size()), wire::DecodeError);
    }
}
