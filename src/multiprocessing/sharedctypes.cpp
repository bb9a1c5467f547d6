// The non-template parts of Value and Array: making and checking their block.
#include "concur/multiprocessing/sharedctypes.hpp"

#include <limits>

namespace concur::multiprocessing::detail {

static_assert(sizeof(CTypeHeader) <= kCTypeLockOffset);
static_assert(kCTypeLockOffset + sizeof(RLockState) <= kCTypeDataOffset);

SharedRef new_ctype_block(std::uint32_t tag, std::size_t elem_size, std::size_t length, bool lock) {
    const std::size_t limit = std::numeric_limits<std::size_t>::max() / 2 - kCTypeDataOffset;
    if (elem_size != 0 && length > limit / elem_size)
        throw ValueError("shared array of " + std::to_string(length) + " elements is too large");
    SharedBlock block = SharedBlock::create(kCTypeDataOffset + elem_size * length,
                                            tag == kValueTag ? "concur.Value" : "concur.Array");
    if (lock) place_state<RLockState>(block, kCTypeLockOffset);
    SharedRef r{block, 0};
    auto* h = new (block.data()) CTypeHeader{};
    h->elem_size.store(static_cast<std::uint32_t>(elem_size), std::memory_order_relaxed);
    h->length.store(length, std::memory_order_relaxed);
    h->has_lock.store(lock, std::memory_order_relaxed);
    h->tag.store(tag, std::memory_order_relaxed);
    return r;
}

SharedRef unpack_ctype(const msgpack::object& o, std::uint32_t tag, std::size_t elem_size) {
    SharedRef r = unpack_ref(o, tag, sizeof(CTypeHeader));
    auto* h = r.get<CTypeHeader>();
    std::uint64_t length = h->length.load(std::memory_order_relaxed);
    std::size_t room = r.block.size() - kCTypeDataOffset;
    if (r.offset != 0 || h->elem_size.load(std::memory_order_relaxed) != elem_size ||
        (elem_size != 0 && length > room / elem_size))
        throw wire::DecodeError("concur::multiprocessing: a received Value or Array holds another element type "
                                "than the function expects (sizeof differs)");
    if (h->has_lock.load(std::memory_order_relaxed)) checked_state<RLockState>(r.block, kCTypeLockOffset);
    return r;
}

}  // namespace concur::multiprocessing::detail
