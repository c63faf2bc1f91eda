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
        path = self.path_for(record.profile)
        try:
            # A temp record of a writer killed before its rename holds tokens: it goes now.
            remove_leftover_temp_files(path)
            # Renamed before the fsync: from the rename on, a killed process loses nothing; a record
            # torn by a power cut inside this call is unreadable and dropped.
            write_private_file(path, json.dumps(record.to_json()).encode("utf-8"), visible_first=True)
        except SidecarError as exc:
            log.warning("profile %s: cannot write a recovery record (%s)", record.profile, exc.message)
            return False
        return True

    async def asave(self, record: Recovery) -> bool:
        return await asyncio.to_thread(self.save, record)

    def remove(self, profile: str) -> None:
        with contextlib.suppress(SidecarError):
            remove_private_file(self.path_for(profile))

    async def aremove(self, profile: str) -> None:
        await asyncio.to_thread(self.remove, profile)

    # ----------------------------------------------------------------- reading

    def _read(self, path: Path) -> Recovery | None:
        try:
            raw = read_private_file(path)
        except SidecarError:
            return None
        return Recovery.from_json(json.loads(raw)) if raw is not None else None

    def load(self, profile: str) -> Recovery | None:
        """The record of ``profile``; an unreadable one is removed (it can only be a torn write or
        garbage: ours reach their name only complete)."""
        try:
            record = self._read(self.path_for(profile))
        except (ValueError, KeyError, TypeError):
            log.warning("profile %s: dropped an unreadable recovery record", profile)
            self.remove(profile)
            return None
        return record if record is not None and record.profile == profile else None

    async def aload(self, profile: str) -> Recovery | None:
        return await asyncio.to_thread(self.load, profile)

    def all(self) -> list[Recovery]:
        """Every readable record beside the config file (for start-up)."""
        found = []
        for path in self.store.sidecar_files(TAG):
            try:
                record = self._read(path)
            except (ValueError, KeyError, TypeError):
                continue
            if record is not None and path == self.path_for(record.profile):
                found.append(record)
        return found

    async def aall(self) -> list[Recovery]:
        return await asyncio.to_thread(self.all)
