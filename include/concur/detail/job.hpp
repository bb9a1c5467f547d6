// The unit of work every concur executor queues: an intrusive node that knows
// how to run itself, or how to settle its future without running.
#pragma once

#include <exception>

namespace concur::detail {

class Job {
public:
    // Runs the work and settles its future. Called at most once, on the thread
    // that dequeued the job; the job may free itself before returning.
    virtual void run() noexcept = 0;

    // Settles the future without running the work: cancelled when `why` is
    // null (shutdown with cancel_futures), failed with `why` otherwise (a
    // broken pool). Called instead of run(), never with it.
    virtual void abandon(std::exception_ptr why) noexcept = 0;

    Job* next_job = nullptr;  // link while in an executor's injection list

protected:
    ~Job() = default;
};

}  // namespace concur::detail
