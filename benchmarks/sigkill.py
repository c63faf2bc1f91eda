"""Sign-outs per 100 kills of a sidecar's process tree in the middle of forced refreshes.

The service spends the old refresh token the moment it answers; a process killed before the new one
is durable leaves the spent token in the file, and the user must sign in again. A child process
renews the access token in a loop (each renewal rotates the refresh token) and, at a random moment
(half of the kills: the moment a refresh has reached the service), its whole tree is SIGKILLed as an editor kills a language server's (its process group, and every
descendant found by parent id); a fresh service then starts as the next sidecar would (saving kept
tokens first) and tries a renewal: ``invalid_grant`` of the token in the file means a sign-out.

The service answers token calls after ``SERVICE_LATENCY`` (a real network's round trip), so many kills
land while a refresh is with the service: the in-flight window (counted apart: the emulator says
whether a token call had arrived and was not answered yet at the moment of the kill). No record the
killed process writes can cover that window; the refresh courier (``sidecar/credentials/courier.py``)
does, from a process outside the tree.

Both modes run in the same benchmark, on the same machine and file, with the same random moments:
the refresh courier (the product) and the in-process refresh with the recovery record (the before).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.seed import sign_in
from emulator import Emulator
from sidecar.config.store import ConfigStore
from sidecar.errors import SignInRequired
from sidecar.sites import Endpoints
from sidecar.service import Settings, SidecarService

REPO = Path(__file__).resolve().parent.parent

#: How long the service takes to answer a token call (an ordinary network round trip).
SERVICE_LATENCY = 0.05
#: The share of kills aimed at the in-flight window (the rest land at a random moment, 10-800 ms).
TARGETED = 0.5

#: The child: our refresher renewing the access token in a loop, through the courier or in-process.
CHILD = """
import asyncio, sys
sys.path.insert(0, {repo!r})
from sidecar.sites import Endpoints
from sidecar.service import Settings, SidecarService

async def main():
    endpoints = Endpoints().with_overrides({{"signinBase": {url!r}, "oauthBase": {url!r}}})
    service = SidecarService(Settings(config_path={path!r}, endpoints=endpoints, durable_refresh={durable!r}))
    await service.refresher.save_pending()
    service.refresher.client  # imports httpx now, so that kills land in renewals, not in start-up
    print("ready", flush=True)
    while True:
        await service.refresher.credentials("dev", force="accessToken")

asyncio.run(main())
"""


def _service(emu: Emulator, config: Path, durable: bool) -> SidecarService:
    endpoints = Endpoints().with_overrides({"signinBase": emu.url, "oauthBase": emu.url})
    settings = Settings(config_path=str(config), endpoints=endpoints, callback_ports=(0, 0), durable_refresh=durable)
    return SidecarService(settings)


def _bulk(doc: dict[str, Any], profiles: int) -> None:
    """Other profiles in the file (a large file widens the window: the main write takes longer)."""
    doc["profiles"] += [
        {"name": f"ak-{i}", "mode": "AK", "access_key_id": f"LTAI{i:08d}", "access_key_secret": "x" * 30,
         "region_id": "cn-hangzhou", "note": "n" * 900}
        for i in range(profiles)
    ]


async def still_signed_in(emu: Emulator, config: Path, durable: bool) -> bool:
    """What the next sidecar would find: kept tokens saved first, then one renewal."""
    checker = _service(emu, config, durable)
    try:
        await checker.refresher.save_pending()
        await checker.refresher.credentials("dev", force="accessToken")
        return True
    except SignInRequired:
        return False
    finally:
        await checker.aclose()


async def _until_a_refresh_is_with_the_service(emu: Emulator, child: subprocess.Popen[bytes]) -> None:
    """Wait until a token call of the child has reached the service and is not answered yet."""
    deadline = time.monotonic() + 10
    while emu.stats["in_progress"].get("token", 0) == 0 and child.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.002)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` by parent id (what a tree kill walks), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL the process group of ``pid`` and every descendant, as an editor kills a server."""
    for victim in _descendants(pid):
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


async def kills(emu: Emulator, work: Path, *, count: int, durable: bool, profiles: int, seed: int) -> dict[str, Any]:
    folder = work / f"sigkill-{'courier' if durable else 'in-process'}"
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.json"
    await sign_in(emu, config)
    ConfigStore(config).update(lambda doc: _bulk(doc, profiles))
    rng = random.Random(seed)
    signouts = renewals_seen = in_window = in_window_signouts = 0
    script = CHILD.format(repo=str(REPO), url=emu.url, path=str(config), durable=durable)
    emu.inject("token", "delay", count=10**9, seconds=SERVICE_LATENCY)
    try:
        for _ in range(count):
            before = emu.stats["refreshes"]
            child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=str(REPO),
                                     start_new_session=True)
            assert child.stdout is not None
            await asyncio.to_thread(child.stdout.readline)
            if rng.random() < TARGETED:
                await _until_a_refresh_is_with_the_service(emu, child)
            else:
                await asyncio.sleep(rng.uniform(0.01, 0.8))
            window = emu.stats["in_progress"].get("token", 0) > 0
            kill_tree(child.pid)
            await asyncio.to_thread(child.wait, 10)
            await asyncio.sleep(SERVICE_LATENCY * 2)  # the held answer goes out (to a courier, or nobody)
            renewals_seen += emu.stats["refreshes"] - before
            in_window += window
            if not await still_signed_in(emu, config, durable):
                signouts += 1
                in_window_signouts += window
                await sign_in(emu, config)
    finally:
        emu.clear_faults()
    return {"kills": count, "signouts": signouts, "in_window": in_window, "in_window_signouts": in_window_signouts,
            "renewals": renewals_seen, "file_kib": config.stat().st_size // 1024}


async def refresh_cost(emu: Emulator, work: Path, *, count: int) -> dict[str, Any]:
    """What the courier costs a refresh: processes started and time, beside the in-process refresh."""
    result: dict[str, Any] = {}
    for durable in (False, True):
        config = work / f"cost-{durable}" / "config.json"
        config.parent.mkdir(parents=True, exist_ok=True)
        await sign_in(emu, config)
        service = _service(emu, config, durable)
        await service.refresher.credentials("dev", force="accessToken")  # warm: imports, connections
        spawns = service.refresher.courier.spawns if service.refresher.courier else 0
        started = time.perf_counter()
        for _ in range(count):
            await service.refresher.credentials("dev", force="accessToken")
        seconds = (time.perf_counter() - started) / count
        courier = service.refresher.courier
        result["courier" if durable else "in_process"] = {
            "seconds": seconds, "spawns_per_refresh": ((courier.spawns - spawns) / count) if courier else 0.0,
        }
        await service.aclose()
    return result


async def bench_sigkill(emu: Emulator, work: Path, count: int, profiles: int = 200) -> dict[str, Any]:
    """The same kills with the courier and without it (in-process, recovery record on), one run."""
    return {
        "in_process": await kills(emu, work, count=count, durable=False, profiles=profiles, seed=7),
        "courier": await kills(emu, work, count=count, durable=True, profiles=profiles, seed=7),
        "cost": await refresh_cost(emu, work, count=max(3, min(count, 10))),
    }


def per_hundred(result: dict[str, Any]) -> float:
    return 100.0 * result["signouts"] / max(1, result["kills"])
