// Naming the calling thread, for concur's own worker threads (the
// ThreadPoolExecutor's workers name themselves "ThreadPoolExecutor-0_1", as
// Python's do).
#pragma once

#include <string>

namespace concur::threading::detail {

// Sets the name that current_thread().name() reports on the calling thread
// (making its dummy record first if the thread is foreign) and the kernel
// thread name (truncated to 15 bytes, whole UTF-8 characters only). Blocks
// only on internal locks; calling thread only; throws nothing but
// std::bad_alloc.
void name_current_thread(std::string name);

}  // namespace concur::threading::detail
