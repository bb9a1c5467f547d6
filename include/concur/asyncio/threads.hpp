// Python's asyncio.to_thread and loop.run_in_executor: blocking calls handed
// to a thread pool, awaited without blocking the loop. Both give a
// futures::Future, which a task awaits with co_await (resumed on the loop's
// thread); cancelling the awaiting task cancels the call if it has not
// started, and ends the wait at once either way.
#pragma once

#include <utility>

#include "concur/asyncio/loop.hpp"
#include "concur/futures/thread.hpp"

namespace concur::asyncio {

// Python's asyncio.to_thread(fn, *args): runs fn(args...) on the running
// loop's default executor. Throws RuntimeError outside a running loop.
template <class F, class... A>
auto to_thread(F&& fn, A&&... args) {
    return get_running_loop().default_executor().submit(std::forward<F>(fn), std::forward<A>(args)...);
}

// Python's loop.run_in_executor(executor, fn, *args); a null executor means
// the loop's default one. Any concur executor works (thread or process pool).
template <class E, class F, class... A>
auto run_in_executor(E* executor, F&& fn, A&&... args) {
    if (!executor) return to_thread(std::forward<F>(fn), std::forward<A>(args)...);
    return executor->submit(std::forward<F>(fn), std::forward<A>(args)...);
}
template <class F, class... A>
auto run_in_executor(std::nullptr_t, F&& fn, A&&... args) {
    return to_thread(std::forward<F>(fn), std::forward<A>(args)...);
}

}  // namespace concur::asyncio
