"""The keeper (``sidecar/credentials/keeper.py``): the current profile kept fresh while the editor is open,
chained profiles followed to their OAuth source, no retry loop on permanent refusals, and renewed
tokens that could not be written saved at its next look."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import Emulator
from sidecar.config import profiles as P
from sidecar.config.store import ConfigStore
from sidecar.credentials.keeper import KEEPER_MARGINS, CredentialKeeper
from sidecar.timing import KEEPER_MAX_SLEEP as MAX_SLEEP, KEEPER_RETRY_AFTER_FAILURE
from sidecar.wire import to_json

from .conftest import load_json
from .flows import age, profile_of, signed_in


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(host="127.0.0.1", port=0, auto_approve=True) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _clean(emu: Emulator) -> Iterator[None]:
    emu.clear_faults()
    yield
    emu.clear_faults()


def emulator_calls(emu: Emulator) -> tuple[int, int]:
    """(token requests, exchange requests) that reached the emulator so far."""
    requests = emu.stats["requests"]
    return requests["token"], requests["exchange"]



async def test_keeper_renews_both_layers_ahead_of_expiry(emu: Emulator, config_path: Path) -> None:
    service = await signed_in(emu, config_path)
    keeper = CredentialKeeper(service.refresher)
    old_refresh = profile_of(config_path)["oauth_refresh_token"]
    # still valid, but inside the keeper's margins (900 s STS, 1800 s access token)
    age(config_path, sts=KEEPER_MARGINS.sts - 100, access=KEEPER_MARGINS.access_token - 100)
    calls = emulator_calls(emu)
    delay = await keeper.tick()
    assert emulator_calls(emu) == (calls[0] + 1, calls[1] + 1)
    profile = profile_of(config_path)
    now = time.time()
    assert profile["sts_expiration"] - now > KEEPER_MARGINS.sts
    assert profile["oauth_access_token_expire"] - now > KEEPER_MARGINS.access_token > 1200  # the SDKs' threshold
    rotated = profile["oauth_refresh_token"] != old_refresh
    assert rotated, "the new refresh token was not written"
    assert delay == MAX_SLEEP  # the emulator's hour-long tokens are not due again for a long time
    assert await keeper.tick() == MAX_SLEEP and emulator_calls(emu) == (calls[0] + 1, calls[1] + 1)
    await service.aclose()


async def test_keeper_renews_sts_alone_without_spending_the_refresh_token(emu: Emulator, config_path: Path) -> None:
    service = await signed_in(emu, config_path)
    keeper = CredentialKeeper(service.refresher)
    age(config_path, sts=KEEPER_MARGINS.sts - 1)
    calls = emulator_calls(emu)
    await keeper.tick()
    assert emulator_calls(emu) == (calls[0], calls[1] + 1)
    # not due yet: no call, and the keeper sleeps until the margin is reached (never a busy loop)
    age(config_path, sts=KEEPER_MARGINS.sts + 100)
    delay = await keeper.tick()
    assert emulator_calls(emu) == (calls[0], calls[1] + 1)
    assert 95 <= delay <= 100
    age(config_path, sts=KEEPER_MARGINS.sts + 1)
    assert await keeper.tick() >= 5  # MIN_SLEEP
    await service.aclose()


async def test_keeper_follows_the_current_profile_only(emu: Emulator, config_path: Path) -> None:
    service = await signed_in(emu, config_path, "dev", "prod")  # prod is current
    keeper = CredentialKeeper(service.refresher)
    age(config_path, "dev", sts=10)
    calls = emulator_calls(emu)
    await keeper.tick()
    assert emulator_calls(emu) == calls  # dev is not current: not the keeper's business
    await service.switch_profile("dev")
    await keeper.tick()
    assert emulator_calls(emu) == (calls[0], calls[1] + 1)
    doc = load_json(config_path)
    doc["profiles"].append({"name": "ak", "mode": "AK", "access_key_id": "LTAIexample", "access_key_secret": "x" * 10})
    doc["current"] = "ak"
    config_path.write_text(json.dumps(doc))
    assert await keeper.tick() == MAX_SLEEP
    await service.aclose()


async def test_keeper_keeps_the_oauth_source_of_a_chained_current_profile_fresh(emu: Emulator, config_path: Path) -> None:
    service = await signed_in(emu, config_path, "sso")
    doc = load_json(config_path)
    doc["profiles"] += [
        {"name": "role", "mode": "ChainableRamRoleArn", "source_profile": "middle", "ram_role_arn": "acs:ram::1:role/r",
         "ram_session_name": "s", "region_id": "cn-hangzhou"},
        {"name": "middle", "mode": "ChainableRamRoleArn", "source_profile": "sso", "ram_role_arn": "acs:ram::1:role/m",
         "ram_session_name": "s", "region_id": "cn-hangzhou"},
    ]
    doc["current"] = "role"
    config_path.write_text(json.dumps(doc))
    age(config_path, "sso", sts=KEEPER_MARGINS.sts - 10)
    calls = emulator_calls(emu)
    await CredentialKeeper(service.refresher).tick()
    assert emulator_calls(emu) == (calls[0], calls[1] + 1)  # the source's STS was renewed
    assert profile_of(config_path, "sso")["sts_expiration"] - time.time() > KEEPER_MARGINS.sts
    listing = to_json(await service.list_profiles())
    role = next(p for p in listing["profiles"] if p["name"] == "role")
    assert role["sourceProfile"] == "middle" and role["state"] == "notOAuth"
    await service.aclose()


async def test_keeper_ignores_a_chain_that_loops(emu: Emulator, config_path: Path) -> None:
    service = await signed_in(emu, config_path)
    doc = load_json(config_path)
    doc["profiles"] += [
        {"name": "a", "mode": "ChainableRamRoleArn", "source_profile": "b"},
        {"name": "b", "mode": "ChainableRamRoleArn", "source_profile": "a"},
    ]
    doc["current"] = "a"
    config_path.write_text(json.dumps(doc))
    age(config_path, sts=10)
    calls = emulator_calls(emu)
    assert await CredentialKeeper(service.refresher).tick() == MAX_SLEEP
    assert emulator_calls(emu) == calls
    await service.aclose()


@pytest.mark.parametrize("error", ["invalid_client", "unauthorized_client", "invalid_token"])
async def test_a_refused_client_is_permanent_no_retry_loop(emu: Emulator, config_path: Path, error: str) -> None:
    """The CLI treats these as permanent; the keeper used to retry them every 30 s forever."""
    service = await signed_in(emu, config_path)
    keeper = CredentialKeeper(service.refresher)
    age(config_path, sts=-1, access=10)
    emu.inject("token", error, count=1)
    delay = await keeper.tick()
    assert delay == MAX_SLEEP and delay != KEEPER_RETRY_AFTER_FAILURE
    entry = to_json(await service.profile_entry("dev"))
    assert entry["state"] == "signInRequired" and entry["stateReason"] == "clientNotAuthorized"
    calls = emulator_calls(emu)
    for _ in range(3):
        assert await keeper.tick() == MAX_SLEEP
    from sidecar.errors import ClientNotAuthorized

    with pytest.raises(ClientNotAuthorized) as info:
        await service.credentials("dev")
    assert emulator_calls(emu) == calls  # remembered: no call reaches the service again
    data = info.value.to_data()
    assert data["kind"] == "clientNotAuthorized" and data["profile"] == "dev" and data["error"] == error
    assert "official-cli" in info.value.message and "assign" in info.value.message
    # a new sign-in (another refresh token in the file) clears it
    await signed_in(emu, config_path, service=service)
    assert to_json(await service.profile_entry("dev"))["state"] == "valid"
    await service.aclose()


async def test_keeper_saves_tokens_the_file_refused_without_a_new_call(emu: Emulator, config_path: Path) -> None:
    """A rotated refresh token that met a corrupt file is written by the keeper once the file is
    fixed, with no new upstream call (issue 14: "whatever stops the save")."""
    service = await signed_in(emu, config_path)
    good = config_path.read_text()
    real_aupdate = ConfigStore.aupdate
    broken = {"on": True}

    async def corrupt_while_saving(self: ConfigStore, mutate):  # type: ignore[no-untyped-def]
        if broken["on"]:
            config_path.write_text(good[: len(good) // 2])  # a hand edit in progress
        return await real_aupdate(self, mutate)

    ConfigStore.aupdate = corrupt_while_saving  # type: ignore[method-assign]
    try:
        with pytest.raises(Exception) as info:
            await service.refresher.credentials("dev", force="accessToken")
        assert getattr(info.value, "kind", "") == "configCorrupt"
    finally:
        ConfigStore.aupdate = real_aupdate  # type: ignore[method-assign]
    broken["on"] = False
    config_path.write_text(good)  # the user fixes the file: it holds the spent token again
    calls = emulator_calls(emu)
    await CredentialKeeper(service.refresher).tick()
    assert emulator_calls(emu)[0] == calls[0]  # no refresh call: the kept tokens were written
    spent = P.read_oauth_tokens(P.get_profile(json.loads(good), "dev"))
    now_held = P.read_oauth_tokens(profile_of(config_path))
    assert spent is not None and now_held is not None and now_held.refresh_token != spent.refresh_token
    assert emu.stats["invalid_grant"] == 0
    # the saved token is the live one: it refreshes
    await service.refresher.credentials("dev", force="accessToken")
    assert emu.stats["invalid_grant"] == 0
    await service.aclose()


async def test_keeper_does_not_spin_on_a_profile_without_a_refresh_token(config_path: Path) -> None:
    """Its access token cannot be renewed: the keeper waits for the STS layer only, calls nothing."""
    with Emulator(auto_approve=True, refresh_token_in_code_grant=False) as emu:
        service = await signed_in(emu, config_path)
        age(config_path, access=KEEPER_MARGINS.access_token - 100)  # inside the keeper's margin
        calls = emulator_calls(emu)
        delay = await CredentialKeeper(service.refresher).tick()
        assert emulator_calls(emu) == calls
        assert delay > KEEPER_RETRY_AFTER_FAILURE
        await service.aclose()
