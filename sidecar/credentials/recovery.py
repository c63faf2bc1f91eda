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

The record is written by ``config.files.write_private_file`` (the same temp-file, fsync, rename and
folder fsync as the config file, with its ownership checks), at ``ConfigStore.sidecar_file``, and
never under the config file's lock: the whole point is not to wait for the shared file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config.files import read_private_file, remove_leftover_temp_files, remove_private_file, write_private_file
from ..config.store import ConfigStore
from ..errors import SidecarError
from ..tokens import OAuthTokens

log = logging.getLogger(__name__)

#: The ``ConfigStore.sidecar_file`` tag of a recovery record.
TAG = "recovery"


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
        """A record as written by ``to_json``; ``ValueError`` for anything else (wrong types, an
        expiry that is no plausible Unix time)."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        refresh_expire = data.get("oauth_refresh_token_expire")
        tokens = OAuthTokens(
            access_token=_text(data, "oauth_access_token"),
            refresh_token=_text(data, "oauth_refresh_token"),
            access_expires_at=_epoch(data["oauth_access_token_expire"]),
            refresh_expires_at=_epoch(refresh_expire) if refresh_expire is not None else None,
        )
        return cls(_text(data, "profile"), _text(data, "replaces"), tokens)


#: Expiries beyond this (year 2500) are not Unix times a service sends.
_MAX_EPOCH = 16_725_225_600


def _text(data: dict[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise ValueError(f"{name} is not a string")
    return value


def _epoch(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= _MAX_EPOCH:
        raise ValueError("not a Unix time")
    return int(value)


class RecoveryRecords:
    """The records beside one config file; every method is safe to call from the event loop.

    A profile's record is written and removed only under that profile's ``refresh_lock`` (the
    refresher's renewals and ``save_pending``), which is what makes removing a killed writer's
    leftover temp file safe."""

    def __init__(self, store: ConfigStore, *, enabled: bool = True) -> None:
        self.store = store
        #: Off only to measure what the record buys (the benchmark's "before").
        self.enabled = enabled

    def path_for(self, profile: str) -> Path:
        return self.store.sidecar_file(TAG, profile)

    # ----------------------------------------------------------------- writing

    def save(self, record: Recovery) -> bool:
        """Write the record durably. False when it could not be written: the caller still holds
        the tokens in memory and goes on."""
        if not self.enabled:
            return False
        try:
            self.write_to(self.path_for(record.profile), record)
        except SidecarError as exc:
            log.warning("profile %s: cannot write a recovery record (%s)", record.profile, exc.message)
            return False
        return True

    @staticmethod
    def write_to(path: Path, record: Recovery) -> None:
        """Write ``record`` at ``path`` durably (also the refresh courier's way, in its own process).
        Raises ``SidecarError`` when it cannot."""
        # A temp record of a writer killed before its rename holds tokens: it goes now.
        remove_leftover_temp_files(path)
        # Renamed before the fsync: from the rename on, a killed process loses nothing; a record
        # torn by a power cut inside this call is unreadable and dropped.
        write_private_file(path, json.dumps(record.to_json()).encode("utf-8"), visible_first=True)

    async def asave(self, record: Recovery) -> bool:
        return await asyncio.to_thread(self.save, record)

    def remove(self, profile: str) -> None:
        with contextlib.suppress(SidecarError):
            remove_private_file(self.path_for(profile))

    async def aremove(self, profile: str) -> None:
        await asyncio.to_thread(self.remove, profile)

    # ----------------------------------------------------------------- reading

    def _read(self, path: Path) -> Recovery | None:
        """The record at ``path``, None if there is none or it may not be read (insecure, a link,
        unreadable: ``read_private_file`` says why, and that is logged by its caller's check).

        Raises for a file that is there but is no record of ours: anything at all may stand at that
        name (a torn write, garbage, a hostile file), so the callers catch every ``Exception``: a
        record that nests ``[`` 200 000 deep (RecursionError), an expiry of ``1e999``
        (OverflowError), bad UTF-8 or wrong types never stops the keeper."""
        try:
            raw = read_private_file(path)
        except SidecarError as exc:
            log.warning("a recovery record was not read (%s)", exc.message)
            return None
        return Recovery.from_json(json.loads(raw)) if raw is not None else None

    def load(self, profile: str) -> Recovery | None:
        """The record of ``profile``; an unreadable one is removed (it can only be a torn write or
        garbage: ours reach their name only complete)."""
        try:
            record = self._read(self.path_for(profile))
        except Exception as exc:  # any content at all: see _read
            log.warning("profile %s: dropped an unreadable recovery record (%s)", profile, type(exc).__name__)
            self.remove(profile)
            return None
        return record if record is not None and record.profile == profile else None

    async def aload(self, profile: str) -> Recovery | None:
        return await asyncio.to_thread(self.load, profile)

    def all(self) -> list[Recovery]:
        """Every readable record beside the config file (for start-up). An unreadable one is skipped
        here (it is removed by ``load`` under its profile's lock)."""
        found = []
        for path in self.store.sidecar_files(TAG):
            try:
                record = self._read(path)
            except Exception as exc:  # any content at all: see _read
                log.warning("skipped an unreadable recovery record (%s)", type(exc).__name__)
                continue
            if record is not None and path == self.path_for(record.profile):
                found.append(record)
        return found

    async def aall(self) -> list[Recovery]:
        return await asyncio.to_thread(self.all)
