"""Recovery records: a rotated refresh token made durable before the config file is written.

The service spends the old refresh token the moment it answers a refresh; from then on the answer we
hold is the only copy of the new one. Writing it into ``config.json`` takes a read, a parse, a
serialisation and a rename of the whole file (milliseconds, seconds for a large file) and may be
refused outright (the file is corrupt or locked, the disk is full). So, before the main write, the new
tokens go into a small record of their own (0600, fsynced, named after the profile), which is removed
once the main write has succeeded. On start-up and before each renewal the records are read back and
merged, but only into a file that still holds the token the record replaced (compared by
fingerprint): a file that moved on (a new sign-in, another program's rotation) makes the record
obsolete, and it is dropped.

Written by hand because it is ten lines of ``os`` calls; the config store's atomic write is for the
shared file (locks, version checks), which is exactly what this record must not wait for.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..tokens import OAuthTokens

log = logging.getLogger(__name__)

RECORD_INFIX = ".sidecar-recovery-"
#: A temp record this old belongs to no live writer (a record is written in well under a second).
STALE_TEMP_SECONDS = 60


@dataclass(frozen=True)
class Recovery:
    """New tokens of ``profile`` that replace the refresh token with fingerprint ``replaces``."""

    profile: str
    replaces: str
    tokens: OAuthTokens

    def to_json(self) -> dict[str, Any]:
        t = self.tokens
        return {
            "profile": self.profile,
            "replaces": self.replaces,
            "oauth_access_token": t.access_token,
            "oauth_refresh_token": t.refresh_token,
            "oauth_access_token_expire": t.access_expires_at,
            "oauth_refresh_token_expire": t.refresh_expires_at,
        }

    @classmethod
    def from_json(cls, data: Any) -> Recovery:
        if not isinstance(data, dict):
            raise ValueError("not an object")
        refresh_expire = data.get("oauth_refresh_token_expire")
        tokens = OAuthTokens(
            access_token=str(data["oauth_access_token"]),
            refresh_token=str(data["oauth_refresh_token"]),
            access_expires_at=int(data["oauth_access_token_expire"]),
            refresh_expires_at=int(refresh_expire) if refresh_expire is not None else None,
        )
        return cls(str(data["profile"]), str(data["replaces"]), tokens)


class RecoveryRecords:
    """The records beside one config file; every method is safe to call from the event loop."""

    def __init__(self, config_path: Path, *, enabled: bool = True) -> None:
        target = Path(os.path.realpath(config_path))
        self.folder = target.parent
        self.prefix = f".{target.name}{RECORD_INFIX}"
        #: Off only to measure what the record buys (the benchmark's "before").
        self.enabled = enabled

    def path_for(self, profile: str) -> Path:
        digest = hashlib.sha256(profile.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return self.folder / f"{self.prefix}{digest}"

    # ----------------------------------------------------------------- writing

    def save(self, record: Recovery) -> bool:
        """Write the record durably (temp file, rename, fsync of the file and the folder). False when
        it could not be written: the caller still holds the tokens in memory and goes on."""
        if not self.enabled:
            return False
        data = json.dumps(record.to_json()).encode("utf-8")
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=self.prefix, suffix=".tmp")
        except OSError as exc:
            log.warning("profile %s: cannot write a recovery record (%s)", record.profile, exc.strerror)
            return False
        try:
            try:
                os.fchmod(fd, 0o600)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                # Renamed first, then fsynced: once the name exists a killed process loses nothing
                # (the kernel holds the data), and the fsyncs that follow (still before the main
                # write) cover a power loss; a record torn by one is unreadable and is dropped.
                os.replace(tmp, self.path_for(record.profile))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            log.warning("profile %s: cannot write a recovery record (%s)", record.profile, exc.strerror)
            return False
        self._sync_folder()
        return True

    async def asave(self, record: Recovery) -> bool:
        return await asyncio.to_thread(self.save, record)

    def remove(self, profile: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path_for(profile))

    async def aremove(self, profile: str) -> None:
        await asyncio.to_thread(self.remove, profile)

    def _sync_folder(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            fd = os.open(self.folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    # ----------------------------------------------------------------- reading

    def load(self, profile: str) -> Recovery | None:
        """The record of ``profile``; an unreadable one is removed (it can only be a torn temp write
        of ours, which never reaches the final name, or garbage)."""
        path = self.path_for(profile)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        try:
            record = Recovery.from_json(json.loads(raw))
        except (ValueError, KeyError, TypeError):
            log.warning("profile %s: dropped an unreadable recovery record", profile)
            self.remove(profile)
            return None
        return record if record.profile == profile else None

    async def aload(self, profile: str) -> Recovery | None:
        return await asyncio.to_thread(self.load, profile)

    def all(self) -> list[Recovery]:
        """Every readable record beside the config file (for start-up)."""
        found = []
        try:
            paths = list(self.folder.glob(f"{self.prefix}*"))
        except OSError:
            return []
        names = []
        for path in paths:
            if not path.name.endswith(".tmp"):
                names.append(path)
                continue
            # A temp record of a writer killed before its rename (it holds tokens): old ones go.
            with contextlib.suppress(OSError):
                if time.time() - path.stat().st_mtime > STALE_TEMP_SECONDS:
                    path.unlink()
        for path in names:
            try:
                record = Recovery.from_json(json.loads(path.read_bytes()))
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if path == self.path_for(record.profile):
                found.append(record)
        return found

    async def aall(self) -> list[Recovery]:
        return await asyncio.to_thread(self.all)
