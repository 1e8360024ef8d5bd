/*
 * tcp-load: conbench's native load driver for the framed echo protocol (4-byte big-endian length + payload).
 *
 * The same workload as the Node client (clients/tcp.ts) at a fraction of its CPU per message, so a 2-core machine
 * can load a Node server until the server, not the client, is the limit:
 *   - N persistent connections each keep D frames in flight (closed loop), or send at a constant total rate with
 *     latency taken from each frame's intended send time (open loop, as wrk2 does), or connect, echo one frame and
 *     close, again and again (connect-per-request);
 *   - every echoed byte is verified: payloads are one random template stamped with the frame's sequence number and
 *     the connection id, so a corrupted, lost, reordered or misrouted frame is a mismatch, never a clean echo;
 *   - frames are written and verified as they stream (a 1 MiB frame is never copied whole);
 *   - latency goes into a log-linear histogram with HdrHistogram's bucket layout at 3 significant digits, printed
 *     as sparse (µs, count) pairs that the Node side records into hdr-histogram-js without losing precision;
 *   - epoll, level-triggered, one loop per thread; --threads T splits the connections over T threads, each pinned
 *     to one CPU of the affinity set it was started with (taskset) when there are enough CPUs.
 *
 * Request/response mode (--requests FILE): instead of echoes, frame j of connection c (j counted from 0 on each new
 * connection, warmup included) is request (c + j) mod K of the file, and each response (a frame, in request order)
 * must be that request's expected response: exactly (--verify bytes), in length only (length), or any frame (none).
 * The requests file (clients/requests-file.ts): the 8 bytes "CBREQ01\n", u32 K, then K times u32 reqLen, reqLen bytes,
 * u32 respLen, respLen bytes (all big-endian); each request is sent as the file holds it (its length is its header).
 * Connect-per-request takes the requests in turn, one per connection, from one counter. The echo path is untouched:
 * its writes and reads are other functions, chosen by one flag at each call.
 *
 * Readiness, then warmup, then the window: with --ready-connections K, connections send their first frames and (closed
 * loop) no more until K of them have each had one verified echo (bounded by --ready-timeout), so a server still
 * starting its workers is not measured as a slow one, nor a server still accepting connections while loaded; the
 * warmup then runs at full load.
 *
 * Output on stdout: "CONBENCH_PHASE measure" when the window opens, "CONBENCH_PHASE done" when it closes, then one
 * "CONBENCH_NATIVE_RESULT {json}" line (clients/native-tcp.ts turns it into a LoadResult). Errors: one line on
 * stderr; exit 2 for bad usage, 1 for a failure to run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <limits.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/native/die.h"
#include "../../lib/native/json-out.h"

#define MAX_PAYLOAD_BYTES (64u * 1024 * 1024)
#define READ_BYTES (64 * 1024)
#define READS_PER_TURN 4            /* bounded so one busy connection cannot starve the others */
#define FRAMES_PER_WRITEV 32        /* frames gathered into one writev (closed loop with many in flight) */
#define OPEN_LOOP_MAX_OUTSTANDING 100000
#define RECONNECT_DELAY_NS 50000000LL /* after the server dropped a connection or a connect failed */
#define HOUSEKEEPING_NS 20000000LL    /* timeouts and reconnects are checked this often */
#define TAG_BYTES 8

/* ---- histogram: HdrHistogram's layout for 3 significant digits (2048 sub-buckets), values in µs ---- */

#define HIST_MAX_US 600000000ULL /* 10 minutes, like clients/histogram.ts */
#define HIST_SLOTS (2048 + 19 * 1024)

static inline unsigned hist_index(uint64_t v) {
  if (v < 2048) return (unsigned)v;
  unsigned msb = 63u - (unsigned)__builtin_clzll(v), shift = msb - 10;
  return 2048 + (shift - 1) * 1024 + (unsigned)((v >> shift) - 1024);
}

static inline uint64_t hist_value(unsigned i) {
  if (i < 2048) return i;
  unsigned k = i - 2048, shift = k / 1024 + 1;
  return (uint64_t)(k % 1024 + 1024) << shift;
}

static inline void hist_record(uint64_t *h, int64_t nanos) {
  int64_t us = (nanos + 500) / 1000;
  if (us < 1) us = 1;
  if ((uint64_t)us > HIST_MAX_US) us = (int64_t)HIST_MAX_US;
  h[hist_index((uint64_t)us)]++;
}

/* ---- options ---- */

/* The defaults are lib/defaults.ts's, handed over by npm run build (-D), not repeated here. */
#if !defined(CB_DEFAULT_CONNECTIONS) || !defined(CB_DEFAULT_IN_FLIGHT) || !defined(CB_DEFAULT_PAYLOAD_BYTES) || \
    !defined(CB_DEFAULT_DURATION_SEC) || !defined(CB_DEFAULT_WARMUP_SEC) || !defined(CB_DEFAULT_TIMEOUT_MS) ||   \
    !defined(CB_DEFAULT_READY_TIMEOUT_SEC)
#error "build with npm run build: it passes the shared defaults of lib/defaults.ts as -D flags"
#endif
#define CB_STR_(x) #x
#define CB_STR(x) CB_STR_(x)

enum pattern { PERSISTENT, CONNECT_PER_REQUEST };
enum verify { VERIFY_UNSET, VERIFY_BYTES, VERIFY_LENGTH, VERIFY_NONE };

static struct {
  const char *target, *requests;
  struct sockaddr_storage addr;
  socklen_t addr_len;
  unsigned connections, in_flight, threads, ready_connections, window_frames, windows, payload, seed;
  double duration, warmup, rate, ready_timeout, linger;
  int64_t timeout_ns;
  enum pattern pattern;
  enum verify verify;
} opt = {.connections = CB_DEFAULT_CONNECTIONS, .in_flight = CB_DEFAULT_IN_FLIGHT, .threads = 1,
         .payload = CB_DEFAULT_PAYLOAD_BYTES, .duration = CB_DEFAULT_DURATION_SEC, .warmup = CB_DEFAULT_WARMUP_SEC,
         .ready_timeout = CB_DEFAULT_READY_TIMEOUT_SEC, .timeout_ns = CB_DEFAULT_TIMEOUT_MS * 1000000LL,
         .pattern = PERSISTENT};

static double parse_number(const char *name, const char *text, double min, double max, bool integer) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  bool ok = *text && *end == '\0' && errno == 0 && isfinite(v) && v >= min && v <= max && (!integer || v == floor(v));
  if (!ok) {
    if (integer) die(2, "--%s must be an integer from %.0f to %.0f (got \"%s\")", name, min, max, text);
    die(2, "--%s must be a number from %g to %g (got \"%s\")", name, min, max, text);
  }
  return v;
}

static void resolve_target(const char *target) {
  const char *colon = strrchr(target, ':');
  if (!colon || colon == target || !colon[1]) die(2, "--target must be HOST:PORT (got \"%s\")", target);
  char host[256];
  size_t host_len = (size_t)(colon - target);
  if (host_len >= sizeof host) die(2, "--target host is too long");
  memcpy(host, target, host_len);
  host[host_len] = '\0';
  if (host[0] == '[' && host_len > 2 && host[host_len - 1] == ']') { /* [::1]:port */
    memmove(host, host + 1, host_len - 2);
    host[host_len - 2] = '\0';
  }
  parse_number("target port", colon + 1, 1, 65535, true);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res;
  int rc = getaddrinfo(host, colon + 1, &hints, &res);
  if (rc != 0) die(2, "--target host cannot be resolved (got \"%s\": %s)", host, gai_strerror(rc));
  memcpy(&opt.addr, res->ai_addr, res->ai_addrlen);
  opt.addr_len = res->ai_addrlen;
  freeaddrinfo(res);
}

/* The options, one table: name, placeholder, help, how the value is checked and where it goes. --help, the parser
 * and its messages all come from it (wrk2 keeps three lists in step by index; an option here is one line). */
enum value_kind { V_TEXT, V_UINT, V_NUM, V_MS, V_PATTERN, V_VERIFY };
static const struct option_spec {
  const char *name, *meta, *help;
  enum value_kind kind;
  void *field;
  double min, max;
} OPTIONS[] = {
    {"target", "HOST:PORT", "server to load (required)", V_TEXT, &opt.target, 0, 0},
    {"connections", "N", "concurrent connections (default " CB_STR(CB_DEFAULT_CONNECTIONS) ")", V_UINT, &opt.connections, 1, 100000},
    {"in-flight", "D", "frames in flight per connection, closed loop (default " CB_STR(CB_DEFAULT_IN_FLIGHT) ")", V_UINT, &opt.in_flight, 1, 10000},
    {"size", "BYTES", "payload bytes, 0 to 67108864 (default " CB_STR(CB_DEFAULT_PAYLOAD_BYTES) ")", V_UINT, &opt.payload, 0, MAX_PAYLOAD_BYTES},
    {"duration", "SEC", "measured window (default " CB_STR(CB_DEFAULT_DURATION_SEC) ")", V_NUM, &opt.duration, 0.001, 86400},
    {"warmup", "SEC", "discarded warmup before it (default " CB_STR(CB_DEFAULT_WARMUP_SEC) ")", V_NUM, &opt.warmup, 0, 86400},
    {"pattern", "P", "persistent (default) or connect-per-request", V_PATTERN, &opt.pattern, 0, 0},
    {"rate", "R", "open loop: total frames/s; latency from the intended send time", V_NUM, &opt.rate, 0.001, 1e9},
    {"timeout", "MS", "a frame unanswered this long is a timeout (default " CB_STR(CB_DEFAULT_TIMEOUT_MS) ")", V_MS, &opt.timeout_ns, 1, 3600000},
    {"threads", "T", "event-loop threads (default 1), pinned one per CPU of the affinity set", V_UINT, &opt.threads, 1, 256},
    {"ready-connections", "K", "warm up and measure only once K connections have had an echo (default 0)", V_UINT, &opt.ready_connections, 0, 100000},
    {"ready-timeout", "SEC", "... or once this long has passed, whichever comes first (default " CB_STR(CB_DEFAULT_READY_TIMEOUT_SEC) ")", V_NUM, &opt.ready_timeout, 0, 3600},
    {"window-frames", "K",
     "counted windows instead of one timed window: after the warmup the driver goes quiet\n"
     "(nothing in flight) and prints CONBENCH_QUIET; each \"go\" line on stdin (or \"go N\": N\n"
     "frames this window) then runs one window of exactly K frames per connection, quiet\n"
     "again after it, and prints\n"
     "CONBENCH_COUNTED {json}; \"stop\" ends it (closed loop only; for instruction counts)",
     V_UINT, &opt.window_frames, 1, 100000000},
    {"windows", "N",
     "N timed windows of --duration back to back on the same connections, each printed as\n"
     "CONBENCH_WINDOW {json} after its phase lines; the result sums them (default 1)",
     V_UINT, &opt.windows, 1, 100000},
    {"linger", "SEC",
     "after the last window keep every connection open, idle, until stdin ends or SEC\n"
     "pass (so a server that ends a process per connection is still whole when sampled)",
     V_NUM, &opt.linger, 0, 3600},
    {"seed", "S",
     "payload bytes from this seed (splitmix64), the same in every run given it; default: random\n"
     "(getrandom), a new payload per process",
     V_UINT, &opt.seed, 1, 4294967295.0},
    {"requests", "FILE",
     "request/response mode: send the requests of FILE (\"CBREQ01\\n\", u32 K, then K times u32\n"
     "reqLen, request, u32 respLen, expected response; big-endian) instead of echo frames:\n"
     "frame j of connection c is request (c + j) mod K; --size is ignored",
     V_TEXT, &opt.requests, 0, 0},
    {"verify", "V",
     "with --requests, what a response (a frame, in request order) must match: bytes (the\n"
     "expected response exactly; default), length (its length only) or none (any frame)",
     V_VERIFY, &opt.verify, 0, 0},
};
enum { N_OPTIONS = sizeof OPTIONS / sizeof OPTIONS[0] };

static void print_usage(void) {
  fputs("usage: tcp-load --target HOST:PORT [options]\n"
        "Native load driver for the conbench framed echo protocol; verifies every echoed byte (with\n"
        "--requests: every response).\n",
        stdout);
  for (int k = 0; k < N_OPTIONS; k++) {
    char left[64];
    snprintf(left, sizeof left, "  --%s %s", OPTIONS[k].name, OPTIONS[k].meta);
    printf("%-28s", left);
    for (const char *h = OPTIONS[k].help; *h; h++) {
      putchar(*h);
      if (*h == '\n') printf("%28s", "");
    }
    putchar('\n');
  }
}

static void set_option(const struct option_spec *o, const char *v) {
  switch (o->kind) {
  case V_TEXT: *(const char **)o->field = v; break;
  case V_UINT: *(unsigned *)o->field = (unsigned)parse_number(o->name, v, o->min, o->max, true); break;
  case V_NUM: *(double *)o->field = parse_number(o->name, v, o->min, o->max, false); break;
  case V_MS: *(int64_t *)o->field = (int64_t)(parse_number(o->name, v, o->min, o->max, false) * 1e6); break;
  case V_PATTERN:
    if (strcmp(v, "persistent") == 0) *(enum pattern *)o->field = PERSISTENT;
    else if (strcmp(v, "connect-per-request") == 0) *(enum pattern *)o->field = CONNECT_PER_REQUEST;
    else die(2, "--%s must be one of persistent, connect-per-request (got \"%s\")", o->name, v);
    break;
  case V_VERIFY:
    if (strcmp(v, "bytes") == 0) *(enum verify *)o->field = VERIFY_BYTES;
    else if (strcmp(v, "length") == 0) *(enum verify *)o->field = VERIFY_LENGTH;
    else if (strcmp(v, "none") == 0) *(enum verify *)o->field = VERIFY_NONE;
    else die(2, "--%s must be one of bytes, length, none (got \"%s\")", o->name, v);
    break;
  }
}

static void parse_args(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0) {
      print_usage();
      exit(0);
    }
    if (strncmp(arg, "--", 2) != 0) die(2, "unexpected argument \"%s\" (run with --help for usage)", arg);
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    const struct option_spec *o = NULL;
    for (int k = 0; k < N_OPTIONS; k++)
      if (strlen(OPTIONS[k].name) == len && strncmp(arg + 2, OPTIONS[k].name, len) == 0) o = &OPTIONS[k];
    if (!o) die(2, "unknown option \"%s\" (run with --help for usage)", arg);
    const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!v) die(2, "option --%s needs a value", o->name);
    set_option(o, v);
  }
  if (!opt.target) die(2, "--target HOST:PORT is required");
  if (opt.rate > 0 && opt.pattern != PERSISTENT) die(2, "--rate applies to --pattern persistent only");
  if (opt.window_frames > 0 && opt.rate > 0) die(2, "--window-frames applies to the closed loop (no --rate)");
  if (opt.verify != VERIFY_UNSET && !opt.requests) die(2, "--verify applies to --requests only");
  if (opt.verify == VERIFY_UNSET) opt.verify = VERIFY_BYTES;
  if (opt.threads > opt.connections) opt.threads = opt.connections;
  if (opt.ready_connections > opt.connections) opt.ready_connections = opt.connections;
  resolve_target(opt.target);
}

/* ---- shared state ---- */

enum phase { WARMUP, MEASURE, STOP };
static _Atomic int phase = WARMUP;
static _Atomic unsigned ready_count; /* connections (or connect-per-request slots) with at least one verified echo */
/* Closed loop with --ready-connections: each connection sends its first frames and no more until the ready count is
 * reached, so the server accepts its connections unloaded. Measured: a Node event loop kept busy by the connections
 * it had took 6-11 s (1000 connections; 2 s for 500, 0.3 s for 200) to accept the rest, ~110 a second, and those
 * seconds of every run went to a ramp no row reports. */
static _Atomic bool ramp_held;
/* Counted windows (--window-frames): once budgeted, a connection sends only the frames its budget allows. */
static _Atomic bool budgeted;
static _Atomic unsigned window_id; /* main → workers: a new window started; each connection's budget is K again */
static _Atomic unsigned window_budget; /* K of the current window (--window-frames, or the "go K" that started it) */
static uint8_t *template_bytes;      /* random payload shared by every connection; bytes [0,tag) replaced by the tag */
static uint32_t tag_bytes, frame_bytes;
static int64_t started_ns;           /* open loop: frame k of a connection is due at started + (k + offset) / rate */

/* ---- request/response mode (--requests): the file's requests, sent from and verified against the file's bytes ---- */

#define REQUESTS_MAGIC "CBREQ01\n"
#define MAX_REQUESTS 1000000u

struct request {
  uint8_t *frame;          /* u32 length + request payload, as the file holds it: the frame sent */
  const uint8_t *response; /* the expected response payload */
  uint32_t frame_len, response_len;
};
static bool request_mode;
static struct request *requests;
static uint32_t n_requests;
static _Atomic uint64_t next_request; /* connect-per-request: the request of the next connection, all threads */

static inline uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Reads and checks the whole file; the requests point into it. A bad file is bad usage (exit 2), named. */
static void load_requests(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) die(2, "--requests %s: %s", path, strerror(errno));
  size_t size = 0, cap = 1 << 16;
  uint8_t *buf = malloc(cap);
  for (;;) {
    if (!buf) die(1, "--requests %s: out of memory", path);
    if (size == cap) buf = realloc(buf, cap *= 2);
    if (!buf) die(1, "--requests %s: out of memory", path);
    size_t got = fread(buf + size, 1, cap - size, f);
    size += got;
    if (got == 0) break;
  }
  if (ferror(f)) die(2, "--requests %s: %s", path, strerror(errno));
  fclose(f);
  if (size < 8 || memcmp(buf, REQUESTS_MAGIC, 8) != 0) die(2, "--requests %s: not a requests file (it does not start with CBREQ01)", path);
  if (size < 12) die(2, "--requests %s: truncated: no request count", path);
  n_requests = be32(buf + 8);
  if (n_requests < 1 || n_requests > MAX_REQUESTS)
    die(2, "--requests %s: %u requests (must be 1 to %u)", path, n_requests, MAX_REQUESTS);
  requests = calloc(n_requests, sizeof *requests);
  if (!requests) die(1, "--requests %s: out of memory for %u requests", path, n_requests);
  size_t pos = 12;
  for (uint32_t i = 0; i < n_requests; i++) {
    for (int part = 0; part < 2; part++) {
      const char *what = part == 0 ? "request" : "response";
      if (size - pos < 4) die(2, "--requests %s: truncated in %s %u of %u (its length)", path, what, i, n_requests);
      uint32_t len = be32(buf + pos);
      if (len > MAX_PAYLOAD_BYTES) die(2, "--requests %s: %s %u is %u bytes (at most %u)", path, what, i, len, MAX_PAYLOAD_BYTES);
      if (size - pos - 4 < len) die(2, "--requests %s: truncated in %s %u of %u (%u bytes announced)", path, what, i, n_requests, len);
      if (part == 0) {
        requests[i].frame = buf + pos;
        requests[i].frame_len = 4 + len;
      } else {
        requests[i].response = buf + pos + 4;
        requests[i].response_len = len;
      }
      pos += 4 + (size_t)len;
    }
  }
  if (pos != size) die(2, "--requests %s: %zu bytes after its %u requests", path, size - pos, n_requests);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct counters {
  uint64_t messages, bytes, mismatches, errors, resets, timeouts, connect_failures, backlogged;
};

/* Send times of the frames awaiting their echo, oldest first (grows on demand in open loop). */
struct ring {
  int64_t *sent, *intended;
  size_t head, len, cap;
};

static bool ring_push(struct ring *r, int64_t sent, int64_t intended) {
  if (r->len == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 16;
    int64_t *s = malloc(cap * sizeof *s), *in = malloc(cap * sizeof *in);
    if (!s || !in) {
      free(s);
      free(in);
      return false;
    }
    for (size_t i = 0; i < r->len; i++) {
      s[i] = r->sent[(r->head + i) % r->cap];
      in[i] = r->intended[(r->head + i) % r->cap];
    }
    free(r->sent);
    free(r->intended);
    r->sent = s;
    r->intended = in;
    r->head = 0;
    r->cap = cap;
  }
  size_t at = (r->head + r->len++) % r->cap;
  r->sent[at] = sent;
  r->intended[at] = intended;
  return true;
}

static inline int64_t ring_sent_at(const struct ring *r, size_t i) { return r->sent[(r->head + i) % r->cap]; }

static void ring_shift(struct ring *r, int64_t *sent, int64_t *intended) {
  *sent = r->sent[r->head];
  *intended = r->intended[r->head];
  r->head = (r->head + 1) % r->cap;
  r->len--;
}

enum conn_state { IDLE, CONNECTING, OPEN };

struct worker;

struct conn {
  struct worker *w;
  uint32_t id;
  int fd;
  enum conn_state state;
  int64_t connect_started, retry_at;
  uint64_t next_seq;   /* sequence number of the next frame to create */
  uint64_t write_seq;  /* frame being written; frames [write_seq, next_seq) are not fully written yet */
  uint32_t write_off;  /* bytes of frame write_seq already written */
  uint64_t recv_seq;   /* frame whose echo is being read; frames [recv_seq, next_seq) await their echo */
  uint32_t recv_off;
  uint64_t timed_out_through; /* frames below this were counted as timeouts already */
  uint64_t scheduled;  /* open loop: frames due so far (sent or skipped) */
  double phase_offset; /* open loop: this connection's share of the interval, so sends are spread out */
  bool mismatched, want_write, ever_served, served_in_window;
  unsigned budget;     /* counted windows: frames this connection may still send in the current window */
  uint8_t expect[4 + TAG_BYTES];
  struct ring ring;
  uint64_t request_base; /* --requests: frame j of this connection is request (request_base + j) mod K */
  uint32_t response_len; /* --requests: the payload length the response being read announced */
};

struct worker {
  unsigned index;
  int cpu; /* -1: not pinned */
  pthread_t thread;
  clockid_t cpu_clock;
  int epfd, timer_fd;
  struct conn *conns;
  unsigned nconns;
  uint8_t *rbuf;
  uint64_t *latency, *uncorrected;
  struct counters c;
  int64_t next_housekeeping;
  const char *failure; /* set when the thread could not run */
  unsigned window_seen;            /* the last window whose budgets this thread handed out */
  _Atomic unsigned quiet_through;  /* this thread has nothing in flight and no budget left after this window */
  char first_error[96]; /* the first error counted in the window, like Node's "connect ECONNREFUSED 127.0.0.1:9" */
};

static inline bool recording(void) { return atomic_load_explicit(&phase, memory_order_relaxed) == MEASURE; }
static inline bool running(void) { return atomic_load_explicit(&phase, memory_order_relaxed) != STOP; }

/* May this connection send one more frame? Always, unless counted windows hold it to its budget (then spend one). */
static bool take_budget(struct conn *c) {
  if (!atomic_load_explicit(&budgeted, memory_order_acquire)) return true;
  if (c->budget == 0) return false;
  c->budget--;
  return true;
}

/* ---- frames ---- */

static void frame_prefix(uint8_t *out, uint64_t seq, uint32_t id) {
  out[0] = (uint8_t)(opt.payload >> 24);
  out[1] = (uint8_t)(opt.payload >> 16);
  out[2] = (uint8_t)(opt.payload >> 8);
  out[3] = (uint8_t)opt.payload;
  uint8_t tag[TAG_BYTES] = {(uint8_t)seq, (uint8_t)(seq >> 8), (uint8_t)(seq >> 16), (uint8_t)(seq >> 24),
                            (uint8_t)id,  (uint8_t)(id >> 8),  (uint8_t)(id >> 16),  (uint8_t)(id >> 24)};
  memcpy(out + 4, tag, tag_bytes);
}

/* Remembers the first error of the window, for the one-line reason a failed run exits with. */
static void note_error(struct worker *w, const char *what, int err) {
  if (!recording() || w->first_error[0]) return;
  const char *name = strerrorname_np(err);
  if (err == 0) snprintf(w->first_error, sizeof w->first_error, "%s: the server closed the connection to %s", what, opt.target);
  else snprintf(w->first_error, sizeof w->first_error, "%s %s %s", what, name ? name : strerror(err), opt.target);
}

static void count_error(struct worker *w, const char *what, int err) {
  if (!recording()) return;
  note_error(w, what, err);
  if (err == ECONNRESET || err == EPIPE) w->c.resets++;
  else w->c.errors++;
}

static void count_connect_failure(struct worker *w, int err) {
  if (!recording()) return;
  note_error(w, "connect", err);
  w->c.connect_failures++;
}

static void watch(struct conn *c, uint32_t events, int op) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(c->w->epfd, op, c->fd, &ev);
}

static void close_conn(struct conn *c, int64_t retry_after_ns) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->state = IDLE;
  c->retry_at = now_ns() + retry_after_ns;
}

static void start_connect(struct conn *c) {
  c->next_seq = c->write_seq = c->recv_seq = c->timed_out_through = 0;
  c->write_off = c->recv_off = 0;
  c->want_write = c->mismatched = false;
  c->ring.head = c->ring.len = 0;
  c->connect_started = now_ns();
  c->fd = socket(opt.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    count_connect_failure(c->w, errno);
    close_conn(c, RECONNECT_DELAY_NS);
    return;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->state = CONNECTING;
  if (connect(c->fd, (struct sockaddr *)&opt.addr, opt.addr_len) < 0 && errno != EINPROGRESS) {
    count_connect_failure(c->w, errno);
    close_conn(c, RECONNECT_DELAY_NS);
    return;
  }
  watch(c, EPOLLOUT, EPOLL_CTL_ADD);
}

/* Queues one frame; its bytes go out at the next pump_writes. */
static bool enqueue(struct conn *c, int64_t sent, int64_t intended) {
  if (!ring_push(&c->ring, sent, intended)) return false;
  c->next_seq++;
  return true;
}

/* Writes queued frames (gathered, without copying the template) until done or the socket buffer is full. */
static int pump_writes(struct conn *c) {
  while (c->write_seq < c->next_seq) {
    struct iovec iov[2 * FRAMES_PER_WRITEV];
    uint8_t prefixes[FRAMES_PER_WRITEV][4 + TAG_BYTES];
    size_t prefix_len = 4 + tag_bytes, body_len = opt.payload - tag_bytes, total = 0;
    int n = 0;
    uint64_t seq = c->write_seq;
    size_t off = c->write_off;
    for (int f = 0; f < FRAMES_PER_WRITEV && seq < c->next_seq; f++, seq++, off = 0) {
      frame_prefix(prefixes[f], seq, c->id);
      if (off < prefix_len) {
        iov[n++] = (struct iovec){prefixes[f] + off, prefix_len - off};
        total += prefix_len - off;
      }
      size_t body_from = off > prefix_len ? off - prefix_len : 0;
      if (body_from < body_len) {
        iov[n++] = (struct iovec){template_bytes + tag_bytes + body_from, body_len - body_from};
        total += body_len - body_from;
      }
    }
    ssize_t written = writev(c->fd, iov, n);
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return -errno;
    }
    size_t left = (size_t)written;
    while (left > 0) {
      size_t rest = frame_bytes - c->write_off;
      if (left >= rest) {
        left -= rest;
        c->write_seq++;
        c->write_off = 0;
      } else {
        c->write_off += (uint32_t)left;
        left = 0;
      }
    }
    if ((size_t)written < total) break; /* the socket buffer is full */
  }
  bool want = c->write_seq < c->next_seq;
  if (want != c->want_write) {
    c->want_write = want;
    watch(c, EPOLLIN | (want ? EPOLLOUT : 0), EPOLL_CTL_MOD);
  }
  return 0;
}

static void fail_conn(struct conn *c, const char *what, int err) {
  count_error(c->w, what, err);
  close_conn(c, RECONNECT_DELAY_NS);
}

static int pump_requests(struct conn *c);

/* Sends what is queued; a write error fails the connection. Returns whether it is still open. */
static bool flush_writes(struct conn *c) {
  int rc = request_mode ? pump_requests(c) : pump_writes(c);
  if (rc < 0) fail_conn(c, "write", -rc);
  return rc >= 0;
}

/* A whole echoed frame (or response) has arrived: verify, time, and (closed loop) send the next one. */
static void complete_frame(struct conn *c, int64_t now, uint64_t bytes) {
  struct worker *w = c->w;
  int64_t sent, intended;
  ring_shift(&c->ring, &sent, &intended);
  c->recv_seq++;
  if (!c->mismatched && !c->ever_served) {
    c->ever_served = true;
    atomic_fetch_add_explicit(&ready_count, 1, memory_order_relaxed);
  }
  if (recording()) {
    if (c->mismatched) {
      w->c.mismatches++;
    } else {
      w->c.messages++;
      w->c.bytes += bytes;
      c->served_in_window = true;
      if (intended == 0) {
        hist_record(w->latency, now - sent);
      } else {
        hist_record(w->latency, now - intended);
        hist_record(w->uncorrected, now - sent);
      }
    }
  }
  if (opt.pattern == PERSISTENT && opt.rate == 0 && running() && !atomic_load_explicit(&ramp_held, memory_order_relaxed) && take_budget(c)) enqueue(c, now, 0);
}

/* Connect-per-request: the exchange is over; close and start the next (while running and within the budget). */
static void next_exchange(struct conn *c) {
  close(c->fd);
  c->fd = -1;
  c->state = IDLE;
  if (running() && (!atomic_load(&budgeted) || c->budget > 0)) start_connect(c);
}

/* Compares received bytes with what the frame being read must contain. Returns false once the connection closed. */
static bool receive(struct conn *c, const uint8_t *p, size_t n, int64_t now) {
  size_t prefix_len = 4 + tag_bytes;
  while (n > 0) {
    if (c->recv_off == 0) {
      if (c->recv_seq == c->next_seq) { /* bytes nobody asked for */
        if (recording()) c->w->c.mismatches++;
        close_conn(c, RECONNECT_DELAY_NS);
        return false;
      }
      frame_prefix(c->expect, c->recv_seq, c->id);
      c->mismatched = false;
    }
    size_t take = frame_bytes - c->recv_off < n ? frame_bytes - c->recv_off : n, off = c->recv_off;
    if (!c->mismatched) {
      size_t i = 0;
      if (off < prefix_len) {
        size_t k = prefix_len - off < take ? prefix_len - off : take;
        if (memcmp(p, c->expect + off, k) != 0) c->mismatched = true;
        i = k;
      }
      if (!c->mismatched && i < take && memcmp(p + i, template_bytes + (off + i - 4), take - i) != 0) c->mismatched = true;
    }
    p += take;
    n -= take;
    c->recv_off += (uint32_t)take;
    if (c->recv_off == frame_bytes) {
      c->recv_off = 0;
      complete_frame(c, now, frame_bytes);
      if (opt.pattern == CONNECT_PER_REQUEST) { /* one exchange per connection: close and start the next */
        next_exchange(c);
        return false;
      }
    }
  }
  return true;
}

/* --requests: the request frame j of this connection sends. */
static inline const struct request *request_of(const struct conn *c, uint64_t seq) {
  return &requests[(c->request_base + seq) % n_requests];
}

/* --requests: pump_writes for the file's requests, each written from the file's bytes. */
static int pump_requests(struct conn *c) {
  while (c->write_seq < c->next_seq) {
    struct iovec iov[2 * FRAMES_PER_WRITEV];
    size_t total = 0;
    int n = 0;
    uint64_t seq = c->write_seq;
    size_t off = c->write_off;
    for (; n < 2 * FRAMES_PER_WRITEV && seq < c->next_seq; seq++, off = 0) {
      const struct request *r = request_of(c, seq);
      iov[n++] = (struct iovec){r->frame + off, r->frame_len - off};
      total += r->frame_len - off;
    }
    ssize_t written = writev(c->fd, iov, n);
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return -errno;
    }
    size_t left = (size_t)written;
    while (left > 0) {
      size_t rest = request_of(c, c->write_seq)->frame_len - c->write_off;
      if (left >= rest) {
        left -= rest;
        c->write_seq++;
        c->write_off = 0;
      } else {
        c->write_off += (uint32_t)left;
        left = 0;
      }
    }
    if ((size_t)written < total) break; /* the socket buffer is full */
  }
  bool want = c->write_seq < c->next_seq;
  if (want != c->want_write) {
    c->want_write = want;
    watch(c, EPOLLIN | (want ? EPOLLOUT : 0), EPOLL_CTL_MOD);
  }
  return 0;
}

/*
 * --requests: reads response frames (u32 length + payload) as they stream and checks each against the expected
 * response of the oldest request awaiting one (--verify). Returns false once the connection closed.
 */
static bool receive_response(struct conn *c, const uint8_t *p, size_t n, int64_t now) {
  while (n > 0) {
    if (c->recv_off == 0) {
      if (c->recv_seq == c->next_seq) { /* a response nobody asked for */
        if (recording()) c->w->c.mismatches++;
        close_conn(c, RECONNECT_DELAY_NS);
        return false;
      }
      c->mismatched = false;
    }
    const struct request *r = request_of(c, c->recv_seq);
    if (c->recv_off < 4) { /* the length, possibly split over reads */
      size_t k = 4 - c->recv_off < n ? 4 - c->recv_off : n;
      memcpy(c->expect + c->recv_off, p, k);
      p += k;
      n -= k;
      c->recv_off += (uint32_t)k;
      if (c->recv_off < 4) break;
      c->response_len = be32(c->expect);
      if (c->response_len > MAX_PAYLOAD_BYTES) { /* a protocol error, not a wrong answer */
        struct worker *w = c->w;
        if (recording() && !w->first_error[0])
          snprintf(w->first_error, sizeof w->first_error, "read: a response of %u bytes (over 64 MiB) from %s",
                   c->response_len, opt.target);
        fail_conn(c, "read", EPROTO);
        return false;
      }
      if (opt.verify != VERIFY_NONE && c->response_len != r->response_len) c->mismatched = true;
    }
    uint32_t frame_len = 4 + c->response_len;
    size_t take = frame_len - c->recv_off < n ? frame_len - c->recv_off : n;
    if (take > 0 && !c->mismatched && opt.verify == VERIFY_BYTES &&
        memcmp(p, r->response + (c->recv_off - 4), take) != 0)
      c->mismatched = true;
    p += take;
    n -= take;
    c->recv_off += (uint32_t)take;
    if (c->recv_off == frame_len) {
      c->recv_off = 0;
      complete_frame(c, now, (uint64_t)r->frame_len + frame_len);
      if (opt.pattern == CONNECT_PER_REQUEST) {
        next_exchange(c);
        return false;
      }
    }
  }
  return true;
}

static void on_connected(struct conn *c) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err != 0) {
    count_connect_failure(c->w, err);
    close_conn(c, RECONNECT_DELAY_NS);
    return;
  }
  c->state = OPEN;
  watch(c, EPOLLIN, EPOLL_CTL_MOD);
  if (opt.pattern == CONNECT_PER_REQUEST) {
    if (take_budget(c)) {
      if (request_mode) c->request_base = atomic_fetch_add_explicit(&next_request, 1, memory_order_relaxed);
      enqueue(c, c->connect_started, 0); /* latency of a connect-per-request exchange includes the connect */
    }
  } else if (opt.rate == 0) {
    int64_t now = now_ns();
    for (unsigned i = 0; i < opt.in_flight && take_budget(c); i++) enqueue(c, now, 0);
  }
  flush_writes(c);
}

static void on_readable(struct conn *c) {
  struct worker *w = c->w;
  for (int reads = 0; reads < READS_PER_TURN; reads++) {
    ssize_t n = read(c->fd, w->rbuf, READ_BYTES);
    if (n > 0) {
      bool still_open = request_mode ? receive_response(c, w->rbuf, (size_t)n, now_ns()) : receive(c, w->rbuf, (size_t)n, now_ns());
      if (!still_open) return;
      if (n < READ_BYTES) break;
    } else if (n == 0) { /* the server closed the connection */
      if (recording() && (opt.pattern == PERSISTENT || c->recv_seq < c->next_seq)) {
        note_error(w, "read", 0);
        w->c.errors++;
      }
      close_conn(c, opt.pattern == PERSISTENT ? RECONNECT_DELAY_NS : 0);
      return;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else if (errno != EINTR) {
      fail_conn(c, "read", errno);
      return;
    }
  }
  flush_writes(c);
}

static void on_event(struct conn *c, uint32_t events) {
  if (c->state == CONNECTING) {
    on_connected(c);
  } else if (c->state == OPEN) {
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c); /* read first: an error shows up as a failed read */
    if (c->state == OPEN && (events & EPOLLOUT)) {
      flush_writes(c);
    }
  }
}

/* Open loop: queue every frame whose intended time has come. Returns the earliest next due time. */
static int64_t send_due(struct worker *w, int64_t now) {
  double interval = 1e9 * opt.connections / opt.rate; /* ns between two frames of one connection */
  int64_t next = INT64_MAX;
  for (unsigned i = 0; i < w->nconns; i++) {
    struct conn *c = &w->conns[i];
    if (c->state != OPEN) continue;
    double position = (double)(now - started_ns) / interval - c->phase_offset;
    uint64_t due = position < 0 ? 0 : (uint64_t)floor(position) + 1;
    bool queued = false;
    while (c->scheduled < due) {
      int64_t intended = started_ns + (int64_t)(((double)c->scheduled + c->phase_offset) * interval);
      c->scheduled++;
      if (c->ring.len >= OPEN_LOOP_MAX_OUTSTANDING) {
        if (recording()) w->c.backlogged++;
        continue;
      }
      enqueue(c, now, intended);
      queued = true;
    }
    if (queued) {
      if (!flush_writes(c)) continue;
    }
    int64_t at = started_ns + (int64_t)(((double)c->scheduled + c->phase_offset) * interval);
    if (at < next) next = at;
  }
  return next;
}

static void arm_timer(struct worker *w, int64_t at_ns) {
  struct itimerspec its = {.it_value = {at_ns / 1000000000LL, at_ns % 1000000000LL}};
  if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
  timerfd_settime(w->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Timeouts (each overdue frame counted once), connect timeouts, and reconnects that are due. */
static void housekeeping(struct worker *w, int64_t now) {
  for (unsigned i = 0; i < w->nconns; i++) {
    struct conn *c = &w->conns[i];
    if (c->state == IDLE) {
      /* a dropped persistent connection comes back; a connect-per-request slot only while its budget lasts */
      bool may = opt.pattern == PERSISTENT || !atomic_load(&budgeted) || c->budget > 0;
      if (may && now >= c->retry_at) start_connect(c);
      continue;
    }
    if (c->state == CONNECTING) {
      if (now - c->connect_started > opt.timeout_ns) {
        count_connect_failure(w, ETIMEDOUT);
        close_conn(c, 0);
      }
      continue;
    }
    uint64_t from = c->timed_out_through > c->recv_seq ? c->timed_out_through - c->recv_seq : 0;
    for (uint64_t k = from; k < c->ring.len; k++) {
      if (now - ring_sent_at(&c->ring, k) <= opt.timeout_ns) break;
      c->timed_out_through = c->recv_seq + k + 1;
      if (recording()) w->c.timeouts++;
    }
  }
}

/*
 * Counted windows, on the worker's side: a new window hands every connection its budget and sends what it may at
 * once; when nothing is in flight and no budget is left, the thread tells main it is quiet (at most one housekeeping
 * interval later than it became so: the server is idle meanwhile).
 */
static void counted_window_turn(struct worker *w) {
  unsigned id = atomic_load_explicit(&window_id, memory_order_acquire);
  if (id != w->window_seen) {
    w->window_seen = id;
    int64_t now = now_ns();
    for (unsigned i = 0; i < w->nconns; i++) {
      struct conn *c = &w->conns[i];
      c->budget = atomic_load_explicit(&window_budget, memory_order_relaxed);
      if (c->state == OPEN && opt.pattern == PERSISTENT) {
        for (unsigned k = 0; k < opt.in_flight && take_budget(c); k++) enqueue(c, now, 0);
        flush_writes(c);
      } else if (c->state == IDLE) {
        start_connect(c);
      }
    }
  }
  for (unsigned i = 0; i < w->nconns; i++) {
    struct conn *c = &w->conns[i];
    if (c->ring.len > 0 || c->state == CONNECTING) return;
    if (c->budget > 0 && (opt.pattern == CONNECT_PER_REQUEST || c->state == OPEN)) return;
  }
  atomic_store_explicit(&w->quiet_through, id, memory_order_release);
}

/* The ramp is over: every open connection of this thread goes back to D frames in flight. */
static void release_ramp(struct worker *w) {
  int64_t now = now_ns();
  for (unsigned i = 0; i < w->nconns; i++) {
    struct conn *c = &w->conns[i];
    if (c->state != OPEN) continue;
    while (c->ring.len < opt.in_flight && enqueue(c, now, 0)) {}
    flush_writes(c);
  }
}

static void close_connections(struct worker *w) {
  for (unsigned i = 0; i < w->nconns; i++)
    if (w->conns[i].fd >= 0) close(w->conns[i].fd);
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  if (w->cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(w->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set); /* best effort: unpinned is still correct */
  }
  w->epfd = epoll_create1(EPOLL_CLOEXEC);
  w->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (w->epfd < 0 || w->timer_fd < 0) {
    w->failure = "cannot create epoll or timer";
    return NULL;
  }
  struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->timer_fd, &tev);
  for (unsigned i = 0; i < w->nconns; i++) start_connect(&w->conns[i]);
  int64_t next_send = opt.rate > 0 ? started_ns : INT64_MAX, armed = -1;
  w->next_housekeeping = now_ns() + HOUSEKEEPING_NS;
  bool held = atomic_load(&ramp_held);
  struct epoll_event events[256];
  while (running()) {
    int64_t wake = next_send < w->next_housekeeping ? next_send : w->next_housekeeping;
    if (wake != armed) { /* one timerfd_settime per change, not per wakeup */
      arm_timer(w, wake);
      armed = wake;
    }
    int n = epoll_wait(w->epfd, events, 256, -1);
    if (n < 0 && errno != EINTR) {
      w->failure = "epoll_wait failed";
      break;
    }
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == NULL) {
        uint64_t expirations;
        ssize_t r = read(w->timer_fd, &expirations, sizeof expirations);
        (void)r;
      } else {
        on_event(events[i].data.ptr, events[i].events);
      }
    }
    if (atomic_load_explicit(&budgeted, memory_order_acquire)) counted_window_turn(w);
    if (held && !atomic_load_explicit(&ramp_held, memory_order_acquire)) {
      held = false;
      release_ramp(w);
    }
    int64_t now = now_ns();
    if (opt.rate > 0 && now >= next_send) next_send = send_due(w, now);
    if (now >= w->next_housekeeping) {
      housekeeping(w, now);
      w->next_housekeeping = now + HOUSEKEEPING_NS;
      if (opt.rate > 0) next_send = send_due(w, now); /* reconnected connections are due too */
    }
  }
  if (opt.linger <= 0) close_connections(w); /* else main closes them once the linger is over */
  return NULL;
}

/* ---- main: phases, CPU accounting, output ---- */

static void sleep_until(int64_t deadline) {
  struct timespec ts = {deadline / 1000000000LL, deadline % 1000000000LL};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
}

static double thread_cpu_seconds(clockid_t clock) {
  struct timespec ts;
  if (clock_gettime(clock, &ts) != 0) return 0;
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double process_cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void print_histogram(const char *name, uint64_t *const *hists, unsigned count) {
  printf(",\"%s\":[", name);
  bool first = true;
  for (unsigned i = 0; i < HIST_SLOTS; i++) {
    uint64_t total = 0;
    for (unsigned t = 0; t < count; t++) total += hists[t][i];
    if (total == 0) continue;
    printf("%s[%llu,%llu]", first ? "" : ",", (unsigned long long)hist_value(i), (unsigned long long)total);
    first = false;
  }
  putchar(']');
}

static volatile sig_atomic_t stop_signal;
static void on_signal(int sig) { stop_signal = sig; }

/* Sleeps until `deadline` unless a stop signal or the parent's death comes first. Returns false if stopped. */
static bool wait_until(int64_t deadline, bool (*done)(void)) {
  while (!stop_signal) {
    int64_t now = now_ns();
    if (now >= deadline || (done && done())) return true;
    int64_t step = deadline - now < 10000000LL ? deadline - now : 10000000LL;
    sleep_until(now + step);
  }
  return false;
}

static bool all_ready(void) {
  return atomic_load_explicit(&ready_count, memory_order_relaxed) >= opt.ready_connections;
}

/* Verified messages so far, all threads (read while they run: a window's count is a difference of two reads). */
static uint64_t window_messages(struct worker *workers) {
  uint64_t n = 0;
  for (unsigned t = 0; t < opt.threads; t++) n += __atomic_load_n(&workers[t].c.messages, __ATOMIC_RELAXED);
  return n;
}

static bool all_quiet(struct worker *workers, unsigned id) {
  for (unsigned t = 0; t < opt.threads; t++)
    if (atomic_load_explicit(&workers[t].quiet_through, memory_order_acquire) != id) return false;
  return true;
}

/* Waits (bounded by the frame timeout, then by signals) until every thread is quiet after window `id`. */
static bool wait_quiet(struct worker *workers, unsigned id) {
  int64_t deadline = now_ns() + opt.timeout_ns;
  while (!stop_signal && !all_quiet(workers, id)) {
    if (now_ns() > deadline) return false;
    sleep_until(now_ns() + 1000000LL);
  }
  return !stop_signal;
}

/* --linger: idle until stdin reaches end of file (the bench has finished looking at the server), SEC pass, or a
   signal. Measured without it: a fork-per-connection window read 24 µs/msg of a 200 µs/msg workload, its children
   ending with their connections while the bench was still reading /proc. */
static void linger_until_stdin_ends(double seconds) {
  int64_t deadline = now_ns() + (int64_t)(seconds * 1e9);
  char buf[256];
  while (!stop_signal) {
    int64_t left = deadline - now_ns();
    if (left <= 0) return;
    struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
    int rc = poll(&p, 1, (int)(left / 1000000) + 1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return;
    if (read(STDIN_FILENO, buf, sizeof buf) <= 0) return;
  }
}

static struct worker *current_workers;
static bool quiet_now(void) { return all_quiet(current_workers, atomic_load(&window_id)); }

/* One line from stdin: "go", "go K" (this window: K frames per connection) or "stop" (so is anything else, or EOF). */
static bool next_command_is_go(void) {
  char line[64];
  if (!fgets(line, sizeof line, stdin) || strncmp(line, "go", 2) != 0) return false;
  unsigned k = opt.window_frames;
  if (line[2] == ' ') {
    char *end;
    unsigned long v = strtoul(line + 3, &end, 10);
    if (v >= 1 && v <= 100000000UL) k = (unsigned)v;
  }
  atomic_store_explicit(&window_budget, k, memory_order_relaxed);
  return true;
}

/*
 * --window-frames: windows of exactly K frames per connection, each between two quiet points (nothing in flight),
 * so whatever the server executed between the quiet points served exactly that window's messages. The caller (the
 * bench, counting instructions) zeroes its counters at a quiet point and dumps them at the next.
 */
static int counted_windows(struct worker *workers, struct conn *conns) {
  (void)conns;
  current_workers = workers;
  atomic_store_explicit(&budgeted, true, memory_order_release); /* budgets are 0: in-flight frames drain */
  if (!wait_until(now_ns() + opt.timeout_ns, quiet_now)) die(1, "the server did not answer the frames in flight within the timeout");
  printf("CONBENCH_QUIET 0\n");
  fflush(stdout);
  unsigned windows = 0;
  uint64_t total_messages = 0;
  while (next_command_is_go()) {
    for (unsigned t = 0; t < opt.threads; t++) memset(&workers[t].c, 0, sizeof workers[t].c);
    atomic_store(&phase, MEASURE);
    int64_t t0 = now_ns();
    unsigned id = atomic_fetch_add_explicit(&window_id, 1, memory_order_acq_rel) + 1;
    bool quiet = wait_quiet(workers, id);
    int64_t t1 = now_ns();
    atomic_store(&phase, WARMUP); /* between windows nothing is sent and nothing counted */
    struct counters sum = {0};
    for (unsigned t = 0; t < opt.threads; t++) {
      struct counters *c = &workers[t].c;
      sum.messages += c->messages;
      sum.mismatches += c->mismatches;
      sum.errors += c->errors;
      sum.resets += c->resets;
      sum.timeouts += c->timeouts;
      sum.connect_failures += c->connect_failures;
    }
    windows++;
    total_messages += sum.messages;
    printf("CONBENCH_COUNTED {\"window\":%u,\"messages\":%llu,\"expected\":%llu,\"seconds\":%.6f,\"quiet\":%s,"
           "\"errors\":{\"mismatches\":%llu,\"errors\":%llu,\"resets\":%llu,\"timeouts\":%llu,\"connectFailures\":%llu}}\n",
           windows, (unsigned long long)sum.messages, (unsigned long long)opt.connections * atomic_load(&window_budget), (t1 - t0) / 1e9,
           quiet ? "true" : "false", (unsigned long long)sum.mismatches, (unsigned long long)sum.errors,
           (unsigned long long)sum.resets, (unsigned long long)sum.timeouts, (unsigned long long)sum.connect_failures);
    fflush(stdout);
    if (!quiet) break; /* a window that never went quiet cannot be counted: stop here */
  }
  atomic_store(&phase, STOP);
  for (unsigned t = 0; t < opt.threads; t++) pthread_join(workers[t].thread, NULL);
  printf("CONBENCH_COUNTED_DONE {\"windows\":%u,\"messages\":%llu}\n", windows, (unsigned long long)total_messages);
  fflush(stdout);
  return stop_signal ? 1 : 0;
}

int main(int argc, char **argv) {
  parse_args(argc, argv);
  prctl(PR_SET_PDEATHSIG, SIGTERM); /* a driver whose orchestrator died must not go on loading the server */
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  if (opt.requests) {
    load_requests(opt.requests);
    request_mode = true;
    opt.payload = 0; /* --size is ignored: no echo template */
  }
  frame_bytes = 4 + opt.payload;
  tag_bytes = opt.payload < TAG_BYTES ? opt.payload : TAG_BYTES;
  template_bytes = malloc(opt.payload > 0 ? opt.payload : 1);
  if (!template_bytes) die(1, "out of memory for a %u-byte payload", opt.payload);
  if (opt.seed > 0) {
    uint64_t x = opt.seed;
    for (size_t i = 0; i < opt.payload; i++) { /* splitmix64: the same bytes for the same seed, everywhere */
      uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      template_bytes[i] = (uint8_t)(z ^ (z >> 31));
    }
  } else {
    for (size_t got = 0; got < opt.payload;) {
      ssize_t n = getrandom(template_bytes + got, opt.payload - got, 0);
      if (n < 0 && errno != EINTR) die(1, "getrandom: %s", strerror(errno));
      if (n > 0) got += (size_t)n;
    }
  }

  /* Threads are pinned one per CPU of the inherited affinity set (the orchestrator's taskset), if there are enough. */
  cpu_set_t allowed;
  int cpus[256], ncpus = 0;
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
    for (int i = 0; i < CPU_SETSIZE && ncpus < 256; i++)
      if (CPU_ISSET(i, &allowed)) cpus[ncpus++] = i;
  bool pin = opt.threads > 1 && (unsigned)ncpus >= opt.threads;

  struct worker *workers = calloc(opt.threads, sizeof *workers);
  struct conn *conns = calloc(opt.connections, sizeof *conns);
  if (!workers || !conns) die(1, "out of memory for %u connections", opt.connections);
  for (unsigned t = 0, first = 0; t < opt.threads; t++) {
    struct worker *w = &workers[t];
    unsigned share = opt.connections / opt.threads + (t < opt.connections % opt.threads ? 1 : 0);
    w->index = t;
    w->cpu = pin ? cpus[t] : -1;
    atomic_init(&w->quiet_through, UINT_MAX); /* not quiet until it says so */
    w->conns = conns + first;
    w->nconns = share;
    w->rbuf = malloc(READ_BYTES);
    w->latency = calloc(HIST_SLOTS, sizeof(uint64_t));
    w->uncorrected = calloc(HIST_SLOTS, sizeof(uint64_t));
    if (!w->rbuf || !w->latency || !w->uncorrected) die(1, "out of memory");
    for (unsigned i = 0; i < share; i++) {
      struct conn *c = &w->conns[i];
      c->w = w;
      c->id = first + i;
      c->fd = -1;
      c->phase_offset = (double)(first + i) / opt.connections;
      c->request_base = c->id;
    }
    first += share;
  }

  atomic_store(&ramp_held, opt.pattern == PERSISTENT && opt.rate == 0 && opt.window_frames == 0 && opt.ready_connections > 0);
  started_ns = now_ns();
  for (unsigned t = 0; t < opt.threads; t++) {
    if (pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]) != 0) die(1, "cannot start thread %u", t);
    pthread_getcpuclockid(workers[t].thread, &workers[t].cpu_clock);
  }

  /* Readiness: every connection the server will serve has answered once (bounded), then the warmup at full load. */
  bool go = true;
  int64_t ready_wait_from = now_ns();
  if (opt.ready_connections > 0) go = wait_until(ready_wait_from + (int64_t)(opt.ready_timeout * 1e9), all_ready);
  unsigned ready_at_open = atomic_load(&ready_count);
  double ready_waited = (now_ns() - ready_wait_from) / 1e9;
  atomic_store_explicit(&ramp_held, false, memory_order_release);
  if (go) go = wait_until(now_ns() + (int64_t)(opt.warmup * 1e9), NULL);
  if (!go) {
    atomic_store(&phase, STOP);
    for (unsigned t = 0; t < opt.threads; t++) pthread_join(workers[t].thread, NULL);
    die(1, "stopped by signal %d before the measured window", (int)stop_signal);
  }

  if (opt.window_frames > 0) return counted_windows(workers, conns);

  double *cpu0 = calloc(opt.threads, sizeof *cpu0), *cpu1 = calloc(opt.threads, sizeof *cpu1);
  for (unsigned t = 0; t < opt.threads; t++) cpu0[t] = thread_cpu_seconds(workers[t].cpu_clock);
  double process0 = process_cpu_seconds();
  int64_t t0 = now_ns();
  atomic_store(&phase, MEASURE);
  go = true;
  /* --windows N: windows back to back on the same connections, each between its own phase lines, then its figures. */
  unsigned windows = opt.windows > 0 ? opt.windows : 1;
  int64_t wt0 = t0;
  for (unsigned k = 1; k <= windows && go; k++) {
    uint64_t before = window_messages(workers);
    double pc0 = process_cpu_seconds();
    printf("CONBENCH_PHASE measure\n");
    fflush(stdout);
    go = wait_until(wt0 + (int64_t)(opt.duration * 1e9), NULL);
    if (k == windows) atomic_store(&phase, STOP);
    int64_t wt1 = now_ns();
    double seconds_k = (wt1 - wt0) / 1e9;
    printf("CONBENCH_PHASE done\n");
    if (windows > 1)
      printf("CONBENCH_WINDOW {\"window\":%u,\"seconds\":%.6f,\"messages\":%llu,\"cpuPercent\":%.3f}\n", k, seconds_k,
             (unsigned long long)(window_messages(workers) - before), seconds_k > 0 ? (process_cpu_seconds() - pc0) / seconds_k * 100 : 0);
    fflush(stdout);
    wt0 = wt1;
  }
  int64_t t1 = now_ns();
  for (unsigned t = 0; t < opt.threads; t++) cpu1[t] = thread_cpu_seconds(workers[t].cpu_clock);
  double process1 = process_cpu_seconds();
  for (unsigned t = 0; t < opt.threads; t++) pthread_join(workers[t].thread, NULL);
  for (unsigned t = 0; t < opt.threads; t++)
    if (workers[t].failure) die(1, "load thread %u: %s", t, workers[t].failure);
  if (!go) die(1, "stopped by signal %d before the window ended", (int)stop_signal);
  if (opt.linger > 0) {
    linger_until_stdin_ends(opt.linger);
    for (unsigned t = 0; t < opt.threads; t++) close_connections(&workers[t]);
  }

  struct counters sum = {0};
  uint64_t *lat[256], *unc[256];
  double busiest = 0, seconds = (t1 - t0) / 1e9;
  for (unsigned t = 0; t < opt.threads; t++) {
    struct counters *c = &workers[t].c;
    sum.messages += c->messages;
    sum.bytes += c->bytes;
    sum.mismatches += c->mismatches;
    sum.errors += c->errors;
    sum.resets += c->resets;
    sum.timeouts += c->timeouts;
    sum.connect_failures += c->connect_failures;
    sum.backlogged += c->backlogged;
    lat[t] = workers[t].latency;
    unc[t] = workers[t].uncorrected;
    double pct = seconds > 0 ? (cpu1[t] - cpu0[t]) / seconds * 100 : 0;
    if (pct > busiest) busiest = pct;
  }
  const char *first_error = NULL;
  for (unsigned t = 0; t < opt.threads && !first_error; t++)
    if (workers[t].first_error[0]) first_error = workers[t].first_error;
  unsigned served = 0;
  for (unsigned i = 0; i < opt.connections; i++) served += conns[i].served_in_window;

  printf("CONBENCH_NATIVE_RESULT {\"driver\":\"native\",\"seconds\":%.6f,\"messages\":%llu,\"bytes\":%llu", seconds,
         (unsigned long long)sum.messages, (unsigned long long)sum.bytes);
  printf(",\"errors\":{\"mismatches\":%llu,\"errors\":%llu,\"resets\":%llu,\"timeouts\":%llu,\"connectFailures\":%llu,"
         "\"non2xx\":0,\"lost\":0,\"duplicated\":0,\"reordered\":0}",
         (unsigned long long)sum.mismatches, (unsigned long long)sum.errors, (unsigned long long)sum.resets,
         (unsigned long long)sum.timeouts, (unsigned long long)sum.connect_failures);
  printf(",\"cpuPercent\":%.3f,\"busiestThreadCpuPercent\":%.3f,\"threads\":%u,\"pinned\":%s",
         seconds > 0 ? (process1 - process0) / seconds * 100 : 0, busiest, opt.threads, pin ? "true" : "false");
  if (opt.pattern == PERSISTENT) printf(",\"connections\":{\"total\":%u,\"served\":%u}", opt.connections, served);
  if (opt.rate > 0) printf(",\"openLoop\":{\"targetRate\":%.6g,\"backlogged\":%llu}", opt.rate, (unsigned long long)sum.backlogged);
  if (opt.ready_connections > 0)
    printf(",\"readiness\":{\"expected\":%u,\"ready\":%u,\"waitedSec\":%.3f,\"timedOut\":%s}", opt.ready_connections,
           ready_at_open, ready_waited, ready_at_open >= opt.ready_connections ? "false" : "true");
  if (first_error) {
    fputs(",\"firstError\":", stdout);
    put_json_string(first_error);
  }
  print_histogram("latency", lat, opt.threads);
  if (opt.rate > 0) print_histogram("latencyUncorrected", unc, opt.threads);
  printf("}\n");
  fflush(stdout);
  return 0;
}
