"""sidecar/credentials/courier.py: the refresh call made by a process outside the sidecar's tree, so a
kill of the sidecar, even while the service holds the request, never loses the rotated token."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.sigkill import still_signed_in
from emulator import Emulator
from sidecar.config import profiles as P
from sidecar.credentials.courier import Courier, CourierError, Job, hop
from sidecar.errors import NetworkError
from sidecar.platform import PosixFs, WindowsFs
from sidecar.tokens import fingerprint

from .conftest import load_json
from .flows import signed_in

REPO = Path(__file__).resolve().parent.parent
posix_only = pytest.mark.skipif(os.name != "posix", reason="kills a POSIX process group")

#: A sidecar's refresher in a process of its own: renews the access token once and waits.
SIDECAR = """
import asyncio, sys
sys.path.insert(0, {repo!r})
from sidecar.service import Settings, SidecarService
from sidecar.sites import Endpoints

async def main():
    endpoints = Endpoints().with_overrides({{"signinBase": {url!r}, "oauthBase": {url!r}}})
    service = SidecarService(Settings(config_path={path!r}, endpoints=endpoints, durable_refresh={durable!r}))
    await service.refresher.credentials("dev", force="accessToken")

asyncio.run(main())
"""


async def test_a_refresh_goes_through_the_courier_and_is_saved(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    assert service.refresher.courier is not None
    spent = P.get_profile(load_json(config_path), "dev")["oauth_refresh_token"]
    await service.refresher.credentials("dev", force="accessToken")
    assert service.refresher.courier.spawns == 2  # the hop and the courier
    saved = P.get_profile(load_json(config_path), "dev")["oauth_refresh_token"]
    assert saved != spent
    assert list(config_path.parent.glob(".config.json.sidecar-recovery-*")) == []  # merged, then removed
    await service.refresher.credentials("dev", force="accessToken")  # the saved token is the live one
    assert emulator.stats["invalid_grant"] == 0
    await service.aclose()


async def kill_while_the_service_holds_the_refresh(emulator: Emulator, config_path: Path, *, durable: bool) -> bool:
    """Start a sidecar that refreshes, hold its request at the service, kill its whole process
    group while the request is there, let the service answer; then: is the user still signed in?"""
    await (await signed_in(emulator, config_path)).aclose()
    emulator.inject("token", "delay", count=1, seconds=1.5)
    before = emulator.stats["requests"]["token"]
    script = SIDECAR.format(repo=str(REPO), url=emulator.url, path=str(config_path), durable=durable)
    child = subprocess.Popen([sys.executable, "-c", script], start_new_session=True, cwd=str(REPO))
    try:
        deadline = time.monotonic() + 30
        while emulator.stats["requests"]["token"] == before:  # the refresh has reached the service
            assert time.monotonic() < deadline and child.poll() is None, "the refresh never reached the service"
            await asyncio.sleep(0.01)
        os.killpg(child.pid, signal.SIGKILL)  # the editor kills the sidecar's tree
    finally:
        child.wait(10)
    await asyncio.sleep(2.0)  # the held answer goes out (to the courier, or to nobody)
    return await still_signed_in(emulator, config_path, durable)


@posix_only
async def test_a_kill_while_the_service_holds_the_refresh_signs_nobody_out(emulator: Emulator, config_path: Path) -> None:
    """The window no record of the dying process can cover: the service has rotated the token and the
    answer is in flight. With the courier the next sidecar merges the courier's record."""
    assert await kill_while_the_service_holds_the_refresh(emulator, config_path, durable=True)
    assert emulator.stats["invalid_grant"] == 0


@posix_only
async def test_without_the_courier_the_same_kill_signs_the_user_out(emulator: Emulator, config_path: Path) -> None:
    """The control: the in-process refresh loses the rotated token in that window."""
    assert not await kill_while_the_service_holds_the_refresh(emulator, config_path, durable=False)


async def test_a_courier_that_cannot_start_falls_back_to_an_in_process_refresh(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    assert service.refresher.courier is not None
    service.refresher.courier.python = str(config_path.parent / "no-such-python")
    await service.refresher.credentials("dev", force="accessToken")
    assert emulator.stats["invalid_grant"] == 0
    await service.aclose()


async def test_a_courier_that_took_the_token_and_went_silent_is_never_doubled(
    emulator: Emulator, config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once handed the token, a courier that does not answer is a network error: the sidecar does
    not spend the token again itself (that would sign the user out if the courier's call went
    through); the next renewal reads what the courier left."""
    service = await signed_in(emulator, config_path)
    calls = emulator.stats["requests"]["token"]

    async def silent(self: Courier, job: Job, lock_path: Path) -> object:
        raise CourierError("The refresh courier did not answer.", handed_over=True)

    monkeypatch.setattr(Courier, "refresh", silent)
    with pytest.raises(NetworkError):
        await service.refresher.credentials("dev", force="accessToken")
    assert emulator.stats["requests"]["token"] == calls
    await service.aclose()


async def test_the_next_renewal_waits_for_a_courier_that_outlived_its_sidecar(emulator: Emulator, config_path: Path) -> None:
    """A courier's lock is waited for (under the refresh lock) before the file is read."""
    service = await signed_in(emulator, config_path)
    lock = service.store.courier_lock("dev")
    lock.acquire()  # a courier of a dead sidecar, still at work
    task = asyncio.ensure_future(service.refresher.credentials("dev", force="accessToken"))
    await asyncio.sleep(0.3)
    assert not task.done()
    lock.release()
    await asyncio.wait_for(task, 30)
    await service.aclose()


def test_the_token_travels_on_the_pipe_never_in_argv(emulator: Emulator, config_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    real = asyncio.create_subprocess_exec

    async def spy(*args: str, **kwargs: object) -> object:
        seen.append(list(args))
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(asyncio, "create_subprocess_exec", spy)

    async def run() -> str:
        service = await signed_in(emulator, config_path)
        token = P.get_profile(load_json(config_path), "dev")["oauth_refresh_token"]
        await service.refresher.credentials("dev", force="accessToken")
        await service.aclose()
        return token

    token = asyncio.run(run())
    assert seen and all(token not in " ".join(argv) for argv in seen)
    assert all("-I" in argv for argv in seen)  # isolated: nothing from the working folder


def test_posix_detaches_into_a_session_of_its_own() -> None:
    assert PosixFs().detached_spawn() == [{"start_new_session": True}]


def test_windows_leaves_the_job_and_falls_back_when_a_job_forbids_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP, first with CREATE_BREAKAWAY_FROM_JOB (a kill of
    the editor's job would reach it otherwise); a job that forbids breakaway refuses that (access
    denied), and the hop starts the courier without it."""
    choices = WindowsFs().detached_spawn()
    assert [c["creationflags"] for c in choices] == [0x01000208, 0x00000208]
    tried: list[dict[str, object]] = []

    def popen(argv: list[str], **kwargs: object) -> object:
        tried.append(kwargs)
        if len(tried) == 1:
            raise PermissionError(5, "Access is denied")
        return object()

    import sidecar.credentials.courier as courier_mod

    monkeypatch.setattr(courier_mod, "osfs", WindowsFs())
    monkeypatch.setattr(subprocess, "Popen", popen)
    monkeypatch.setattr(sys, "argv", ["-c", "[]"])
    hop()
    assert [t["creationflags"] for t in tried] == [0x01000208, 0x00000208]
    assert all(t["stdin"] == 0 and t["stdout"] == 1 for t in tried)


def test_a_job_never_shows_its_token() -> None:
    job = Job("dev", "CN", "http://x", "1", "r" * 40, None, fingerprint("r" * 40), "/tmp/r.json", 5.0, 0.0)
    assert "r" * 40 not in repr(job) and job.spent == fingerprint(job.refresh_token)
