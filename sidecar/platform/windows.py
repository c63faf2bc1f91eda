"""Windows: ``msvcrt.locking``, no POSIX modes, ``%USERPROFILE%``, sharing violations on replace."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from . import winacl
from .base import Insecurity

#: ``winerror`` values that mean "another process has the file open or locked right now":
#: ERROR_ACCESS_DENIED (what MoveFileEx answers for a target open without FILE_SHARE_DELETE),
#: ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION.
SHARING_VIOLATIONS = frozenset({5, 32, 33})
#: Process creation flags (``subprocess`` has them only on Windows).
DETACHED_PROCESS = 0x00000008
CREATE_NEW_PROCESS_GROUP = 0x00000200
CREATE_BREAKAWAY_FROM_JOB = 0x01000000
#: ``FILE_ATTRIBUTE_REPARSE_POINT``: symlinks and junctions.
_REPARSE_POINT = 0x400


def _msvcrt() -> ModuleType:
    # Imported here so that this module imports on every OS (tests run it with a fake msvcrt).
    import msvcrt

    return msvcrt


class WindowsFs:
    """``msvcrt.locking`` on the first byte (what the Python SDK uses there): a mandatory lock that
    belongs to the handle, released when the handle closes or the process dies. Only our own lock
    files are locked this way (see ``locks_file_in_place``)."""

    name = "windows"
    locks_file_in_place = False
    stdio_threads = True

    def try_lock(self, fd: int) -> bool:
        msvcrt = _msvcrt()
        os.lseek(fd, 0, os.SEEK_SET)  # locking() starts at the current position
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EDEADLK) or isinstance(exc, PermissionError):
                return False
            raise
        return True

    def unlock(self, fd: int) -> None:
        msvcrt = _msvcrt()
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass  # closing the handle releases it anyway

    def is_sharing_violation(self, exc: OSError) -> bool:
        return isinstance(exc, PermissionError) and getattr(exc, "winerror", None) in SHARING_VIOLATIONS

    def fchmod(self, fd: int, mode: int) -> None:
        """No POSIX modes: a new file in the user's profile inherits its ACL (private to the user)."""

    def chmod(self, path: Path, mode: int) -> None:
        """No POSIX modes (``os.chmod`` would only toggle the read-only flag)."""

    def fsync(self, fd: int) -> None:
        os.fsync(fd)  # FlushFileBuffers

    def fsync_folder(self, folder: Path) -> None:
        """A folder cannot be opened with ``os.open``; NTFS journals the rename itself."""

    def home(self) -> Path:
        # Go's os.UserHomeDir on Windows reads %USERPROFILE%.
        return Path(os.environ.get("USERPROFILE") or os.path.expanduser("~"))

    def __init__(self, security: Callable[[str], winacl.Security] | None = None) -> None:
        #: The owner and DACL of a path (``winacl.read``; tests inject answers).
        self._security = security or winacl.read

    def insecurity(self, path: Path, st: os.stat_result) -> Insecurity | None:
        """Inside ``%USERPROFILE%`` nothing to check: the profile folder is the user's, private, and
        what is made in it inherits that. Elsewhere (another drive, a share) the owner and the write
        rights of the DACL, as ssh's StrictModes checks modes (``winacl.verdict``). An ACL that cannot
        be read (a share that does not say) is let through: it cannot be judged."""
        try:
            Path(os.path.abspath(path)).relative_to(os.path.abspath(self.home()))
            return None
        except ValueError:
            pass
        try:
            found = winacl.verdict(self._security(str(path)))
        except OSError:
            return None
        if found is None:
            return None
        reason, _who = found
        quoted = f'"{path}"'
        if reason == "owner":
            return Insecurity("owner", f"takeown /F {quoted}")
        return Insecurity("writable", f'icacls {quoted} /inheritance:r /grant:r "%USERNAME%:F"')

    def is_ours(self, st: os.stat_result) -> bool:
        return True

    def open_nofollow(self, path: Path, flags: int) -> int:
        # No O_NOFOLLOW: look first (a symlink or a junction is a reparse point). The folder is the
        # user's own (checked), so nobody else can swap the entry between the look and the open.
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode) or getattr(st, "st_file_attributes", 0) & _REPARSE_POINT:
            raise OSError(errno.ELOOP, "a link stands at this path", str(path))
        return os.open(path, flags | getattr(os, "O_NOINHERIT", 0) | getattr(os, "O_BINARY", 0))


    def detached_spawn(self) -> list[dict[str, Any]]:
        # Outside the job (a job kill, as an editor's taskkill of its tree, would reach it), with no
        # console and a group of its own. A job may forbid breakaway: then without it.
        detached = DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP
        return [{"creationflags": detached | CREATE_BREAKAWAY_FROM_JOB}, {"creationflags": detached}]
