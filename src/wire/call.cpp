#include "concur/wire/call.hpp"

#include <pthread.h>
#include <unistd.h>

#include <functional>
#include <mutex>
#include <new>
#include <stdexcept>
#include <unordered_map>

namespace concur::wire {

namespace detail {

void throw_bad_arguments(const char* what, std::size_t got, std::size_t want) {
    throw DecodeError("concur::wire: the call's " + std::string(what) + " do not match the function (got " +
                      std::to_string(got) + ", expected " + std::to_string(want) +
                      "): the sender runs a different build of the program");
}

const CodeAddress& locate_cached(const void* code) {
    // Function pointers are runtime values; most programs send a handful of
    // distinct ones, so the walk over loaded modules is done once per function.
    static std::mutex mu;
    static std::unordered_map<const void*, CodeAddress> cache;
    // A forked child (a pool worker that sends calls of its own) must not
    // inherit the lock held by a thread that does not exist there.
    [[maybe_unused]] static const bool fork_handler =
        (::pthread_atfork(nullptr, nullptr, [] { new (&mu) std::mutex(); }), true);
    std::lock_guard lock(mu);
    auto it = cache.find(code);
    if (it == cache.end()) it = cache.emplace(code, locate(code)).first;
    return it->second;  // unordered_map never moves its nodes
}

namespace {

using Thrower = std::function<void(const std::string&)>;

// Exceptions rebuilt as themselves on the receiving side.
const std::unordered_map<std::string, Thrower>& known_exceptions() {
    static const std::unordered_map<std::string, Thrower> table = [] {
        std::unordered_map<std::string, Thrower> t;
        auto add = [&]<class E>(const char* name, E*) {
            t.emplace(name, [](const std::string& m) { throw E(m); });
        };
        add("std::exception", static_cast<std::runtime_error*>(nullptr));
        add("std::runtime_error", static_cast<std::runtime_error*>(nullptr));
        add("std::logic_error", static_cast<std::logic_error*>(nullptr));
        add("std::invalid_argument", static_cast<std::invalid_argument*>(nullptr));
        add("std::out_of_range", static_cast<std::out_of_range*>(nullptr));
        add("std::domain_error", static_cast<std::domain_error*>(nullptr));
        add("std::length_error", static_cast<std::length_error*>(nullptr));
        add("std::range_error", static_cast<std::range_error*>(nullptr));
        add("std::overflow_error", static_cast<std::overflow_error*>(nullptr));
        add("std::underflow_error", static_cast<std::underflow_error*>(nullptr));
        t.emplace("std::bad_alloc", [](const std::string&) { throw std::bad_alloc(); });
        add("concur::Error", static_cast<Error*>(nullptr));
        add("concur::TimeoutError", static_cast<TimeoutError*>(nullptr));
        add("concur::CancelledError", static_cast<CancelledError*>(nullptr));
        add("concur::InvalidStateError", static_cast<InvalidStateError*>(nullptr));
        add("concur::RuntimeError", static_cast<RuntimeError*>(nullptr));
        add("concur::ValueError", static_cast<ValueError*>(nullptr));
        add("concur::wire::EncodeError", static_cast<EncodeError*>(nullptr));
        add("concur::wire::DecodeError", static_cast<DecodeError*>(nullptr));
        add("concur::futures::BrokenExecutor", static_cast<futures::BrokenExecutor*>(nullptr));
        add("concur::futures::BrokenProcessPool", static_cast<futures::BrokenProcessPool*>(nullptr));
        add("concur::queue::Empty", static_cast<queue::Empty*>(nullptr));
        add("concur::queue::Full", static_cast<queue::Full*>(nullptr));
        add("concur::queue::ShutDown", static_cast<queue::ShutDown*>(nullptr));
        add("concur::EOFError", static_cast<EOFError*>(nullptr));
        add("concur::futures::BrokenThreadPool", static_cast<futures::BrokenThreadPool*>(nullptr));
        add("concur::threading::BrokenBarrierError", static_cast<threading::BrokenBarrierError*>(nullptr));
        add("concur::asyncio::QueueEmpty", static_cast<asyncio::QueueEmpty*>(nullptr));
        add("concur::asyncio::QueueFull", static_cast<asyncio::QueueFull*>(nullptr));
        add("concur::asyncio::QueueShutDown", static_cast<asyncio::QueueShutDown*>(nullptr));
        t.emplace("concur::KeyboardInterrupt", [](const std::string&) { throw KeyboardInterrupt(); });
        // Not rebuilt (they would lose what they carry), so RemoteError:
        // OSError and its subclasses (errno), ExceptionGroup (the
        // sub-exceptions), IncompleteReadError, LimitOverrunError.
        return t;
    }();
    return table;
}

}  // namespace

void rethrow_remote(std::string type, std::string message, std::string function, long pid) {
    const auto& table = known_exceptions();
    if (auto it = table.find(type); it != table.end()) it->second(message);
    throw RemoteError(std::move(type), std::move(message), pid, std::move(function));
}

msgpack::object open_result(const char* data, std::size_t size, msgpack::object_handle& holder) {
    try {
        holder = msgpack::unpack(data, size);
    } catch (const std::exception& e) {
        throw DecodeError(std::string("concur::wire: a reply could not be decoded (") + e.what() +
                          "): truncated or corrupted");
    }
    const msgpack::object& o = holder.get();
    if (o.type != msgpack::type::ARRAY || o.via.array.size < 2 ||
        o.via.array.ptr[0].type != msgpack::type::POSITIVE_INTEGER)
        throw DecodeError("concur::wire: a reply is not a call outcome: corrupted or from another version");
    const msgpack::object* f = o.via.array.ptr;
    if (f[0].via.u64 == 0) return f[1];
    if (f[0].via.u64 != 1 || o.via.array.size != 5)
        throw DecodeError("concur::wire: a reply has an unknown outcome kind");
    std::string type, message, function;
    long pid = 0;
    try {
        type = f[1].as<std::string>();
        message = f[2].as<std::string>();
        function = f[3].as<std::string>();
        pid = f[4].as<long>();
    } catch (const msgpack::type_error&) {
        throw DecodeError("concur::wire: a reply's exception could not be decoded");
    }
    rethrow_remote(std::move(type), std::move(message), std::move(function), pid);
}

}  // namespace detail

void encode_value_header(Packer& p) {
    p.pack_array(2);
    p.pack(0u);
}

void encode_error(msgpack::sbuffer& reply, std::string_view type, std::string_view message,
                  std::string_view function, long pid) {
    Packer p(reply);
    p.pack_array(5);
    p.pack(1u);
    p.pack(type);
    p.pack(message);
    p.pack(function);
    p.pack(pid);
}

void encode_exception(msgpack::sbuffer& reply, std::exception_ptr e, std::string_view function, long pid) {
    try {
        std::rethrow_exception(e);
    } catch (const RemoteError& r) {
        // Re-raised from a nested call: keep the original type and origin.
        encode_error(reply, r.type_name(), r.message(), r.function(), r.pid());
    } catch (const std::exception& x) {
        encode_error(reply, demangle(typeid(x).name()), x.what(), function, pid);
    } catch (...) {
        encode_error(reply, "unknown", "an exception not derived from std::exception was thrown", function,
                     pid);
    }
}

void run_call(const char* data, std::size_t size, msgpack::sbuffer& reply, std::string* function_name) noexcept {
    detail::Invoker invoker = nullptr;
    const void* fn = nullptr;
    // The called function's readable name costs a symbol lookup and a
    // demangling: made only for an error report or a caller that asks.
    auto name = [&]() noexcept -> std::string {
        std::string n = "<undecoded call>";
        if (invoker) {
            try {
                invoker(nullptr, fn, nullptr, &n);
            } catch (...) {
            }
        }
        return n;
    };
    reply.clear();
    try {
        msgpack::object_handle holder;
        try {
            holder = msgpack::unpack(data, size);
        } catch (const std::exception& e) {
            throw DecodeError(std::string("concur::wire: a call could not be decoded (") + e.what() +
                              "): truncated or corrupted");
        }
        const msgpack::object& o = holder.get();
        if (o.type != msgpack::type::ARRAY || o.via.array.size != 5)
            throw DecodeError("concur::wire: a message is not a call: corrupted or from another version");
        const msgpack::object* f = o.via.array.ptr;
        CodeAddress inv, fn_at;
        try {
            inv.module = f[0].as<std::string>();
            inv.offset = f[1].as<std::uint64_t>();
            if (f[2].type != msgpack::type::NIL) {
                fn_at.module = f[2].as<std::string>();
                fn_at.offset = f[3].as<std::uint64_t>();
            }
        } catch (const msgpack::type_error&) {
            throw DecodeError("concur::wire: a call's function identity could not be decoded");
        }
        auto found = reinterpret_cast<detail::Invoker>(const_cast<void*>(resolve(inv)));
        if (f[2].type != msgpack::type::NIL) fn = resolve(fn_at);
        invoker = found;
        // The value is packed straight after the outcome's header; if the
        // call or its packing throws, the reply is started over as an error.
        Packer r(reply);
        encode_value_header(r);
        invoker(&f[4], fn, &r, nullptr);
    } catch (...) {
        reply.clear();
        std::string function = name();
        if (function_name) *function_name = function;
        // getpid() is a system call (glibc no longer caches it): only here.
        encode_exception(reply, std::current_exception(), function, static_cast<long>(::getpid()));
        return;
    }
    if (function_name) *function_name = name();
}

}  // namespace concur::wire
