"""Everything that differs between operating systems, behind one small interface.

The sidecar runs on Linux, macOS and Windows. Each difference it cares about (how a file is locked,
whether ``os.replace`` can fail because another process has the target open, whether files have
POSIX modes and owners, where the home folder is, how to make a write durable) is one method of
``OsFs``. ``select`` picks the implementation once, at import; the rest of the code only ever calls
``osfs``. Neither implementation imports an OS-only module at import time (``fcntl``, ``msvcrt`` are
imported where they are used), so every module of the sidecar imports on every OS, and the Windows
implementation can be exercised on Linux with a fake ``msvcrt`` (tests/test_platform.py).
"""

from __future__ import annotations

import sys

from .base import OsFs, Insecurity
from .posix import PosixFs
from .windows import WindowsFs

__all__ = ["OsFs", "Insecurity", "PosixFs", "WindowsFs", "osfs", "select"]


def select(platform: str = sys.platform) -> OsFs:
    """The implementation for ``platform`` (a ``sys.platform`` value)."""
    return WindowsFs() if platform == "win32" else PosixFs(darwin=platform == "darwin")


#: The one implementation for this process.
osfs: OsFs = select()
