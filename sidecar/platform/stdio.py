"""Reading stdin and writing stdout without blocking the event loop, on every OS.

POSIX: asyncio's pipe transports (``connect_read_pipe``/``connect_write_pipe``): no thread.

Windows: threads. The default proactor loop cannot register the stdin/stdout handles an editor gives
a child (bpo-26832): its read transport fails without telling anyone (CPython then hits
``AttributeError: _empty_waiter`` in ``_force_close``) and the reader waits forever, so the sidecar
never answers ``initialize``; and the write transport closes the pipe. pygls itself reads stdin in a
thread for the same reason. So on Windows a daemon thread makes blocking reads and hands each chunk to
the loop, and a writer thread makes the blocking writes from a queue; the loop never waits on either.

A regular file (tests, a redirected stdin) takes the thread path everywhere: asyncio refuses files.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import AsyncIterator
from typing import BinaryIO, Protocol

#: Bytes per read.
CHUNK = 1 << 16


class Output(Protocol):
    """Where frames go: ``write`` never blocks the loop; ``flush`` waits (bounded) until written."""

    def write(self, data: bytes) -> None: ...

    async def flush(self, timeout: float) -> None: ...


async def read_chunks(stream: BinaryIO, *, use_threads: bool) -> AsyncIterator[bytes]:
    """Whatever arrives on ``stream``, as it arrives, until its end."""
    loop = asyncio.get_running_loop()
    if not use_threads:
        reader = asyncio.StreamReader(limit=CHUNK)
        try:
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stream)
        except (ValueError, OSError):  # a regular file: the thread below
            pass
        else:
            while chunk := await reader.read(CHUNK):
                yield chunk
            return
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    fd = stream.fileno()

    def pump() -> None:
        while True:
            try:
                chunk = os.read(fd, CHUNK)
            except OSError:
                chunk = b""
            try:
                loop.call_soon_threadsafe(chunks.put_nowait, chunk)
            except RuntimeError:  # the loop is closed: nobody reads any more
                return
            if not chunk:
                return

    # A daemon thread: a read blocked on a pipe must not keep the process alive at exit.
    threading.Thread(target=pump, name="stdin-reader", daemon=True).start()
    while chunk := await chunks.get():
        yield chunk


class _PipeOutput:
    """asyncio's write pipe (POSIX): buffered by the transport, never blocking."""

    def __init__(self, transport: asyncio.WriteTransport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        if not self._transport.is_closing():
            self._transport.write(data)

    async def flush(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._transport.get_write_buffer_size() and not self._transport.is_closing():
            if loop.time() > deadline:
                return
            await asyncio.sleep(0.005)


class _ThreadOutput:
    """Blocking writes in a writer thread (Windows, or a regular file), fed by a queue."""

    def __init__(self, stream: BinaryIO) -> None:
        self._fd = stream.fileno()
        self._queue: queue.Queue[bytes] = queue.Queue()
        self._broken = False
        threading.Thread(target=self._drain, name="stdout-writer", daemon=True).start()

    def _drain(self) -> None:
        while True:
            data = self._queue.get()
            view = memoryview(data)
            try:
                while view and not self._broken:
                    view = view[os.write(self._fd, view):]
            except OSError:
                self._broken = True  # the reader is gone: drop what follows
            finally:
                self._queue.task_done()

    def write(self, data: bytes) -> None:
        if not self._broken:
            self._queue.put(data)

    async def flush(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._queue.unfinished_tasks and not self._broken:
            if loop.time() > deadline:
                return
            await asyncio.sleep(0.005)


async def open_output(stream: BinaryIO, *, use_threads: bool) -> Output:
    """The writer for ``stream`` (see the module's docstring for which one)."""
    if not use_threads:
        try:
            transport, _ = await asyncio.get_running_loop().connect_write_pipe(asyncio.Protocol, stream)
        except (ValueError, OSError):  # a regular file
            pass
        else:
            return _PipeOutput(transport)
    return _ThreadOutput(stream)
