// A worker rank: runs the calls its client sends, in order, and sends the
// outcomes back in batches.
//
//   client --kCalls {id, call}*--> inbox --wire::run_call--> outbox --kResults {id, us, outcome}*--> client
//
// The outbox is sent when no call is left to run, after a call that took
// over 100 us, or when its oldest outcome has waited 100 us: thousands of tiny
// calls cost a few messages, and a slow call never holds back an earlier
// result.
#include "concur/mpi/detail/mpi_c.hpp"

#include <chrono>
#include <cstring>
#include <deque>
#include <list>
#include <string>
#include <vector>

#include "backoff.hpp"
#include "concur/wire/call.hpp"
#include "protocol.hpp"

namespace concur::mpi::detail {

namespace {

using Clock = std::chrono::steady_clock;

class Outbox {
public:
    Outbox(MPI_Comm comm, int client) : comm_(comm), client_(client) {}

    void add(std::uint64_t id, std::uint32_t micros, const msgpack::sbuffer& reply) {
        if (out_.empty()) oldest_ = Clock::now();
        ResultHeader h{id, static_cast<std::uint32_t>(reply.size()), micros};
        out_.append(reinterpret_cast<const char*>(&h), sizeof h);
        out_.append(reply.data(), reply.size());
    }
    // Due to be sent: its oldest outcome has waited 100 us, or it is as large
    // as a message should get (kBatchBytes).
    bool overdue() const {
        return !out_.empty() &&
               (out_.size() >= kBatchBytes || Clock::now() - oldest_ > std::chrono::microseconds(100));
    }

    // Starts sending what is buffered; frees the buffers of finished sends.
    // False if MPI failed.
    bool flush() {
        std::lock_guard lock(mpi_mutex());
        if (!out_.empty()) {
            sending_.emplace_back();
            Sending& s = sending_.back();
            s.bytes.swap(out_);
            if (MPI_Isend(s.bytes.data(), static_cast<int>(s.bytes.size()), MPI_BYTE, client_, kResults, comm_,
                          &s.request) != MPI_SUCCESS)
                return false;
        }
        for (auto it = sending_.begin(); it != sending_.end();) {
            int done = 0;
            if (MPI_Test(&it->request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return false;
            it = done ? sending_.erase(it) : std::next(it);
        }
        return true;
    }
    bool hello() {
        std::lock_guard lock(mpi_mutex());
        sending_.emplace_back();
        return MPI_Isend(nullptr, 0, MPI_BYTE, client_, kResults, comm_, &sending_.back().request) == MPI_SUCCESS;
    }
    // Sends what is buffered and kBye, and waits until they have gone.
    bool finish() {
        if (!flush()) return false;
        {
            std::lock_guard lock(mpi_mutex());
            sending_.emplace_back();
            if (MPI_Isend(nullptr, 0, MPI_BYTE, client_, kBye, comm_, &sending_.back().request) != MPI_SUCCESS)
                return false;
        }
        Backoff backoff;
        while (!sending_.empty()) {
            if (!flush()) return false;
            if (!sending_.empty()) backoff.wait();
        }
        return true;
    }

private:
    struct Sending {
        std::string bytes;
        MPI_Request request = MPI_REQUEST_NULL;
    };
    MPI_Comm comm_;
    int client_;
    std::string out_;
    Clock::time_point oldest_;
    std::list<Sending> sending_;  // stable addresses: MPI holds the request and the bytes
};

}  // namespace

bool serve(MPI_Comm comm, int client) {
    PreciseSleep precise;
    Outbox outbox(comm, client);
    std::deque<std::vector<char>> inbox;  // received kCalls messages
    std::size_t pos = 0;                  // in inbox.front()
    bool exiting = false;
    bool init_failed = false;  // then no call runs: the client has failed them all
    Backoff backoff;
    // An empty kResults first: it opens the connection to the client now
    // (Open MPI's TCP transport connects on the first message), not in the
    // middle of the first calls.
    if (!outbox.hello()) return false;
    for (;;) {
        // Take every message that has arrived.
        while (!exiting) {
            std::lock_guard lock(mpi_mutex());
            int flag = 0;
            MPI_Status st;
            if (probe(client, MPI_ANY_TAG, comm, &flag, &st) != MPI_SUCCESS) return false;
            if (!flag) break;
            int count = 0;
            MPI_Get_count(&st, MPI_BYTE, &count);
            std::vector<char> message(static_cast<std::size_t>(count));
            if (MPI_Recv(message.data(), count, MPI_BYTE, client, st.MPI_TAG, comm, MPI_STATUS_IGNORE) != MPI_SUCCESS)
                return false;
            if (st.MPI_TAG == kExit) {
                exiting = true;
            } else if (st.MPI_TAG == kCalls) {
                inbox.push_back(std::move(message));
            }
        }
        if (inbox.empty()) {
            if (!outbox.flush()) return false;
            if (exiting) return outbox.finish();
            backoff.wait(Backoff::kIdleWorkerSleep);
            continue;
        }
        backoff.reset();
        // Run the calls of every message taken.
        while (!inbox.empty()) {
            const std::vector<char>& m = inbox.front();
            if (m.size() - pos < sizeof(CallHeader)) {
                inbox.pop_front();
                pos = 0;
                continue;
            }
            CallHeader h;
            std::memcpy(&h, m.data() + pos, sizeof h);
            pos += sizeof h;
            if (m.size() - pos < h.length) return false;  // framing lost: nothing after this can be trusted
            if (init_failed) {
                pos += h.length;
                continue;
            }
            auto start = Clock::now();
            msgpack::sbuffer reply;
            wire::run_call(m.data() + pos, h.length, reply);
            pos += h.length;
            if (h.id == kInitializerId) {
                try {
                    msgpack::object_handle holder;
                    wire::detail::open_result(reply.data(), reply.size(), holder);
                } catch (...) {
                    init_failed = true;
                }
            }
            auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
            outbox.add(h.id, static_cast<std::uint32_t>(std::min<long long>(us, 0xffffffffLL)), reply);
            // A call that took a while is sent at once: the next may be as
            // slow, and one message is cheap beside it.
            if ((us > 100 || outbox.overdue()) && !outbox.flush()) return false;
        }
    }
}

}  // namespace concur::mpi::detail
