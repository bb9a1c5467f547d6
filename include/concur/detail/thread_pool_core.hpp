// The non-template engine behind futures::ThreadPoolExecutor; see
// src/futures/thread_pool_core.cpp for how work flows through it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "concur/detail/job.hpp"

namespace concur::detail {

class ThreadPoolCore;

struct ThreadPoolCoreDeleter {
    void operator()(ThreadPoolCore* core) const noexcept;
};
using ThreadPoolCorePtr = std::unique_ptr<ThreadPoolCore, ThreadPoolCoreDeleter>;

ThreadPoolCorePtr make_thread_pool_core(std::size_t max_workers, std::string name_prefix,
                                        std::function<void()> initializer);

// Queues `job` (taking its queue reference). Throws RuntimeError after
// shutdown and futures::BrokenThreadPool once the pool is broken; the job is
// then untouched and the caller still owns it.
void submit_job(ThreadPoolCore& core, Job* job);

// See ThreadPoolExecutor::shutdown.
void shutdown(ThreadPoolCore& core, bool wait, bool cancel_futures);

std::size_t max_workers(const ThreadPoolCore& core) noexcept;

// Number of worker threads started so far (they start lazily, as Python's).
std::size_t num_threads(const ThreadPoolCore& core) noexcept;

}  // namespace concur::detail
