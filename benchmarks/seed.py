"""Config files for the benchmarks: a real signed-in OAuth profile (from the emulator) and filler."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from sidecar.config import profiles as P
from sidecar.config.store import ConfigStore
from emulator import Emulator
from sidecar.sites import Endpoints
from sidecar.service import Settings, SidecarService


def emulator_endpoints(emu: Emulator) -> dict[str, str]:
    """The ``endpoints`` initialization option pointing both sites at the emulator."""
    return {"signinBase": emu.url, "oauthBase": emu.url}


async def sign_in(emu: Emulator, config_path: Path, name: str = "dev") -> None:
    """A real PKCE sign-in against the emulator, in-process (the user approves at once)."""
    settings = Settings(
        config_path=str(config_path),
        endpoints=Endpoints().with_overrides(emulator_endpoints(emu)),
        callback_ports=(0, 0),
        signin_timeout=30,
    )
    service = SidecarService(settings)

    async def started(url: str, _redirect_uri: str) -> None:
        location = await asyncio.to_thread(emu.approve, url)
        service.complete_sign_in(location)

    try:
        await service.sign_in(name, "CN", "cn-hangzhou", "en", started)
    finally:
        await service.aclose()


def filler_profile(index: int) -> dict[str, Any]:
    """A profile as the CLI writes them; every other one is OAuth with fake tokens."""
    now = int(time.time())
    if index % 2:
        return {
            "name": f"ak-{index}",
            "mode": "AK",
            "access_key_id": f"LTAI{index:016d}",
            "access_key_secret": "filler-secret-not-real",
            "sts_token": "",
            "region_id": "cn-hangzhou",
            "output_format": "json",
            "language": "en",
        }
    return {
        "name": f"oauth-{index}",
        "mode": "OAuth",
        "oauth_site_type": "CN",
        "oauth_access_token": "filler-access-token-not-real",
        "oauth_refresh_token": "filler-refresh-token-not-real",
        "oauth_access_token_expire": now + 3000,
        "access_key_id": f"STS.filler{index}",
        "access_key_secret": "filler-sts-secret-not-real",
        "sts_token": "filler-sts-token-not-real",
        "sts_expiration": now + 3000,
        "region_id": "cn-shanghai",
        "output_format": "json",
        "language": "zh",
    }


def write_profiles(config_path: Path, count: int, keep: str | None = "dev") -> int:
    """Replace the profiles with ``count`` profiles (the signed-in ``keep`` one first); returns bytes."""

    def mutate(doc: dict[str, Any]) -> None:
        kept = [p for p in P.profiles_of(doc) if keep is not None and p.get("name") == keep]
        doc["profiles"] = kept + [filler_profile(i) for i in range(count - len(kept))]
        doc["current"] = doc["profiles"][0]["name"] if doc["profiles"] else ""

    ConfigStore(config_path).update(mutate)
    return config_path.stat().st_size


def expire(config_path: Path, name: str = "dev", *, access_token: bool = False) -> None:
    """Move the profile's STS expiry (and optionally the access token's) into the past, under our lock."""
    past = int(time.time()) - 10

    def mutate(doc: dict[str, Any]) -> None:
        profile = P.get_profile(doc, name)
        profile["sts_expiration"] = past
        if access_token:
            profile["oauth_access_token_expire"] = past

    ConfigStore(config_path).update(mutate)


def read_json(path: Path, attempts: int = 50) -> dict[str, Any]:
    """The file's JSON, retrying a moment if a writer is caught in the middle."""
    for _ in range(attempts):
        try:
            return json.loads(path.read_bytes())
        except (OSError, ValueError):
            time.sleep(0.005)
    return json.loads(path.read_bytes())
