// Which values may cross a process, and how they are written: msgpack-cxx
// (as Ray's C++ API does), with the standard types concur promises.
//
// Serializable out of the box: arithmetic types (not long double nor
// char8_t/char16_t/char32_t, which msgpack does not carry), enums,
// std::string, vector, array, deque, list, map, unordered_map, set,
// unordered_set, optional, variant, pair, tuple, std::monostate (Python's
// None), and nesting of all of these. A user type opts in either with
// msgpack's MSGPACK_DEFINE(members...) in its body, or by specializing
// concur::wire::codec<T> (below) when it cannot be changed. Anything else is
// a compile-time error that names the type (see wire::cannot_cross_a_process).
#pragma once

#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST 1
#endif
#include <msgpack.hpp>

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

namespace concur::wire {

using Packer = msgpack::packer<msgpack::sbuffer>;

// The hook for a type that cannot carry MSGPACK_DEFINE (a third-party type):
//
//   template <> struct concur::wire::codec<geo::Point> {
//       static void pack(concur::wire::Packer& p, const geo::Point& v) {
//           p.pack(std::make_tuple(v.x, v.y));
//       }
//       static geo::Point unpack(const msgpack::object& o) {
//           auto [x, y] = o.as<std::tuple<double, double>>();
//           return {x, y};
//       }
//   };
//
// unpack throws (msgpack::type_error or wire::DecodeError) on a malformed value.
template <class T>
struct codec;

namespace detail {

template <class T>
concept has_codec = requires(Packer& p, const T& v, const msgpack::object& o) {
    codec<T>::pack(p, v);
    { codec<T>::unpack(o) } -> std::same_as<T>;
};

template <class T>
concept has_msgpack_define = requires(T& v, const T& cv, Packer& p, const msgpack::object& o) {
    cv.msgpack_pack(p);
    v.msgpack_unpack(o);
};

// The arithmetic types msgpack-cxx has adaptors for: all but long double (no
// msgpack format) and char8_t/char16_t/char32_t (no adaptor); an enum as its
// underlying type.
template <class T>
consteval bool packable_scalar() {
    if constexpr (std::is_enum_v<T>) {
        return packable_scalar<std::underlying_type_t<T>>();
    } else {
        return std::is_arithmetic_v<T> && !std::is_same_v<T, long double> && !std::is_same_v<T, char8_t> &&
               !std::is_same_v<T, char16_t> && !std::is_same_v<T, char32_t>;
    }
}

template <class T>
struct serializable
    : std::bool_constant<packable_scalar<T>() || has_codec<T> || has_msgpack_define<T>> {};
template <class T>
inline constexpr bool serializable_v = serializable<std::remove_cv_t<T>>::value;

template <>
struct serializable<std::string> : std::true_type {};
template <>
struct serializable<std::monostate> : std::true_type {};
template <>
struct serializable<std::byte> : std::true_type {};
template <class T, class A>
struct serializable<std::vector<T, A>> : serializable<T> {};
template <class T, std::size_t N>
struct serializable<std::array<T, N>> : serializable<T> {};
template <class T, class A>
struct serializable<std::deque<T, A>> : serializable<T> {};
template <class T, class A>
struct serializable<std::list<T, A>> : serializable<T> {};
template <class T, class C, class A>
struct serializable<std::set<T, C, A>> : serializable<T> {};
template <class T, class H, class E, class A>
struct serializable<std::unordered_set<T, H, E, A>> : serializable<T> {};
template <class K, class V, class C, class A>
struct serializable<std::map<K, V, C, A>>
    : std::bool_constant<serializable_v<K> && serializable_v<V>> {};
template <class K, class V, class H, class E, class A>
struct serializable<std::unordered_map<K, V, H, E, A>>
    : std::bool_constant<serializable_v<K> && serializable_v<V>> {};
template <class T>
struct serializable<std::optional<T>> : serializable<T> {};
template <class A, class B>
struct serializable<std::pair<A, B>> : std::bool_constant<serializable_v<A> && serializable_v<B>> {};
template <class... T>
struct serializable<std::tuple<T...>> : std::bool_constant<(serializable_v<T> && ...)> {};
template <class... T>
struct serializable<std::variant<T...>> : std::bool_constant<(serializable_v<T> && ...)> {};

}  // namespace detail

// True for every type that may be an argument or result of a call that
// crosses a process.
template <class T>
concept Serializable = detail::serializable_v<T>;

// Instantiated for a type that cannot cross a process, so that the compiler's
// message names the type: "in instantiation of cannot_cross_a_process<T>".
template <class T>
struct cannot_cross_a_process {
    static_assert(Serializable<T>,
                  "concur::wire: this type cannot cross a process. Give it MSGPACK_DEFINE(members...) "
                  "or specialize concur::wire::codec<T> (docs/python-guide.md, 'What may cross a "
                  "process'); pointers and references never cross.");
    static constexpr bool value = Serializable<T>;
};

// Checked at every point where a value is sent (arguments, results, queue
// items): a compile-time error naming T if it cannot be serialized.
template <class T>
inline constexpr bool require_serializable = cannot_cross_a_process<std::remove_cvref_t<T>>::value;

// A vector of values that crosses in bulk: when T is a number (not bool), as
// one msgpack BIN -- integers as a count and, for each, its difference from
// the one before as a zigzag varint (a difference below 64 in magnitude takes
// one byte, below 8192 two: a run of consecutive or nearby integers, as a
// map over a range has, a byte each), floating point as its bytes --
// which costs a tight loop to write and to read, where an array of numbers
// costs a decoded msgpack object per item. Other types travel as an ordinary
// array. Floating-point bytes are in the sender's representation: both ends
// run the same binary (a pool's workers, the ranks of one MPI job). For a
// map's chunks: thousands of results, one per call.
template <class T>
struct Bulk {
    using value_type = T;
    std::vector<T> values;
};

namespace detail {

// Varints (LEB128): 7 bits a byte, low bits first, the top bit says that
// more follow.
inline char* put_varint(char* out, std::uint64_t v) noexcept {
    while (v >= 0x80) {
        *out++ = static_cast<char>(v | 0x80);
        v >>= 7;
    }
    *out++ = static_cast<char>(v);
    return out;
}
// False if the bytes end first or the value needs more than 64 bits.
inline bool get_varint(const unsigned char*& in, const unsigned char* end, std::uint64_t& v) noexcept {
    v = 0;
    for (int shift = 0; shift < 64 && in < end; shift += 7) {
        unsigned char b = *in++;
        v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
        if (!(b & 0x80)) return shift < 63 || b <= 1;
    }
    return false;
}
// An integer as 64 bits (sign-extended), and back: false if `bits` holds
// no value of T.
template <class T>
std::uint64_t widen(T x) noexcept {
    if constexpr (std::is_signed_v<T>) {
        return static_cast<std::uint64_t>(static_cast<std::int64_t>(x));
    } else {
        return static_cast<std::uint64_t>(x);
    }
}
template <class T>
bool narrow(std::uint64_t bits, T& out) noexcept {
    if constexpr (std::is_signed_v<T>) {
        auto v = static_cast<std::int64_t>(bits);
        if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) return false;
        out = static_cast<T>(v);
    } else {
        if (bits > std::numeric_limits<T>::max()) return false;
        out = static_cast<T>(bits);
    }
    return true;
}
// Zigzag: small magnitudes of either sign become small unsigned numbers.
inline std::uint64_t zigzag(std::int64_t v) noexcept {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
inline std::int64_t unzigzag(std::uint64_t z) noexcept {
    return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
}

template <class T>
inline constexpr bool bulk_varints = std::is_integral_v<T> && !std::is_same_v<T, bool>;
template <class T>
inline constexpr bool bulk_raw = std::is_floating_point_v<T>;
// Whether a Bulk<T> crosses as a BIN (numbers) rather than an array.
template <class T>
inline constexpr bool bulk_as_bytes = bulk_varints<T> || bulk_raw<T>;

// Appends the values a Bulk<T>'s BIN body holds to `out`. False if the bytes
// are torn or corrupted (a count beyond them, a value that does not fit T,
// bytes left over); `out` may then hold some of the values.
template <class T>
bool append_bulk_bytes(const char* data, std::size_t size, std::vector<T>& out) {
    if constexpr (bulk_varints<T>) {
        auto* in = reinterpret_cast<const unsigned char*>(data);
        const unsigned char* end = in + size;
        std::uint64_t count = 0;
        // Every value takes a byte at least: a count beyond the bytes is a lie.
        if (!get_varint(in, end, count) || count > static_cast<std::uint64_t>(end - in)) return false;
        out.reserve(out.size() + static_cast<std::size_t>(count));
        std::uint64_t bits = 0;
        for (std::uint64_t i = 0; i < count; ++i) {
            std::uint64_t z;
            T x;
            if (!get_varint(in, end, z)) return false;
            bits += static_cast<std::uint64_t>(unzigzag(z));  // wraps, as the sender's subtraction did
            if (!narrow(bits, x)) return false;
            out.push_back(x);
        }
        return in == end;
    } else {
        static_assert(bulk_raw<T>);
        if (size % sizeof(T) != 0) return false;
        std::size_t at = out.size();
        out.resize(at + size / sizeof(T));
        if (size) std::memcpy(out.data() + at, data, size);
        return true;
    }
}

}  // namespace detail

template <class T>
struct codec<Bulk<T>> {
    static void pack(Packer& p, const Bulk<T>& b) {
        if constexpr (detail::bulk_varints<T>) {
            // Written into a buffer kept by the thread, then copied once.
            thread_local std::vector<char> scratch;
            std::size_t most = 10 * (b.values.size() + 1);
            if (scratch.size() < most) scratch.resize(most);
            char* at = detail::put_varint(scratch.data(), b.values.size());
            std::uint64_t previous = 0;
            for (T x : b.values) {
                std::uint64_t bits = detail::widen(x);
                at = detail::put_varint(at, detail::zigzag(static_cast<std::int64_t>(bits - previous)));
                previous = bits;
            }
            auto bytes = static_cast<std::uint32_t>(at - scratch.data());
            p.pack_bin(bytes);
            p.pack_bin_body(scratch.data(), bytes);
        } else if constexpr (detail::bulk_raw<T>) {
            auto bytes = static_cast<std::uint32_t>(b.values.size() * sizeof(T));
            p.pack_bin(bytes);
            p.pack_bin_body(reinterpret_cast<const char*>(b.values.data()), bytes);
        } else {
            p.pack(b.values);
        }
    }
    static Bulk<T> unpack(const msgpack::object& o) {
        Bulk<T> b;
        if constexpr (detail::bulk_as_bytes<T>) {
            if (o.type != msgpack::type::BIN || !detail::append_bulk_bytes(o.via.bin.ptr, o.via.bin.size, b.values))
                throw msgpack::type_error();
        } else {
            b.values = o.as<std::vector<T>>();
        }
        return b;
    }
};

// A Bulk<T> as it arrived, read later: the receiving side of an MPI map
// decodes its chunks' results on the thread that consumes them, straight
// into the caller's vector, instead of on the thread that receives every
// message (which then only copies bytes). Numbers keep their BIN body in
// `bytes`; other types are decoded on arrival into `values`, as Bulk<T>.
// Receive-only: it unpacks what a Bulk<T> packs and is never sent.
template <class T>
struct PackedBulk {
    using value_type = T;
    std::string bytes;
    std::vector<T> values;

    // Appends the values to `out` (moving them out of `values`). Throws
    // msgpack::type_error if the bytes are torn or corrupted. Any thread.
    void append_to(std::vector<T>& out) {
        if constexpr (detail::bulk_as_bytes<T>) {
            if (!detail::append_bulk_bytes(bytes.data(), bytes.size(), out)) throw msgpack::type_error();
        } else {
            out.insert(out.end(), std::make_move_iterator(values.begin()), std::make_move_iterator(values.end()));
        }
    }
};

template <class T>
struct codec<PackedBulk<T>> {
    static void pack(Packer&, const PackedBulk<T>&) {
        static_assert(sizeof(T) == 0, "concur::wire: a PackedBulk is received, never sent: send a Bulk");
    }
    static PackedBulk<T> unpack(const msgpack::object& o) {
        PackedBulk<T> b;
        if constexpr (detail::bulk_as_bytes<T>) {
            if (o.type != msgpack::type::BIN) throw msgpack::type_error();
            b.bytes.assign(o.via.bin.ptr, o.via.bin.size);
        } else {
            b.values = o.as<std::vector<T>>();
        }
        return b;
    }
};

namespace detail {
template <class T>
struct serializable<Bulk<T>> : serializable<T> {};
template <class T>
struct serializable<PackedBulk<T>> : serializable<T> {};
}  // namespace detail

}  // namespace concur::wire

// msgpack adaptors for what msgpack-cxx lacks: any enum (as its underlying
// integer), std::variant (as [index, value]), std::monostate (nil), and types
// with a concur::wire::codec specialization.
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
namespace adaptor {

template <class E>
struct pack<E, std::enable_if_t<std::is_enum_v<E>>> {
    template <class S>
    packer<S>& operator()(packer<S>& p, const E& v) const {
        return p.pack(static_cast<std::underlying_type_t<E>>(v));
    }
};
template <class E>
struct convert<E, std::enable_if_t<std::is_enum_v<E>>> {
    const msgpack::object& operator()(const msgpack::object& o, E& v) const {
        v = static_cast<E>(o.as<std::underlying_type_t<E>>());
        return o;
    }
};

template <>
struct pack<std::monostate> {
    template <class S>
    packer<S>& operator()(packer<S>& p, const std::monostate&) const {
        return p.pack_nil();
    }
};
template <>
struct convert<std::monostate> {
    const msgpack::object& operator()(const msgpack::object& o, std::monostate&) const {
        if (o.type != msgpack::type::NIL) throw msgpack::type_error();
        return o;
    }
};

template <class... T>
struct pack<std::variant<T...>> {
    template <class S>
    packer<S>& operator()(packer<S>& p, const std::variant<T...>& v) const {
        p.pack_array(2);
        p.pack(static_cast<std::uint32_t>(v.index()));
        std::visit([&](const auto& x) { p.pack(x); }, v);
        return p;
    }
};
template <class... T>
struct convert<std::variant<T...>> {
    const msgpack::object& operator()(const msgpack::object& o, std::variant<T...>& v) const {
        if (o.type != msgpack::type::ARRAY || o.via.array.size != 2) throw msgpack::type_error();
        auto index = o.via.array.ptr[0].as<std::uint32_t>();
        if (index >= sizeof...(T)) throw msgpack::type_error();
        emplace(index, o.via.array.ptr[1], v, std::index_sequence_for<T...>{});
        return o;
    }

private:
    template <std::size_t... I>
    static void emplace(std::uint32_t index, const msgpack::object& value, std::variant<T...>& v,
                        std::index_sequence<I...>) {
        ((index == I ? (void)(v.template emplace<I>(
                           value.as<std::variant_alternative_t<I, std::variant<T...>>>()))
                     : void()),
         ...);
    }
};

// as<> too, so that a variant whose alternatives are not default-
// constructible (convert needs an existing variant) is built in place.
template <class... T>
struct as<std::variant<T...>> {
    std::variant<T...> operator()(const msgpack::object& o) const {
        if (o.type != msgpack::type::ARRAY || o.via.array.size != 2) throw msgpack::type_error();
        auto index = o.via.array.ptr[0].as<std::uint32_t>();
        if (index >= sizeof...(T)) throw msgpack::type_error();
        return make<0>(index, o.via.array.ptr[1]);
    }

private:
    template <std::size_t I>
    static std::variant<T...> make(std::uint32_t index, const msgpack::object& value) {
        if constexpr (I + 1 < sizeof...(T)) {
            if (index != I) return make<I + 1>(index, value);
        }
        return std::variant<T...>(std::in_place_index<I>,
                                  value.as<std::variant_alternative_t<I, std::variant<T...>>>());
    }
};

template <class T>
struct pack<T, std::enable_if_t<concur::wire::detail::has_codec<T>>> {
    template <class S>
    packer<S>& operator()(packer<S>& p, const T& v) const {
        concur::wire::codec<T>::pack(p, v);
        return p;
    }
};
template <class T>
struct as<T, std::enable_if_t<concur::wire::detail::has_codec<T>>> {
    T operator()(const msgpack::object& o) const { return concur::wire::codec<T>::unpack(o); }
};
template <class T>
struct convert<T, std::enable_if_t<concur::wire::detail::has_codec<T>>> {
    const msgpack::object& operator()(const msgpack::object& o, T& v) const {
        v = concur::wire::codec<T>::unpack(o);
        return o;
    }
};

}  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE
}  // namespace msgpack
