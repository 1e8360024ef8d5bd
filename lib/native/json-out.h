/* Shared by the C programs (servers/native/epoll-echo.c, clients/native/tcp-load.c): their machine lines are JSON. */
#ifndef CONBENCH_JSON_OUT_H
#define CONBENCH_JSON_OUT_H
#include <stdio.h>

/* Writes a JSON string literal to stdout; values from the command line may hold anything. */
static inline void put_json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') printf("\\%c", ch);
    else if (ch < 0x20) printf("\\u%04x", ch);
    else putchar(ch);
  }
  putchar('"');
}

#endif
