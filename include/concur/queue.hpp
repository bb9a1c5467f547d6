// concur::queue — Python's `queue` module: synchronized queues that move items
// between threads.
//
//   producer threads                                  consumer threads
//   q.put(item) ---> [ Queue / LifoQueue / PriorityQueue ] ---> q.get()
//                     one mutex; a full bounded queue               |
//                     parks putters, an empty one parks getters     v
//   q.join()  <------------- unfinished_tasks ----------------- q.task_done()
//
//   SimpleQueue: put() never blocks, get() parks on empty; no task tracking,
//   no bound, no shutdown (as Python's).
//
// Python -> C++:
//   q = queue.Queue(maxsize=10)        concur::queue::Queue<Job> q{10};
//   q.put(job)                         q.put(std::move(job));
//   q.put(job, timeout=0.5)            q.put(std::move(job), 500ms);
//   q.put_nowait(job)                  q.put_nowait(std::move(job));
//   job = q.get(timeout=0.5)           Job job = q.get(500ms);
//   job = q.get(block=False)           Job job = q.get(false);
//   except queue.Empty:                catch (const concur::queue::Empty&)
//   q.task_done(); q.join()            q.task_done(); q.join();
//   q.shutdown(immediate=True)         q.shutdown(true);
//   queue.PriorityQueue()              concur::queue::PriorityQueue<std::pair<int, Job>>
//
// Where C++ differs: a put() that throws (Full, ShutDown, ValueError) leaves
// its argument untouched, so a move-only item is not lost; PriorityQueue takes
// a comparator (smallest first by default, as heapq; note that this is the
// opposite of std::priority_queue); maxsize is fixed at construction.
//
// Fairness: like CPython, a thread that arrives while others are parked may
// take an item (or slot) first; the parked threads are woken through
// std::condition_variable, which on glibc wakes them in roughly arrival order,
// so none is starved while the queue keeps moving.
#pragma once

#include <cstddef>
#include <functional>
#include <utility>

#include "concur/errors.hpp"
#include "concur/queue/basic_queue.hpp"
#include "concur/queue/simple_queue.hpp"

namespace concur::queue {

// Python's queue.Queue: first in, first out, optionally bounded, with
// task_done()/join() and shutdown(). Any thread may call any member; see
// detail::BasicQueue for what each one blocks on and throws.
template <class T>
class Queue : public detail::BasicQueue<T, detail::FifoStore<T>> {
public:
    // maxsize <= 0 means unbounded.
    explicit Queue(std::ptrdiff_t maxsize = 0)
        : detail::BasicQueue<T, detail::FifoStore<T>>(maxsize) {}
};

// Python's queue.LifoQueue: last in, first out; otherwise as Queue.
template <class T>
class LifoQueue : public detail::BasicQueue<T, detail::LifoStore<T>> {
public:
    explicit LifoQueue(std::ptrdiff_t maxsize = 0)
        : detail::BasicQueue<T, detail::LifoStore<T>>(maxsize) {}
};

// Python's queue.PriorityQueue: get() returns the smallest item under
// `Compare` (std::less: smallest first, as heapq; pass std::greater<T> for
// largest first). Items that compare equal come out in unspecified order, as
// in Python; add a sequence number to the item to make it stable. The
// comparator runs with the queue's mutex held: it must not use the queue.
template <class T, class Compare = std::less<T>>
class PriorityQueue : public detail::BasicQueue<T, detail::HeapStore<T, Compare>> {
    using Base = detail::BasicQueue<T, detail::HeapStore<T, Compare>>;

public:
    explicit PriorityQueue(std::ptrdiff_t maxsize = 0, Compare compare = Compare())
        : Base(maxsize, detail::HeapStore<T, Compare>(std::move(compare))) {}

    // Unbounded, ordered by `compare` (e.g. a lambda that captures state).
    explicit PriorityQueue(Compare compare)
        : Base(0, detail::HeapStore<T, Compare>(std::move(compare))) {}
};

}  // namespace concur::queue
