"""Thread per connection: the main thread accepts, each connection gets its own (daemon) thread.

Per message: one recv and one send (2 syscalls), like the iterative server, plus the scheduling: a
blocked thread is woken for each message, so about one context switch per message, and in CPython every
thread must take the GIL to run Python code, so only one runs at a time and they hand the GIL back and
forth. Memory per connection: a thread stack (8 MiB reserved, a few tens of KiB resident) plus a 64 KiB
read buffer. Every connection is served at once, but 1000 connections are 1000 threads.
"""

import threading

from framing import exit_on_sigterm, listen, serve_blocking

exit_on_sigterm()  # SystemExit in the main thread; daemon threads do not keep the process alive
listener = listen()
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve_blocking, args=(conn,), daemon=True).start()
