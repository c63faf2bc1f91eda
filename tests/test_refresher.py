"""The three-layer refresh: margins, single-flight, cross-process coordination, invalid_grant rules."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from pathlib import Path

import pytest

from sidecar.config import profiles as P
from sidecar.credentials.refresher import CredentialEvent, Margins
from emulator import Emulator
from sidecar.errors import InvalidParams, NetworkError, SignInRequired
from sidecar.oauth.client import OAuthClient
from sidecar.oauth.sites import Endpoints
from sidecar.service import Settings, SidecarService

from .conftest import load_json
from .flows import age, make_service, signed_in


async def test_fresh_sts_needs_no_upstream_call(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    before = emulator.stats
    sts = await service.credentials("dev")
    assert sts.access_key_id == P.get_profile(load_json(config_path), "dev")["access_key_id"]
    assert emulator.stats["exchanges"] == before["exchanges"] and emulator.stats["refreshes"] == before["refreshes"]
    await service.aclose()


async def test_sts_renewed_inside_the_margin_only(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    exchanges = emulator.stats["exchanges"]
    age(config_path, sts=301)
    await service.credentials("dev")
    assert emulator.stats["exchanges"] == exchanges
    age(config_path, sts=299)
    service.refresher.invalidate()
    await service.credentials("dev")
    assert emulator.stats["exchanges"] == exchanges + 1
    assert emulator.stats["refreshes"] == 0  # the access token had plenty of time left
    await service.aclose()


async def test_expired_access_token_is_refreshed_and_written_before_the_exchange(
    emulator: Emulator, config_path: Path
) -> None:
    service = await signed_in(emulator, config_path)
    old = P.get_profile(load_json(config_path), "dev")
    age(config_path, sts=-1, access=-1)
    emulator.inject("exchange", "500", count=1)
    with pytest.raises(Exception) as info:
        await service.credentials("dev")
    assert getattr(info.value, "kind", "") == "upstream"
    after = P.get_profile(load_json(config_path), "dev")
    # the rotated refresh token was saved although the STS exchange failed afterwards
    assert after["oauth_refresh_token"] != old["oauth_refresh_token"]
    assert after["access_key_id"] == old["access_key_id"]
    sts = await service.credentials("dev")
    assert sts.expires_at > time.time() + 3000
    assert emulator.stats["refreshes"] == 1
    await service.aclose()


async def test_fifty_concurrent_callers_one_exchange(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    age(config_path, sts=-1)
    service.refresher.invalidate()
    exchanges = emulator.stats["exchanges"]
    results = await asyncio.gather(*(service.credentials("dev") for _ in range(50)))
    assert len({r.access_key_id for r in results}) == 1
    assert emulator.stats["exchanges"] == exchanges + 1
    await service.aclose()


async def test_a_cancelled_caller_does_not_cancel_the_shared_refresh(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    age(config_path, sts=-1)
    service.refresher.invalidate()
    emulator.inject("exchange", "delay", count=1, seconds=0.5)
    first = asyncio.ensure_future(service.credentials("dev"))
    second = asyncio.ensure_future(service.credentials("dev"))
    await asyncio.sleep(0.1)
    first.cancel()
    sts = await second
    assert sts.expires_at > time.time()
    await service.aclose()


async def test_another_process_renewal_is_used_not_repeated(emulator: Emulator, config_path: Path) -> None:
    ours = await signed_in(emulator, config_path)
    theirs = make_service(emulator, config_path)
    age(config_path, sts=-1, access=-1)
    await theirs.credentials("dev")
    refreshes = emulator.stats["refreshes"]
    exchanges = emulator.stats["exchanges"]
    sts = await ours.credentials("dev")
    assert sts.access_key_id == P.get_profile(load_json(config_path), "dev")["access_key_id"]
    assert (emulator.stats["refreshes"], emulator.stats["exchanges"]) == (refreshes, exchanges)
    await ours.aclose()
    await theirs.aclose()


async def test_token_rotated_by_an_unlocked_writer_is_followed(emulator: Emulator, config_path: Path) -> None:
    """An SDK spends the refresh token (no lock) between our read and our call: use its result."""
    service = await signed_in(emulator, config_path)
    profile = P.get_profile(load_json(config_path), "dev")
    stale = P.read_oauth_tokens(profile)
    assert stale is not None
    sdk = OAuthClient()
    site = service.settings.endpoints.site("CN")
    rotated = await sdk.refresh(site, stale.refresh_token)  # the SDK's refresh...
    await sdk.aclose()
    real_read = service.store.read
    calls = {"n": 0}

    def read_then_sdk_writes() -> dict:
        # ...lands in the file just after our locked read saw the old token.
        doc = real_read()
        calls["n"] += 1
        if calls["n"] == 2:
            fresh = real_read()
            P.apply_oauth_tokens(P.get_profile(fresh, "dev"), rotated)
            config_path.write_text(json.dumps(fresh))
        return doc

    age(config_path, sts=-1, access=-1)
    service.store.read = read_then_sdk_writes  # type: ignore[method-assign]
    sts = await service.credentials("dev")
    service.store.read = real_read  # type: ignore[method-assign]
    assert sts.expires_at > time.time()
    assert emulator.stats["invalid_grant"] == 1  # our attempt with the spent token
    assert P.profile_state(P.get_profile(load_json(config_path), "dev"), time.time()) == "valid"
    await service.aclose()


async def test_invalid_grant_of_the_token_on_disk_is_final(emulator: Emulator, config_path: Path) -> None:
    events: list[CredentialEvent] = []
    service = await signed_in(emulator, config_path)
    service.refresher._on_event = events.append
    emulator.revoke_refresh_tokens()
    age(config_path, sts=-1, access=-1)
    before = P.get_profile(load_json(config_path), "dev")
    with pytest.raises(SignInRequired):
        await service.credentials("dev")
    assert P.get_profile(load_json(config_path), "dev") == before
    assert [e.kind for e in events] == ["signInRequired"]
    token_calls = emulator.stats["requests"]["token"]
    for _ in range(3):
        with pytest.raises(SignInRequired):
            await service.credentials("dev")
    assert emulator.stats["requests"]["token"] == token_calls  # no loop against the service
    listing = await service.list_profiles()
    assert listing.profiles[0].state == "signInRequired"
    await service.aclose()


async def test_expired_refresh_token_needs_no_call(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    age(config_path, sts=-1, access=-1, refresh=-1)
    calls = emulator.stats["requests"]["token"]
    with pytest.raises(SignInRequired, match="expired"):
        await service.credentials("dev")
    assert emulator.stats["requests"]["token"] == calls
    await service.aclose()


async def test_revoked_access_token_is_renewed_once(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    emulator.expire_access_tokens()
    age(config_path, sts=-1)  # the file still thinks the access token is good
    service.refresher.invalidate()
    sts = await service.credentials("dev")
    assert sts.expires_at > time.time()
    assert emulator.stats["refreshes"] == 1
    await service.aclose()


async def test_network_failure_keeps_tokens(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    age(config_path, sts=-1, access=-1)
    before = config_path.read_text()
    emulator.inject("token", "drop", count=1)
    with pytest.raises(NetworkError):
        await service.credentials("dev")
    assert config_path.read_text() == before
    assert (await service.list_profiles()).profiles[0].state == "refreshable"
    await service.aclose()


async def test_not_an_oauth_profile(emulator: Emulator, config_path: Path, cli_config: Path) -> None:
    service = make_service(emulator, cli_config)
    with pytest.raises(InvalidParams, match="not OAuth"):
        await service.credentials("default")
    await service.aclose()


async def test_keeper_margins_renew_the_access_token_early(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    age(config_path, access=1500)  # above the normal margin, inside the keeper's 1800 s
    await service.refresher.credentials("dev", margins=Margins(sts=900, access_token=1800))
    profile = P.get_profile(load_json(config_path), "dev")
    assert profile["oauth_access_token_expire"] > time.time() + 3000
    assert emulator.stats["refreshes"] == 1
    await service.aclose()


# ------------------------------------------------------------------ several processes at once


def _refresh_in_process(config: str, url: str, barrier: object, out: object) -> None:
    async def run() -> str:
        service = SidecarService(
            Settings(config_path=config, endpoints=Endpoints().with_overrides({"signinBase": url, "oauthBase": url}))
        )
        barrier.wait()  # type: ignore[attr-defined]
        try:
            sts = await service.credentials("dev")
            return sts.access_key_id
        finally:
            await service.aclose()

    out.put(asyncio.run(run()))  # type: ignore[attr-defined]


@pytest.mark.slow
async def test_four_processes_one_refresh_same_newest_token(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    await service.aclose()
    age(config_path, sts=-1, access=-1)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    out = ctx.Queue()
    procs = [ctx.Process(target=_refresh_in_process, args=(str(config_path), emulator.url, barrier, out)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [await asyncio.to_thread(out.get, True, 60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert emulator.stats["refreshes"] == 1 and emulator.stats["invalid_grant"] == 0
    assert emulator.stats["exchanges"] == 2  # the sign-in's and the one renewal
    profile = P.get_profile(load_json(config_path), "dev")
    assert set(results) == {profile["access_key_id"]}
    # the token on disk is the newest: it still refreshes (an older one would be invalid_grant)
    checker = make_service(emulator, config_path)
    await checker.refresher.credentials("dev", force="accessToken")
    assert emulator.stats["invalid_grant"] == 0
    await checker.aclose()


async def test_rotated_tokens_that_cannot_be_written_are_kept_and_saved_later(
    emulator: Emulator, config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Disk full right after the service rotated the refresh token: the new tokens live in memory
    and are written by the next renewal, so the session survives."""
    from sidecar.config.store import ConfigStore
    from sidecar.errors import ConfigUnavailable

    service = await signed_in(emulator, config_path)
    real_write = ConfigStore._write_atomically

    def disk_full(self: ConfigStore, doc: dict, expect: object = None) -> bool:
        raise ConfigUnavailable("Cannot save: the disk is full. The file was left as it was.")

    monkeypatch.setattr(ConfigStore, "_write_atomically", disk_full)
    before = config_path.read_text()
    with pytest.raises(ConfigUnavailable):
        await service.refresher.credentials("dev", force="accessToken")
    assert config_path.read_text() == before  # the file still holds the spent refresh token
    monkeypatch.setattr(ConfigStore, "_write_atomically", real_write)
    sts = await service.refresher.credentials("dev", force="accessToken")
    assert sts.expires_at > time.time()
    assert emulator.stats["invalid_grant"] == 0 and emulator.stats["refreshes"] == 2
    await service.aclose()
