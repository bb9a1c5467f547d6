#include "concur/asyncio/runners.hpp"

namespace concur::asyncio::detail {

void cancel_all_tasks(EventLoop& loop) {
    std::vector<Task<void>> waits;
    std::vector<TaskRef> left;
    for (TaskBase* t = loop.tasks_head(); t; t = t->next_task) left.emplace_back(t);
    if (left.empty()) return;
    for (auto& t : left) t.cancel();
    // Wait for all of them, whatever they end with.
    auto wait_all = [](std::vector<TaskRef> ts) -> Task<> {
        std::vector<TaskBase*> items;
        for (auto& t : ts) items.push_back(t.base());
        WaitSet ws(std::move(items), {});
        co_await ws;
    };
    loop.run_until_complete(wait_all(left));
    for (auto& t : left) {
        TaskBase* b = t.base();
        if (!b->cancelled() && b->has_error()) {
            ExceptionContext ctx{"unhandled exception during asyncio::run() shutdown", b->take_error(), b->name()};
            loop.call_exception_handler(ctx);
        }
    }
}

}  // namespace concur::asyncio::detail
