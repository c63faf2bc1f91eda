"""The shared config file (``~/.aliyun/config.json``): lossless reads, locked and atomic writes.

The CLI, both official SDKs and every sidecar process write this file. Three rules keep everyone's
data safe:

* The document stays a plain ``dict`` exactly as parsed (key order, unknown fields and unknown modes
  included); operations change single fields in place and everything else is written back untouched.
* Every read-modify-write runs under an exclusive ``flock`` on a separate lock file. A lock on
  ``config.json`` itself would not serialise writers, because the file is replaced on every write and
  the next writer would lock the new inode. Inside the lock the file is re-read, so changes that another
  process made since our last read survive.
* Writes go to a temp file in the same folder, are fsynced, then renamed over the target, so a reader
  (or a crash) sees the old file or the new one, never half of one. A file that does not parse is never
  written over: the Node.js SDK writes in place without a lock, so a parse failure is retried for a
  moment before the file is called corrupt.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import errno
import hashlib
import fcntl
import json
import math
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigCorrupt, ConfigUnavailable

T = TypeVar("T")

ConfigDoc = dict[str, Any]

#: "Write whatever the file holds now" (no version check).
_ANY = object()

#: What the CLI's ``NewConfiguration`` would hold before the first profile is added.
DEFAULT_PROFILE_NAME = "default"


def _temp_prefix(target: Path) -> str:
    """Our temp files' names: distinct from other writers' (the CLI, the SDKs), so that cleaning up
    our own leftovers can never remove another program's write in progress."""
    return f".{target.name}.sidecar-"


def default_config_path() -> Path:
    """``$HOME/.aliyun/config.json``, the path the CLI and both SDKs use."""
    return Path(os.path.expanduser("~")) / ".aliyun" / "config.json"


def new_document() -> ConfigDoc:
    """The document the CLI creates when there is no file yet (its ``NewConfiguration``): current
    ``default`` and one ``default`` profile as its ``NewProfile`` marshals it (mode empty, JSON
    output, English; the empty fields are ``omitempty``)."""
    return {
        "current": DEFAULT_PROFILE_NAME,
        "profiles": [{"name": DEFAULT_PROFILE_NAME, "mode": "", "output_format": "json", "language": "en"}],
        "meta_path": "",
    }


@dataclass(frozen=True)
class FileStamp:
    """Enough of ``stat`` to notice that another process rewrote the file."""

    mtime_ns: int
    size: int
    inode: int


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    """A number beyond float range would come back as ``inf`` and be written as ``Infinity``, which
    no JSON reader (the CLI, the SDKs, us) accepts: refuse it while reading instead."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:24]} is too large")
    return value


def parse_document(text: str, path: str) -> ConfigDoc:
    """Parse and shape-check the file's text; raise ``ConfigCorrupt`` saying where it is broken."""
    try:
        doc = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ConfigCorrupt(path, "it is nested too deeply to be a config file") from None
    except json.JSONDecodeError as exc:
        raise ConfigCorrupt(path, f"JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise ConfigCorrupt(path, str(exc)) from None
    validate_shape(doc, path)
    return doc


def validate_shape(doc: Any, path: str) -> None:
    """Check only what we rely on, so that any file the CLI accepts is accepted here too."""
    if not isinstance(doc, dict):
        raise ConfigCorrupt(path, f"the top level is a JSON {type(doc).__name__}, not an object")
    current = doc.get("current")
    if current is not None and not isinstance(current, str):
        raise ConfigCorrupt(path, '"current" is not a string')
    profiles = doc.get("profiles")
    if profiles is None:
        return
    if not isinstance(profiles, list):
        raise ConfigCorrupt(path, '"profiles" is not an array')
    for index, profile in enumerate(profiles):
        if not isinstance(profile, dict):
            raise ConfigCorrupt(path, f"profiles[{index}] is not an object")
        name = profile.get("name")
        if name is not None and not isinstance(name, str):
            raise ConfigCorrupt(path, f'profiles[{index}]."name" is not a string')


def serialize_document(doc: ConfigDoc) -> bytes:
    """Tab-indented like the CLI's ``json.MarshalIndent(conf, "", "\\t")``.

    Text is written as UTF-8 unless the document holds a lone surrogate (``"\\ud800"`` is valid JSON
    but not encodable): then every non-ASCII character is escaped, which keeps the same JSON value.
    """
    try:
        return json.dumps(doc, indent="\t", ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(doc, indent="\t", ensure_ascii=True, allow_nan=False).encode("ascii")


class ConfigStore:
    """One config file, safe to share with other processes.

    Synchronous methods are for command-line entry points and worker threads; the ``a*`` methods never
    block the event loop (the lock is polled, file I/O runs in a thread).
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        lock_timeout: float = 60.0,
        settle_time: float = 0.5,
    ) -> None:
        self.path = Path(path) if path is not None else default_config_path()
        self.lock_path = self.path.with_name(f".{self.path.name}.lock")
        self.lock_timeout = lock_timeout
        #: How long an unparseable file may stay unparseable before it is called corrupt.
        self.settle_time = settle_time

    # ----------------------------------------------------------------- reading

    def stamp(self) -> FileStamp | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigUnavailable(f"Cannot read {self.path}: {exc.strerror}.", path=str(self.path)) from None
        return FileStamp(st.st_mtime_ns, st.st_size, st.st_ino)

    def read(self) -> ConfigDoc:
        """The current document; a new empty one when the file does not exist yet."""
        deadline = time.monotonic() + self.settle_time
        while True:
            try:
                raw = self.path.read_bytes()
            except FileNotFoundError:
                return new_document()
            except IsADirectoryError:
                raise ConfigCorrupt(str(self.path), "it is a folder, not a file") from None
            except OSError as exc:
                raise ConfigUnavailable(f"Cannot read {self.path}: {exc.strerror}.", path=str(self.path)) from None
            try:
                return parse_document(self._decode(raw), str(self.path))
            except ConfigCorrupt:
                # Possibly an in-place writer caught between truncate and write: give it a moment.
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    async def aread(self) -> ConfigDoc:
        return await asyncio.to_thread(self.read)

    def _decode(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigCorrupt(str(self.path), f"not UTF-8 text (byte {exc.start})") from None

    # ----------------------------------------------------------------- locking

    def _open_lock(self) -> int:
        self._ensure_folder()
        try:
            return os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise ConfigUnavailable(f"Cannot open the lock file {self.lock_path}: {exc.strerror}.") from None

    def _lock_timeout_error(self) -> ConfigUnavailable:
        return ConfigUnavailable(
            f"Another process has held the lock on {self.path} for over {self.lock_timeout:.0f} s.",
            path=str(self.path),
        )

    @contextlib.contextmanager
    def locked(self) -> Iterator[LockedConfig]:
        """Hold the cross-process lock; the body reads and writes through the yielded handle."""
        fd = self._open_lock()
        try:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise self._lock_timeout_error() from None
                    time.sleep(0.005)
            yield LockedConfig(self)
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    @contextlib.asynccontextmanager
    async def alocked(self) -> AsyncIterator[LockedConfig]:
        """Like ``locked`` but waits on the event loop, so a long holder blocks no thread."""
        fd = await asyncio.to_thread(self._open_lock)
        try:
            deadline = time.monotonic() + self.lock_timeout
            delay = 0.002
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise self._lock_timeout_error() from None
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 0.05)
            yield LockedConfig(self)
        finally:
            os.close(fd)

    def refresh_lock(self, profile: str) -> contextlib.AbstractAsyncContextManager[LockedConfig]:
        """The cross-process lock of one profile's token renewal, separate from the file lock.

        It may be held across a network call (a refresh must not run twice, or one process spends
        the rotating token the other holds); the file lock is only ever held around a
        read-modify-write, so a profile edit in another window never waits for a refresh. The
        same lock code on a per-profile lock file (the yielded handle is not for writing: write
        with :meth:`aupdate`, which takes the file lock).
        """
        digest = hashlib.sha256(profile.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        per_profile = copy.copy(self)
        per_profile.lock_path = self.path.with_name(f".{self.path.name}.refresh-{digest}.lock")
        return per_profile.alocked()

    # ----------------------------------------------------------------- writing

    def update(self, mutate: Callable[[ConfigDoc], T]) -> T:
        """Lock, re-read, apply ``mutate`` to the fresh document, write it if it changed."""
        with self.locked() as cfg:
            return cfg.update(mutate)

    async def aupdate(self, mutate: Callable[[ConfigDoc], T]) -> T:
        async with self.alocked() as cfg:
            return await cfg.aupdate(mutate)

    def _remove_stale_temp_files(self) -> None:
        """Temp files of ours that a killed writer left behind (they may hold tokens). Only called
        under the lock, when no writer of ours can be between its temp file and its rename."""
        target = Path(os.path.realpath(self.path))
        for leftover in target.parent.glob(f"{_temp_prefix(target)}*.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()

    def _ensure_folder(self) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigUnavailable(f"Cannot create the folder {folder}: {exc.strerror}.", path=str(folder)) from None

    def _write_atomically(self, doc: ConfigDoc, expect: FileStamp | None | object = _ANY) -> bool:
        """Write ``doc`` in place of the file; with ``expect``, only if the file is still that version.

        The check runs after the slow part (write + fsync of the temp file), right before the rename,
        so a writer that takes no lock has only microseconds, not milliseconds, to slip in between.
        Returns False (and writes nothing) when the file changed.
        """
        data = serialize_document(doc)
        # Write through a symlinked config (dotfile managers) instead of replacing the link.
        target = Path(os.path.realpath(self.path))
        folder = target.parent
        self._ensure_folder()
        with contextlib.suppress(OSError):
            if folder.stat().st_uid == os.getuid():
                os.chmod(folder, 0o700)
        try:
            fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=_temp_prefix(target), suffix=".tmp")
        except OSError as exc:
            raise ConfigUnavailable(f"Cannot write in {folder}: {exc.strerror}.", path=str(self.path)) from None
        try:
            try:
                os.fchmod(fd, 0o600)
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            if expect is not _ANY and self.stamp() != expect:
                os.unlink(tmp_name)
                return False
            os.replace(tmp_name, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            reason = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else exc.strerror
            raise ConfigUnavailable(
                f"Cannot save {self.path}: {reason}. The file was left as it was.", path=str(self.path)
            ) from None
        with contextlib.suppress(OSError):
            dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        return True


class LockedConfig:
    """Read and write access that only exists while the lock is held."""

    #: How often a change is redone because a writer that takes no lock changed the file meanwhile;
    #: the last attempt writes regardless, because what we write (a rotated refresh token) must not
    #: be lost.
    ATTEMPTS = 5

    def __init__(self, store: ConfigStore) -> None:
        self._store = store

    def read(self) -> ConfigDoc:
        return self._store.read()

    async def aread(self) -> ConfigDoc:
        return await asyncio.to_thread(self._store.read)

    def update(self, mutate: Callable[[ConfigDoc], T]) -> T:
        """Apply ``mutate`` to the file's current document and save it; ``mutate`` may run again on
        a newer document if another program wrote the file meanwhile, so it must only set fields."""
        store = self._store
        store._remove_stale_temp_files()
        for attempt in range(1, self.ATTEMPTS + 1):
            stamp = store.stamp()
            doc = store.read()
            before = json.dumps(doc)
            result = mutate(doc)
            if json.dumps(doc) == before:
                return result
            validate_shape(doc, str(store.path))
            if store._write_atomically(doc, expect=stamp if attempt < self.ATTEMPTS else _ANY):
                return result
        raise AssertionError("unreachable: the last attempt writes unconditionally")

    async def aupdate(self, mutate: Callable[[ConfigDoc], T]) -> T:
        return await asyncio.to_thread(self.update, mutate)
