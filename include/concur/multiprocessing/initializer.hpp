// Python's initializer/initargs pair for process pools, as one value:
//   Pool pool{{.initializer = set_global_session}};
//   ProcessPoolExecutor ex{{.initializer = {open_db, "path.db"}}};
// The function runs once in every worker before its first task. It is a plain
// function or captureless lambda and its arguments must cross a process; both
// are checked at compile time, and encoded once, here.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "concur/errors.hpp"
#include "concur/wire/call.hpp"
#include "concur/wire/handles.hpp"

namespace concur::multiprocessing {

class Initializer {
public:
    Initializer() = default;

    template <class F, class... Args>
        requires(!std::is_same_v<std::decay_t<F>, Initializer>)
    Initializer(F fn, Args&&... args) : encoded_(std::make_shared<Encoded>()) {
        static_assert(wire::require_sendable<F>);
        std::vector<int> borrowed;
        {
            wire::EncodeHandles scope(borrowed);
            wire::encode_call(encoded_->call, fn, std::forward<Args>(args)...);
        }
        for (int fd : borrowed) encoded_->fds.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
    }

    explicit operator bool() const noexcept { return encoded_ != nullptr; }
    const msgpack::sbuffer& call() const { return encoded_->call; }
    // Descriptors the call refers to (owned here; borrowed by senders).
    const std::vector<int>& fds() const { return encoded_->fds; }

private:
    struct Encoded {
        msgpack::sbuffer call;
        std::vector<int> fds;
        Encoded() = default;
        Encoded(const Encoded&) = delete;
        ~Encoded() {
            for (int fd : fds)
                if (fd >= 0) ::close(fd);
        }
    };
    std::shared_ptr<Encoded> encoded_;
};

}  // namespace concur::multiprocessing
