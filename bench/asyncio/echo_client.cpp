// echo_client: the one load generator used against every echo server here.
//
//   echo_client --port P [--host 127.0.0.1] [--connections 50] [--size 64]
//               [--seconds 10] [--warmup 1] [--cpu N] [--json] [--spin]
//
// e.g. with a server pinned to CPU 0:
//   ./echo_epoll_c 9000 0 &  ./echo_client --port 9000 --seconds 5 --cpu 1
//
// Every connection keeps exactly one message in flight (send, read it all
// back, compare, repeat), so requests/s measures the server's per-message
// path rather than its batching. One thread on raw level-triggered epoll, so
// that the client, pinned to a CPU of its own, costs one epoll_wait share, one
// recv and one send per round trip. --spin polls epoll without sleeping, so
// the client's own CPU never idles and its wake-up latency (large on a VM)
// stays out of the figure. Exits 1 on any connection error or mismatch; stdout
// is "requests/s: X", or with --json exactly one JSON line (the human line
// then goes to stderr).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int connections = 50;
  int size = 64;
  double seconds = 10;
  double warmup = 1;
  int cpu = -1;
  bool json = false;
  bool spin = false;
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "echo_client: %s\n", msg.c_str());
  std::exit(1);
}

[[noreturn]] void die_errno(const std::string& what) { die(what + ": " + std::strerror(errno)); }

double number(std::string_view flag, const char* text) {
  char* end = nullptr;
  double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || v < 0) die("bad value for " + std::string(flag) + ": " + text);
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) die("missing value for " + std::string(a));
      return argv[++i];
    };
    if (a == "--port") o.port = static_cast<int>(number(a, value()));
    else if (a == "--host") o.host = value();
    else if (a == "--connections") o.connections = static_cast<int>(number(a, value()));
    else if (a == "--size") o.size = static_cast<int>(number(a, value()));
    else if (a == "--seconds") o.seconds = number(a, value());
    else if (a == "--warmup") o.warmup = number(a, value());
    else if (a == "--cpu") o.cpu = static_cast<int>(number(a, value()));
    else if (a == "--json") o.json = true;
    else if (a == "--spin") o.spin = true;
    else if (a == "-h" || a == "--help") {
      std::printf("usage: echo_client --port P [--host 127.0.0.1] [--connections 50] [--size 64]\n"
                  "                   [--seconds 10] [--warmup 1] [--cpu N] [--json] [--spin]\n");
      std::exit(0);
    } else die("unknown option " + std::string(a) + " (try --help)");
  }
  if (o.port <= 0 || o.port > 65535) die("--port is required (1-65535)");
  if (o.connections < 1 || o.size < 1 || o.seconds <= 0) die("--connections, --size and --seconds must be > 0");
  return o;
}

struct Conn {
  int fd = -1;
  int sent = 0;
  int got = 0;
  unsigned seq = 0;
  bool want_out = false;
  std::vector<unsigned char> out, in;
};

class Client {
 public:
  Client(const Options& o, int ep) : o_(o), ep_(ep) {}

  // Blocking connect with retries: the client is usually started right after
  // its server, which may not be listening yet.
  void connect_all(const sockaddr_in& addr) {
    auto deadline = Clock::now() + std::chrono::seconds(5);
    conns_.resize(static_cast<std::size_t>(o_.connections));
    for (auto& c : conns_) {
      for (;;) {
        c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c.fd < 0) die_errno("socket");
        if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) break;
        int err = errno;
        ::close(c.fd);
        if (err != ECONNREFUSED || Clock::now() >= deadline) {
          errno = err;
          die_errno("connect to " + o_.host + ":" + std::to_string(o_.port));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      int one = 1;
      if (::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) die_errno("TCP_NODELAY");
      if (::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK) < 0) die_errno("O_NONBLOCK");
      c.out.resize(static_cast<std::size_t>(o_.size));
      c.in.resize(static_cast<std::size_t>(o_.size));
      watch(EPOLL_CTL_ADD, c, EPOLLIN);
    }
    for (auto& c : conns_) start(c);
  }

  void on_event(Conn& c, std::uint32_t events) {
    if (events & EPOLLOUT) flush(c);
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
  }

  std::vector<Conn>& conns() { return conns_; }
  long long completed = 0;
  bool stopping = false;  // finish the round trips in flight, start no more
  int idle = 0;

 private:
  void watch(int op, Conn& c, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = &c;
    if (::epoll_ctl(ep_, op, c.fd, &ev) < 0) die_errno("epoll_ctl");
  }

  // The payload changes with every request, so a server that echoed stale or
  // misrouted bytes would be caught, not just one that echoed the wrong length.
  void start(Conn& c) {
    ++c.seq;
    auto base = static_cast<unsigned>(c.fd) * 131u + c.seq * 7u;
    for (std::size_t i = 0; i < c.out.size(); ++i) c.out[i] = static_cast<unsigned char>(base + i);
    c.sent = c.got = 0;
    flush(c);
  }

  void flush(Conn& c) {
    while (c.sent < o_.size) {
      ssize_t n = ::send(c.fd, c.out.data() + c.sent, static_cast<std::size_t>(o_.size - c.sent), MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += static_cast<int>(n);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!c.want_out) watch(EPOLL_CTL_MOD, c, EPOLLIN | EPOLLOUT);
        c.want_out = true;
        return;
      } else if (errno != EINTR) {
        die_errno("send");
      }
    }
    if (c.want_out) watch(EPOLL_CTL_MOD, c, EPOLLIN);
    c.want_out = false;
  }

  // One recv per readiness: level-triggered epoll reports again if more is
  // left, and skipping the final EAGAIN recv saves a syscall per round trip.
  void on_readable(Conn& c) {
    ssize_t n = ::recv(c.fd, c.in.data() + c.got, static_cast<std::size_t>(o_.size - c.got), 0);
    if (n == 0) die("server closed a connection");
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      die_errno("recv");
    }
    c.got += static_cast<int>(n);
    if (c.got < o_.size) return;
    if (c.sent != o_.size) die("reply arrived before the request was fully sent");
    if (c.in != c.out) die("echoed bytes differ from the bytes sent");
    ++completed;
    if (stopping) ++idle;
    else start(c);
  }

  const Options& o_;
  int ep_;
  std::vector<Conn> conns_;
};

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) < 0) die_errno("sched_setaffinity");
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  if (o.cpu >= 0) pin(o.cpu);

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(o.port));
  if (::inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1) die("--host must be an IPv4 address");
  // This is a local benchmark: refuse to generate load against another machine.
  if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127) die("--host must be a loopback address (127.x.x.x)");

  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die_errno("epoll_create1");
  Client client(o, ep);
  client.connect_all(addr);

  using Secs = std::chrono::duration<double>;
  auto t0 = Clock::now();
  auto warm_end = t0 + std::chrono::duration_cast<Clock::duration>(Secs(o.warmup));
  auto end = warm_end + std::chrono::duration_cast<Clock::duration>(Secs(o.seconds));
  bool measuring = o.warmup <= 0;
  auto t_measure = t0;
  auto now = t0;
  std::vector<epoll_event> events(static_cast<std::size_t>(o.connections));
  auto poll = [&] {
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), o.spin ? 0 : 100);
    if (n < 0 && errno != EINTR) die_errno("epoll_wait");
    for (int i = 0; i < n; ++i)
      client.on_event(*static_cast<Conn*>(events[static_cast<std::size_t>(i)].data.ptr),
                      events[static_cast<std::size_t>(i)].events);
    now = Clock::now();
  };
  while (now < end) {
    poll();
    if (!measuring && now >= warm_end) {
      measuring = true;
      client.completed = 0;
      t_measure = now;
    }
  }
  double elapsed = Secs(now - t_measure).count();
  long long completed = client.completed;
  double rps = static_cast<double>(completed) / elapsed;

  // Closing with replies unread would reset the connections, and some servers
  // (Python 3.11's asyncio streams) log a traceback for that; so let the
  // messages in flight come back first, for at most a second.
  client.stopping = true;
  auto drain_end = now + std::chrono::seconds(1);
  while (client.idle < o.connections && now < drain_end) poll();
  for (auto& c : client.conns()) ::close(c.fd);
  ::close(ep);

  std::FILE* human = o.json ? stderr : stdout;
  std::fprintf(human, "requests/s: %.0f  (%lld round trips in %.2f s, %d connections, %d bytes)\n", rps,
               completed, elapsed, o.connections, o.size);
  if (o.json)
    std::printf("{\"rps\": %.1f, \"connections\": %d, \"size\": %d, \"seconds\": %.3f}\n", rps, o.connections, o.size,
                elapsed);
  return 0;
}
