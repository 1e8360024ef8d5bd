"""Single-threaded event loop: non-blocking sockets multiplexed with selectors.DefaultSelector (epoll).

One thread serves every connection: it waits in epoll_wait, then reads whatever a ready socket has,
cuts complete frames out of that connection's read buffer and appends them to its write buffer, and
sends as much as the kernel takes. Per message: a recv and a send plus a share of one epoll_wait
(about 2-3 syscalls), no context switch; several frames in one read cost one recv. Memory per connection:
a socket and two bytearrays, only as large as the data in transit. Backpressure: EVENT_WRITE is
registered only while output is pending, and a connection whose output is over 4 MiB is not read from
until it drains. All the Python work for every connection runs on one core.
"""

import selectors
import socket

from framing import HEADER, MAX_PAYLOAD, exit_on_sigterm, listen, nodelay

HIGH_WATER = 4 * 1024 * 1024  # stop reading a connection while this much output waits
scratch = bytearray(256 * 1024)
scratch_view = memoryview(scratch)


class Conn:
    __slots__ = ("sock", "inbuf", "outbuf", "eof", "events")

    def __init__(self, sock):
        self.sock, self.inbuf, self.outbuf, self.eof, self.events = sock, bytearray(), bytearray(), False, 0


def close(conn):
    sel.unregister(conn.sock)
    conn.sock.close()


def update(conn):
    """Register the events this connection needs now, or close it once it has nothing left to do."""
    events = 0
    if not conn.eof and len(conn.outbuf) < HIGH_WATER:
        events |= selectors.EVENT_READ
    if conn.outbuf:
        events |= selectors.EVENT_WRITE
    if events == 0:
        close(conn)
    elif events != conn.events:
        sel.modify(conn.sock, events, conn)
        conn.events = events


def on_readable(conn):
    try:
        n = conn.sock.recv_into(scratch_view)
    except BlockingIOError:  # a spurious wake-up: nothing to read after all
        return
    if n == 0:
        conn.eof = True  # peer closed: finish sending what it asked for, then close
        return
    buf = conn.inbuf
    buf += scratch_view[:n]
    pos = 0
    while len(buf) - pos >= 4:
        (length,) = HEADER.unpack_from(buf, pos)
        if length > MAX_PAYLOAD:
            raise ConnectionError("oversized frame")
        end = pos + 4 + length
        if end > len(buf):
            break
        conn.outbuf += buf[pos:end]  # the echo is the frame itself, header included
        pos = end
    del buf[:pos]


def on_writable(conn):
    try:
        sent = conn.sock.send(conn.outbuf)
    except BlockingIOError:
        return
    del conn.outbuf[:sent]


def accept(listener):
    for _ in range(64):  # drain a burst of connections, but let others run too
        try:
            sock, _ = listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        nodelay(sock)
        conn = Conn(sock)
        conn.events = selectors.EVENT_READ
        sel.register(sock, conn.events, conn)


exit_on_sigterm()
sel = selectors.DefaultSelector()
listener = listen()
listener.setblocking(False)
sel.register(listener, selectors.EVENT_READ, None)
while True:
    for key, mask in sel.select():
        if key.data is None:
            accept(listener)
            continue
        conn = key.data
        try:
            if mask & selectors.EVENT_READ:
                on_readable(conn)
            if conn.outbuf:
                on_writable(conn)  # try at once: usually the kernel takes it all, no EVENT_WRITE needed
            update(conn)
        except OSError:  # ECONNRESET, EPIPE, oversized frame: drop this connection only
            close(conn)
