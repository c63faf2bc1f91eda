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
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from ..errors import ConfigUnavailable
from ..platform import osfs

log = logging.getLogger(__name__)

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


def lock_failed_error(path: Path, what: str, exc: OSError) -> ConfigUnavailable:
    """A lock file that cannot be locked at all (not merely busy): the folder's file system refuses
    locks (an NFS mount with ``nolock``, some SMB shares). Without this lock our own processes could
    overwrite each other's tokens, so the write is refused, with the cause and a fix."""
    return ConfigUnavailable(
        f"Cannot lock {path} ({exc.strerror or exc}): the file system of {path.parent} does not support "
        f"file locks (a network folder mounted without locking?). Keep {what} on a local disk (the "
        "aliyun.configPath setting) or mount the share with locking enabled.",
        path=str(path),
    )


def _try_lock(fd: int, path: Path, what: str) -> bool:
    try:
        return osfs.try_lock(fd)
    except OSError as exc:
        raise lock_failed_error(path, what, exc) from None


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
            while not _try_lock(fd, self.path, self.what):
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
            while not _try_lock(fd, self.path, self.what):  # a non-blocking system call: fine on the loop
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


class InPlaceLock:
    """The lock ``lock_in_place`` holds on the file itself, if any; ``drop`` lets it go early (a
    file system with mandatory locks, CIFS, then refuses our own read through another handle)."""

    def __init__(self, fd: int | None = None) -> None:
        self._fd = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def drop(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            osfs.unlock(fd)
            os.close(fd)


#: Paths whose in-place lock was already reported as skipped (one log line each, not one per write).
_skipped_logged: set[str] = set()


def _skip_in_place_lock(path: Path, exc: OSError) -> InPlaceLock:
    if str(path) not in _skipped_logged:
        _skipped_logged.add(str(path))
        log.warning("not locking %s itself: its file system refuses the lock (%s); writing without it", path, exc.strerror or exc)
    return InPlaceLock()


def _open_for_lock(path: Path) -> int:
    """Open the existing file for the lock: read-write where allowed, as Linux NFS grants an exclusive
    ``flock`` only to a descriptor open for writing (EBADF otherwise); never created nor truncated.
    O_NONBLOCK: opening a FIFO must not hang."""
    flags = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        return os.open(path, os.O_RDWR | flags)
    except (PermissionError, IsADirectoryError):
        return os.open(path, os.O_RDONLY | flags)  # a read-only file: the lock may still work locally


@contextlib.contextmanager
def lock_in_place(path: Path, timeout: float) -> Iterator[InPlaceLock]:
    """Hold an exclusive lock on the file at ``path`` ITSELF (the inode it names right now).

    The Go and Python SDKs ``flock`` ``config.json`` around their write: holding the same lock on the
    current file from before our read until after our rename makes an SDK that writes at the same
    moment wait for us, and us for it. A file replaced by a rename is a new inode: if the path names
    another file once our lock is granted (someone renamed over it meanwhile), the lock protects
    nothing, so it is taken again on the new file. No file, nothing to lock (a writer that creates
    it shows up in the version check before our rename). A no-op where the OS cannot hold a lock
    across a rename (``osfs.locks_file_in_place``), and, with one log line, where the file system
    refuses the lock for any reason but "busy" (NFS ``nolock``: ENOLCK; EBADF, EACCES, EINVAL): this
    lock only makes other programs' writers wait, our own processes are serialised by the lock
    file. Runs in a worker thread (it polls with sleep).
    """
    if not osfs.locks_file_in_place:
        yield InPlaceLock()
        return
    held = _acquire_in_place(path, timeout)
    try:
        yield held
    finally:
        held.drop()


def _acquire_in_place(path: Path, timeout: float) -> InPlaceLock:
    """The lock on the file ``path`` names once it is granted; an empty one when there is nothing to
    lock or the file system refuses; ``ConfigUnavailable`` when another program holds it too long."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            fd = _open_for_lock(path)
        except OSError:
            return InPlaceLock()  # missing or unreadable: the read that follows reports it
        try:
            locked = osfs.try_lock(fd)
        except OSError as exc:
            os.close(fd)
            return _skip_in_place_lock(path, exc)
        if locked:
            try:
                same = _same_file(os.fstat(fd), path)
            except OSError:
                same = False
            if same:
                return InPlaceLock(fd)
            os.close(fd)  # replaced meanwhile: lock the new file
            continue
        os.close(fd)
        if time.monotonic() >= deadline:
            raise ConfigUnavailable(
                f"Another program has held a lock on {path} itself for over {timeout:.0f} s.", path=str(path)
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


def _same_file(st: os.stat_result, path: Path) -> bool:
    now = os.stat(path)
    return (st.st_dev, st.st_ino) == (now.st_dev, now.st_ino)
