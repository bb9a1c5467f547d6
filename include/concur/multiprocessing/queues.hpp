// Python's multiprocessing.Queue, SimpleQueue and JoinableQueue: FIFO queues
// that several processes put to and get from at once.
//
//   any process                 the kernel                  any process
//   put(item)                   one Unix socket pair        get()
//     encode (msgpack) -------> [frame|frame|frame ...] --> rlock: read one frame
//     slots: count < maxsize?        ^                      count -1, wake a putter
//     wlock free and room? ----------+ write now            decode (outside rlock)
//     else --> this process's feeder thread (started on first need)
//              waits for wlock and room, writes in put order
//
//   shared memory (one memfd): rlock, wlock (futex locks: one reader and one
//   writer at a time, so frames never interleave), count (items put and not
//   yet taken: qsize, full, the maxsize bound), unfinished (JoinableQueue).
//
// Handles are cheap copies of one queue (a Python reference), and a handle
// crosses a process as a Process argument or inside a message: the socket
// and memory descriptors travel, so every start method reaches the same
// queue. Items must satisfy wire::Serializable; descriptor-backed items (a
// Connection, another Queue, a process-shared Lock) travel too.
//
// The feeder, and how it differs from Python's: Python's put() always hands
// the item to a background thread, so put() never blocks on an unbounded
// queue, an item may still be in that thread when put() returns, and
// get_nowait() right after put() may raise Empty. Here put() writes the frame
// itself when it can do so without waiting (the common case: no feeder
// thread ever starts); only the part that would block -- another writer holds
// wlock, or the socket buffer is full because nobody reads -- goes to a
// feeder thread, one per process and queue, which keeps this process's puts
// in order. So put() still never waits for a reader (a 1 MiB put followed by
// a get() in the same thread works), and a process must not exit (or destroy
// its last handle) before its feeder has flushed: the last handle's
// destructor and join_thread() wait for that, as Python waits at exit -- and,
// as Python warns, that wait lasts while nobody reads the queue.
// cancel_join_thread() drops unflushed items instead (and an item the
// feeder had half written is then cut short: readers of the queue would wait
// for its rest forever, as Python warns for cancel_join_thread()).
//
// A process killed while it holds rlock or wlock (inside get() or put())
// leaves the queue unusable, as in Python.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <typeinfo>
#include <utility>

#include "concur/detail/deadline.hpp"
#include "concur/errors.hpp"
#include "concur/multiprocessing/connection.hpp"
#include "concur/wire/frame.hpp"

namespace concur::multiprocessing {

template <class T>
class Queue;
template <class T>
class SimpleQueue;
template <class T>
class JoinableQueue;

namespace detail {

enum class QueueKind : std::uint32_t { queue = 1, simple = 2, joinable = 3 };

// What a handle holds: the descriptors and shared memory of one queue in this
// process, and this process's feeder. Shared by every copy of a handle in
// one process; never by two processes (each decodes its own).
class QueueCore {
public:
    static std::shared_ptr<QueueCore> create(QueueKind kind, std::ptrdiff_t maxsize, std::uint32_t item_type);
    ~QueueCore();  // flushes the feeder unless cancelled (see the top of this file)

    // Waits for a slot (maxsize) as `block` and `deadline` say -- throws
    // queue::Full when none came -- then writes `item` or hands it to the
    // feeder. Throws ValueError after close(), ValueError over 1 GiB.
    void put(Encoded& item, bool block, const concur::detail::Deadline& deadline);
    // Reads one frame; throws queue::Empty when none came in time, ValueError
    // after close(), EOFError if every writer is gone mid-frame.
    Frame get(bool block, const concur::detail::Deadline& deadline);

    std::size_t qsize() const noexcept;
    bool full() const noexcept;
    std::ptrdiff_t maxsize() const noexcept;
    void close() noexcept;
    void join_thread();
    void cancel_join_thread() noexcept;
    void task_done();
    void join();

    void pack(wire::Packer& p) const;
    // Throws wire::DecodeError when `o` is not a queue of one of `kinds`
    // holding items of `item_type`.
    static std::shared_ptr<QueueCore> unpack(const msgpack::object& o, std::uint32_t item_type,
                                             std::initializer_list<QueueKind> kinds);

    struct Shared;
    struct Local;
    struct State;
    struct Pending;
    explicit QueueCore(std::unique_ptr<State> state) noexcept;

private:
    Local& local();  // this process's feeder state (renewed after a fork)
    void feed(Local& l);
    bool write_out(Pending& p, Local& l);
    void undo_put() noexcept;
    void stop_feeder();
    std::unique_ptr<State> s_;
};

// Encodes `item` after room for its frame header, which QueueCore::put
// fills in (so that a large item is never copied to be framed).
template <class T>
void encode_item(const T& item, Encoded& out) {
    static constexpr char header[sizeof(wire::FrameHeader)] = {};
    out.data.write(header, sizeof header);
    encode_value(item, out);
}

// A stable per-type number, so that a Queue<std::string> arriving where a
// Queue<int> is expected is a DecodeError rather than garbage later.
std::uint32_t type_tag(const std::type_info& type) noexcept;

}  // namespace detail

// Python's multiprocessing.Queue(maxsize). Every member may be called from
// any thread of any process holding a handle.
template <class T>
class Queue {
    static_assert(wire::require_serializable<T>);

public:
    using value_type = T;

    // maxsize <= 0: unbounded. Throws OSError when out of descriptors.
    explicit Queue(std::ptrdiff_t maxsize = 0)
        : core_(detail::QueueCore::create(detail::QueueKind::queue, maxsize, tag())) {}

    // Puts `item`; blocks only for a free slot of a bounded queue (never for
    // a reader: see the feeder above). Throws ValueError after close(),
    // wire::EncodeError for an item that cannot be encoded.
    void put(const T& item) { put_impl(item, true, {}); }
    // put(item, false) is put_nowait(item).
    void put(const T& item, bool block) { put_impl(item, block, {}); }
    // Throws queue::Full when no slot frees within `timeout` (ignored when
    // `block` is false), ValueError for a negative one.
    template <class Rep, class Period>
    void put(const T& item, bool block, std::chrono::duration<Rep, Period> timeout) {
        put_impl(item, block, block ? concur::detail::Deadline(timeout) : concur::detail::Deadline());
    }
    template <class Rep, class Period>
    void put(const T& item, std::chrono::duration<Rep, Period> timeout) {
        put(item, true, timeout);
    }
    // Never waits; throws queue::Full when a bounded queue has no slot.
    void put_nowait(const T& item) { put_impl(item, false, {}); }

    // Removes and returns the oldest item; blocks until one arrives. Throws
    // ValueError after close(), wire::DecodeError for an item that does not
    // decode (it is consumed), EOFError when no writer is left mid-item.
    T get() { return get_impl(true, {}); }
    T get(bool block) { return get_impl(block, {}); }
    // Throws queue::Empty when nothing arrives within `timeout` (ignored when
    // `block` is false), ValueError for a negative one.
    template <class Rep, class Period>
    T get(bool block, std::chrono::duration<Rep, Period> timeout) {
        return get_impl(block, block ? concur::detail::Deadline(timeout) : concur::detail::Deadline());
    }
    template <class Rep, class Period>
    T get(std::chrono::duration<Rep, Period> timeout) {
        return get(true, timeout);
    }
    // Never waits for an item (only, briefly, for another reader); throws
    // queue::Empty. An item still in another process's feeder is not there yet.
    T get_nowait() { return get_impl(false, {}); }

    // Items put and not yet taken, every process counted (as Python, those
    // still in a feeder too); stale as soon as it returns. Never block.
    [[nodiscard]] std::size_t qsize() const noexcept { return core_->qsize(); }
    [[nodiscard]] bool empty() const noexcept { return qsize() == 0; }
    [[nodiscard]] bool full() const noexcept { return core_->full(); }
    [[nodiscard]] std::ptrdiff_t maxsize() const noexcept { return core_->maxsize(); }

    // This process will put and get no more through this queue (every
    // handle in it): put() and get() throw ValueError from now on. The feeder
    // still flushes what was put. Never blocks; throws nothing.
    void close() noexcept { core_->close(); }
    // Blocks until this process's feeder has written everything put (at
    // once when there is none). Throws ValueError before close(), as Python.
    void join_thread() { core_->join_thread(); }
    // Makes close(), join_thread() and the last handle's destructor drop what
    // the feeder has not written instead of waiting (Python: lets a process
    // exit without flushing). Never blocks.
    void cancel_join_thread() noexcept { core_->cancel_join_thread(); }

protected:
    explicit Queue(std::shared_ptr<detail::QueueCore> core) noexcept : core_(std::move(core)) {}
    static std::uint32_t tag() noexcept { return detail::type_tag(typeid(T)); }

    void put_impl(const T& item, bool block, const concur::detail::Deadline& deadline) {
        detail::Encoded e;
        detail::encode_item(item, e);
        core_->put(e, block, deadline);
    }
    T get_impl(bool block, const concur::detail::Deadline& deadline) {
        detail::Frame frame = core_->get(block, deadline);
        return detail::decode_value<T>(frame);
    }

    std::shared_ptr<detail::QueueCore> core_;
    friend struct wire::codec<Queue<T>>;
    friend struct wire::codec<JoinableQueue<T>>;
};

// Python's multiprocessing.JoinableQueue: a Queue that counts unfinished
// tasks. Each put() adds one (in shared memory: every process sees it).
template <class T>
class JoinableQueue : public Queue<T> {
public:
    explicit JoinableQueue(std::ptrdiff_t maxsize = 0)
        : Queue<T>(detail::QueueCore::create(detail::QueueKind::joinable, maxsize, Queue<T>::tag())) {}

    // Marks one item taken by get() as processed; wakes every join()er when
    // none is left. Never blocks. Throws ValueError if called more times than
    // items were put.
    void task_done() { this->core_->task_done(); }
    // Blocks until every item put (by any process) is marked task_done().
    // Throws nothing of its own.
    void join() { this->core_->join(); }

private:
    explicit JoinableQueue(std::shared_ptr<detail::QueueCore> core) noexcept : Queue<T>(std::move(core)) {}
    friend struct wire::codec<JoinableQueue<T>>;
};

// Python's multiprocessing.SimpleQueue: unbounded, no task counting. Here it
// is a Queue with fewer members (the same feeder: put() never waits for a
// reader, where Python's blocks once the pipe is full).
template <class T>
class SimpleQueue {
    static_assert(wire::require_serializable<T>);

public:
    using value_type = T;
    SimpleQueue() : core_(detail::QueueCore::create(detail::QueueKind::simple, 0, tag())) {}

    // As Queue::put / get / empty / close.
    void put(const T& item) {
        detail::Encoded e;
        detail::encode_item(item, e);
        core_->put(e, true, {});
    }
    T get() {
        detail::Frame frame = core_->get(true, {});
        return detail::decode_value<T>(frame);
    }
    [[nodiscard]] bool empty() const noexcept { return core_->qsize() == 0; }
    void close() noexcept { core_->close(); }

private:
    explicit SimpleQueue(std::shared_ptr<detail::QueueCore> core) noexcept : core_(std::move(core)) {}
    static std::uint32_t tag() noexcept { return detail::type_tag(typeid(T)); }
    std::shared_ptr<detail::QueueCore> core_;
    friend struct wire::codec<SimpleQueue<T>>;
};

}  // namespace concur::multiprocessing

// Each handle crosses a process as its two socket descriptors and its shared
// memory; the receiver gets a handle on the same queue (with its own feeder).
template <class T>
struct concur::wire::codec<concur::multiprocessing::Queue<T>> {
    using Q = concur::multiprocessing::Queue<T>;
    static void pack(Packer& p, const Q& q) { q.core_->pack(p); }
    static Q unpack(const msgpack::object& o) {
        using K = concur::multiprocessing::detail::QueueKind;
        return Q(concur::multiprocessing::detail::QueueCore::unpack(o, Q::tag(), {K::queue, K::joinable}));
    }
};
template <class T>
struct concur::wire::codec<concur::multiprocessing::JoinableQueue<T>> {
    using Q = concur::multiprocessing::JoinableQueue<T>;
    static void pack(Packer& p, const Q& q) { q.core_->pack(p); }
    static Q unpack(const msgpack::object& o) {
        using K = concur::multiprocessing::detail::QueueKind;
        return Q(concur::multiprocessing::detail::QueueCore::unpack(o, Q::tag(), {K::joinable}));
    }
};
template <class T>
struct concur::wire::codec<concur::multiprocessing::SimpleQueue<T>> {
    using Q = concur::multiprocessing::SimpleQueue<T>;
    static void pack(Packer& p, const Q& q) { q.core_->pack(p); }
    static Q unpack(const msgpack::object& o) {
        using K = concur::multiprocessing::detail::QueueKind;
        return Q(concur::multiprocessing::detail::QueueCore::unpack(o, Q::tag(), {K::simple}));
    }
};
