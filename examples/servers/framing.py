"""What every example server shares: the framed echo protocol and the command line.

A frame is a 4-byte big-endian unsigned payload length, then that many payload bytes; the server answers
each frame with the identical frame, in order, per connection. A frame announcing more than 64 MiB is a
protocol error: the server closes that connection (as conbench's own servers do).

Usage of every server: python3 <file> PORT   (PORT may be 0; binds 127.0.0.1; prints "listening on <port>")
"""

import signal
import socket
import struct
import sys

HEADER = struct.Struct("!I")
MAX_PAYLOAD = 64 * 1024 * 1024
BACKLOG = 1024


def listen(backlog=BACKLOG):
    """Bind 127.0.0.1:PORT (PORT from argv), listen, and print the one 'listening on <port>' line."""
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit(f"usage: python3 {sys.argv[0]} PORT")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", int(sys.argv[1])))
    sock.listen(backlog)
    print(f"listening on {sock.getsockname()[1]}", flush=True)
    return sock


def exit_on_sigterm():
    """SIGTERM ends the process with status 0 (SystemExit is raised in the main thread)."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))


def nodelay(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def serve_blocking(conn):
    """Echo frames on a blocking socket until the peer closes, resets, or sends an oversized frame.

    Reads go through a buffered reader, so a small frame costs one recv (header and payload arrive
    together) and one send; several frames in one read are served from the buffer without a syscall.
    """
    try:
        nodelay(conn)
        reader = conn.makefile("rb", buffering=64 * 1024)
        while True:
            header = reader.read(4)
            if len(header) < 4:
                return  # clean EOF (or EOF inside a header)
            (length,) = HEADER.unpack(header)
            if length > MAX_PAYLOAD:
                return
            payload = reader.read(length)
            if len(payload) < length:
                return  # EOF inside a payload
            if length <= 64 * 1024:
                conn.sendall(header + payload)  # one send, one segment
            else:
                conn.sendall(header)  # avoid copying a large payload just to prepend 4 bytes
                conn.sendall(payload)
    except OSError:  # ECONNRESET, EPIPE, ...: this connection is over, the server is not
        pass
    finally:
        conn.close()
