"""The interface every OS implementation provides (see ``sidecar.platform``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class Insecurity:
    """Why a config file or folder must not be trusted, and the command that fixes it."""

    reason: Literal["owner", "writable"]
    fix: str


class OsFs(Protocol):
    #: Short name for logs and tests ("posix" or "windows").
    name: str
    #: Whether a lock on ``config.json`` itself can be held while the file is replaced by a rename.
    #: False on Windows: an open handle makes the rename fail (sharing violation), and the SDKs lock
    #: there with ``LK_NBLCK``, which fails at once instead of waiting, so a lock of ours would make
    #: the SDK drop its write instead of waiting for ours.
    locks_file_in_place: bool
    #: Whether stdin/stdout are served by threads (``platform.stdio``) rather than asyncio's pipe
    #: transports: True on Windows, whose proactor loop cannot take the pipe handles an editor gives.
    stdio_threads: bool

    def try_lock(self, fd: int) -> bool:
        """Take an exclusive lock on the open file without waiting; False if another holder has it.

        The lock belongs to this descriptor (not the process): two descriptors in one process
        exclude each other, and closing the descriptor releases it, also when the process dies."""

    def unlock(self, fd: int) -> None:
        """Release the lock before the descriptor is closed (closing alone releases it on POSIX)."""

    def is_sharing_violation(self, exc: OSError) -> bool:
        """Whether a failed ``os.replace``/``open`` only means another process has the file open
        for a moment (Windows), so the call is worth retrying."""

    def fchmod(self, fd: int, mode: int) -> None:
        """Set a file's mode where the OS has modes (a no-op on Windows)."""

    def chmod(self, path: Path, mode: int) -> None:
        """Set a path's mode where the OS has modes (a no-op on Windows)."""

    def fsync(self, fd: int) -> None:
        """Make the file's data durable (on macOS ``fsync`` alone leaves it in the disk's cache)."""

    def fsync_folder(self, folder: Path) -> None:
        """Make a rename in ``folder`` durable, where the OS allows opening a folder."""

    def home(self) -> Path:
        """The home folder as the official CLI finds it (Go's ``os.UserHomeDir``)."""

    def insecurity(self, path: Path, st: os.stat_result) -> Insecurity | None:
        """Why ``path`` (a config file or folder, ``st`` its stat) is unsafe to read, or None.

        As ssh does for its own files: owned by someone else than the user (or root), or writable by
        group or others. Windows has no such modes: None."""

    def is_ours(self, st: os.stat_result) -> bool:
        """Whether the current user owns the file (always True where files have no owner id)."""

    def open_nofollow(self, path: Path, flags: int) -> int:
        """``os.open`` that refuses a symlink (or, on Windows, any reparse point) at ``path`` itself
        with ``OSError(ELOOP)``, for the sidecar's own small files: a link planted there must never
        redirect a read (or a write) of ours to another file."""


    def detached_spawn(self) -> list[dict[str, Any]]:
        """``subprocess.Popen`` options that start a process outside this one's tree, so that killing
        the tree (by process group or by parent ids) does not reach it; alternatives, tried in order
        (the first one may be refused)."""
