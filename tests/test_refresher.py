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
from sidecar.sites import Endpoints
from sidecar.service import Settings, SidecarService
from sidecar.wire import to_json

from .conftest import by_name, load_json, posix_only
from .flows import age, edit_profile, make_service, signed_in


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

    def read_then_sdk_writes(*args: object) -> dict:
        # ...lands in the file just after our locked read saw the old token.
        doc = real_read(*args)
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
    assert P.profile_state_and_reason(P.get_profile(load_json(config_path), "dev"), time.time()) == ("valid", None)
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
    assert by_name(listing, "dev").state == "signInRequired"
    await service.aclose()


async def test_a_passed_refresh_token_expiry_is_only_a_hint(emulator: Emulator, config_path: Path) -> None:
    """The real CLI rotates the token but leaves ``oauth_refresh_token_expire``: past it, still refresh."""
    service = await signed_in(emulator, config_path)
    age(config_path, sts=-1, access=-1, refresh=-1)
    assert by_name(await service.list_profiles(), "dev").state_reason == P.REASON_MAY_HAVE_EXPIRED
    calls = emulator.stats["requests"]["token"]
    sts = await service.credentials("dev")
    assert sts.expires_at > time.time()
    assert emulator.stats["requests"]["token"] == calls + 1
    await service.aclose()


async def test_a_refused_token_past_its_expiry_is_expired(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    emulator.revoke_refresh_tokens()
    age(config_path, sts=-1, access=-1, refresh=-1)
    calls = emulator.stats["requests"]["token"]
    with pytest.raises(SignInRequired, match="expired"):
        await service.credentials("dev")
    assert emulator.stats["requests"]["token"] == calls + 1  # the service was asked, once
    entry = by_name(await service.list_profiles(), "dev")
    assert (entry.state, entry.state_reason) == ("signInRequired", P.REASON_EXPIRED)
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
    assert by_name(await service.list_profiles(), "dev").state == "refreshable"
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


# ------------------------------------------------------------------ every reading of the service (issue 13)


async def test_sign_in_refresh_and_exchange_under_every_variant(variant_emulator: Emulator, config_path: Path) -> None:
    """Sign-in, on-demand renewal and a forced renewal against each reading the clients disagree on."""
    from .flows import has_refresh_token

    emu = variant_emulator
    service = await signed_in(emu, config_path)
    profile = P.get_profile(load_json(config_path), "dev")
    assert profile["access_key_id"].startswith("STS.")
    entry = to_json(await service.profile_entry("dev"))
    assert entry["state"] == "valid"
    assert entry["hasRefreshToken"] is has_refresh_token(emu.variant)  # type: ignore[attr-defined]
    age(config_path, sts=-1)
    service.refresher.invalidate()
    sts = await service.credentials("dev")
    assert sts.expires_at > time.time() + 3000
    if not has_refresh_token(emu.variant):  # type: ignore[attr-defined]
        # usable while the access token lives, then a sign-in (no call to the token endpoint)
        age(config_path, sts=-1, access=-1)
        calls = emu.stats["requests"]["token"]
        with pytest.raises(SignInRequired):
            await service.credentials("dev")
        assert emu.stats["requests"]["token"] == calls
        entry = to_json(await service.profile_entry("dev"))
        assert (entry["state"], entry.get("stateReason")) == ("signInRequired", "noRefreshToken")
        await service.aclose()
        return
    before = P.get_profile(load_json(config_path), "dev")["oauth_refresh_token"]
    await service.refresher.credentials("dev", force="accessToken")
    await service.refresher.credentials("dev", force="accessToken")
    after = P.get_profile(load_json(config_path), "dev")
    rotates = emu.variant != "noRotation"  # type: ignore[attr-defined]
    assert (after["oauth_refresh_token"] != before) is rotates
    assert emu.stats["invalid_grant"] == 0 and emu.stats["exchange_failures"] == 0
    assert to_json(await service.profile_entry("dev"))["state"] == "valid"
    await service.aclose()


async def test_the_access_token_is_renewed_with_20_minutes_left_on_every_request(emulator: Emulator, config_path: Path) -> None:
    """The SDKs renew at 1200 s because the exchange needs 15 minutes; the per-request margin was 300 s."""
    service = await signed_in(emulator, config_path)
    age(config_path, sts=-1, access=1100)
    service.refresher.invalidate()
    await service.credentials("dev")
    assert emulator.stats["refreshes"] == 1
    assert P.get_profile(load_json(config_path), "dev")["oauth_access_token_expire"] > time.time() + 3000
    await service.aclose()


async def test_the_exchange_never_meets_a_token_too_short_for_it(config_path: Path) -> None:
    """Against a service that refuses the exchange with less than 15 minutes left on the access
    token: the sign-in's own token and every renewal keep 20 minutes, so no exchange is refused."""
    with Emulator(auto_approve=True, access_token_ttl=1150, exchange_min_access_lifetime=900) as emu:
        service = await signed_in(emu, config_path)
        assert emu.stats["refreshes"] == 1  # the code grant's 1150 s token was renewed before the exchange
        emu.set_clock_skew(300)  # 300 s later for the service: the token in the file has 850 s left
        age(config_path, sts=-1, access=850)
        service.refresher.invalidate()
        await service.credentials("dev")
        assert emu.stats["exchange_failures"] == 0 and emu.stats["exchanges"] == 2
        await service.aclose()


async def test_a_refresh_answer_without_a_refresh_token_keeps_the_old_one(config_path: Path) -> None:
    with Emulator(auto_approve=True, refresh_token_in_refresh=False, send_refresh_expiry=True) as emu:
        service = await signed_in(emu, config_path)
        before = P.get_profile(load_json(config_path), "dev")
        await service.refresher.credentials("dev", force="accessToken")
        after = P.get_profile(load_json(config_path), "dev")
        assert after["oauth_refresh_token"] == before["oauth_refresh_token"]
        assert after["oauth_refresh_token_expire"] == before["oauth_refresh_token_expire"]
        assert after["oauth_access_token"] != before["oauth_access_token"]
        await service.refresher.credentials("dev", force="accessToken")  # the kept token still works
        assert emu.stats["invalid_grant"] == 0
        await service.aclose()


async def test_a_profile_without_a_refresh_token_is_usable_while_its_access_token_lives(
    emulator: Emulator, config_path: Path
) -> None:
    """As Go's omitempty writes it: no ``oauth_refresh_token`` field at all."""
    service = await signed_in(emulator, config_path)
    edit_profile(config_path, oauth_refresh_token=None)
    age(config_path, sts=-1, access=3000)
    service.refresher.invalidate()
    assert to_json(await service.profile_entry("dev"))["hasRefreshToken"] is False
    sts = await service.credentials("dev")
    assert sts.expires_at > time.time() + 3000
    assert to_json(await service.profile_entry("dev"))["state"] == "valid"
    await service.aclose()


async def test_unknown_site_is_an_error_naming_the_profile_and_calls_nothing(emulator: Emulator, config_path: Path) -> None:
    from sidecar.errors import UnknownSite

    service = await signed_in(emulator, config_path)
    edit_profile(config_path, oauth_site_type="MARS")
    age(config_path, sts=-1, access=-1)
    before = emulator.stats["requests"]
    with pytest.raises(UnknownSite) as info:
        await service.credentials("dev")
    assert info.value.to_data() == {"kind": "unknownSite", "profile": "dev", "site": "MARS", "valid": ["CN", "INTL"]}
    assert "dev" in info.value.message and "CN" in info.value.message and "INTL" in info.value.message
    assert emulator.stats["requests"] == before
    entry = to_json(await service.profile_entry("dev"))
    assert (entry["state"], entry["stateReason"]) == ("signInRequired", "unknownSite")
    with pytest.raises(UnknownSite):
        service.settings.endpoints.site("mars")
    await service.aclose()


# ------------------------------------------------------------------ locks and rotated tokens (issue 14)


async def test_a_profile_edit_elsewhere_never_waits_for_a_hung_refresh(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path, "a", "b")
    other = make_service(emulator, config_path)  # another window: its own store, its own lock files
    emulator.inject("token", "hang", count=1, seconds=20)
    refresh = asyncio.ensure_future(service.refresher.credentials("b", force="accessToken"))
    while emulator.stats["requests"]["token"] < 3:  # two sign-ins, then our hung refresh
        await asyncio.sleep(0.01)
    listing = to_json(await other.switch_profile("a"))
    assert listing["current"] == "a"
    assert not refresh.done(), "the switch finished while the refresh was still pending"
    refresh.cancel()
    await asyncio.gather(refresh, return_exceptions=True)
    await service.aclose()
    await other.aclose()


async def test_two_refreshes_of_one_profile_still_exclude_each_other(emulator: Emulator, config_path: Path) -> None:
    """The split must not lose the cross-process exclusion of the renewal itself."""
    first = await signed_in(emulator, config_path)
    second = make_service(emulator, config_path)
    age(config_path, sts=-1, access=-1)
    await asyncio.gather(first.credentials("dev"), second.credentials("dev"))
    assert emulator.stats["refreshes"] == 1 and emulator.stats["invalid_grant"] == 0
    await first.aclose()
    await second.aclose()


@posix_only
@pytest.mark.parametrize("failure", ["diskFull", "corrupt", "lockTimeout"])
async def test_a_rotated_token_that_cannot_be_saved_survives_a_restart(
    emulator: Emulator, config_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """Whatever stops the save, the new tokens are in a 0600 recovery record; a new process (after a
    restart) writes them into the file without a new upstream call."""
    import stat

    from sidecar.config.store import ConfigStore
    from sidecar.errors import ConfigCorrupt, ConfigUnavailable

    service = await signed_in(emulator, config_path)
    spent = P.get_profile(load_json(config_path), "dev")["oauth_refresh_token"]
    good = config_path.read_text()

    def fail(self: ConfigStore, mutate: object) -> object:
        if failure == "corrupt":
            raise ConfigCorrupt(str(config_path), "line 1 column 2")
        if failure == "lockTimeout":
            raise ConfigUnavailable("Another process has held the lock for over 60 s.")
        raise ConfigUnavailable("Cannot save: the disk is full.")

    async def afail(self: ConfigStore, mutate: object) -> object:
        return fail(self, mutate)

    monkeypatch.setattr(ConfigStore, "aupdate", afail)
    with pytest.raises((ConfigUnavailable, ConfigCorrupt)):
        await service.refresher.credentials("dev", force="accessToken")
    monkeypatch.undo()
    assert config_path.read_text() == good  # the file still holds the spent token
    records = list(config_path.parent.glob(".config.json.sidecar-recovery-*"))
    assert len(records) == 1 and stat.S_IMODE(records[0].stat().st_mode) == 0o600
    assert spent not in records[0].read_text()
    await service.aclose()  # the process ends: only the record holds the new token

    restarted = make_service(emulator, config_path)
    calls = emulator.stats["requests"]["token"]
    assert await restarted.refresher.save_pending() == []
    assert emulator.stats["requests"]["token"] == calls
    saved = P.get_profile(load_json(config_path), "dev")["oauth_refresh_token"]
    assert saved != spent
    assert list(config_path.parent.glob(".config.json.sidecar-recovery-*")) == []
    await restarted.refresher.credentials("dev", force="accessToken")  # the saved token is the live one
    assert emulator.stats["invalid_grant"] == 0
    await restarted.aclose()


async def test_a_recovery_record_is_merged_only_over_the_token_it_replaced(emulator: Emulator, config_path: Path) -> None:
    from sidecar.credentials.recovery import Recovery
    from sidecar.tokens import OAuthTokens, fingerprint

    service = await signed_in(emulator, config_path)
    held = P.read_oauth_tokens(P.get_profile(load_json(config_path), "dev"))
    assert held is not None
    stale = Recovery("dev", fingerprint("some-other-token"), OAuthTokens("x-access", "x-refresh", int(time.time()) + 3600))
    assert service.refresher.recovery.save(stale)
    before = config_path.read_text()
    assert await service.refresher.save_pending() == []
    assert config_path.read_text() == before  # the file moved on: the record is obsolete...
    assert service.refresher.recovery.load("dev") is None  # ...and dropped
    fitting = Recovery("dev", fingerprint(held.refresh_token), OAuthTokens("y-access", "y-refresh", int(time.time()) + 3600))
    assert service.refresher.recovery.save(fitting)
    await service.refresher.save_pending()
    assert P.get_profile(load_json(config_path), "dev")["oauth_refresh_token"] == "y-refresh"
    await service.aclose()


async def test_a_successful_renewal_leaves_no_recovery_record(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    await service.refresher.credentials("dev", force="accessToken")
    assert list(config_path.parent.glob(".config.json.sidecar-recovery-*")) == []
    await service.aclose()


async def test_a_renewal_removes_the_temp_record_a_killed_writer_left(emulator: Emulator, config_path: Path) -> None:
    """A writer killed between its temp record and the rename leaves tokens in a temp file: the
    profile's next renewal (under the same refresh lock) removes it."""
    from sidecar.config.files import temp_prefix

    service = await signed_in(emulator, config_path)
    record = service.refresher.recovery.path_for("dev")
    leftover = record.with_name(f"{temp_prefix(record)}killed.tmp")
    leftover.write_text("{}")
    await service.refresher.credentials("dev", force="accessToken")
    assert not leftover.exists()
    assert list(config_path.parent.glob(f"{temp_prefix(record)}*")) == []
    await service.aclose()


# ------------------------------------------------------------------ hostile recovery records (issue 19.4)

HOSTILE_RECORDS = {
    "deep nesting": b"[" * 200_000,
    "infinite expiry": (
        b'{"profile": "dev", "replaces": "x", "oauth_access_token": "a", "oauth_refresh_token": "r",'
        b' "oauth_access_token_expire": 1e999}'
    ),
    "bad utf-8": b'{"profile": "\xff\xfe"}',
    "wrong types": b'{"profile": ["dev"], "replaces": {}, "oauth_access_token": 1, "oauth_refresh_token": null,'
    b' "oauth_access_token_expire": true}',
    "huge": b'{"pad": "' + b"x" * 200_000 + b'"}',
}


@pytest.mark.parametrize("content", HOSTILE_RECORDS.values(), ids=HOSTILE_RECORDS.keys())
async def test_a_hostile_recovery_record_is_dropped_with_one_line_and_the_keeper_goes_on(
    emulator: Emulator, config_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever stands at a record's name: start-up (``save_pending``) and every renewal go on, for
    that profile and the others, and the record is dropped with one log line naming the cause."""
    service = await signed_in(emulator, config_path)
    record = service.refresher.recovery.path_for("dev")
    record.write_bytes(content)
    record.chmod(0o600)
    await service.aclose()

    restarted = make_service(emulator, config_path)
    assert await restarted.refresher.save_pending() == []  # start-up goes on
    creds = await restarted.refresher.credentials("dev", force="accessToken")  # so does the renewal
    assert creds.access_key_id
    assert not record.exists()
    dropped = [r for r in caplog.records if "recovery record" in r.getMessage()]
    assert dropped and all("\n" not in r.getMessage() for r in dropped)
    await restarted.aclose()


@posix_only
async def test_a_symlink_at_a_records_name_is_neither_read_through_nor_its_target_deleted(
    emulator: Emulator, config_path: Path, tmp_path: Path
) -> None:
    """A link planted at the record's path: the record is not read through it, and the renewal
    removes (or replaces) the link itself, never the file it points to."""
    from sidecar.credentials.recovery import Recovery
    from sidecar.tokens import OAuthTokens, fingerprint

    service = await signed_in(emulator, config_path)
    held = P.read_oauth_tokens(P.get_profile(load_json(config_path), "dev"))
    assert held is not None
    # The target holds a record that would fit (it would be merged if the link were followed).
    victim = tmp_path / "victim.json"
    fitting = Recovery("dev", fingerprint(held.refresh_token), OAuthTokens("v-access", "v-refresh", int(time.time()) + 3600))
    victim.write_text(json.dumps(fitting.to_json()))
    victim.chmod(0o600)
    record = service.refresher.recovery.path_for("dev")
    record.symlink_to(victim)
    assert service.refresher.recovery.load("dev") is None
    assert await service.refresher.save_pending() == []
    assert P.get_profile(load_json(config_path), "dev")["oauth_refresh_token"] == held.refresh_token
    await service.refresher.credentials("dev", force="accessToken")
    assert victim.exists() and json.loads(victim.read_text())["oauth_refresh_token"] == "v-refresh"
    assert not record.is_symlink()
    await service.aclose()
