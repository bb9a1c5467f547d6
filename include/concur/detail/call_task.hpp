// A submitted call: the future's shared state, the queued job and the
// callable with its arguments, in one allocation.
#pragma once

#include <exception>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "concur/detail/future_state.hpp"
#include "concur/detail/job.hpp"

namespace concur::detail {

template <class F, class... A>
using call_result_t = std::invoke_result_t<std::decay_t<F>, std::decay_t<A>...>;

template <class R, class F, class... A>
class CallTask final : public FutureState<R>, public Job {
public:
    template <class F2, class... A2>
    explicit CallTask(F2&& f, A2&&... args)
        : call_(std::forward<F2>(f), std::forward<A2>(args)...) {
        this->retain();  // one reference for the handle, one for the queue
    }

    void run() noexcept override {
        bool go = false;
        try {
            go = this->set_running_or_notify_cancel();
        } catch (...) {  // cannot happen for a job that is queued once
        }
        if (go) {
            try {
                if constexpr (std::is_void_v<R>) {
                    std::apply(invoke, std::move(call_));
                    this->set_value();
                } else {
                    this->set_value(std::apply(invoke, std::move(call_)));
                }
            } catch (...) {
                this->set_exception(std::current_exception());
            }
        }
        finish_job();
    }

    void abandon(std::exception_ptr why) noexcept override {
        if (why)
            this->set_exception(std::move(why));
        else
            this->cancel();
        finish_job();
    }

private:
    static constexpr auto invoke = [](auto&& f, auto&&... a) -> R {
        return std::invoke(std::forward<decltype(f)>(f), std::forward<decltype(a)>(a)...);
    };

    // The callable and its arguments are destroyed as soon as the call is
    // over, not when the last Future handle goes away: captured resources
    // are released promptly.
    void finish_job() noexcept {
        call_.~tuple();
        destroyed_ = true;
        this->release();
    }

    ~CallTask() override {
        if (!destroyed_) call_.~tuple();
    }

    union {
        std::tuple<std::decay_t<F>, std::decay_t<A>...> call_;
    };
    bool destroyed_ = false;
};

}  // namespace concur::detail
