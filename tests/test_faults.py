"""The hostile world: every fault the emulator can inject, on each of the three upstream calls (the
sign-in's code exchange, the refresh of the access token, the STS exchange), plus clock skew, a writer
killed mid-write, an unlocked CLI-style writer racing our refreshes, hand edits of the file, and a
full disk.

For each failure: the right typed error (never ``internal``), nothing written, the last good tokens
kept, no "sign in again" for what is only a network problem, and recovery on the next call.

Most tests drive ``SidecarService`` in-process (its HTTP timeout is a constructor setting; 0.5 s here
keeps the timeouts quick) against a real emulator on loopback. No token value is ever printed: the
assertions compare whole profile dicts only through precomputed booleans where a failure message
would show them.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import errno
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sidecar.config import profiles as P
from sidecar.config.store import ConfigStore
from sidecar.credentials.refresher import CredentialEvent
from emulator import Emulator
from sidecar.errors import ConfigUnavailable, SidecarError
from sidecar.oauth.client import OAuthClient
from sidecar.sites import PRODUCTION_SITES, Endpoints
from sidecar.service import Settings, SidecarService

from .conftest import by_name, load_json, posix_only
from .flows import age, profile_of, signed_in
from .rpc_harness import REPO, Sidecar

HTTP_TIMEOUT = 0.5


# ------------------------------------------------------------------ fixtures and helpers


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """One emulator per test (it starts in milliseconds): a request an injected delay is still holding
    must never land in the next test's counters. Stopping it wakes every held request."""
    with Emulator(host="127.0.0.1", port=0, auto_approve=True) as emulator:
        yield emulator


def make_service(config_path: Path, emu: Emulator, events: list[CredentialEvent] | None = None) -> SidecarService:
    settings = Settings(
        config_path=str(config_path),
        endpoints=Endpoints().with_overrides({"signinBase": emu.url, "oauthBase": emu.url}),
        callback_ports=(0, 0),
        signin_timeout=10,
        http_timeout=HTTP_TIMEOUT,
    )
    return SidecarService(settings, on_credentials=events.append if events is not None else None)


@pytest.fixture
def events() -> list[CredentialEvent]:
    return []


@pytest.fixture
async def svc(config_path: Path, emu: Emulator, events: list[CredentialEvent]) -> AsyncIterator[SidecarService]:
    service = make_service(config_path, emu, events)
    yield service
    await service.aclose()


async def sign_in(svc: SidecarService, emu: Emulator, name: str = "dev") -> dict[str, Any]:
    """A browser sign-in where the user approves at once (the paste-back path, no real browser)."""

    async def started(url: str, _redirect_uri: str) -> None:
        svc.complete_sign_in(emu.approve(url))

    return await svc.sign_in(name, "CN", "cn-hangzhou", "en", started)


def set_fields(config_path: Path, name: str = "dev", **fields: Any) -> None:
    ConfigStore(config_path).update(lambda doc: P.get_profile(doc, name).update(fields))


def sign_in_required_events(events: list[CredentialEvent]) -> int:
    return sum(1 for e in events if e.kind == "signInRequired")


#: (fault, seconds, expected kind, expected details): every way a call can fail without an answer we can use.
FAILURES = [
    pytest.param("delay", 1.0, "network", {}, id="delay-over-timeout"),
    pytest.param("hang", 2.0, "network", {}, id="hang"),
    pytest.param("500", 0, "upstream", {"status": 500}, id="500"),
    pytest.param("503", 0, "upstream", {"status": 503}, id="503"),
    pytest.param("malformed", 0, "upstream", {"error": "malformed_response"}, id="malformed-json"),
    pytest.param("empty", 0, "upstream", {"error": "malformed_response"}, id="empty-json"),
    pytest.param("drop", 0, "network", {}, id="dropped-connection"),
]


def assert_kind(error: SidecarError, kind: str, details: dict[str, Any]) -> None:
    assert error.kind == kind, f"{type(error).__name__}: {error.message}"
    for key, value in details.items():
        assert error.details.get(key) == value, (key, error.details.get(key))


# ------------------------------------------------------------------ sign-in: the code exchange and the first STS exchange


@pytest.mark.parametrize(("fault", "seconds", "kind", "details"), FAILURES)
@pytest.mark.parametrize("endpoint", ["token", "exchange"], ids=["code-exchange", "first-sts-exchange"])
async def test_sign_in_fault(
    svc: SidecarService, emu: Emulator, config_path: Path, endpoint: str, fault: str, seconds: float, kind: str,
    details: dict[str, Any],
) -> None:
    await sign_in(svc, emu)
    before = load_json(config_path)
    emu.inject(endpoint, fault, 1, seconds)
    with pytest.raises(SidecarError) as info:
        await sign_in(svc, emu)
    assert_kind(info.value, kind, details)
    unchanged = load_json(config_path) == before
    assert unchanged, "a failed sign-in changed the file (the last good tokens must be kept)"
    entry = await sign_in(svc, emu)
    assert entry.state == "valid"
    renewed = profile_of(config_path)["oauth_refresh_token"] != P.get_profile(before, "dev")["oauth_refresh_token"]
    assert renewed


@pytest.mark.parametrize("endpoint", ["token", "exchange"], ids=["code-exchange", "first-sts-exchange"])
async def test_sign_in_invalid_grant_is_an_upstream_error(
    svc: SidecarService, emu: Emulator, config_path: Path, endpoint: str
) -> None:
    emu.inject(endpoint, "invalid_grant")
    with pytest.raises(SidecarError) as info:
        await sign_in(svc, emu)
    assert_kind(info.value, "upstream", {"error": "invalid_grant", "status": 400})
    assert not config_path.exists()
    assert (await sign_in(svc, emu)).state == "valid"


async def test_sign_in_completes_within_the_timeout_despite_delays(svc: SidecarService, emu: Emulator) -> None:
    emu.inject("token", "delay", 1, 0.2)
    emu.inject("exchange", "delay", 1, 0.2)
    assert (await sign_in(svc, emu)).state == "valid"


# ------------------------------------------------------------------ refresh of the access token (rotating refresh token)


REFRESH_FAILURES = [p for p in FAILURES if p.id != "delay-over-timeout"]  # that one is its own test below


@pytest.mark.parametrize(("fault", "seconds", "kind", "details"), REFRESH_FAILURES)
async def test_refresh_fault_keeps_tokens_and_recovers(
    svc: SidecarService, emu: Emulator, config_path: Path, events: list[CredentialEvent], fault: str,
    seconds: float, kind: str, details: dict[str, Any],
) -> None:
    await sign_in(svc, emu)
    before = profile_of(config_path)
    emu.inject("token", fault, 1, seconds)
    with pytest.raises(SidecarError) as info:
        await svc.refresh("dev", "accessToken")
    assert_kind(info.value, kind, details)
    unchanged = profile_of(config_path) == before
    assert unchanged, "a failed refresh changed the profile"
    assert sign_in_required_events(events) == 0, "a network or server error was reported as 'sign in again'"
    assert by_name(await svc.list_profiles(), "dev").state == "valid"
    entry = await svc.refresh("dev", "accessToken")
    assert entry.state == "valid"
    rotated = profile_of(config_path)["oauth_refresh_token"] != before["oauth_refresh_token"]
    assert rotated


async def test_refresh_delay_within_the_timeout_succeeds(svc: SidecarService, emu: Emulator, config_path: Path) -> None:
    await sign_in(svc, emu)
    old = profile_of(config_path)["oauth_refresh_token"]
    emu.inject("token", "delay", 1, 0.2)
    assert (await svc.refresh("dev", "accessToken")).state == "valid"
    rotated = profile_of(config_path)["oauth_refresh_token"] != old
    assert rotated


async def test_refresh_invalid_grant_means_sign_in_required_once(
    svc: SidecarService, emu: Emulator, config_path: Path, events: list[CredentialEvent]
) -> None:
    await sign_in(svc, emu)
    before = profile_of(config_path)
    emu.inject("token", "invalid_grant")
    with pytest.raises(SidecarError) as info:
        await svc.refresh("dev", "accessToken")
    assert info.value.kind == "signInRequired"
    assert sign_in_required_events(events) == 1
    unchanged = profile_of(config_path) == before
    assert unchanged
    calls = emu.stats["requests"]["token"]
    with pytest.raises(SidecarError) as again:
        await svc.refresh("dev", "accessToken")
    assert again.value.kind == "signInRequired"
    assert emu.stats["requests"]["token"] == calls, "a refused refresh token was tried again (a retry loop)"
    assert (await sign_in(svc, emu)).state == "valid"
    assert (await svc.refresh("dev", "accessToken")).state == "valid"


@pytest.mark.parametrize(
    ("fault", "seconds"), [("delay", 1.0), ("drop_after", 0)], ids=["answer-after-timeout", "dropped-after-processing"]
)
async def test_refresh_the_service_completed_but_we_never_saw(
    svc: SidecarService, emu: Emulator, config_path: Path, fault: str, seconds: float
) -> None:
    """A known hazard of rotating refresh tokens: the service spent the old token and issued a new one,
    but the answer never arrived (client timeout, connection dropped). Nobody has the new token, so
    the next refresh is refused. What the sidecar must do: say ``network`` now, keep the STS
    credentials, and on the next call say ``signInRequired`` (never ``internal``, never a loop)."""
    await sign_in(svc, emu)
    before = profile_of(config_path)
    emu.inject("token", fault, 1, seconds)
    with pytest.raises(SidecarError) as info:
        await svc.refresh("dev", "accessToken")
    assert info.value.kind == "network"
    await asyncio.sleep(seconds + 0.3)  # the emulator finishes the request it was still holding
    with pytest.raises(SidecarError) as nxt:
        await svc.refresh("dev", "accessToken")
    assert nxt.value.kind == "signInRequired"
    unchanged = profile_of(config_path) == before
    assert unchanged
    assert by_name(await svc.list_profiles(), "dev").state == "valid"  # the STS credentials still serve


# ------------------------------------------------------------------ the STS exchange


@pytest.mark.parametrize(("fault", "seconds", "kind", "details"), FAILURES)
async def test_sts_exchange_fault_keeps_credentials_and_recovers(
    svc: SidecarService, emu: Emulator, config_path: Path, events: list[CredentialEvent], fault: str,
    seconds: float, kind: str, details: dict[str, Any],
) -> None:
    await sign_in(svc, emu)
    before = profile_of(config_path)
    emu.inject("exchange", fault, 1, seconds)
    with pytest.raises(SidecarError) as info:
        await svc.refresh("dev", "sts")
    assert_kind(info.value, kind, details)
    unchanged = profile_of(config_path) == before
    assert unchanged
    assert sign_in_required_events(events) == 0
    creds = await svc.credentials("dev")  # the old STS credentials are still good: served from the file
    same = creds.access_key_id == before["access_key_id"]
    assert same
    assert (await svc.refresh("dev", "sts")).state == "valid"
    renewed = profile_of(config_path)["access_key_id"] != before["access_key_id"]
    assert renewed


async def test_sts_exchange_invalid_grant_renews_the_access_token_once(
    svc: SidecarService, emu: Emulator, config_path: Path
) -> None:
    await sign_in(svc, emu)
    before = profile_of(config_path)
    refreshes = emu.stats["refreshes"]
    emu.inject("exchange", "invalid_grant")
    assert (await svc.refresh("dev", "sts")).state == "valid"
    assert emu.stats["refreshes"] == refreshes + 1
    rotated = profile_of(config_path)["oauth_refresh_token"] != before["oauth_refresh_token"]
    assert rotated


async def test_sts_exchange_delay_within_the_timeout_succeeds(svc: SidecarService, emu: Emulator) -> None:
    await sign_in(svc, emu)
    emu.inject("exchange", "delay", 1, 0.2)
    assert (await svc.refresh("dev", "sts")).state == "valid"


# ------------------------------------------------------------------ on demand, after expiry (no force)


async def test_expired_layers_with_a_503_then_recovery(
    svc: SidecarService, emu: Emulator, config_path: Path, events: list[CredentialEvent]
) -> None:
    await sign_in(svc, emu)
    past = int(time.time()) - 10
    set_fields(config_path, sts_expiration=past, oauth_access_token_expire=past)
    before = profile_of(config_path)
    emu.inject("token", "503")
    with pytest.raises(SidecarError) as info:
        await svc.credentials("dev")
    assert_kind(info.value, "upstream", {"status": 503})
    unchanged = profile_of(config_path) == before
    assert unchanged
    assert sign_in_required_events(events) == 0
    stats = emu.stats
    sts = await svc.credentials("dev")
    assert sts.expires_at > time.time() + 3000
    assert (emu.stats["refreshes"], emu.stats["exchanges"]) == (stats["refreshes"] + 1, stats["exchanges"] + 1)


async def test_concurrent_callers_share_one_failure_and_one_recovery(
    svc: SidecarService, emu: Emulator, config_path: Path
) -> None:
    await sign_in(svc, emu)
    set_fields(config_path, sts_expiration=int(time.time()) - 10)
    requests = emu.stats["requests"]["exchange"]
    emu.inject("exchange", "500")
    answers = await asyncio.gather(*(svc.credentials("dev") for _ in range(50)), return_exceptions=True)
    kinds = {a.kind if isinstance(a, SidecarError) else type(a).__name__ for a in answers}
    assert kinds == {"upstream"}
    assert emu.stats["requests"]["exchange"] == requests + 1
    answers = await asyncio.gather(*(svc.credentials("dev") for _ in range(50)))
    assert len({a.access_key_id for a in answers}) == 1
    assert emu.stats["requests"]["exchange"] == requests + 2


async def test_revoked_refresh_token_on_expiry(
    svc: SidecarService, emu: Emulator, config_path: Path, events: list[CredentialEvent]
) -> None:
    await sign_in(svc, emu)
    past = int(time.time()) - 10
    set_fields(config_path, sts_expiration=past, oauth_access_token_expire=past)
    before = profile_of(config_path)
    emu.revoke_refresh_tokens()
    with pytest.raises(SidecarError) as info:
        await svc.credentials("dev")
    assert info.value.kind == "signInRequired"
    assert sign_in_required_events(events) == 1
    unchanged = profile_of(config_path) == before
    assert unchanged
    listing = await svc.list_profiles()
    assert by_name(listing, "dev").state == "signInRequired"
    assert (await sign_in(svc, emu)).state == "valid"
    assert (await svc.credentials("dev")).expires_at > time.time()


async def test_access_token_dead_before_its_recorded_expiry(svc: SidecarService, emu: Emulator, config_path: Path) -> None:
    await sign_in(svc, emu)
    set_fields(config_path, sts_expiration=int(time.time()) - 10)
    emu.expire_access_tokens()  # the service ends them early; the file still says they are good
    refreshes = emu.stats["refreshes"]
    sts = await svc.credentials("dev")
    assert sts.expires_at > time.time() + 3000
    assert emu.stats["refreshes"] == refreshes + 1


# ------------------------------------------------------------------ clock skew


def test_emulator_skews_its_date_header(emu: Emulator) -> None:
    """The end-to-end skew test below only means something if the emulator's ``Date`` follows its clock."""
    emu.set_clock_skew(600)
    answer = httpx.post(f"{emu.url}/v1/exchange", timeout=5)
    served = email.utils.parsedate_to_datetime(answer.headers["date"]).timestamp()
    assert abs(served - (time.time() + 600)) <= 30


@pytest.mark.parametrize("skew", [600, -600], ids=["service-10min-ahead", "service-10min-behind"])
async def test_sts_expiry_is_stored_on_the_local_clock_under_skew(
    svc: SidecarService, emu: Emulator, config_path: Path, skew: int
) -> None:
    emu.set_clock_skew(skew)
    await sign_in(svc, emu)
    stored = profile_of(config_path)["sts_expiration"]
    assert abs(stored - (time.time() + 3600)) <= 60


@pytest.mark.parametrize("skew", [600, -600], ids=["service-10min-ahead", "service-10min-behind"])
async def test_skewed_service_still_works_and_token_expiry_is_local(
    svc: SidecarService, emu: Emulator, config_path: Path, skew: int
) -> None:
    emu.set_clock_skew(skew)
    await sign_in(svc, emu)
    profile = profile_of(config_path)
    # expires_in is relative: the access token's expiry is on our clock whatever the service's clock says
    assert abs(profile["oauth_access_token_expire"] - (time.time() + 3600)) <= 60
    assert (await svc.refresh("dev", "accessToken")).state == "valid"
    assert (await svc.refresh("dev", "sts")).state == "valid"
    assert profile_of(config_path)["sts_expiration"] > time.time() + 2400


@pytest.mark.parametrize("skew", [600, -600, 10], ids=["ahead", "behind", "within-tolerance"])
async def test_oauth_client_corrects_sts_expiry_with_the_date_header(skew: int) -> None:
    """What the emulator cannot show yet: the client reads ``Date`` and moves the expiry onto our clock."""

    def answer(request: httpx.Request) -> httpx.Response:
        server_now = time.time() + skew
        expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(server_now + 3600))
        body = {"requestId": "r", "accessKeyId": "STS.fake", "accessKeySecret": "fake", "securityToken": "fake",
                "expiration": expiration}
        return httpx.Response(200, json=body, headers={"Date": email.utils.formatdate(server_now, usegmt=True)})

    client = OAuthClient(timeout=2, transport=httpx.MockTransport(answer))
    try:
        sts = await client.exchange_sts(PRODUCTION_SITES["CN"], "fake-access-token")
    finally:
        await client.aclose()
    expected = time.time() + 3600 + (skew if abs(skew) <= 30 else 0)
    assert abs(sts.expires_at - expected) <= 3


# ------------------------------------------------------------------ a writer killed in the middle of writes


VERSIONS = textwrap.dedent(
    """
    def version(n):
        # Version n of the file: sizes vary a lot, so a kill often lands inside a long write.
        size = (n * 7919) % 60000 + 1
        return {
            "current": "p%d" % (n % 7),
            "profiles": [{"name": "p%d" % i, "mode": "AK", "blob": "x" * (size // 7)} for i in range(7)],
            "meta_path": "",
            "n": n,
        }

    def next_version(doc):
        n = int(doc.get("n", 0)) + 1
        doc.clear()
        doc.update(version(n))
    """
)
_versions: dict[str, Any] = {}
exec(VERSIONS, _versions)  # the same functions in the test and in the killed child
version = _versions["version"]
next_version = _versions["next_version"]

WRITER = (
    "import sys\n"
    "sys.path.insert(0, {repo!r})\n"
    "from sidecar.config.store import ConfigStore\n"
    + VERSIONS
    + "store = ConfigStore({path!r})\n"
    "print('ready', flush=True)\n"
    "while True:\n"
    "    store.update(next_version)\n"
)


@posix_only
@pytest.mark.slow
def test_sigkill_in_the_middle_of_writes(config_path: Path) -> None:
    config_path.parent.mkdir(parents=True)
    config_path.write_text(json.dumps(version(0)))
    rng = random.Random(1234)
    last = 0
    kills = 0
    child_writes = 0
    script = WRITER.replace('{repo!r}', repr(str(REPO))).replace('{path!r}', repr(str(config_path)))
    for _ in range(15):
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=str(REPO))
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.005, 0.08))
        child.send_signal(signal.SIGKILL)
        child.wait(5)
        kills += 1
        doc = json.loads(config_path.read_bytes())  # always parseable: never half a file
        n = doc["n"]
        assert doc == version(n), f"the file after kill {kills} is not a whole version"
        assert n >= last
        child_writes += n - last
        last = n
        # No lock problem: the kernel released the dead writer's flock; the next writer goes at once.
        started = time.monotonic()
        ConfigStore(config_path, lock_timeout=2.0).update(next_version)
        assert time.monotonic() - started < 1.0
        last += 1
        assert load_json(config_path) == version(last)
    assert child_writes > kills, "the killed writers hardly wrote; the test proved little"
    # A kill between mkstemp and rename leaves a temp file (0600, it may hold tokens): the next
    # writer, under the lock, removes it.
    assert list(config_path.parent.glob(".config.json.*.tmp")) == []
    print(f"{kills} kills, {child_writes} writes by the killed writers")


# ------------------------------------------------------------------ the file edited by hand while the sidecar runs


@pytest.mark.slow
async def test_hand_edits_are_noticed(isolated_home: Path, config_path: Path) -> None:
    config_path.parent.mkdir(parents=True)
    doc = {"current": "a", "profiles": [{"name": "a", "mode": "AK", "region_id": "cn-hangzhou"}], "meta_path": ""}
    config_path.write_text(json.dumps(doc, indent=2))
    side = Sidecar(isolated_home, {"configPath": str(config_path), "keepFresh": False})
    await side.start()
    try:
        await side.wait_for("aliyun/profilesChanged", lambda p: p["current"] == "a")
        # 1. an editor that saves in place (truncate + write)
        doc["profiles"][0]["region_id"] = "eu-central-1"
        config_path.write_text(json.dumps(doc, indent=2))
        await side.wait_for("aliyun/profilesChanged", lambda p: p["profiles"][0]["region"] == "eu-central-1", timeout=5)
        # 2. an editor that writes a new file and renames it over (vim's default on most setups)
        doc["profiles"].append({"name": "b", "mode": "AK"})
        doc["current"] = "b"
        tmp = config_path.with_name("config.json~new")
        tmp.write_text(json.dumps(doc, indent=2))
        os.replace(tmp, config_path)
        await side.wait_for("aliyun/profilesChanged", lambda p: p["current"] == "b", timeout=5)
        # 3. a save of a broken file, then the fix
        config_path.write_text('{"current": "b", "profiles": [')
        note = await side.wait_for("aliyun/configError", timeout=5)
        assert note["kind"] == "configCorrupt"
        assert config_path.read_text() == '{"current": "b", "profiles": ['  # left alone
        doc["current"] = "a"
        config_path.write_text(json.dumps(doc, indent=2))
        await side.wait_for(
            "aliyun/profilesChanged", lambda p: p["current"] == "a" and len(p["profiles"]) == 2, timeout=5
        )
        listing = await side.request("aliyun/listProfiles")
        assert [p["name"] for p in listing["profiles"]] == ["a", "b"]
    finally:
        assert await side.stop() == 0


# ------------------------------------------------------------------ a full disk


@contextlib.contextmanager
def tiny_tmpfs(folder: Path, size: str = "64k") -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
            capture_output=True, timeout=10,
        ).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        mounted = False
    if not mounted:
        pytest.skip("cannot mount a small tmpfs here (needs root); the monkeypatched ENOSPC test covers the code path")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=10)


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0")
    finally:
        os.close(fd)
    return filler


def temp_files(folder: Path) -> list[Path]:
    return list(folder.glob(".config.json.*.tmp"))


@pytest.mark.slow
async def test_disk_full_on_a_real_tiny_filesystem(tmp_path: Path, emu: Emulator) -> None:
    with tiny_tmpfs(tmp_path / "tiny") as folder:
        config_path = folder / "config.json"
        service = make_service(config_path, emu)
        try:
            await sign_in(service, emu, "a")
            await sign_in(service, emu, "b")
            before = config_path.read_bytes()
            filler = fill(folder)
            with pytest.raises(ConfigUnavailable) as info:
                await service.set_profile("a", "eu-central-1", None)
            assert "disk is full" in info.value.message
            assert info.value.kind == "configUnavailable"
            with pytest.raises(ConfigUnavailable):
                await service.switch_profile("a")
            assert config_path.read_bytes() == before  # nothing lost, nothing half-written
            assert temp_files(folder) == []
            assert (await service.list_profiles()).current == "b"  # reading still works
            filler.unlink()
            listing = await service.switch_profile("a")
            assert listing.current == "a"
        finally:
            await service.aclose()


@pytest.mark.slow
async def test_disk_full_during_a_refresh_keeps_the_session(tmp_path: Path, emu: Emulator) -> None:
    with tiny_tmpfs(tmp_path / "tiny") as folder:
        config_path = folder / "config.json"
        service = make_service(config_path, emu)
        try:
            await sign_in(service, emu)
            filler = fill(folder)
            with pytest.raises(ConfigUnavailable):
                await service.refresh("dev", "accessToken")
            filler.unlink()
            entry = await service.refresh("dev", "accessToken")  # the disk has room again
            assert entry.state == "valid"
        finally:
            await service.aclose()


async def test_disk_full_simulated(config_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same code path without a real small file system: ``os.write`` fails with ENOSPC."""
    store = ConfigStore(config_path)
    store.update(lambda doc: doc.update(current="a", profiles=[{"name": "a", "mode": "AK"}]))
    before = config_path.read_bytes()

    def no_space(_fd: int, _data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("sidecar.config.store.os.write", no_space)
    with pytest.raises(ConfigUnavailable) as info:
        store.update(lambda doc: doc.update(current="b"))
    assert "disk is full" in info.value.message and "left as it was" in info.value.message
    assert config_path.read_bytes() == before
    assert temp_files(config_path.parent) == []
    monkeypatch.undo()
    store.update(lambda doc: doc.update(current="b"))
    assert load_json(config_path)["current"] == "b"


# ------------------------------------------------------------------ SIGKILL between the rotation and the main write (issue 14)

#: A sidecar process whose main write of renewed tokens never finishes: it says "writing" and waits to
#: be killed, exactly where a SIGKILL during a slow write (a large file) would land.
KILLED_DURING_THE_MAIN_WRITE = """
import asyncio, sys
sys.path.insert(0, {repo!r})
from sidecar.config.store import ConfigStore
from sidecar.sites import Endpoints
from sidecar.service import Settings, SidecarService

real = ConfigStore.aupdate

async def stalled(self, mutate):
    probe = {{"current": "", "profiles": [{{"name": "dev"}}]}}
    try:
        mutate(probe)
    except Exception:
        pass
    if "oauth_refresh_token" in probe["profiles"][0]:  # the write of the renewed tokens
        print("writing", flush=True)
        await asyncio.sleep(3600)
    return await real(self, mutate)

ConfigStore.aupdate = stalled

async def main():
    endpoints = Endpoints().with_overrides({{"signinBase": {url!r}, "oauthBase": {url!r}}})
    service = SidecarService(Settings(config_path={path!r}, endpoints=endpoints))
    await service.refresher.credentials("dev", force="accessToken")

asyncio.run(main())
"""


@posix_only
@pytest.mark.slow
async def test_sigkill_after_the_rotation_before_the_main_write_signs_nobody_out(
    svc: SidecarService, emu: Emulator, config_path: Path
) -> None:
    await sign_in(svc, emu)
    spent = profile_of(config_path)["oauth_refresh_token"]
    script = KILLED_DURING_THE_MAIN_WRITE.format(repo=str(REPO), url=emu.url, path=str(config_path))
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE, cwd=str(REPO))
    assert child.stdout is not None
    assert (await asyncio.wait_for(child.stdout.readline(), 30)).strip() == b"writing"
    assert emu.stats["refreshes"] == 1  # the service has spent the token in the file
    child.send_signal(signal.SIGKILL)
    await child.wait()
    assert profile_of(config_path)["oauth_refresh_token"] == spent
    # The next sidecar starts: the recovery record puts the new token in place, with no new call.
    after = make_service(config_path, emu)
    assert await after.refresher.save_pending() == []
    assert emu.stats["requests"]["token"] == 2  # the sign-in's code grant and the killed refresh
    assert profile_of(config_path)["oauth_refresh_token"] != spent
    await after.refresher.credentials("dev", force="accessToken")
    assert emu.stats["invalid_grant"] == 0
    await after.aclose()


# ------------------------------------------------------------------ an unlocked CLI-style writer racing us

#: Like the Go CLI: read the JSON, change *another* profile, write a temp file in the same folder and
#: rename it over the config; no lock. Prints counts only (never file contents).
CLI_WRITER = r"""
import json, os, sys, time
path, name, count, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
torn = reverted = 0
last = None
for i in range(1, count + 1):
    try:
        with open(path) as f:
            doc = json.load(f)
    except ValueError:
        torn += 1
        continue
    other = next(p for p in doc["profiles"] if p["name"] == name)
    if last is not None and other.get("cli_counter") != last:
        reverted += 1
    other["cli_counter"] = i
    other["region_id"] = f"cli-region-{i}"
    tmp = f"{path}.cli-{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=4)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    last = i
    if pause:
        time.sleep(pause)
print(json.dumps({"written": last, "torn": torn, "reverted": reverted}))
"""


def add_other_profile(config: Path) -> None:
    doc = load_json(config)
    doc["profiles"].append({"name": "other", "mode": "AK", "access_key_id": "LTAIother", "access_key_secret": "y" * 12, "region_id": "cn-beijing"})
    config.write_text(json.dumps(doc, indent="\t"))


async def start_writer(config: Path, count: int, pause: float) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLI_WRITER, str(config), "other", str(count), str(pause),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def writer_result(process: asyncio.subprocess.Process) -> dict[str, int]:
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()[-500:]
    return json.loads(out)


@pytest.mark.parametrize("slow", ["token", "exchange"])
async def test_cli_writer_during_our_refresh_loses_nothing(emu: Emulator, config_path: Path, slow: str) -> None:
    """The CLI writes while our refresh waits on the network: our write re-reads inside our lock,
    so its edits survive, and so do our new tokens."""
    service = await signed_in(emu, config_path)
    add_other_profile(config_path)
    age(config_path, sts=-5, access=-5)  # both layers due: a token refresh, then an exchange
    old_refresh = profile_of(config_path)["oauth_refresh_token"]
    emu.inject(slow, "delay", seconds=1.5)
    seen = emu.stats["requests"][slow]
    refresh = asyncio.ensure_future(service.credentials("dev"))
    async with asyncio.timeout(5):
        while emu.stats["requests"][slow] == seen:  # our call has reached the (slow) service
            await asyncio.sleep(0.01)
    result = await writer_result(await start_writer(config_path, 40, 0.0))
    assert not refresh.done(), "the writer did not run while our refresh was in flight"
    sts = await refresh

    assert result == {"written": 40, "torn": 0, "reverted": 0}
    doc = load_json(config_path)
    other = P.get_profile(doc, "other")
    assert other["cli_counter"] == 40 and other["region_id"] == "cli-region-40"  # the CLI's edits survived
    dev = P.get_profile(doc, "dev")
    ours = dev["access_key_id"] == sts.access_key_id and dev["sts_token"] == sts.security_token
    assert ours, "our new STS credentials are not in the file"
    rotated = dev["oauth_refresh_token"] != old_refresh
    assert rotated, "our rotated refresh token is not in the file"
    # the refresh token in the file is the live one: renewing with it works
    service.refresher.invalidate()
    await service.refresh("dev", "accessToken")
    await service.aclose()


async def test_cli_writer_racing_our_refreshes(emu: Emulator, config_path: Path) -> None:
    """Both write at the same time, many times. Guaranteed: nobody ever reads a torn file, no profile
    is lost, and once the CLI has stopped our next write carries its last edit. Not guaranteed (the
    CLI takes no lock): an edit landing between our re-read and our rename, in either direction."""
    service = await signed_in(emu, config_path)
    add_other_profile(config_path)
    names = {p["name"] for p in load_json(config_path)["profiles"]}
    writer = await start_writer(config_path, 300, 0.002)
    for _ in range(10):
        await service.refresh("dev", "sts")  # STS only: a lost STS write is harmless, a lost refresh token is not
        await asyncio.sleep(0.01)
    result = await writer_result(writer)
    assert result["torn"] == 0 and result["written"] == 300
    sts = await service.refresher.credentials("dev", "sts")
    doc = load_json(config_path)
    assert {p["name"] for p in doc["profiles"]} == names
    assert P.get_profile(doc, "other")["cli_counter"] == 300
    ours = P.get_profile(doc, "dev")["access_key_id"] == sts.access_key_id
    assert ours
    await service.aclose()
