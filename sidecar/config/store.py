"""The shared config file (``~/.aliyun/config.json``): lossless reads, locked and atomic writes.

The CLI, both official SDKs and every sidecar process write this file. Four rules keep everyone's
data safe:

* The document stays a plain ``dict`` exactly as parsed (key order, unknown fields and unknown modes
  included); operations change single fields in place and everything else is written back untouched.
* Every read-modify-write runs under an exclusive lock on a separate lock file
  (``.config.json.lock``), which serialises our processes: the file itself is replaced on every
  write, so a lock on it alone would not (the next writer would lock the new inode). Inside that
  lock, and only around the read-modify-write (never across a network call: the refresher's
  per-profile ``refresh_lock`` is a separate file), we also lock ``config.json`` itself, as the Go
  and Python SDKs do, from before the re-read until after the rename, so an SDK writing at the
  same moment waits for us and we for it. The file is re-read inside the locks, so changes that
  another process made since our last read survive.
* Writes go to a temp file in the same folder, are fsynced, then renamed over the target, so a reader
  (or a crash) sees the old file or the new one, never half of one. A file that does not parse is never
  written over: the Node.js SDK writes in place without a lock, so a parse failure is retried for a
  moment before the file is called corrupt; an empty file is settled the same way (a truncate caught
  before the write), and one that stays empty is an empty profile list.
* Nothing is read from a file or folder that another user owns or others can write (as ssh refuses
  its files); only the config folder itself (``~/.aliyun``) or a folder we create is ever chmodded,
  never the folder of a symlink's target; a dangling symlink is refused, never created.

Everything that differs between operating systems is behind ``sidecar.platform.osfs``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import stat as stat_mod
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigCorrupt, ConfigUnavailable
from ..platform import osfs
from ..timing import CONFIG_LOCK_TIMEOUT, CONFIG_SETTLE_POLL, CONFIG_SETTLE_TIME
from .files import (
    atomic_write,
    check_home_chain,
    check_private,
    describe_os_error,
    glob_escape,
    remove_leftover_temp_files,
    resolve_target,
)
from .locks import FileLock, InPlaceLock, dangling_link_error, lock_in_place

T = TypeVar("T")

log = logging.getLogger(__name__)

ConfigDoc = dict[str, Any]

#: "Write whatever the file holds now" (no version check).
_ANY = object()

#: What the CLI's ``NewConfiguration`` would hold before the first profile is added.
DEFAULT_PROFILE_NAME = "default"


#: JSON's whitespace: a file holding only these is empty (no profiles), not corrupt.
_JSON_WHITESPACE = " \t\n\r"


def default_config_path() -> Path:
    """``<home>/.aliyun/config.json``, the path the CLI and both SDKs use (home as Go finds it:
    ``$HOME`` on POSIX, ``%USERPROFILE%`` on Windows)."""
    return osfs.home() / ".aliyun" / "config.json"


def _profile_digest(profile: str) -> str:
    """A file-name-safe stand-in for any profile name (slashes, dots, non-ASCII, very long)."""
    return hashlib.sha256(profile.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def empty_document() -> ConfigDoc:
    """What a missing or empty file shows: no profiles, none current. Writing to it creates the CLI's
    new file instead (``new_document``), so a reader never sees a profile nobody made."""
    return {"current": "", "profiles": [], "meta_path": ""}


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


def parse_document(text: str, path: str, blank: Callable[[], ConfigDoc] = empty_document) -> ConfigDoc:
    """Parse and shape-check the file's text; raise ``ConfigCorrupt`` saying where it is broken.

    An empty text (or only whitespace) is ``blank()``: no profiles, what a user means by emptying the
    file (the CLI reads it the same way)."""
    if not text.strip(_JSON_WHITESPACE):
        return blank()
    try:
        doc = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ConfigCorrupt(path, "it is nested too deeply to be a config file") from None
    except json.JSONDecodeError as exc:
        raise ConfigCorrupt(
            path, f"JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from None
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
        lock_timeout: float = CONFIG_LOCK_TIMEOUT,
        settle_time: float = CONFIG_SETTLE_TIME,
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

    def check_secure(self) -> None:
        """Raise ``ConfigInsecure`` if another user owns, or others can write, the config file or a
        folder that decides what it holds: the folder it is named in (``~/.aliyun``), and for a
        symlink the target file and the target's folder, and the folders above it up to the home
        folder (``check_home_chain``). POSIX only (see ``osfs.insecurity``)."""
        real = Path(os.path.realpath(self.path))
        for path in dict.fromkeys((self.path.parent, real.parent, real)):
            check_private(path)
        check_home_chain(self.path.parent)

    def read(self, blank: Callable[[], ConfigDoc] = empty_document) -> ConfigDoc:
        """The current document; ``blank()`` when the file does not exist yet or is empty (writers
        pass ``new_document``, so that a first write creates the file the CLI would)."""
        self.check_secure()
        deadline = time.monotonic() + self.settle_time
        while True:
            try:
                raw = self.path.read_bytes()
            except FileNotFoundError:
                if os.path.islink(self.path):
                    raise dangling_link_error(self.path) from None
                return blank()
            except IsADirectoryError:
                raise ConfigCorrupt(str(self.path), "it is a folder, not a file") from None
            except OSError as exc:
                raise ConfigUnavailable(f"Cannot read {self.path}: {exc.strerror}.", path=str(self.path)) from None
            if not raw.strip(_JSON_WHITESPACE.encode()) and time.monotonic() < deadline:
                # Empty: maybe an in-place writer (the Node.js SDK) between truncate and write. It
                # reads as "no profiles" only once it has stayed empty for the settle time.
                time.sleep(CONFIG_SETTLE_POLL)
                continue
            try:
                return parse_document(self._decode(raw), str(self.path), blank)
            except ConfigCorrupt:
                # Possibly an in-place writer caught between truncate and write: give it a moment.
                if time.monotonic() >= deadline:
                    raise
                time.sleep(CONFIG_SETTLE_POLL)

    async def aread(self) -> ConfigDoc:
        return await asyncio.to_thread(self.read)

    def _decode(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigCorrupt(str(self.path), f"not UTF-8 text (byte {exc.start})") from None

    # ----------------------------------------------------------------- locking

    def file_lock(self) -> FileLock:
        """The lock every read-modify-write of the file holds (never across a network call)."""
        return FileLock(self.lock_path, timeout=self.lock_timeout, what=str(self.path), prepare=self._ensure_folder)

    def refresh_lock(self, profile: str, *, timeout: float | None = None) -> FileLock:
        """The cross-process lock of one profile's token refresh (may be held across the network
        call; profile edits never wait for it, they take ``file_lock`` only).

        A lock file next to the config, ``.config.json.refresh-<16 hex>.lock``, named by a hash of the
        profile name so that any name (slashes, dots, non-ASCII) gives a safe file name. Take it
        BEFORE ``alocked``/``locked`` when both are needed (one order, no deadlock)."""
        digest = _profile_digest(profile)
        return FileLock(
            self.path.with_name(f".{self.path.name}.refresh-{digest}.lock"),
            timeout=self.lock_timeout if timeout is None else timeout,
            what=f"the refresh of profile {profile!r}",
            prepare=self._ensure_folder,
        )

    def courier_lock(self, profile: str, *, timeout: float | None = None) -> FileLock:
        """The lock a refresh courier (``credentials/courier.py``) holds from before it is given a
        profile's refresh token until its recovery record is durable. Every refresh-lock holder
        waits for it (takes it, then lets it go) before reading the file, so a courier that outlived
        its sidecar is waited for and its record merged."""
        return FileLock(
            self.courier_lock_path(profile),
            timeout=self.lock_timeout if timeout is None else timeout,
            what=f"the refresh courier of profile {profile!r}",
            prepare=self._ensure_folder,
        )

    def courier_lock_path(self, profile: str) -> Path:
        return self.path.with_name(f".{self.path.name}.courier-{_profile_digest(profile)}.lock")

    def sidecar_file(self, tag: str, profile: str) -> Path:
        """A path for a small file of ours about ``profile`` next to the config (e.g. the refresher's
        recovery record, ``tag="recovery"``), for ``files.write_private_file``."""
        return self.path.with_name(f".{self.path.name}.sidecar-{tag}-{_profile_digest(profile)}.json")

    def sidecar_files(self, tag: str) -> list[Path]:
        """Every ``sidecar_file(tag, ...)`` that exists now, whatever its profile (for start-up)."""
        try:
            return sorted(self.path.parent.glob(f".{glob_escape(self.path.name)}.sidecar-{tag}-*.json"))
        except OSError:
            return []

    @contextlib.contextmanager
    def locked(self) -> Iterator[LockedConfig]:
        """Hold the cross-process lock; the body reads and writes through the yielded handle."""
        with self.file_lock():
            yield LockedConfig(self)

    @contextlib.asynccontextmanager
    async def alocked(self) -> AsyncIterator[LockedConfig]:
        """Like ``locked`` but waits on the event loop, so a long holder blocks no thread."""
        async with self.file_lock():
            yield LockedConfig(self)

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
        remove_leftover_temp_files(Path(os.path.realpath(self.path)))

    def _ensure_folder(self) -> None:
        """Create the config folder (0700) if it is missing; an existing one is left as it is."""
        folder = self.path.parent
        if folder.is_dir():
            return
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigUnavailable(f"Cannot create the folder {folder}: {exc.strerror}.", path=str(folder)) from None

    def _make_folder_private(self) -> None:
        """Tighten ``~/.aliyun`` to 0700, as the CLI's own folder should be. Only that folder: a
        custom config path's folder (``$HOME``, a project) or a symlink's target folder
        (``~/dotfiles``) is not ours to re-mode; a folder we create is made 0700 at creation."""
        folder = self.path.parent
        if folder != default_config_path().parent:
            return
        with contextlib.suppress(OSError):
            st = os.lstat(folder)
            if stat_mod.S_ISDIR(st.st_mode) and osfs.is_ours(st) and stat_mod.S_IMODE(st.st_mode) & 0o077:
                osfs.chmod(folder, 0o700)

    def _write_atomically(self, doc: ConfigDoc, expect: FileStamp | None | object = _ANY) -> bool:
        """Write ``doc`` in place of the file; with ``expect``, only if the file is still that version.

        The check runs after the slow part (write + fsync of the temp file), right before the rename,
        so a writer that takes no lock has only microseconds, not milliseconds, to slip in between.
        Returns False (and writes nothing) when the file changed.
        """
        data = serialize_document(doc)
        target = resolve_target(self.path)  # through a symlink (dotfile managers); a dangling one refused
        self._ensure_folder()
        self._make_folder_private()
        still_current = None if expect is _ANY else (lambda: self.stamp() == expect)
        try:
            return atomic_write(target, data, still_current=still_current)
        except OSError as exc:
            raise ConfigUnavailable(
                f"Cannot save {self.path}: {describe_os_error(exc)}. The file was left as it was.", path=str(self.path)
            ) from None


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

    def read_under(self, in_place: InPlaceLock) -> ConfigDoc:
        """The document for a write, read while ``in_place`` is held. Where the file system's locks
        are mandatory (CIFS), our own lock makes this read fail (EACCES): then the lock is let go
        (with one log line) and the file read without it, as where it cannot be taken at all."""
        try:
            return self._store.read(new_document)
        except ConfigUnavailable:
            if not in_place.held:
                raise
            log.warning("reading %s under its own lock failed; reading it without that lock", self._store.path)
            in_place.drop()
            return self._store.read(new_document)

    async def aread(self) -> ConfigDoc:
        return await asyncio.to_thread(self._store.read)

    def update(self, mutate: Callable[[ConfigDoc], T]) -> T:
        """Apply ``mutate`` to the file's current document and save it; ``mutate`` may run again on
        a newer document if another program wrote the file meanwhile, so it must only set fields."""
        store = self._store
        store._remove_stale_temp_files()
        for attempt in range(1, self.ATTEMPTS + 1):
            # The SDKs' lock on the file itself, on the inode the path names now (re-taken each
            # attempt: an unlocked writer may have renamed a new file in), held until after our rename.
            with lock_in_place(store.path, store.lock_timeout) as in_place:
                stamp = store.stamp()
                doc = self.read_under(in_place)
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
