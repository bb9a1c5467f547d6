// The Timer thread's body. See timer.hpp for the cancel protocol.
#include "concur/threading/timer.hpp"

namespace concur::threading::detail {

void run_timer(TimerState& st, std::chrono::nanoseconds interval, Task& fn) {
    if (interval > interval.zero()) st.cancelled.wait(interval);
    uint32_t expected = 0;
    if (st.fate.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) fn();
}

}  // namespace concur::threading::detail
