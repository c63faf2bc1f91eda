"""Runs ``python -m sidecar`` as it runs on Windows, on Linux: ``sys.platform`` reads ``win32`` (so the
sidecar picks its Windows implementations) and the event loop is CPython's own proactor loop code
(``asyncio.proactor_events.BaseProactorEventLoop``, what Windows' default loop is built on) over an
IOCP stand-in that, as IOCP does, completes socket operations and refuses the CRT descriptors of
stdin and stdout (bpo-26832: ``CreateIoCompletionPort`` answers ERROR_INVALID_PARAMETER for them).

Usage: ``python tests/windows_sim.py [sidecar arguments]`` (the test sets ``USERPROFILE``).
Not a test module: ``tests/test_stdio_windows.py`` runs it as a child process.
"""

from __future__ import annotations

import asyncio
import asyncio.proactor_events
import os
import selectors
import shutil  # noqa: F401 - imported before sys.platform changes (it looks at the OS on import)
import socket
import subprocess  # noqa: F401 - likewise (it would import _winapi)
import sys
import tempfile  # noqa: F401 - likewise
import types
from collections.abc import Callable
from typing import Any

#: What ``CreateIoCompletionPort`` answers for a handle it cannot take.
ERROR_INVALID_PARAMETER = 87


class RefusingIocp:
    """The proactor interface ``BaseProactorEventLoop`` calls, over a selector, for sockets only."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._loop: asyncio.AbstractEventLoop | None = None
        #: fd → operations waiting on it: (event, future, action)
        self._waiting: dict[int, list[tuple[int, asyncio.Future[Any], Callable[[], Any]]]] = {}
        self.refused: list[str] = []

    def set_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def _register(self, conn: Any) -> None:
        if not isinstance(conn, socket.socket):
            self.refused.append(type(conn).__name__)
            raise OSError(ERROR_INVALID_PARAMETER, "The parameter is incorrect (IOCP refuses this handle)")

    def _op(self, conn: socket.socket, event: int, action: Callable[[], Any]) -> asyncio.Future[Any]:
        assert self._loop is not None
        future = self._loop.create_future()
        fd = conn.fileno()
        ops = self._waiting.setdefault(fd, [])
        ops.append((event, future, action))
        mask = 0
        for e, _, _ in ops:
            mask |= e
        try:
            self._selector.modify(fd, mask)
        except KeyError:
            self._selector.register(fd, mask)
        return future

    def recv(self, conn: Any, nbytes: int, flags: int = 0) -> asyncio.Future[bytes]:
        self._register(conn)
        return self._op(conn, selectors.EVENT_READ, lambda: conn.recv(nbytes, flags))

    def recv_into(self, conn: Any, buf: Any, flags: int = 0) -> asyncio.Future[int]:
        self._register(conn)
        return self._op(conn, selectors.EVENT_READ, lambda: conn.recv_into(buf, flags))

    def send(self, conn: Any, buf: Any, flags: int = 0) -> asyncio.Future[int]:
        self._register(conn)
        return self._op(conn, selectors.EVENT_WRITE, lambda: conn.send(buf, flags))

    def accept(self, listener: Any) -> asyncio.Future[Any]:
        self._register(listener)

        def take() -> Any:
            conn, address = listener.accept()
            conn.setblocking(False)
            return conn, address

        return self._op(listener, selectors.EVENT_READ, take)

    def select(self, timeout: float | None = None) -> list[asyncio.Future[Any]]:
        done = []
        for key, mask in self._selector.select(timeout):
            ops = self._waiting.get(key.fd, [])
            for op in list(ops):
                event, future, action = op
                if not event & mask:
                    continue
                ops.remove(op)
                if future.cancelled():
                    continue
                try:
                    future.set_result(action())
                except (BlockingIOError, InterruptedError):
                    ops.append(op)
                    continue
                except OSError as exc:
                    future.set_exception(exc)
                done.append(future)
            self._update(key.fd)
        return done

    def _update(self, fd: int) -> None:
        ops = [op for op in self._waiting.get(fd, []) if not op[1].done()]
        self._waiting[fd] = ops
        mask = 0
        for e, _, _ in ops:
            mask |= e
        if mask:
            self._selector.modify(fd, mask)
        else:
            self._waiting.pop(fd, None)
            try:
                self._selector.unregister(fd)
            except (KeyError, ValueError):
                pass

    def _stop_serving(self, obj: Any) -> None:
        fd = obj.fileno()
        for _, future, _ in self._waiting.pop(fd, []):
            future.cancel()
        try:
            self._selector.unregister(fd)
        except (KeyError, ValueError):
            pass

    def close(self) -> None:
        self._selector.close()


class SimulatedWindowsLoop(asyncio.proactor_events.BaseProactorEventLoop):
    """What ``asyncio.windows_events.ProactorEventLoop`` adds to the base (its module imports
    ``_overlapped``, which exists only on Windows): reading its self-pipe while it runs."""

    def __init__(self) -> None:
        super().__init__(RefusingIocp())

    def run_forever(self) -> None:
        try:
            assert self._self_reading_future is None
            self.call_soon(self._loop_self_reading)
            super().run_forever()
        finally:
            if self._self_reading_future is not None:
                self._self_reading_future.cancel()
                self._proactor._stop_serving(self._ssock)
                self._self_reading_future = None


class SimulatedWindowsPolicy(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return SimulatedWindowsLoop()


def fake_msvcrt() -> types.ModuleType:
    """Enough of ``msvcrt`` for the sidecar's Windows lock (one holder per byte range)."""
    module = types.ModuleType("msvcrt")
    held: set[tuple[int, int]] = set()

    def locking(fd: int, mode: int, nbytes: int) -> None:
        key = (os.fstat(fd).st_ino, os.lseek(fd, 0, os.SEEK_CUR))
        if mode == 0:
            held.discard(key)
        elif key in held:
            raise PermissionError(13, "Permission denied")
        else:
            held.add(key)

    module.LK_UNLCK, module.LK_LOCK, module.LK_NBLCK = 0, 1, 2  # type: ignore[attr-defined]
    module.locking = locking  # type: ignore[attr-defined]
    return module


def main() -> int:
    sys.modules["msvcrt"] = fake_msvcrt()
    sys.platform = "win32"
    asyncio.set_event_loop_policy(SimulatedWindowsPolicy())
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from sidecar.__main__ import main as sidecar_main
    from sidecar.platform import osfs

    assert osfs.name == "windows", "the sidecar must run its Windows implementation"
    return sidecar_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
