"""Iterative server: accept one connection, serve it to its end, then accept the next.

The simplest design and the baseline. Per message: one recv and one send (2 syscalls) through a
buffered reader, no context switch of its own, one connection's buffers in memory at a time. The cost is
fairness, not CPU: while one client is connected every other waits in the listen backlog (1024 deep),
so with 50 persistent connections one is served and 49 starve.
"""

from framing import exit_on_sigterm, listen, serve_blocking

exit_on_sigterm()
listener = listen()
while True:
    conn, _ = listener.accept()
    serve_blocking(conn)
