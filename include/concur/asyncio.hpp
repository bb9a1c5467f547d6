// Python's asyncio: coroutines (Task<T>), the event loop, task functions
// (gather, wait, wait_for, timeout, shield, as_completed, TaskGroup), futures,
// and executors bridged with co_await.
#pragma once

#include "concur/asyncio/future.hpp"
#include "concur/asyncio/locks.hpp"
#include "concur/asyncio/loop.hpp"
#include "concur/asyncio/queues.hpp"
#include "concur/asyncio/runners.hpp"
#include "concur/asyncio/streams.hpp"
#include "concur/asyncio/subprocess.hpp"
#include "concur/asyncio/task.hpp"
#include "concur/asyncio/taskgroup.hpp"
#include "concur/asyncio/tasks.hpp"
#include "concur/asyncio/threads.hpp"
#include "concur/asyncio/timeouts.hpp"
