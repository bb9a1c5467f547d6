// echo_client_uring: the echo load generator of echo_client.cpp (same
// options, same output, same one-message-in-flight protocol per connection),
// driven through io_uring so that the client costs far less per message
// than any server it measures: every send and recv is a ring entry, and one
// io_uring_enter submits and reaps a whole batch. With echo_client (one recv
// and one send syscall per round trip) the client saturates its CPU at about
// the rate of the fastest servers, which hides their differences.
//
//   echo_client_uring --port P [--connections 50] [--size 64] [--seconds 10]
//                     [--warmup 1] [--cpu N] [--json]
//
// Loopback only (the host is 127.0.0.1). Exits 1 on a connection error, a
// short or wrong echo, or a server that stops answering for 10 s.
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "echo_client_uring: %s\n", msg.c_str());
    std::exit(1);
}

struct Options {
    int port = 0, connections = 50, size = 64, cpu = -1;
    double seconds = 10, warmup = 1;
    bool json = false;
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto num = [&]() -> double {
            if (i + 1 >= argc) die("missing value for " + std::string(a));
            char* end = nullptr;
            double v = std::strtod(argv[++i], &end);
            if (*end != '\0' || v < 0) die("bad value for " + std::string(a));
            return v;
        };
        if (a == "--port") o.port = static_cast<int>(num());
        else if (a == "--connections") o.connections = static_cast<int>(num());
        else if (a == "--size") o.size = static_cast<int>(num());
        else if (a == "--seconds") o.seconds = num();
        else if (a == "--warmup") o.warmup = num();
        else if (a == "--cpu") o.cpu = static_cast<int>(num());
        else if (a == "--json") o.json = true;
        else if (a == "--host") ++i;  // loopback only; accepted for echo_client's command lines
        else die("unknown option " + std::string(a));
    }
    if (o.port <= 0 || o.port > 65535 || o.connections < 1 || o.size < 1 || o.seconds <= 0)
        die("usage: echo_client_uring --port P [--connections N] [--size B] [--seconds S] [--warmup S] [--cpu N] [--json]");
    return o;
}

struct Conn {
    int fd = -1;
    int done = 0;  // bytes sent (sending) or received (receiving)
    bool receiving = false;
    unsigned seq = 0;
    std::vector<unsigned char> out, in;
};

}  // namespace

int main(int argc, char** argv) {
    Options o = parse(argc, argv);
    if (o.cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(o.cpu, &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(o.port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    std::vector<Conn> conns(static_cast<std::size_t>(o.connections));
    auto deadline = Clock::now() + std::chrono::seconds(5);
    for (auto& c : conns) {
        for (;;) {
            c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
            close(c.fd);
            if (Clock::now() > deadline) die(std::string("connect: ") + std::strerror(errno));
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c.out.resize(static_cast<std::size_t>(o.size));
        c.in.resize(static_cast<std::size_t>(o.size));
    }

    io_uring ring;
    unsigned entries = 2 * static_cast<unsigned>(o.connections) + 8;
    int r = io_uring_queue_init(entries, &ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
    if (r == -EINVAL) r = io_uring_queue_init(entries, &ring, 0);
    if (r < 0) die(std::string("io_uring_queue_init: ") + std::strerror(-r));

    auto fill = [&](Conn& c) {
        ++c.seq;
        for (std::size_t i = 0; i < c.out.size(); ++i) c.out[i] = static_cast<unsigned char>(c.seq * 31 + i);
    };
    auto send_rest = [&](std::size_t k) {
        Conn& c = conns[k];
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        io_uring_prep_send(sqe, c.fd, c.out.data() + c.done, c.out.size() - static_cast<std::size_t>(c.done),
                           MSG_NOSIGNAL);
        io_uring_sqe_set_data64(sqe, k);
    };
    auto recv_rest = [&](std::size_t k) {
        Conn& c = conns[k];
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        io_uring_prep_recv(sqe, c.fd, c.in.data() + c.done, c.in.size() - static_cast<std::size_t>(c.done), 0);
        io_uring_sqe_set_data64(sqe, k);
    };
    for (std::size_t k = 0; k < conns.size(); ++k) {
        fill(conns[k]);
        send_rest(k);
    }

    long long counted = 0;
    double elapsed_at_stop = 0;
    auto start = Clock::now();
    auto measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
    auto end = measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
    bool measuring = false, stopping = false;
    std::size_t in_flight = conns.size();
    auto last_progress = start, stop_by = start;
    for (;;) {
        __kernel_timespec ts{1, 0};
        io_uring_cqe* cqe = nullptr;
        r = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, nullptr);
        if (r < 0 && r != -ETIME && r != -EINTR) die(std::string("io_uring wait: ") + std::strerror(-r));
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            ++seen;
            std::size_t k = static_cast<std::size_t>(cqe->user_data);
            Conn& c = conns[k];
            int res = cqe->res;
            if (res < 0) die(std::string(c.receiving ? "recv: " : "send: ") + std::strerror(-res));
            if (c.receiving && res == 0) die("the server closed a connection");
            c.done += res;
            if (!c.receiving) {
                if (c.done < o.size) {
                    send_rest(k);
                } else {
                    c.receiving = true;
                    c.done = 0;
                    recv_rest(k);
                }
            } else if (c.done < o.size) {
                recv_rest(k);
            } else {
                if (c.in != c.out) die("the echo differs from what was sent");
                if (measuring && !stopping) ++counted;
                c.receiving = false;
                c.done = 0;
                if (stopping) {
                    --in_flight;
                    continue;
                }
                fill(c);
                send_rest(k);
            }
        }
        io_uring_cq_advance(&ring, seen);
        auto now = Clock::now();
        if (seen) last_progress = now;
        else if (now - last_progress > std::chrono::seconds(10)) die("the server stopped answering");
        if (!measuring && now >= measure_from) {
            measuring = true;
            counted = 0;
            measure_from = now;
            end = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
        }
        if (measuring && !stopping && now >= end) {
            // Let the messages still in flight come back before closing, so
            // that no server sees a reset for data it was sending.
            stopping = true;
            elapsed_at_stop = std::chrono::duration<double>(now - measure_from).count();
            stop_by = now + std::chrono::seconds(1);
        }
        if (stopping && (in_flight == 0 || now >= stop_by)) break;
    }
    double elapsed = elapsed_at_stop;
    double rps = static_cast<double>(counted) / elapsed;
    std::FILE* human = o.json ? stderr : stdout;
    std::fprintf(human, "requests/s: %.0f  (%lld round trips in %.2f s, %d connections, %d bytes, io_uring client)\n",
                 rps, counted, elapsed, o.connections, o.size);
    if (o.json)
        std::printf("{\"rps\": %.1f, \"connections\": %d, \"size\": %d, \"seconds\": %.3f}\n", rps, o.connections,
                    o.size, elapsed);
    io_uring_queue_exit(&ring);
    for (auto& c : conns) close(c.fd);
    return 0;
}
