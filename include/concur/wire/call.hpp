// How a call crosses a process: encode_call() on the sending side,
// run_call() in the worker, decode_result<R>() back on the sending side.
//
// The function is sent by identity (wire/function.hpp): a plain function as
// its own address, a captureless lambda or stateless functor as nothing at all
// (its type is baked into the invoker, which default-constructs it). What is
// sent is the address of the invoker -- a template instantiated for exactly
// (function type, argument types) -- which decodes the arguments, calls, and
// encodes the result. No registration, no type erasure on the wire.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "concur/errors.hpp"
#include "concur/wire/codec.hpp"
#include "concur/wire/function.hpp"

namespace concur::wire {

// The type an argument is sent and received as: decayed, with C strings
// becoming std::string (a pointer cannot cross a process).
template <class T>
using arg_t = std::conditional_t<
    std::is_same_v<std::decay_t<T>, const char*> || std::is_same_v<std::decay_t<T>, char*>,
    std::string, std::decay_t<T>>;

template <class F>
inline constexpr bool is_function_pointer_v =
    std::is_pointer_v<std::decay_t<F>> && std::is_function_v<std::remove_pointer_t<std::decay_t<F>>>;

// A callable that another process can find by identity alone: a plain
// function, or a class with no state that it can default-construct (a
// captureless lambda, since C++20, or a stateless functor).
template <class F>
concept Sendable = is_function_pointer_v<F> ||
                   (std::is_class_v<std::decay_t<F>> && std::is_empty_v<std::decay_t<F>> &&
                    std::is_default_constructible_v<std::decay_t<F>>);

// The static_assert every cross-process entry point makes, with the advice.
template <class F>
inline constexpr bool require_sendable = [] {
    static_assert(Sendable<F>,
                  "concur: a function that runs in another process must be a plain function or a "
                  "lambda without captures (a capturing lambda or std::function carries state that "
                  "cannot be sent): pass the captured values as arguments instead");
    return true;
}();

namespace detail {
template <class Fn, class... A>
struct call_result {
    // `typename`: clang 14 does not implement C++20's implicit typename here.
    using type = typename std::conditional_t<std::is_invocable_v<Fn&, A&...>, std::invoke_result<Fn&, A&...>,
                                             std::invoke_result<Fn&, A&&...>>::type;
};
}  // namespace detail

// What fn(args...) returns when the worker calls it with the received values.
template <class F, class... Args>
using call_result_t = typename detail::call_result<std::decay_t<F>, arg_t<Args>...>::type;

// What the sending side gets back: void becomes std::monostate on the wire.
template <class R>
using wire_value_t = std::conditional_t<std::is_void_v<R>, std::monostate, std::decay_t<R>>;

namespace detail {

// The invoker's signature. With args == nullptr it only writes the called
// function's readable name (for error reports).
using Invoker = void (*)(const msgpack::object* args, const void* fn, Packer* out, std::string* name);

[[noreturn]] void throw_bad_arguments(const char* what, std::size_t got, std::size_t want);

// Arguments are passed as lvalues when the function accepts them (so that a
// parameter `Lock&` binds to the received handle), else moved.
template <class Fn, class Tuple, std::size_t... I>
decltype(auto) apply_args(Fn& f, Tuple& t, std::index_sequence<I...>) {
    if constexpr (std::is_invocable_v<Fn&, std::tuple_element_t<I, Tuple>&...>) {
        return f(std::get<I>(t)...);
    } else {
        return f(std::move(std::get<I>(t))...);
    }
}

template <class Fn, class... A>
void invoke(const msgpack::object* args, const void* fn, Packer* out, std::string* name) {
    if (!args) {
        if constexpr (is_function_pointer_v<Fn>) {
            *name = describe(fn);
        } else {
            *name = demangle(typeid(Fn).name());
        }
        return;
    }
    if (args->type != msgpack::type::ARRAY || args->via.array.size != sizeof...(A))
        throw_bad_arguments("argument count", args->type == msgpack::type::ARRAY ? args->via.array.size : 0,
                            sizeof...(A));
    // as<T>() rather than convert(): argument types need not be default-
    // constructible (descriptor-backed handles are not).
    auto decode = [&]<std::size_t... I>(std::index_sequence<I...>) {
        try {
            return std::tuple<A...>{args->via.array.ptr[I].template as<A>()...};
        } catch (const msgpack::type_error&) {
            throw_bad_arguments("argument types", sizeof...(A), sizeof...(A));
        }
    };
    std::tuple<A...> values = decode(std::index_sequence_for<A...>{});
    auto call = [&]() -> decltype(auto) {
        if constexpr (is_function_pointer_v<Fn>) {
            Fn f = reinterpret_cast<Fn>(const_cast<void*>(fn));
            return apply_args(f, values, std::index_sequence_for<A...>{});
        } else {
            Fn f{};
            return apply_args(f, values, std::index_sequence_for<A...>{});
        }
    };
    using R = decltype(call());
    if constexpr (std::is_void_v<R>) {
        call();
        out->pack_nil();
    } else {
        out->pack(call());
    }
}

const CodeAddress& locate_cached(const void* code);

template <class Fn, class... A>
const CodeAddress& invoker_address() {
    // Once per instantiation: locating walks the loaded modules.
    static const CodeAddress where = locate(reinterpret_cast<const void*>(&invoke<Fn, A...>));
    return where;
}

[[noreturn]] void rethrow_remote(std::string type, std::string message, std::string function, long pid);

}  // namespace detail

// Appends the encoded call fn(args...) to `out`. Compile-time errors for a
// function that cannot be sent and for arguments or a result that cannot be
// serialized. Throws wire::EncodeError (a descriptor-backed argument with no
// descriptor channel, a function in no module). Any thread.
template <class F, class... Args>
void encode_call(msgpack::sbuffer& out, F&& fn, Args&&... args) {
    static_assert(require_sendable<F>);
    static_assert((require_serializable<arg_t<Args>> && ...));
    using R = call_result_t<F, Args...>;
    static_assert(require_serializable<wire_value_t<R>>);
    using Fn = std::decay_t<F>;
    const CodeAddress& inv = detail::invoker_address<Fn, arg_t<Args>...>();
    Packer p(out);
    p.pack_array(5);
    p.pack(inv.module);
    p.pack(inv.offset);
    if constexpr (is_function_pointer_v<Fn>) {
        const CodeAddress& at = detail::locate_cached(reinterpret_cast<const void*>(fn));
        p.pack(at.module);
        p.pack(at.offset);
    } else {
        p.pack_nil();
        p.pack_nil();
    }
    p.pack_array(sizeof...(Args));
    [[maybe_unused]] auto pack_arg = [&]<class A>(const A& a) {  // unused with no arguments
        if constexpr (std::is_same_v<std::decay_t<A>, arg_t<A>>) {
            p.pack(a);  // no copy
        } else {
            p.pack(arg_t<A>(a));
        }
    };
    (pack_arg(args), ...);
}

// Runs one encoded call in this process (the worker side) and writes its
// outcome to `reply` (replacing what it held): the result, or the exception it
// threw (type name, message, function, this pid), or a DecodeError if the call
// could not be decoded. Never throws; whatever the call does, `reply` is a
// valid outcome.
// If `function_name` is given, it receives the called function's name.
void run_call(const char* data, std::size_t size, msgpack::sbuffer& reply,
              std::string* function_name = nullptr) noexcept;

// Encodes an outcome directly (used by transports that fail a call before
// running it, and by run_call).
void encode_value_header(Packer& p);
void encode_error(msgpack::sbuffer& reply, std::string_view type, std::string_view message,
                  std::string_view function, long pid);
// Encodes the exception `e` the way run_call does.
void encode_exception(msgpack::sbuffer& reply, std::exception_ptr e, std::string_view function, long pid);

// Decodes an outcome written by run_call: returns the value, or rethrows the
// remote exception -- as its own type for the standard exceptions and
// concur's, else as concur::RemoteError. Throws wire::DecodeError for a
// malformed reply or a value of another type. Any thread.
template <class R>
wire_value_t<R> decode_result(const char* data, std::size_t size);

namespace detail {
// Unpacks a reply's envelope; returns the value object or rethrows.
msgpack::object open_result(const char* data, std::size_t size, msgpack::object_handle& holder);
}  // namespace detail

template <class R>
wire_value_t<R> decode_result(const char* data, std::size_t size) {
    msgpack::object_handle holder;
    msgpack::object value = detail::open_result(data, size, holder);
    try {
        return value.as<wire_value_t<R>>();
    } catch (const msgpack::type_error&) {
        throw DecodeError("concur::wire: the result does not have the expected type " +
                          demangle(typeid(wire_value_t<R>).name()));
    }
}

// A sendable function as a value, for calls that take a function as an
// argument (a map's chunk runner): a plain function travels as its code
// address, a stateless callable as nothing.
template <class Fn>
struct Function {
    static_assert(require_sendable<Fn>);
    Fn fn{};
};

template <class Fn>
struct codec<Function<Fn>> {
    static void pack(Packer& p, const Function<Fn>& f) {
        if constexpr (is_function_pointer_v<Fn>) {
            const CodeAddress& at = detail::locate_cached(reinterpret_cast<const void*>(f.fn));
            p.pack_array(2);
            p.pack(at.module);
            p.pack(at.offset);
        } else {
            p.pack_nil();
        }
    }
    static Function<Fn> unpack(const msgpack::object& o) {
        if constexpr (is_function_pointer_v<Fn>) {
            if (o.type != msgpack::type::ARRAY || o.via.array.size != 2) throw msgpack::type_error();
            CodeAddress at{o.via.array.ptr[0].as<std::string>(), o.via.array.ptr[1].as<std::uint64_t>()};
            return Function<Fn>{reinterpret_cast<Fn>(const_cast<void*>(resolve(at)))};
        } else {
            return Function<Fn>{};
        }
    }
};

}  // namespace concur::wire
