#include "concur/futures/future.hpp"

#include <cstdio>

namespace concur::futures::detail {

void report_callback_error(std::exception_ptr e) noexcept {
    // Python logs "exception calling callback for <Future ...>" and carries
    // on; a callback's failure must never break the future or the pool.
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "concur: exception calling callback for future: %s\n", ex.what());
    } catch (...) {
        std::fprintf(stderr, "concur: exception calling callback for future: unknown exception\n");
    }
}

}  // namespace concur::futures::detail
