/* Shared by the C programs (servers/native/epoll-echo.c, clients/native/tcp-load.c): one "error: …" line on stderr
 * and the exit status the Node side reads (2 bad usage, 1 a failure), like every other conbench command. */
#ifndef CONBENCH_DIE_H
#define CONBENCH_DIE_H
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>

static noreturn void die(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(status);
}

#endif
