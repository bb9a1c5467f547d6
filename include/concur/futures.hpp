// Python's concurrent.futures: Future, wait, as_completed, Executor,
// ThreadPoolExecutor.
#pragma once

#include "concur/errors.hpp"
#include "concur/futures/executor.hpp"
#include "concur/futures/future.hpp"
#include "concur/futures/thread.hpp"
#include "concur/futures/wait.hpp"
