"""Cross-process locks that work on every OS: a lock file of our own, and the config file itself.

Why not the ``filelock`` library: its lock opens the file with ``O_TRUNC`` and, on Windows, deletes
it on release. That is harmless for a lock file but would empty ``config.json``, which we lock too
(as the Go and Python SDKs do, so that their writes and ours exclude each other); it also creates
the target of a dangling symlink. The part that really differs per OS (``flock`` vs ``msvcrt.locking``) is two
calls in ``sidecar.platform``; what is left here is opening the file safely and polling a
non-blocking attempt, so a waiter blocks neither the event loop nor a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from ..errors import ConfigUnavailable
from ..platform import osfs

_OPEN_FLAGS = os.O_RDWR | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOINHERIT", 0) | getattr(os, "O_BINARY", 0)


def dangling_link_error(path: Path) -> ConfigUnavailable:
    target = os.readlink(path)
    return ConfigUnavailable(
        f"{path} is a symbolic link to {target}, which does not exist. Create {target} or remove "
        "the link; the sidecar does not create files at a link's target.",
        path=str(path),
    )


def open_lock_file(path: Path) -> int:
    """Open (creating if needed, 0600) a lock file; never creates the target of a dangling link.

    A lock file is never deleted: a holder's descriptor would then lock a file nobody else opens."""
    while True:
        try:
            return os.open(path, _OPEN_FLAGS)  # an existing file, or a link to one
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise ConfigUnavailable(f"Cannot open the lock file {path}: {exc.strerror}.", path=str(path)) from None
        if os.path.islink(path):
            raise dangling_link_error(path)
        try:
            return os.open(path, _OPEN_FLAGS | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:
            continue  # another process created it (or a link appeared): look again
        except OSError as exc:
            raise ConfigUnavailable(f"Cannot create the lock file {path}: {exc.strerror}.", path=str(path)) from None


class FileLock:
    """An exclusive cross-process lock on ``path``, as a sync or async context manager.

    * ``with lock:`` polls in the calling thread (for CLI entry points and worker threads);
      ``async with lock:`` polls on the event loop, so a long holder blocks no thread.
    * Waits at most ``timeout`` seconds, then raises ``ConfigUnavailable`` naming ``what``.
    * Not re-entrant: one object is one holder. Two objects (in one process or two) on the same
      path exclude each other. ``prepare`` runs before the file is opened (creates the folder).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        timeout: float,
        what: str | None = None,
        prepare: Callable[[], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.what = what or str(self.path)
        self._prepare = prepare
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def _open(self) -> int:
        if self._fd is not None:
            raise RuntimeError(f"the lock on {self.what} is already held by this object")
        if self._prepare is not None:
            self._prepare()
        return open_lock_file(self.path)

    def _timeout_error(self) -> ConfigUnavailable:
        return ConfigUnavailable(
            f"Another process has held the lock on {self.what} for over {self.timeout:.0f} s.", path=self.what
        )

    def acquire(self) -> None:
        fd = self._open()
        try:
            deadline = time.monotonic() + self.timeout
            delay = 0.002
            while not osfs.try_lock(fd):
                if time.monotonic() >= deadline:
                    raise self._timeout_error()
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    async def aacquire(self) -> None:
        fd = await asyncio.to_thread(self._open)
        try:
            deadline = time.monotonic() + self.timeout
            delay = 0.002
            while not osfs.try_lock(fd):  # a non-blocking system call: fine on the loop
                if time.monotonic() >= deadline:
                    raise self._timeout_error()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            osfs.unlock(fd)
            os.close(fd)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

    async def __aenter__(self) -> FileLock:
        await self.aacquire()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


@contextlib.contextmanager
def lock_in_place(path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on the file at ``path`` ITSELF (the inode it names right now).

    The Go and Python SDKs ``flock`` ``config.json`` around their write: holding the same lock on the
    current file from before our read until after our rename makes an SDK that writes at the same
    moment wait for us, and us for it. A file replaced by a rename is a new inode: if the path names
    another file once our lock is granted (someone renamed over it meanwhile), the lock protects
    nothing, so it is taken again on the new file. No file, nothing to lock (a writer that creates
    it shows up in the version check before our rename). A no-op where the OS cannot hold a lock
    across a rename (``osfs.locks_file_in_place``). Runs in a worker thread (it polls with sleep).
    """
    if not osfs.locks_file_in_place:
        yield
        return
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            # O_NONBLOCK: opening a FIFO must not hang; read-only is enough for flock.
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            yield  # missing or unreadable: the read that follows reports it
            return
        if osfs.try_lock(fd):
            try:
                same = _same_file(os.fstat(fd), path)
            except OSError:
                same = False
            if same:
                break
            os.close(fd)  # replaced meanwhile: lock the new file
            continue
        os.close(fd)
        if time.monotonic() >= deadline:
            raise ConfigUnavailable(
                f"Another program has held a lock on {path} itself for over {timeout:.0f} s.", path=str(path)
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.02)
    try:
        yield
    finally:
        osfs.unlock(fd)
        os.close(fd)


def _same_file(st: os.stat_result, path: Path) -> bool:
    now = os.stat(path)
    return (st.st_dev, st.st_ino) == (now.st_dev, now.st_ino)
