"""asyncio streams: one thread, one event loop, a coroutine per connection (asyncio.start_server).

The same epoll loop as selectors_loop.py, with the buffering done by asyncio's transports and each
connection written as straight-line code: readexactly(4), readexactly(n), write, await drain. Per
message: a recv and a send plus a share of epoll_wait (about 2-3 syscalls), no context switch, but more
Python per message than the hand-written loop (futures, callbacks, task wake-ups). Memory per
connection: a task, a transport and a StreamReader buffer (reading pauses above 2 x limit bytes;
drain() pauses the coroutine while the write buffer is above its high-water mark). One core.
"""

import asyncio
import signal
import socket
import sys

from framing import HEADER, MAX_PAYLOAD


async def handle(reader, writer):
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            header = await reader.readexactly(4)
            (length,) = HEADER.unpack(header)
            if length > MAX_PAYLOAD:
                break
            payload = await reader.readexactly(length)
            writer.write(header + payload)
            await writer.drain()
    except (asyncio.IncompleteReadError, OSError):  # EOF mid-frame, ECONNRESET, EPIPE
        pass
    except asyncio.CancelledError:  # shutdown: end quietly (3.11 logs a cancelled connection task)
        pass
    finally:
        writer.close()


async def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit(f"usage: python3 {sys.argv[0]} PORT")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=1024, limit=256 * 1024)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    await stop.wait()
    server.close()  # the open connections' tasks are cancelled when asyncio.run returns


asyncio.run(main())
