// concur::multiprocessing: Python's multiprocessing -- processes, pools,
// queues and pipes, process-shared locks and memory -- and, in
// <concur/futures/process.hpp>, concurrent.futures' ProcessPoolExecutor.
#pragma once

#include "concur/multiprocessing/context.hpp"
#include "concur/multiprocessing/process.hpp"
#if __has_include("concur/multiprocessing/synchronize.hpp")
#include "concur/multiprocessing/synchronize.hpp"
#endif
#if __has_include("concur/multiprocessing/sharedctypes.hpp")
#include "concur/multiprocessing/sharedctypes.hpp"
#endif
#if __has_include("concur/multiprocessing/shared_memory.hpp")
#include "concur/multiprocessing/shared_memory.hpp"
#endif
#if __has_include("concur/multiprocessing/connection.hpp")
#include "concur/multiprocessing/connection.hpp"
#endif
#if __has_include("concur/multiprocessing/queues.hpp")
#include "concur/multiprocessing/queues.hpp"
#endif
#if __has_include("concur/multiprocessing/pool.hpp")
#include "concur/multiprocessing/pool.hpp"
#endif
