"""Atomic, durable writes of small private files, portable across OSes.

One implementation for the config file and for the sidecar's own small files next to it (the
refresher's recovery record of a rotated refresh token): a temp file in the same folder, mode 0600,
fsynced, then renamed over the target, and the folder fsynced, so a reader or a crash sees the old
file or the new one, never half of one, and a returned write survives a power cut.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigInsecure, ConfigUnavailable
from ..platform import osfs
from ..timing import REPLACE_RETRY_SECONDS
from .locks import dangling_link_error


def temp_prefix(target: Path) -> str:
    """Our temp files' names: distinct from other writers' (the CLI, the SDKs), so that cleaning up
    our own leftovers can never remove another program's write in progress."""
    return f".{target.name}.sidecar-"


def resolve_target(path: Path) -> Path:
    """The file a write to ``path`` must replace: a symlink is written through (dotfile managers),
    a dangling one is refused, never created."""
    if os.path.islink(path) and not os.path.exists(path):
        raise dangling_link_error(path)
    return Path(os.path.realpath(path))


def replace_retrying(src: str, dst: Path, still_current: Callable[[], bool] | None = None) -> bool:
    """``os.replace``, retried for a moment on a sharing violation (Windows). Returns False (and
    leaves ``src``) when ``still_current`` says the target changed while we waited."""
    deadline = time.monotonic() + REPLACE_RETRY_SECONDS
    delay = 0.005
    while True:
        try:
            os.replace(src, dst)
            return True
        except OSError as exc:
            if not osfs.is_sharing_violation(exc) or time.monotonic() >= deadline:
                raise
        if still_current is not None and not still_current():
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def atomic_write(
    target: Path,
    data: bytes,
    *,
    still_current: Callable[[], bool] | None = None,
    visible_first: bool = False,
) -> bool:
    """Replace ``target`` (a real path, see ``resolve_target``) by a new 0600 file holding ``data``.

    ``still_current`` runs after the slow part (write + fsync), right before the rename: if it says
    False, nothing is written and the result is False. ``OSError`` propagates (the caller words it);
    the temp file never outlives a failure.

    ``visible_first`` renames before the fsync instead of after it: a process killed once the rename
    is done loses nothing (the kernel holds the data), at the price that a power cut inside the call
    may leave a torn file. Only for a file whose reader drops a torn one and for which every
    millisecond before the rename counts (the recovery record of a rotated refresh token); never for
    the config file. Either way the data is durable when this returns.
    """
    folder = target.parent
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=temp_prefix(target), suffix=".tmp")
    try:
        try:
            osfs.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if not visible_first:
                osfs.fsync(fd)
        finally:
            os.close(fd)
        if (still_current is not None and not still_current()) or not replace_retrying(tmp_name, target, still_current):
            os.unlink(tmp_name)
            return False
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    if visible_first:
        fd = osfs.open_nofollow(target, os.O_RDWR)  # write access: Windows' flush needs it
        try:
            osfs.fsync(fd)
        finally:
            os.close(fd)
    osfs.fsync_folder(folder)
    return True


def describe_os_error(exc: OSError) -> str:
    return "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else (exc.strerror or str(exc))


def check_home_chain(folder: Path) -> None:
    """The folders above ``folder`` up to the home folder, as ssh's StrictModes checks them: owned by
    the user (or root) and not writable by others. Whoever can write in ``$HOME`` can rename
    ``~/.aliyun`` away and put their own in its place, with an ``External`` profile whose command we
    would run. A group-writable home is let through (common where each user has a group of their
    own). A config outside the home folder is checked at its file and folder only."""
    home = Path(os.path.realpath(osfs.home()))
    real = Path(os.path.realpath(folder))
    if real == home or home not in real.parents:
        return
    for ancestor in [p for p in real.parents if p == home or home in p.parents]:
        try:
            st = os.stat(ancestor)
        except OSError:
            continue
        insecure = osfs.insecurity(ancestor, st)
        if insecure is not None and (insecure.reason == "owner" or st.st_mode & 0o002):
            raise ConfigInsecure(str(ancestor), insecure.reason, insecure.fix)


def check_private(path: Path) -> None:
    """Refuse (``ConfigInsecure``) a file or folder that another user owns or others can write, as
    ssh does; a missing path passes. Where the OS has no modes and owners (Windows) this is a no-op."""
    try:
        st = os.stat(path)
    except OSError:
        return
    insecure = osfs.insecurity(path, st)
    if insecure is not None:
        raise ConfigInsecure(str(path), insecure.reason, insecure.fix)


def remove_leftover_temp_files(target: Path) -> None:
    """Remove the temp files that a killed writer of ``target`` left behind (they may hold a token).

    ``target`` is the path ``atomic_write`` replaces: the config file's real path (a symlinked config
    is written through), a record's own path (never followed). The one clean-up for both: the name is
    glob-escaped, so a file named ``config[w].json`` still finds its leftovers. Only call it where no
    other writer of the same file can be between its temp file and its rename (the config file: under
    its lock; a profile's recovery record: under that profile's ``refresh_lock``)."""
    for leftover in target.parent.glob(f"{glob_escape(temp_prefix(target))}*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


#: A record of ours is a few hundred bytes; anything larger at its name is not one.
MAX_PRIVATE_FILE = 64 * 1024


def write_private_file(path: Path, data: bytes, *, visible_first: bool = False) -> None:
    """Write a small private file (0600) atomically and durably next to the config file.

    For the refresher's recovery record: when this returns, ``data`` survives a crash or power cut
    (``visible_first``: see ``atomic_write``). The folder must exist (it is the config folder). The
    file is never written through a link: a symlink planted at ``path`` is replaced by the file, its
    target untouched (a dangling one is refused, as for the config file). Raises
    ``ConfigUnavailable`` (disk full, permissions) or ``ConfigInsecure`` (unsafe folder)."""
    if os.path.islink(path) and not os.path.exists(path):
        raise dangling_link_error(path)
    check_private(path.parent)
    try:
        atomic_write(path, data, visible_first=visible_first)
    except OSError as exc:
        raise ConfigUnavailable(f"Cannot save {path}: {describe_os_error(exc)}.", path=str(path)) from None


def read_private_file(path: Path) -> bytes | None:
    """The bytes of a file written by ``write_private_file``; None if there is none.

    Opened without following a link (a symlink at ``path`` is refused with ``ConfigUnavailable``,
    never read through), refused (``ConfigInsecure``) when another user could have planted or
    changed it, and read up to ``MAX_PRIVATE_FILE`` (a larger file is ``ConfigUnavailable``)."""
    check_private(path.parent)
    try:
        fd = osfs.open_nofollow(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        why = "a link stands at its name" if exc.errno in (errno.ELOOP, errno.EMLINK) else exc.strerror
        raise ConfigUnavailable(f"Cannot read {path}: {why}.", path=str(path)) from None
    try:
        st = os.fstat(fd)
        insecure = osfs.insecurity(path, st)
        if insecure is not None:
            raise ConfigInsecure(str(path), insecure.reason, insecure.fix)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_PRIVATE_FILE + 1)
    except OSError as exc:
        raise ConfigUnavailable(f"Cannot read {path}: {exc.strerror}.", path=str(path)) from None
    finally:
        os.close(fd)
    if len(data) > MAX_PRIVATE_FILE:
        raise ConfigUnavailable(f"Cannot read {path}: larger than a record of ours.", path=str(path))
    return data


def remove_private_file(path: Path) -> None:
    """Delete a file written by ``write_private_file`` (no error if it is gone), durably. The name
    itself is removed, never what a link there points to."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigUnavailable(f"Cannot remove {path}: {exc.strerror}.", path=str(path)) from None
    osfs.fsync_folder(path.parent)
