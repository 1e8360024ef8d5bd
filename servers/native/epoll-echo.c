/*
 * epoll-echo: the native "ceiling" row of conbench. One thread, level-triggered epoll, speaking the framed echo
 * protocol of servers/protocol.ts with the semantics of servers/tcp-echo.ts: handler work runs once when the first
 * header byte of a frame arrives, before any byte of that frame is echoed; bytes are then forwarded as they arrive
 * through a bounded per-connection buffer, so a 1 MiB frame never sits in memory whole.
 *
 *   epoll-echo [--model NAME] [--host H] [--port P] [--work none|cpu:<us>|block:<ms>|async:<ms>]
 *
 * It stops (as on SIGTERM) when the process that started it dies, even by SIGKILL, so a killed bench or
 * `npm run serve` never leaves it listening: see stop_with_parent().
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/native/die.h"
#include "../../lib/native/json-out.h"

#define BUF_BYTES (64 * 1024)
#define MAX_PAYLOAD_BYTES (64u * 1024 * 1024)
#define READS_PER_TURN 4 /* bounded so one flooding peer cannot starve the others */
#define MAX_EVENTS 256

static const char USAGE[] =
    "usage: epoll-echo [--model NAME] [--host H] [--port P] [--work SPEC]\n"
    "Single-threaded epoll echo server for the conbench framed protocol; runs until SIGTERM or SIGINT.\n"
    "  --model NAME   name reported in the ready line (default native-epoll)\n"
    "  --host H       address to listen on (default 127.0.0.1)\n"
    "  --port P       port, 0 for a free one (default 0)\n"
    "  --work SPEC    none (default), cpu:<us>, block:<ms>, async:<ms>\n"
    "Frames are a 4-byte big-endian length and the payload, at most 64 MiB: a connection announcing more is closed\n"
    "and logged on stderr (one line, at most once a second).\n"
    "Prints \"CONBENCH_READY {json}\" on stdout when it can serve; stops when its parent process dies.\n"
    "Exit status: 0 after a clean stop, 1 on a failure, 2 for bad usage (bad flag, a host that does not resolve).\n";

enum work_kind { WORK_NONE, WORK_CPU, WORK_BLOCK, WORK_ASYNC };
static enum work_kind work_kind = WORK_NONE;
static long long work_nanos;

/* What an epoll event refers to; a connection owns two (its socket and its timer). */
enum source_kind { SRC_LISTEN, SRC_WAKE, SRC_SOCKET, SRC_TIMER };
struct conn;
struct source { enum source_kind kind; struct conn *conn; };

struct conn {
  struct source sock_src, timer_src;
  int fd, tfd;               /* tfd: async-work timer, created on first use */
  uint32_t interest;         /* events currently registered for fd */
  size_t sent, scan, len;    /* buf[sent,scan) processed but unsent; buf[scan,len) not processed yet */
  uint32_t payload_left;
  uint8_t header[4];
  int header_filled;
  bool work_done, waiting_work, want_write, input_ended, closed;
  struct conn *prev, *next;
  uint8_t buf[BUF_BYTES];    /* left last: only the prefix is initialised, untouched pages stay out of RSS */
};

static int epfd = -1, listen_fd = -1, wake_fd = -1, spare_fd = -1;
static volatile sig_atomic_t stopping;
static struct conn *live, *dead; /* dead: closed this epoll batch, freed after it so stale events stay safe */

/* ---- command line ---- */

/* Same grammar and messages as servers/work.ts: (none|cpu|block|async)(:\d+(\.\d+)?)? */
static void parse_work(const char *text, char *trimmed, size_t size) {
  const char *s = text, *e = text + strlen(text);
  while (isspace((unsigned char)*s)) s++;
  while (e > s && isspace((unsigned char)e[-1])) e--;
  if ((size_t)(e - s) >= size) die(2, "work must be one of none, cpu:<µs>, block:<ms>, async:<ms> (got \"%s\")", text);
  memcpy(trimmed, s, (size_t)(e - s));
  trimmed[e - s] = '\0';

  char *colon = strchr(trimmed, ':');
  size_t kind_len = colon ? (size_t)(colon - trimmed) : strlen(trimmed);
  static const char *const kinds[] = {"none", "cpu", "block", "async"};
  int kind = -1;
  for (int k = 0; k < 4; k++)
    if (strlen(kinds[k]) == kind_len && strncmp(trimmed, kinds[k], kind_len) == 0) kind = k;
  bool amount_ok = kind >= 0;
  if (colon && amount_ok) {
    const char *p = colon + 1, *dot = strchr(p, '.');
    size_t int_digits = strspn(p, "0123456789");
    amount_ok = int_digits > 0 && (p[int_digits] == '\0' ||
                                   (dot == p + int_digits && dot[1] && strspn(dot + 1, "0123456789") == strlen(dot + 1)));
  }
  if (!amount_ok) die(2, "work must be one of none, cpu:<µs>, block:<ms>, async:<ms> (got \"%s\")", text);
  work_kind = (enum work_kind)kind;
  if (work_kind == WORK_NONE) {
    if (colon) die(2, "work \"none\" takes no amount (got \"%s\")", text);
    return;
  }
  if (!colon) die(2, "work \"%s\" needs an amount, e.g. %s:%d", kinds[kind], kinds[kind], work_kind == WORK_CPU ? 100 : 5);
  double amount = strtod(colon + 1, NULL), max = work_kind == WORK_CPU ? 1e6 : 60000;
  const char *unit = work_kind == WORK_CPU ? "µs" : "ms";
  if (!(amount > 0) || amount > max) die(2, "work %s amount must be > 0 and ≤ %.0f %s (got \"%s\")", kinds[kind], max, unit, text);
  work_nanos = (long long)(amount * (work_kind == WORK_CPU ? 1e3 : 1e6) + 0.5);
  if (work_nanos < 1) work_nanos = 1; /* a zero timer would never fire */
}

static unsigned parse_port(const char *text) {
  size_t digits = strspn(text, "0123456789");
  if (digits == 0 || digits > 5 || text[digits] != '\0' || atol(text) > 65535)
    die(2, "--port must be a port from 0 to 65535 (got \"%s\")", text);
  return (unsigned)atol(text);
}

/* ---- handler work ---- */

static long long now_nanos(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Returns -1 on failure; for async work sets waiting_work and the timer resumes the connection. */
static int run_work(struct conn *c) {
  struct timespec ts = {work_nanos / 1000000000LL, work_nanos % 1000000000LL};
  switch (work_kind) {
  case WORK_NONE:
    return 0;
  case WORK_CPU: {
    long long end = now_nanos() + work_nanos;
    while (!stopping && now_nanos() < end) {}
    return 0;
  }
  case WORK_BLOCK: /* the whole server stalls, as with a blocking syscall; a stop signal cuts it short */
    while (!stopping && nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
    return 0;
  case WORK_ASYNC:
    if (c->tfd < 0) {
      c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
      struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->timer_src};
      if (c->tfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, c->tfd, &ev) < 0) return -1;
    }
    struct itimerspec its = {.it_value = ts};
    if (timerfd_settime(c->tfd, 0, &its, NULL) < 0) return -1;
    c->waiting_work = true;
    return 0;
  }
  return 0;
}

/* ---- connections ---- */

static void close_conn(struct conn *c) {
  if (c->closed) return;
  c->closed = true;
  close(c->fd); /* also drops it from the epoll set */
  if (c->tfd >= 0) close(c->tfd);
  if (c->prev) c->prev->next = c->next;
  else live = c->next;
  if (c->next) c->next->prev = c->prev;
  c->next = dead;
  dead = c;
}

static void open_conn(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct conn *c = malloc(sizeof *c);
  if (!c) {
    close(fd);
    return;
  }
  memset(c, 0, offsetof(struct conn, buf));
  c->fd = fd;
  c->tfd = -1;
  c->sock_src = (struct source){SRC_SOCKET, c};
  c->timer_src = (struct source){SRC_TIMER, c};
  c->interest = EPOLLIN;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->sock_src};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    close(fd);
    free(c);
    return;
  }
  c->next = live;
  if (live) live->prev = c;
  live = c;
}

/* One stderr line per second at most for peers announcing frames over the limit (as servers/tcp-echo.ts does). */
static void log_oversized(const struct conn *c) {
  static long long last_logged = -1;
  static unsigned long dropped;
  long long now = now_nanos();
  if (last_logged >= 0 && now - last_logged < 1000000000LL) {
    dropped++;
    return;
  }
  last_logged = now;
  struct sockaddr_storage peer;
  socklen_t len = sizeof peer;
  char host[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (getpeername(c->fd, (struct sockaddr *)&peer, &len) == 0) {
    bool v6 = peer.ss_family == AF_INET6;
    const void *addr = v6 ? (const void *)&((struct sockaddr_in6 *)&peer)->sin6_addr : (const void *)&((struct sockaddr_in *)&peer)->sin_addr;
    inet_ntop(peer.ss_family, addr, host, sizeof host);
    port = ntohs(v6 ? ((struct sockaddr_in6 *)&peer)->sin6_port : ((struct sockaddr_in *)&peer)->sin_port);
  }
  fprintf(stderr, "closing the connection from %s:%u: it announced a frame of %u bytes, over the 64 MiB limit", host, port,
          c->payload_left);
  if (dropped > 0) fprintf(stderr, " (%lu more like it not logged)", dropped);
  fputc('\n', stderr);
  dropped = 0;
}

/* Walks the unprocessed bytes through the frame state machine; stops early while async work is pending. */
static int advance(struct conn *c) {
  while (c->scan < c->len && !c->waiting_work && !stopping) {
    if (c->payload_left > 0) {
      size_t avail = c->len - c->scan, take = c->payload_left < avail ? c->payload_left : avail;
      c->scan += take;
      c->payload_left -= (uint32_t)take;
      if (c->payload_left == 0) c->work_done = false;
    } else if (!c->work_done) {
      c->work_done = true; /* a frame's first byte is here: its work runs before any of it is echoed */
      if (run_work(c) < 0) return -1;
    } else {
      c->header[c->header_filled++] = c->buf[c->scan++];
      if (c->header_filled == 4) {
        c->header_filled = 0;
        c->payload_left = (uint32_t)c->header[0] << 24 | (uint32_t)c->header[1] << 16 |
                          (uint32_t)c->header[2] << 8 | c->header[3];
        if (c->payload_left > MAX_PAYLOAD_BYTES) {
          log_oversized(c);
          return -1;
        }
        if (c->payload_left == 0) c->work_done = false;
      }
    }
  }
  return 0;
}

/* Sends the processed bytes; on a full socket buffer keeps the rest and waits for EPOLLOUT (backpressure). */
static int flush(struct conn *c) {
  while (c->sent < c->scan) {
    ssize_t n = send(c->fd, c->buf + c->sent, c->scan - c->sent, MSG_NOSIGNAL);
    if (n >= 0) {
      c->sent += (size_t)n;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      c->want_write = true;
      return 0;
    } else if (errno != EINTR) {
      return -1;
    }
  }
  c->want_write = false;
  return 0;
}

/* Reads only while nothing is pending (no unsent bytes, no async work, input open). */
static int update_interest(struct conn *c) {
  uint32_t want = c->want_write ? EPOLLOUT : (!c->waiting_work && !c->input_ended ? EPOLLIN : 0);
  if (want == c->interest) return 0;
  struct epoll_event ev = {.events = want, .data.ptr = &c->sock_src};
  c->interest = want;
  return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Makes as much progress as the connection allows: process, send, then read more once the buffer is empty. */
static void drive(struct conn *c) {
  bool drained = false; /* a short read emptied the socket: skip the read that would only say EAGAIN */
  for (int reads = 0;;) {
    if (advance(c) < 0 || flush(c) < 0) {
      close_conn(c);
      return;
    }
    if (stopping || c->want_write || c->waiting_work) break;
    if (c->input_ended) { /* everything read has been echoed: pass the half close on */
      shutdown(c->fd, SHUT_WR);
      close_conn(c);
      return;
    }
    if (drained || reads++ == READS_PER_TURN) break; /* level-triggered: epoll reports the rest next round */
    ssize_t n = read(c->fd, c->buf, BUF_BYTES);
    if (n > 0) {
      c->sent = c->scan = 0;
      c->len = (size_t)n;
      drained = n < BUF_BYTES;
    } else if (n == 0) {
      c->input_ended = true;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else if (errno != EINTR) {
      close_conn(c); /* ECONNRESET and friends end this connection only */
      return;
    }
  }
  if (update_interest(c) < 0) close_conn(c);
}

static void on_timer(struct conn *c) {
  uint64_t expirations;
  if (read(c->tfd, &expirations, sizeof expirations) < 0 || !c->waiting_work) return;
  c->waiting_work = false;
  drive(c);
}

/* At the fd limit, accept and drop one peer using a reserved fd, so the level-triggered listener does not spin. */
static bool shed_one(void) {
  if (spare_fd < 0) return false;
  close(spare_fd);
  int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd >= 0) close(fd);
  spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd >= 0;
}

static void accept_all(void) {
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) open_conn(fd);
    else if (errno == EMFILE || errno == ENFILE) {
      if (!shed_one()) return;
    } else if (errno != EINTR && errno != ECONNABORTED && errno != EPROTO) {
      return; /* EAGAIN, or ENOBUFS/ENOMEM: try again on the next wakeup */
    }
  }
}

/* ---- setup and main loop ---- */

/*
 * Asks the kernel for SIGTERM (the normal, clean stop) when the parent dies, however it dies. PR_SET_PDEATHSIG only
 * covers a death after the call, so the parent is checked once right after it: if it died in between, we have
 * already been re-parented and stop at once. The parent to compare with is CONBENCH_PARENT_PID, which the Node code
 * that starts this binary sets to its own pid (through taskset, which execs us, the pid is the same); that also
 * covers a parent that died before main() ran. Started by hand without it, the parent seen at start-up is used.
 */
static void stop_with_parent(pid_t parent_at_start) {
  const char *text = getenv("CONBENCH_PARENT_PID");
  char *end = NULL;
  long expected = text ? strtol(text, &end, 10) : 0;
  pid_t parent = text && *text && *end == '\0' && expected > 0 ? (pid_t)expected : parent_at_start;
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) die(1, "prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
  if (getppid() != parent) stopping = 1;
}

static void on_stop_signal(int sig) {
  (void)sig;
  int saved = errno;
  uint64_t one = 1;
  stopping = 1;
  ssize_t r = write(wake_fd, &one, sizeof one); /* wakes epoll_wait even if the signal lands just before it */
  (void)r;
  errno = saved;
}

static unsigned open_listener(const char *host, unsigned port) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *res;
  char service[8];
  snprintf(service, sizeof service, "%u", port);
  int rc = getaddrinfo(host, service, &hints, &res);
  if (rc != 0) die(2, "--host cannot be resolved (got \"%s\": %s)", host, gai_strerror(rc));
  int err = 0;
  for (struct addrinfo *ai = res; ai && listen_fd < 0; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol), one = 1;
    if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
        bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0) {
      listen_fd = fd;
    } else {
      err = errno;
      if (fd >= 0) close(fd);
    }
  }
  freeaddrinfo(res);
  if (listen_fd < 0) die(1, "cannot listen on %s:%u: %s", host, port, strerror(err));
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;
  if (getsockname(listen_fd, (struct sockaddr *)&addr, &len) < 0) die(1, "getsockname: %s", strerror(errno));
  return ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                          : ((struct sockaddr_in *)&addr)->sin_port);
}

static void watch(int fd, struct source *src) {
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = src};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die(1, "epoll_ctl: %s", strerror(errno));
}

static void dispatch(const struct epoll_event *ev) {
  struct source *src = ev->data.ptr;
  if (src->kind == SRC_LISTEN) accept_all();
  else if (src->kind == SRC_WAKE) stopping = 1;
  else if (src->conn->closed) return; /* closed earlier in this batch */
  else if (src->kind == SRC_TIMER) on_timer(src->conn);
  else if (ev->events & (EPOLLERR | EPOLLHUP)) close_conn(src->conn); /* reset: nothing can be echoed */
  else drive(src->conn);
}

static void reap(void) {
  while (dead) {
    struct conn *next = dead->next;
    free(dead);
    dead = next;
  }
}

int main(int argc, char **argv) {
  pid_t parent_at_start = getppid();
  const char *model = "native-epoll", *host = "127.0.0.1", *work_text = "none";
  unsigned port = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *eq = strchr(arg, '=');
    if (strcmp(arg, "--help") == 0) {
      fputs(USAGE, stdout);
      return 0;
    }
    static const char *const names[] = {"--model", "--host", "--port", "--work"};
    size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    int which = -1;
    for (int k = 0; k < 4; k++)
      if (strlen(names[k]) == name_len && strncmp(arg, names[k], name_len) == 0) which = k;
    if (which < 0) die(2, "unknown option \"%s\" (run with --help for usage)", arg);
    const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!value) die(2, "option %s needs a value", names[which]);
    if (which == 0) model = value;
    else if (which == 1) host = value;
    else if (which == 2) port = parse_port(value);
    else work_text = value;
  }
  if (!*model) die(2, "--model must not be empty");
  if (!*host) die(2, "--host must not be empty");
  char work_spec[64];
  parse_work(work_text, work_spec, sizeof work_spec);

  signal(SIGPIPE, SIG_IGN);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (epfd < 0 || wake_fd < 0) die(1, "cannot set up epoll: %s", strerror(errno));
  struct sigaction sa = {.sa_handler = on_stop_signal, .sa_flags = SA_RESTART};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  stop_with_parent(parent_at_start); /* after the handler, so the death signal takes the clean-stop path */
  if (stopping) return 0;             /* the parent is already gone: nobody will use this server */

  unsigned bound = open_listener(host, port);
  static struct source listen_src = {SRC_LISTEN, NULL}, wake_src = {SRC_WAKE, NULL};
  watch(listen_fd, &listen_src);
  watch(wake_fd, &wake_src);

  fputs("CONBENCH_READY {\"model\":", stdout);
  put_json_string(model);
  fputs(",\"protocol\":\"tcp\",\"host\":", stdout);
  put_json_string(host);
  printf(",\"port\":%u,\"pid\":%ld,\"workers\":1,\"work\":", bound, (long)getpid());
  put_json_string(work_spec);
  fputs(",\"details\":{}}\n", stdout);
  fflush(stdout);

  struct epoll_event events[MAX_EVENTS];
  while (!stopping) {
    int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
    if (n < 0 && errno != EINTR) die(1, "epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n && !stopping; i++) dispatch(&events[i]);
    reap();
  }

  while (live) close_conn(live);
  reap();
  close(listen_fd);
  close(wake_fd);
  close(epfd);
  if (spare_fd >= 0) close(spare_fd);
  return 0;
}
