// concur's exception hierarchy: Python's exception names, rooted at one
// concur::Error so that `catch (const concur::Error&)` catches everything the
// library throws on its own behalf. Exceptions thrown by user code travel
// through futures unchanged (as std::exception_ptr) and are rethrown as
// themselves.
#pragma once

#include <cerrno>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace concur {

// Root of every exception concur throws itself.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Python's TimeoutError: a blocking call's timeout passed first.
class TimeoutError : public Error {
public:
    using Error::Error;
    TimeoutError() : Error("the operation timed out") {}
};

// Python's concurrent.futures.CancelledError / asyncio.CancelledError.
class CancelledError : public Error {
public:
    using Error::Error;
    CancelledError() : Error("the future was cancelled") {}
};

// Python's concurrent.futures.InvalidStateError: e.g. setting a result twice.
class InvalidStateError : public Error {
public:
    using Error::Error;
};

// Python's RuntimeError: misuse such as releasing an unheld lock, joining the
// current thread, or submitting to an executor after shutdown.
class RuntimeError : public Error {
public:
    using Error::Error;
};

// Python's ValueError: an argument outside its allowed range (a negative
// timeout, a BoundedSemaphore released too often, task_done() called too often).
class ValueError : public Error {
public:
    using Error::Error;
};

// Python's ExceptionGroup: several errors at once (a TaskGroup whose tasks
// failed). Each is kept as thrown; exceptions() gives them in the order they
// happened.
class ExceptionGroup : public Error {
public:
    ExceptionGroup(const std::string& message, std::vector<std::exception_ptr> errors)
        : Error(message + " (" + std::to_string(errors.size()) + " sub-exception" +
                (errors.size() == 1 ? "" : "s") + ")"),
          errors_(std::move(errors)) {}
    const std::vector<std::exception_ptr>& exceptions() const noexcept { return errors_; }

private:
    std::vector<std::exception_ptr> errors_;
};

// Python's KeyboardInterrupt: asyncio::run() throws it after SIGINT
// cancelled the main task.
class KeyboardInterrupt : public Error {
public:
    KeyboardInterrupt() : Error("interrupted by SIGINT") {}
};

// Python's OSError: a system call failed; errno_value() is its errno (a
// negative EAI_* code for name resolution, as Python's socket.gaierror).
class OSError : public Error {
public:
    OSError(int err, const std::string& message) : Error(message), errno_(err) {}
    int errno_value() const noexcept { return errno_; }

private:
    int errno_;
};

// Python's ConnectionError and its subclasses, picked by errno (EPIPE and
// ESHUTDOWN, ECONNABORTED, ECONNREFUSED, ECONNRESET).
class ConnectionError : public OSError {
public:
    using OSError::OSError;
};
class BrokenPipeError : public ConnectionError {
public:
    using ConnectionError::ConnectionError;
};
class ConnectionAbortedError : public ConnectionError {
public:
    using ConnectionError::ConnectionError;
};
class ConnectionRefusedError : public ConnectionError {
public:
    using ConnectionError::ConnectionError;
};
class ConnectionResetError : public ConnectionError {
public:
    using ConnectionError::ConnectionError;
    explicit ConnectionResetError(const std::string& message) : ConnectionError(ECONNRESET, message) {}
};

// Python's EOFError: the other end of a multiprocessing Connection closed
// and nothing more will arrive.
class EOFError : public Error {
public:
    using Error::Error;
};

// An exception raised in another process (a worker, an MPI rank) whose type
// is not one concur can rebuild (the standard exceptions and concur's own are
// rethrown as themselves). Carries what Python's traceback would show.
class RemoteError : public Error {
public:
    RemoteError(std::string type_name, std::string message, long pid, std::string function)
        : Error(type_name + ": " + message + " (raised in " + function + " in process " +
                std::to_string(pid) + ")"),
          type_name_(std::move(type_name)),
          message_(std::move(message)),
          function_(std::move(function)),
          pid_(pid) {}
    // The exception's C++ type, demangled (e.g. "my::ParseError").
    const std::string& type_name() const noexcept { return type_name_; }
    // Its what().
    const std::string& message() const noexcept { return message_; }
    // The function that was called in the other process.
    const std::string& function() const noexcept { return function_; }
    long pid() const noexcept { return pid_; }

private:
    std::string type_name_, message_, function_;
    long pid_;
};

namespace wire {

// A value could not be encoded for another process at run time (e.g. a
// descriptor-backed object sent where descriptors cannot travel).
class EncodeError : public Error {
public:
    using Error::Error;
};

// A message from another process could not be decoded: truncated, corrupted,
// from another version, or of another type than expected. Fails the one call
// it belonged to.
class DecodeError : public Error {
public:
    using Error::Error;
};

}  // namespace wire

namespace futures {

// Python's concurrent.futures.BrokenExecutor: the executor can no longer run
// work (its initializer failed, a worker died). Pending futures fail with it.
class BrokenExecutor : public Error {
public:
    using Error::Error;
};

// Python's concurrent.futures.thread.BrokenThreadPool.
class BrokenThreadPool : public BrokenExecutor {
public:
    using BrokenExecutor::BrokenExecutor;
};

// Python's concurrent.futures.process.BrokenProcessPool: a worker process
// died (killed, crashed, exited inside a task) or its initializer failed.
// Every pending and running future of that pool fails with it, and the pool
// refuses new work.
class BrokenProcessPool : public BrokenExecutor {
public:
    using BrokenExecutor::BrokenExecutor;
};

}  // namespace futures

namespace threading {

// Python's threading.BrokenBarrierError (a RuntimeError subclass there too).
class BrokenBarrierError : public RuntimeError {
public:
    using RuntimeError::RuntimeError;
    BrokenBarrierError() : RuntimeError("the barrier is broken") {}
};

}  // namespace threading

namespace queue {

// Python's queue.Empty: get_nowait() on an empty queue, or get() timed out.
class Empty : public Error {
public:
    using Error::Error;
    Empty() : Error("the queue is empty") {}
};

// Python's queue.Full: put_nowait() on a full queue, or put() timed out.
class Full : public Error {
public:
    using Error::Error;
    Full() : Error("the queue is full") {}
};

// Python 3.13's queue.ShutDown: put() after shutdown(), or get() on a queue
// that was shut down and drained (or shut down with immediate=true).
class ShutDown : public Error {
public:
    using Error::Error;
    ShutDown() : Error("the queue was shut down") {}
};

}  // namespace queue

namespace asyncio {

using concur::CancelledError;
using concur::InvalidStateError;
using concur::TimeoutError;

// Python's asyncio.QueueEmpty / QueueFull / QueueShutDown (3.13).
class QueueEmpty : public Error {
public:
    using Error::Error;
    QueueEmpty() : Error("the queue is empty") {}
};
class QueueFull : public Error {
public:
    using Error::Error;
    QueueFull() : Error("the queue is full") {}
};
class QueueShutDown : public Error {
public:
    using Error::Error;
    QueueShutDown() : Error("the queue was shut down") {}
};

// Python's asyncio.IncompleteReadError: the stream ended before `expected`
// bytes (readexactly, readuntil). partial() holds what did arrive.
class IncompleteReadError : public Error {
public:
    IncompleteReadError(std::string partial, std::size_t expected)
        : Error(std::to_string(partial.size()) + " bytes read on a total of " +
                std::to_string(expected) + " expected bytes"),
          partial_(std::move(partial)),
          expected_(expected) {}
    const std::string& partial() const noexcept { return partial_; }
    std::size_t expected() const noexcept { return expected_; }

private:
    std::string partial_;
    std::size_t expected_;
};

// Python's asyncio.LimitOverrunError: a line or separator search went past
// the stream's limit; consumed() bytes are left in the buffer.
class LimitOverrunError : public Error {
public:
    LimitOverrunError(const std::string& message, std::size_t consumed)
        : Error(message), consumed_(consumed) {}
    std::size_t consumed() const noexcept { return consumed_; }

private:
    std::size_t consumed_;
};

}  // namespace asyncio

}  // namespace concur
