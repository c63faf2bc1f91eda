"""Linux, macOS and the other POSIX systems: ``flock``, modes, owners, ``$HOME``."""

from __future__ import annotations

import contextlib
import os
import shlex
import stat
from pathlib import Path
from types import ModuleType
from typing import Any

from .base import Insecurity


def _fcntl() -> ModuleType:
    # Imported here, not at the top, so that this module imports on Windows too (and in the test
    # that makes ``fcntl`` unavailable); it is only ever called on POSIX.
    import fcntl

    return fcntl


class PosixFs:
    """``flock`` (not ``fcntl``/``lockf`` record locks): it belongs to the open file description, so
    two descriptors in one process exclude each other (two coroutines of one sidecar), it is the
    lock the Python and Go SDKs take on ``config.json``, and the kernel drops it when the holder
    dies."""

    name = "posix"
    locks_file_in_place = True
    stdio_threads = False

    def __init__(self, *, darwin: bool = False) -> None:
        self._darwin = darwin

    def try_lock(self, fd: int) -> bool:
        fcntl = _fcntl()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def unlock(self, fd: int) -> None:
        fcntl = _fcntl()
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)

    def is_sharing_violation(self, exc: OSError) -> bool:
        return False

    def fchmod(self, fd: int, mode: int) -> None:
        os.fchmod(fd, mode)

    def chmod(self, path: Path, mode: int) -> None:
        os.chmod(path, mode)

    def fsync(self, fd: int) -> None:
        if self._darwin:
            fcntl = _fcntl()
            full_fsync = getattr(fcntl, "F_FULLFSYNC", None)
            if full_fsync is not None:
                with contextlib.suppress(OSError):  # not every file system supports it
                    fcntl.fcntl(fd, full_fsync)
                    return
        os.fsync(fd)

    def fsync_folder(self, folder: Path) -> None:
        with contextlib.suppress(OSError):
            dir_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def home(self) -> Path:
        # Go's os.UserHomeDir reads $HOME only; expanduser is the fallback for an unset $HOME.
        return Path(os.environ.get("HOME") or os.path.expanduser("~"))

    def insecurity(self, path: Path, st: os.stat_result) -> Insecurity | None:
        quoted = shlex.quote(str(path))
        # Root may own it (as ssh allows); root itself is refused another user's file, as ssh does.
        if st.st_uid not in (os.getuid(), 0):
            return Insecurity("owner", f'sudo chown "$(id -un)" {quoted}')
        if stat.S_IMODE(st.st_mode) & 0o022:
            return Insecurity("writable", f"chmod go-w {quoted}")
        return None

    def is_ours(self, st: os.stat_result) -> bool:
        return st.st_uid == os.getuid()

    def open_nofollow(self, path: Path, flags: int) -> int:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC)


    def detached_spawn(self) -> list[dict[str, Any]]:
        # A session of its own (so no process-group kill reaches it); its parent, the hop, exits.
        return [{"start_new_session": True}]
