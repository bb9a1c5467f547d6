/* echo_epoll_c: a plain single-threaded epoll echo server in C, the
 * "practical limit" that the other echo servers are compared with.
 *
 *   echo_epoll_c PORT [CPU]      (PORT 0 picks a free port)
 *
 * e.g.  ./echo_epoll_c 9000 0 &  ./echo_client --port 9000 --seconds 5 --cpu 1
 *
 * Listens on 127.0.0.1 only, prints "listening PORT" once ready, and exits 0 on
 * SIGTERM or SIGINT. Level-triggered: one recv per readiness and an immediate
 * send, which is the cheapest path for one small message in flight per
 * connection. A partial send parks the connection on EPOLLOUT (and stops
 * reading it) until the rest is out, so a slow reader gets backpressure instead
 * of an unbounded buffer.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BUF_SIZE = 65536, MAX_EVENTS = 256 };

struct conn {
  int fd;
  int want_out;
  size_t off, len; /* bytes of buf still to send: [off, len) */
  char buf[BUF_SIZE];
};

/* Only their addresses matter: they tag the listener and the signalfd in
 * epoll's data.ptr, which otherwise holds a struct conn. */
static char listener_tag, signal_tag;

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void watch(int ep, int op, int fd, uint32_t events, void *ptr) {
  struct epoll_event ev = {.events = events, .data.ptr = ptr};
  if (epoll_ctl(ep, op, fd, &ev) < 0) die("epoll_ctl");
}

/* Returns -1 when the connection is to be closed. */
static int flush(int ep, struct conn *c) {
  while (c->off < c->len) {
    ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
    if (n > 0) {
      c->off += (size_t)n;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!c->want_out) watch(ep, EPOLL_CTL_MOD, c->fd, EPOLLOUT, c);
      c->want_out = 1;
      return 0;
    } else if (errno != EINTR) {
      return -1;
    }
  }
  c->off = c->len = 0;
  if (c->want_out) watch(ep, EPOLL_CTL_MOD, c->fd, EPOLLIN, c);
  c->want_out = 0;
  return 0;
}

static int on_readable(int ep, struct conn *c) {
  ssize_t n = recv(c->fd, c->buf, BUF_SIZE, 0);
  if (n == 0) return -1;
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
  c->off = 0;
  c->len = (size_t)n;
  return flush(ep, c);
}

static void accept_all(int ep, int lfd) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) perror("accept4"); /* e.g. EMFILE: keep serving */
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = malloc(sizeof *c);
    if (!c) die("malloc");
    c->fd = fd;
    c->want_out = 0;
    c->off = c->len = 0;
    watch(ep, EPOLL_CTL_ADD, fd, EPOLLIN, c);
  }
}

static int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) die("SO_REUSEADDR");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  if (listen(fd, SOMAXCONN) < 0) die("listen");
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s PORT [CPU]\n", argv[0]);
    return 2;
  }
  if (argc == 3) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(atoi(argv[2]), &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0) die("sched_setaffinity");
  }

  /* Signals arrive as a readable fd, so shutdown is just another event. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0) die("sigprocmask");
  int sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) die("signalfd");

  int lfd = listen_on(atoi(argv[1]));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  watch(ep, EPOLL_CTL_ADD, lfd, EPOLLIN, &listener_tag);
  watch(ep, EPOLL_CTL_ADD, sfd, EPOLLIN, &signal_tag);

  struct sockaddr_in bound;
  socklen_t len = sizeof bound;
  if (getsockname(lfd, (struct sockaddr *)&bound, &len) < 0) die("getsockname");
  printf("listening %d\n", ntohs(bound.sin_port));
  fflush(stdout);

  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(ep, events, MAX_EVENTS, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      void *p = events[i].data.ptr;
      if (p == &signal_tag) {
        /* Open connections are closed by the kernel at exit. */
        close(lfd);
        return 0;
      }
      if (p == &listener_tag) {
        accept_all(ep, lfd);
        continue;
      }
      struct conn *c = p;
      /* By state, not by event bits: an error seen while parked on EPOLLOUT
       * must not let recv overwrite the unsent bytes. */
      int r = c->want_out ? flush(ep, c) : on_readable(ep, c);
      if (r < 0) {
        close(c->fd); /* also drops it from the epoll set */
        free(c);
      }
    }
  }
}
