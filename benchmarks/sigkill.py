"""Sign-outs per 100 SIGKILLs of a sidecar process in the middle of forced refreshes.

The service spends the old refresh token the moment it answers; a process killed before the new one
is durable leaves the spent token in the file, and the user must sign in again. A child process
renews the access token in a loop (each renewal rotates the refresh token) and is killed at a random
moment; a fresh service then starts as the next sidecar would (saving kept tokens first) and tries a
renewal: ``invalid_grant`` of the token in the file means the user was signed out.

Both modes run in the same benchmark, on the same machine and file: with the recovery record (the
product) and without it (the "before": the record switched off in the child and the checker).
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from emulator import Emulator
from sidecar.config.store import ConfigStore
from sidecar.credentials.recovery import RecoveryRecords
from sidecar.errors import SignInRequired
from sidecar.sites import Endpoints
from sidecar.service import Settings, SidecarService

REPO = Path(__file__).resolve().parent.parent

#: The child: our refresher renewing the access token in a loop, recovery record on or off.
CHILD = """
import asyncio, sys
sys.path.insert(0, {repo!r})
from sidecar.credentials.recovery import RecoveryRecords
from sidecar.sites import Endpoints
from sidecar.service import Settings, SidecarService

async def main():
    endpoints = Endpoints().with_overrides({{"signinBase": {url!r}, "oauthBase": {url!r}}})
    service = SidecarService(Settings(config_path={path!r}, endpoints=endpoints))
    service.refresher.recovery = RecoveryRecords(service.store, enabled={record!r})
    await service.refresher.save_pending()
    service.refresher.client  # imports httpx now, so that kills land in renewals, not in start-up
    print("ready", flush=True)
    while True:
        await service.refresher.credentials("dev", force="accessToken")

asyncio.run(main())
"""


def _service(emu: Emulator, config: Path, record: bool) -> SidecarService:
    endpoints = Endpoints().with_overrides({"signinBase": emu.url, "oauthBase": emu.url})
    service = SidecarService(Settings(config_path=str(config), endpoints=endpoints, callback_ports=(0, 0)))
    service.refresher.recovery = RecoveryRecords(service.store, enabled=record)
    return service


async def _sign_in(emu: Emulator, config: Path) -> None:
    service = _service(emu, config, True)

    async def browser(url: str, _redirect: str) -> None:
        service.complete_sign_in(await asyncio.to_thread(emu.approve, url))

    try:
        await service.sign_in("dev", "CN", "cn-hangzhou", "en", browser)
    finally:
        await service.aclose()


def _bulk(doc: dict[str, Any], profiles: int) -> None:
    """Other profiles in the file (a large file widens the window: the main write takes longer)."""
    doc["profiles"] += [
        {"name": f"ak-{i}", "mode": "AK", "access_key_id": f"LTAI{i:08d}", "access_key_secret": "x" * 30,
         "region_id": "cn-hangzhou", "note": "n" * 900}
        for i in range(profiles)
    ]


async def _still_signed_in(emu: Emulator, config: Path, record: bool) -> bool:
    """What the next sidecar would find: kept tokens saved first, then one renewal."""
    checker = _service(emu, config, record)
    try:
        await checker.refresher.save_pending()
        await checker.refresher.credentials("dev", force="accessToken")
        return True
    except SignInRequired:
        return False
    finally:
        await checker.aclose()


async def kills(emu: Emulator, work: Path, *, count: int, record: bool, profiles: int, seed: int) -> dict[str, Any]:
    folder = work / f"sigkill-{'record' if record else 'none'}"
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.json"
    await _sign_in(emu, config)
    ConfigStore(config).update(lambda doc: _bulk(doc, profiles))
    rng = random.Random(seed)
    signouts = renewals_seen = 0
    script = CHILD.format(repo=str(REPO), url=emu.url, path=str(config), record=record)
    for _ in range(count):
        before = emu.stats["refreshes"]
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=str(REPO))
        assert child.stdout is not None
        await asyncio.to_thread(child.stdout.readline)
        await asyncio.sleep(rng.uniform(0.01, 0.2))
        child.kill()
        await asyncio.to_thread(child.wait, 10)
        renewals_seen += emu.stats["refreshes"] - before
        if not await _still_signed_in(emu, config, record):
            signouts += 1
            await _sign_in(emu, config)
    return {"kills": count, "signouts": signouts, "renewals": renewals_seen, "file_kib": config.stat().st_size // 1024}


async def bench_sigkill(emu: Emulator, work: Path, count: int, profiles: int = 200) -> dict[str, Any]:
    """The same kills with and without the recovery record, interleaved in one run."""
    return {
        "without_record": await kills(emu, work, count=count, record=False, profiles=profiles, seed=7),
        "with_record": await kills(emu, work, count=count, record=True, profiles=profiles, seed=7),
    }


def per_hundred(result: dict[str, Any]) -> float:
    return 100.0 * result["signouts"] / max(1, result["kills"])
