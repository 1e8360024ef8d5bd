"""Process per connection: the parent accepts and forks; the child serves that one connection and exits.

Per message: one recv and one send (2 syscalls) in the child and about one context switch (the child
sleeps in recv between messages); per connection: a fork (copy-on-write page tables, a few hundred µs)
and an exit plus waitpid. Memory per connection: a whole process, a few MiB of private pages once CPython
touches its refcounts. Children run truly in parallel (no shared GIL). The parent reaps children on
SIGCHLD so no zombies pile up, and on SIGTERM it terminates every child it still has before exiting 0.
"""

import os
import signal
import sys

from framing import listen, serve_blocking

children = set()


def reap(signum=None, frame=None):
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)


def terminate(signum, frame):
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGTERM)  # children restored the default action: they die
        except ProcessLookupError:
            pass
    for pid in list(children):
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    sys.exit(0)


signal.signal(signal.SIGCHLD, reap)
signal.signal(signal.SIGTERM, terminate)
listener = listen()
while True:
    conn, _ = listener.accept()
    # Hold SIGTERM/SIGCHLD until the new pid is recorded, so no child escapes the shutdown.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGCHLD})
    pid = os.fork()
    if pid == 0:  # child
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGCHLD})
        try:
            listener.close()
            serve_blocking(conn)
        finally:
            os._exit(0)  # never fall back into the parent's accept loop
    children.add(pid)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGCHLD})
    conn.close()
