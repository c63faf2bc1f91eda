"""The contract (docs/contract.md), end to end: a real ``python -m sidecar`` over stdio, the emulator on
loopback, and a test "browser". Every method and notification is driven here."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from sidecar.config import profiles as P
from emulator import Emulator

from .conftest import FIXTURES, by_name, free_port_range, load_json
from .flows import VARIANT_DEFAULTS, VARIANTS, age, edit_profile, has_refresh_token
from .rpc_harness import Sidecar, follow_in_browser

SECRET_FIELDS = ("oauth_access_token", "oauth_refresh_token", "access_key_secret", "sts_token")


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(host="127.0.0.1", port=0, auto_approve=True) as emulator:
        yield emulator


@pytest.fixture(params=list(VARIANTS))
def variant(emu: Emulator, request: pytest.FixtureRequest) -> Iterator[str]:
    """The module's emulator playing one reading of the service for one test (``flows.VARIANTS``)."""
    emu.configure(**VARIANTS[request.param])
    try:
        yield request.param
    finally:
        emu.configure(**VARIANT_DEFAULTS)


@pytest.fixture
async def sidecar(emu: Emulator, isolated_home: Path, config_path: Path) -> AsyncIterator[Sidecar]:
    emu.clear_faults()
    emu.set_auto_approve(True)
    ports = free_port_range()
    emu.configure(registered_ports=tuple(ports))  # what a registered-ports-only variant accepts
    side = Sidecar(
        isolated_home,
        {
            "configPath": str(config_path),
            "endpoints": {"signinBase": emu.url, "oauthBase": emu.url},
            "callbackPorts": ports,
            "signInTimeoutSeconds": 20,
            "keepFresh": False,
            "logLevel": "debug",
        },
    )
    side.browser = follow_in_browser
    await side.start()
    yield side
    code = await side.stop()
    assert code == 0
    assert_no_secrets(side, config_path)


def assert_no_secrets(side: Sidecar, config_path: Path) -> None:
    """Nothing that is a secret in the config file may appear on the sidecar's stderr."""
    try:
        doc = load_json(config_path)
    except (OSError, ValueError):
        return
    stderr = side.stderr.decode("utf-8", "replace")
    for profile in doc.get("profiles", []):
        for field in SECRET_FIELDS:
            value = profile.get(field)
            if isinstance(value, str) and len(value) >= 8:
                assert value not in stderr, f"{field} of {profile.get('name')} leaked to stderr"


async def sign_in(side: Sidecar, profile: str = "dev", **extra: Any) -> dict[str, Any]:
    params = {"profile": profile, "site": "CN", "region": "cn-hangzhou", "language": "en", **extra}
    return await side.request("aliyun/signIn", params)


# ------------------------------------------------------------------ initialize & listing


async def test_initialize_advertises_no_document_sync(emu: Emulator, isolated_home: Path, config_path: Path) -> None:
    side = Sidecar(isolated_home, {})
    await side.start(initialize=False)
    result = await side.initialize({"configPath": str(config_path), "keepFresh": False})
    assert result.capabilities.text_document_sync is None
    assert result.server_info is not None and result.server_info.name == "aliyun-sidecar"
    assert await side.stop() == 0


async def test_initialize_rejects_bad_options(isolated_home: Path) -> None:
    side = Sidecar(isolated_home, {})
    await side.start(initialize=False)
    with pytest.raises(JsonRpcException) as info:
        await side.initialize({"callbackPorts": "12345"})
    assert info.value.data["kind"] == "invalidParams"
    side.process.kill()
    await side.client.stop()


@pytest.mark.parametrize("path", ["/tmp/a\x00b/config.json", "/tmp/x\nconfig.json"])
async def test_initialize_refuses_a_config_path_no_os_could_open(isolated_home: Path, path: str) -> None:
    """A NUL byte used to pass ``initialize``, and then every request answered ``internal``."""
    side = Sidecar(isolated_home, {})
    await side.start(initialize=False)
    with pytest.raises(JsonRpcException) as info:
        await side.initialize({"configPath": path})
    assert info.value.data["kind"] == "invalidParams" and info.value.data["field"] == "configPath"
    side.process.kill()
    await side.client.stop()


async def test_list_profiles_empty_then_cli_file(sidecar: Sidecar, config_path: Path) -> None:
    empty = await sidecar.request("aliyun/listProfiles")
    # No file yet: no profiles (the first write creates the file the CLI would, with its "default").
    assert empty == {"current": "", "configPath": str(config_path), "profiles": []}
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text((FIXTURES / "cli_config.json").read_text())
    listing = await sidecar.request("aliyun/listProfiles")
    assert listing["current"] == "oauth-dev"
    by_name = {p["name"]: p for p in listing["profiles"]}
    assert by_name["default"]["state"] == "notOAuth"
    assert by_name["oauth-dev"]["state"] == "refreshable" and by_name["oauth-dev"]["isCurrent"]
    # the watcher noticed the external edit
    changed = await sidecar.wait_for("aliyun/profilesChanged", lambda p: p["current"] == "oauth-dev")
    assert len(changed["profiles"]) == 14


# ------------------------------------------------------------------ sign-in


async def test_sign_in_end_to_end(sidecar: Sidecar, config_path: Path, emu: Emulator, variant: str) -> None:
    token = "progress-1"
    entry = await sign_in(sidecar, workDoneToken=token)
    assert entry["name"] == "dev" and entry["state"] == "valid" and entry["isCurrent"]
    assert entry["site"] == "CN" and entry["region"] == "cn-hangzhou" and entry["language"] == "en"
    started = sidecar.of("aliyun/signInStarted")
    assert started and started[0]["profile"] == "dev"
    assert started[0]["url"].startswith(emu.url + "/oauth2/v1/auth?")
    assert started[0]["redirectUri"].startswith("http://127.0.0.1:") and started[0]["redirectUri"].endswith("/cli/callback")
    assert sidecar.shown == [started[0]["url"]]
    await sidecar.wait_for("aliyun/profilesChanged", lambda p: any(x["name"] == "dev" for x in p["profiles"]))
    kinds = [p["value"]["kind"] for p in sidecar.of("$/progress") if p["token"] == token]
    assert kinds[0] == "begin" and kinds[-1] == "end" and "report" in kinds
    profile = P.get_profile(load_json(config_path), "dev")
    assert profile["mode"] == "OAuth" and profile["oauth_site_type"] == "CN"
    assert load_json(config_path)["current"] == "dev"

    creds = await sidecar.request("aliyun/getCredentials", {})
    assert creds["profile"] == "dev"
    assert creds["accessKeyId"] == profile["access_key_id"]
    assert creds["securityToken"] == profile["sts_token"]
    assert creds["expiresAt"] == profile["sts_expiration"]
    assert creds["expiration"].endswith("Z")
    assert ("oauth_refresh_token" in profile) is has_refresh_token(variant)
    assert entry["hasRefreshToken"] is has_refresh_token(variant)


async def test_sign_in_again_replaces_tokens_only(sidecar: Sidecar, config_path: Path) -> None:
    await sign_in(sidecar)
    await sidecar.request("aliyun/setProfile", {"name": "dev", "region": "eu-central-1"})
    doc = load_json(config_path)
    P.get_profile(doc, "dev")["custom_field"] = {"kept": True}
    config_path.write_text(json.dumps(doc))
    old = P.get_profile(doc, "dev")["oauth_refresh_token"]
    await sidecar.request("aliyun/signIn", {"profile": "dev"})
    profile = P.get_profile(load_json(config_path), "dev")
    assert profile["custom_field"] == {"kept": True} and profile["region_id"] == "eu-central-1"
    assert profile["oauth_refresh_token"] != old


async def test_sign_in_denied(sidecar: Sidecar, emu: Emulator) -> None:
    emu.set_not_authorized(True)
    try:
        with pytest.raises(JsonRpcException) as info:
            await sign_in(sidecar)
    finally:
        emu.set_not_authorized(False)
    assert info.value.code == -32021
    assert info.value.data["kind"] == "signInDenied" and info.value.data["error"] == "access_denied"


async def test_sign_in_cancelled_with_cancel_request(sidecar: Sidecar) -> None:
    sidecar.browser = None  # nobody signs in
    msg_id, answer = sidecar.start_request("aliyun/signIn", {"profile": "dev"})
    await sidecar.wait_for("aliyun/signInStarted")
    started = time.monotonic()
    sidecar.cancel(msg_id)
    with pytest.raises(JsonRpcException) as info:
        await asyncio.wait_for(answer, 5)
    assert info.value.code == -32800 and info.value.data["kind"] == "cancelled"
    assert time.monotonic() - started < 2
    # the port is free again at once: a new sign-in binds the same first port
    sidecar.browser = follow_in_browser
    assert (await sign_in(sidecar))["state"] == "valid"


async def test_a_new_sign_in_cancels_the_pending_one(sidecar: Sidecar) -> None:
    sidecar.browser = None
    _, first = sidecar.start_request("aliyun/signIn", {"profile": "one"})
    await sidecar.wait_for("aliyun/signInStarted")
    sidecar.browser = follow_in_browser
    second = await sign_in(sidecar, "two")
    with pytest.raises(JsonRpcException) as info:
        await asyncio.wait_for(first, 5)
    assert info.value.data["kind"] == "cancelled"
    assert second["name"] == "two"


async def test_cancel_sign_in_request_and_paste_back(sidecar: Sidecar, emu: Emulator) -> None:
    sidecar.browser = None
    assert await sidecar.request("aliyun/cancelSignIn") == {"cancelled": False}
    _, answer = sidecar.start_request("aliyun/signIn", {"profile": "pasted", "openBrowser": False})
    started = await sidecar.wait_for("aliyun/signInStarted")
    assert sidecar.shown == []
    # The browser is elsewhere: the user approves there and pastes the address it could not load.
    redirect = emu.approve(started["url"])
    with pytest.raises(JsonRpcException) as info:
        await sidecar.request("aliyun/completeSignIn", {"url": redirect.replace("state=", "state=x")})
    assert info.value.data["kind"] == "invalidParams"
    assert await sidecar.request("aliyun/completeSignIn", {"url": f"  {redirect}  "}) == {"accepted": True}
    entry = await asyncio.wait_for(answer, 10)
    assert entry["name"] == "pasted" and entry["state"] == "valid"
    with pytest.raises(JsonRpcException) as info:
        await sidecar.request("aliyun/completeSignIn", {"url": redirect})
    assert info.value.data["kind"] == "cancelled"


async def test_cancel_sign_in_method(sidecar: Sidecar) -> None:
    sidecar.browser = None
    _, answer = sidecar.start_request("aliyun/signIn", {"profile": "dev"})
    await sidecar.wait_for("aliyun/signInStarted")
    assert await sidecar.request("aliyun/cancelSignIn") == {"cancelled": True}
    with pytest.raises(JsonRpcException) as info:
        await asyncio.wait_for(answer, 5)
    assert info.value.data["kind"] == "cancelled"


async def test_sign_in_timeout(emu: Emulator, isolated_home: Path, config_path: Path) -> None:
    side = Sidecar(isolated_home, {"configPath": str(config_path), "callbackPorts": free_port_range(),
                                   "endpoints": {"signinBase": emu.url, "oauthBase": emu.url},
                                   "signInTimeoutSeconds": 1, "keepFresh": False})
    await side.start()
    with pytest.raises(JsonRpcException) as info:
        await side.request("aliyun/signIn", {"profile": "dev"})
    assert info.value.data["kind"] == "signInTimeout" and info.value.code == -32022
    assert await side.stop() == 0


async def test_ports_busy(emu: Emulator, isolated_home: Path, config_path: Path) -> None:
    ports = free_port_range()
    holders = [await asyncio.start_server(lambda r, w: None, "127.0.0.1", p) for p in range(ports[0], ports[1] + 1)]
    side = Sidecar(isolated_home, {"configPath": str(config_path), "callbackPorts": ports, "keepFresh": False})
    await side.start()
    try:
        with pytest.raises(JsonRpcException) as info:
            await side.request("aliyun/signIn", {"profile": "dev"})
        assert info.value.data == {"kind": "portsBusy", "ports": ports}
    finally:
        for h in holders:
            h.close()
        assert await side.stop() == 0


# ------------------------------------------------------------------ profiles


async def test_switch_set_delete(sidecar: Sidecar, config_path: Path) -> None:
    await sign_in(sidecar, "a")
    await sign_in(sidecar, "b")
    listing = await sidecar.request("aliyun/switchProfile", {"name": "a"})
    assert listing["current"] == "a"
    await sidecar.wait_for("aliyun/profilesChanged", lambda p: p["current"] == "a")
    listing = await sidecar.request("aliyun/setProfile", {"name": "a", "region": "cn-beijing", "language": "zh"})
    a = next(p for p in listing["profiles"] if p["name"] == "a")
    assert (a["region"], a["language"]) == ("cn-beijing", "zh")
    listing = await sidecar.request("aliyun/deleteProfile", {"name": "a"})
    # the new file was created as the CLI creates it, with its empty "default" profile first
    assert [p["name"] for p in listing["profiles"]] == ["default", "b"] and listing["current"] == "default"
    with pytest.raises(JsonRpcException) as info:
        await sidecar.request("aliyun/switchProfile", {"name": "a"})
    assert info.value.code == -32010
    assert info.value.data == {"kind": "profileNotFound", "profile": "a", "existing": ["default", "b"]}


async def test_switch_by_another_process_is_noticed(sidecar: Sidecar, config_path: Path) -> None:
    await sign_in(sidecar, "a")
    await sign_in(sidecar, "b")
    doc = load_json(config_path)
    doc["current"] = "a"
    config_path.write_text(json.dumps(doc, indent=4))  # like the Node.js SDK: in place, no lock
    await sidecar.wait_for("aliyun/profilesChanged", lambda p: p["current"] == "a", timeout=5)


async def test_get_credentials_follows_current_changed_by_another_process(sidecar: Sidecar, config_path: Path) -> None:
    """The selected profile is remembered by the file's stamp: a write by anyone is seen at once."""
    await sign_in(sidecar, "a")
    await sign_in(sidecar, "b")
    assert (await sidecar.request("aliyun/getCredentials", {}))["profile"] == "b"
    for name in ("a", "b", "a"):
        doc = load_json(config_path)
        doc["current"] = name
        config_path.write_text(json.dumps(doc, indent=4))  # in place, no lock, same size each time
        assert (await sidecar.request("aliyun/getCredentials", {}))["profile"] == name


async def test_corrupt_file_is_reported_and_kept(sidecar: Sidecar, config_path: Path) -> None:
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text('{"current": "x", "profiles": [}')
    try:
        note = await sidecar.wait_for("aliyun/configError", timeout=5)
    except asyncio.TimeoutError:
        raise AssertionError(sidecar.stderr.decode()[-3000:]) from None
    assert note["kind"] == "configCorrupt" and note["path"] == str(config_path)
    with pytest.raises(JsonRpcException) as info:
        await sidecar.request("aliyun/switchProfile", {"name": "x"})
    assert info.value.code == -32011 and info.value.data["kind"] == "configCorrupt"
    assert "line 1" in info.value.data["where"]
    assert config_path.read_text() == '{"current": "x", "profiles": [}'
    # the notification carries the error's data (where, line, column...) and its message
    assert {k: v for k, v in note.items() if k != "message"} == info.value.data
    assert note["message"] == info.value.message
    # the broken file is logged once (by the watcher), not once per poll
    await asyncio.sleep(1.2)
    watcher_lines = [line for line in sidecar.stderr.decode().splitlines() if "config file: configCorrupt" in line]
    assert len(watcher_lines) == 1 and " WARNING " in watcher_lines[0], watcher_lines
    seen = len(sidecar.of("aliyun/profilesChanged"))
    config_path.write_text('{"current": "", "profiles": []}')
    await sidecar.wait_for("aliyun/profilesChanged", lambda _p: len(sidecar.of("aliyun/profilesChanged")) > seen, timeout=5)
    config_path.write_text('{\n  "current": "x",\n  "profiles": [}')  # broken again: a new transition, a new line
    await sidecar.wait_for("aliyun/configError", lambda p: p["where"] != note["where"], timeout=5)
    await asyncio.sleep(0.2)
    assert sum("config file: configCorrupt" in line for line in sidecar.stderr.decode().splitlines()) == 2


# ------------------------------------------------------------------ refresh & credentials


async def test_forced_refresh_of_each_layer(sidecar: Sidecar, config_path: Path, emu: Emulator, variant: str) -> None:
    await sign_in(sidecar)
    before = P.get_profile(load_json(config_path), "dev")
    entry = await sidecar.request("aliyun/refresh", {"force": "sts"})
    after_sts = P.get_profile(load_json(config_path), "dev")
    assert entry["state"] == "valid"
    assert after_sts["access_key_id"] != before["access_key_id"]
    assert after_sts.get("oauth_refresh_token") == before.get("oauth_refresh_token")
    await sidecar.wait_for("aliyun/credentialsChanged", lambda p: p["kind"] == "refreshed")

    if not has_refresh_token(variant):
        with pytest.raises(JsonRpcException) as info:
            await sidecar.request("aliyun/refresh", {"profile": "dev", "force": "accessToken"})
        assert info.value.data["kind"] == "signInRequired"
        entry = await sidecar.request("aliyun/refresh", {"force": "sts"})  # the access token still serves
        assert entry["state"] == "valid"
        return
    await sidecar.request("aliyun/refresh", {"profile": "dev", "force": "accessToken"})
    after_access = P.get_profile(load_json(config_path), "dev")
    assert (after_access["oauth_refresh_token"] != before["oauth_refresh_token"]) is (variant != "noRotation")
    assert after_access["oauth_access_token"] != before["oauth_access_token"]
    assert after_access["access_key_id"] != after_sts["access_key_id"]
    refusals = emu.stats["invalid_grant"]
    await sidecar.request("aliyun/refresh", {"force": True})
    assert emu.stats["invalid_grant"] == refusals


async def test_expired_layers_renew_on_demand(sidecar: Sidecar, config_path: Path, emu: Emulator, variant: str) -> None:
    await sign_in(sidecar)
    if not has_refresh_token(variant):
        return  # nothing to renew the access token with: covered by test_forced_refresh_of_each_layer
    age(config_path, sts=-10, access=-10)
    refreshes = emu.stats["refreshes"]
    creds = await sidecar.request("aliyun/getCredentials", {"profile": "dev"})
    assert creds["expiresAt"] > time.time() + 3000
    assert emu.stats["refreshes"] == refreshes + 1
    assert emu.stats["exchange_failures"] == 0 or variant != "strict"


async def test_a_passed_refresh_token_expiry_still_refreshes(sidecar: Sidecar, config_path: Path, emu: Emulator) -> None:
    """The real CLI rotates the refresh token and leaves ``oauth_refresh_token_expire`` as it was: a
    passed time is a hint ("may have expired"), and the refresh is tried (issue 21, item 2)."""
    await sign_in(sidecar)
    age(config_path, sts=-10, access=-10, refresh=-3600)
    listing = await sidecar.request("aliyun/listProfiles")
    entry = by_name(listing, "dev")
    assert (entry["state"], entry["stateReason"]) == ("refreshable", "refreshTokenMayHaveExpired")
    calls = emu.stats["requests"]["token"]
    creds = await sidecar.request("aliyun/getCredentials", {"profile": "dev"})
    assert creds["expiresAt"] > time.time()
    assert emu.stats["requests"]["token"] == calls + 1


async def test_revoked_refresh_token_means_sign_in_required(sidecar: Sidecar, config_path: Path, emu: Emulator) -> None:
    await sign_in(sidecar)
    emu.revoke_refresh_tokens()
    before = P.get_profile(load_json(config_path), "dev")
    with pytest.raises(JsonRpcException) as info:
        await sidecar.request("aliyun/refresh", {"force": "accessToken"})
    assert info.value.code == -32020 and info.value.data["kind"] == "signInRequired"
    await sidecar.wait_for("aliyun/credentialsChanged", lambda p: p["kind"] == "signInRequired")
    # the last tokens are kept, and no loop: a second call does not reach the service
    assert P.get_profile(load_json(config_path), "dev") == before
    calls = emu.stats["requests"]["token"]
    with pytest.raises(JsonRpcException):
        await sidecar.request("aliyun/refresh", {"force": "accessToken"})
    assert emu.stats["requests"]["token"] == calls
    listing = await sidecar.request("aliyun/listProfiles")
    assert by_name(listing, "dev")["state"] == "valid"  # STS is still good; only renewal is impossible
    # signing in again clears it
    await sign_in(sidecar)
    await sidecar.request("aliyun/refresh", {"force": "accessToken"})


async def test_network_error_is_not_expiry(sidecar: Sidecar, config_path: Path, emu: Emulator) -> None:
    await sign_in(sidecar)
    before = P.get_profile(load_json(config_path), "dev")
    emu.inject("token", "drop", count=1)
    with pytest.raises(JsonRpcException) as info:
        await sidecar.request("aliyun/refresh", {"force": "accessToken"})
    assert info.value.data["kind"] == "network" and info.value.code == -32030
    assert P.get_profile(load_json(config_path), "dev") == before
    emu.inject("exchange", "500", count=1)
    with pytest.raises(JsonRpcException) as info:
        await sidecar.request("aliyun/refresh", {"force": "sts"})
    assert info.value.data["kind"] == "upstream" and info.value.data["status"] == 500
    entry = await sidecar.request("aliyun/refresh", {"force": "sts"})
    assert entry["state"] == "valid"


async def test_refresh_of_a_non_oauth_profile(sidecar: Sidecar, config_path: Path) -> None:
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text((FIXTURES / "cli_config.json").read_text())
    with pytest.raises(JsonRpcException) as info:
        await sidecar.request("aliyun/getCredentials", {"profile": "default"})
    assert info.value.data["kind"] == "invalidParams"
    assert "example-ak-secret" not in info.value.message


async def test_concurrent_credentials_share_one_exchange(sidecar: Sidecar, config_path: Path, emu: Emulator) -> None:
    await sign_in(sidecar)
    age(config_path, sts=-1)
    await asyncio.sleep(0.6)  # let the watcher see the edit
    exchanges = emu.stats["exchanges"]
    results = await asyncio.gather(*(sidecar.request("aliyun/getCredentials", {}) for _ in range(50)))
    assert len({r["accessKeyId"] for r in results}) == 1
    assert emu.stats["exchanges"] == exchanges + 1


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("aliyun/switchProfile", {}, "name"),
        ("aliyun/switchProfile", {"name": 5}, "name"),
        ("aliyun/switchProfile", [1, 2], "params"),
        ("aliyun/setProfile", {"name": "x", "language": 3}, "language"),
        ("aliyun/refresh", {"force": "yes"}, "force"),
        ("aliyun/signIn", {"profile": "dev", "site": "MARS"}, "site"),
        ("aliyun/signIn", {"profile": ""}, "profile"),
        ("aliyun/signIn", {"profile": "dev", "openBrowser": "no"}, "openBrowser"),
        ("aliyun/signIn", {"profile": "dev", "workDoneToken": {"x": 1}}, "workDoneToken"),
        ("aliyun/completeSignIn", {"url": None}, "url"),
        ("aliyun/getCredentials", {"profile": "x" * 10000}, "profile"),
    ],
)
async def test_bad_params_answer_invalid_params(sidecar: Sidecar, method: str, params: Any, field: str) -> None:
    with pytest.raises(JsonRpcException) as info:
        await sidecar.request(method, params, timeout=5)
    assert info.value.code == -32602
    assert info.value.data["kind"] == "invalidParams" and info.value.data["field"] == field
    assert (await sidecar.request("aliyun/listProfiles"))["profiles"] == []  # nothing was written


async def test_unknown_method_and_huge_payload(sidecar: Sidecar) -> None:
    with pytest.raises(JsonRpcException) as info:
        await sidecar.request("aliyun/noSuchThing", {}, timeout=5)
    assert info.value.code == -32601
    with pytest.raises(JsonRpcException) as info:
        await sidecar.request("aliyun/switchProfile", {"name": "n" * 2_000_000}, timeout=10)
    assert info.value.data["kind"] == "invalidParams"
    assert (await sidecar.request("aliyun/listProfiles"))["current"] == ""  # nothing was written


# ------------------------------------------------------------------ secrets never leak


def secrets_in(config_path: Path) -> set[str]:
    found = set()
    for profile in load_json(config_path).get("profiles", []):
        for field in SECRET_FIELDS:
            value = profile.get(field)
            if isinstance(value, str) and len(value) >= 8:
                found.add(value)
    return found


async def test_no_secret_in_stderr_or_any_error(sidecar: Sidecar, config_path: Path, emu: Emulator) -> None:
    """Every secret the session ever held (also rotated-away tokens and codes) vs. everything it said."""
    from urllib.parse import parse_qs, urlsplit

    seen: set[str] = set()
    errors: list[str] = []

    async def failing(method: str, params: dict[str, Any]) -> None:
        with pytest.raises(JsonRpcException) as info:
            await sidecar.request(method, params)
        errors.append(json.dumps({"message": info.value.message, "data": info.value.data}))

    # a paste-back whose code is refused by its state, then accepted
    sidecar.browser = None
    _, answer = sidecar.start_request("aliyun/signIn", {"profile": "dev", "openBrowser": False})
    started = await sidecar.wait_for("aliyun/signInStarted")
    redirect = emu.approve(started["url"])
    code = parse_qs(urlsplit(redirect).query)["code"][0]
    seen.add(code)
    await failing("aliyun/completeSignIn", {"url": redirect.replace("state=", "state=zz")})
    await sidecar.request("aliyun/completeSignIn", {"url": redirect})
    await asyncio.wait_for(answer, 10)
    seen |= secrets_in(config_path)
    # every layer rotated, with failures in between
    await sidecar.request("aliyun/refresh", {"force": "accessToken"})
    seen |= secrets_in(config_path)
    for fault in ("500", "malformed", "drop", "empty"):
        emu.inject("exchange", fault, count=1)
        await failing("aliyun/refresh", {"force": "sts"})
    emu.inject("token", "invalid_grant", count=1)
    await failing("aliyun/refresh", {"force": "accessToken"})
    seen |= secrets_in(config_path)
    creds = await sidecar.request("aliyun/getCredentials", {})
    seen.add(creds["accessKeySecret"])
    # a reused code (the service refuses it) must not echo it either
    await failing("aliyun/completeSignIn", {"url": redirect})

    await sidecar.stop()
    said = sidecar.stderr.decode("utf-8", "replace") + "\n".join(errors)
    notes = json.dumps([params for method, params in sidecar.notifications if method != "$/progress"])
    assert len(seen) >= 8
    leaked = [s[:4] + "…" for s in seen if s in said or s in notes]
    assert leaked == [], f"{len(leaked)} secrets leaked"
    assert "DEBUG" in said or "INFO" in said  # the log was really on


async def test_a_service_that_echoes_the_request_gets_no_token_into_an_error_or_the_log(
    sidecar: Sidecar, config_path: Path, emu: Emulator
) -> None:
    """A service (or a proxy) that repeats the request in its error answer: the refresh token and the
    bearer access token it echoes reach neither the JSON-RPC error nor the sidecar's log."""
    await sign_in(sidecar)
    sent = secrets_in(config_path)
    errors: list[str] = []
    for endpoint, force in (("token", "accessToken"), ("exchange", "sts")):
        emu.inject(endpoint, "echo", count=1)
        with pytest.raises(JsonRpcException) as info:
            await sidecar.request("aliyun/refresh", {"force": force})
        errors.append(json.dumps({"message": info.value.message, "data": info.value.data}))
    assert all("upstream" in e for e in errors), errors  # the refusal itself is reported
    await sidecar.stop()
    said = sidecar.stderr.decode("utf-8", "replace") + "\n".join(errors)
    assert len(sent) >= 2
    leaked = [s[:4] + "…" for s in sent if s in said]
    assert leaked == [], f"{len(leaked)} secrets echoed"


async def test_requests_after_shutdown_are_refused_not_hung(sidecar: Sidecar) -> None:
    await asyncio.wait_for(sidecar.client.shutdown_async(None), 5)
    with pytest.raises(JsonRpcException) as info:
        await sidecar.request("aliyun/listProfiles", {}, timeout=5)
    assert info.value.code == -32600
    sidecar.client.exit(None)
    assert await asyncio.wait_for(sidecar.process.wait(), 5) == 0


async def test_who_am_i(sidecar: Sidecar, emu: Emulator, isolated_home: Path, config_path: Path) -> None:
    await sign_in(sidecar)
    side = Sidecar(isolated_home, {"configPath": str(config_path), "keepFresh": False,
                                   "endpoints": {"signinBase": emu.url, "oauthBase": emu.url, "stsEndpoint": emu.url}})
    await side.start()
    identity = await side.request("aliyun/whoAmI", {"profile": "dev"})
    assert identity["profile"] == "dev" and identity["identityType"] == "RAMUser"
    assert identity["accountId"] and identity["arn"].startswith("acs:ram::")
    assert await side.stop() == 0


# ------------------------------------------------------------------ the service's disputed answers (issue 13)


async def test_sign_in_on_the_registered_ports(emu: Emulator, isolated_home: Path, config_path: Path) -> None:
    """With the default ports (12345-12349, the CLI's) against a service that accepts no other."""
    emu.configure(registered_ports_only=True, registered_ports=(12345, 12349))
    side = Sidecar(isolated_home, {"configPath": str(config_path), "keepFresh": False, "signInTimeoutSeconds": 20,
                                   "endpoints": {"signinBase": emu.url, "oauthBase": emu.url}})
    side.browser = follow_in_browser
    await side.start()
    try:
        entry = await sign_in(side)
        assert entry["state"] == "valid"
        started = side.of("aliyun/signInStarted")[0]
        assert 12345 <= int(started["redirectUri"].split(":")[2].split("/")[0]) <= 12349
    finally:
        emu.configure(registered_ports_only=False)
        assert await side.stop() == 0


async def test_not_authorized_page_without_redirect_ends_in_a_timeout(
    emu: Emulator, isolated_home: Path, config_path: Path
) -> None:
    """The documented "The call is not authorized" answer is a page that never reaches the callback."""
    pages: list[str] = []

    async def browser(url: str) -> None:
        response = await follow_in_browser(url)
        pages.append(response.text)

    ports = free_port_range()
    emu.configure(not_authorized=True, not_authorized_page=True)
    side = Sidecar(isolated_home, {"configPath": str(config_path), "keepFresh": False, "signInTimeoutSeconds": 2,
                                   "callbackPorts": ports, "endpoints": {"signinBase": emu.url, "oauthBase": emu.url}})
    side.browser = browser
    await side.start()
    try:
        with pytest.raises(JsonRpcException) as info:
            await sign_in(side)
    finally:
        emu.configure(not_authorized=False, not_authorized_page=False)
    assert info.value.data["kind"] == "signInTimeout"
    assert info.value.data["mayBeNotAuthorized"] is True
    message = str(info.value.message)
    # The administrator's two steps: install the official-cli application, then assign the user to it.
    assert "(1) install the official-cli application" in message and "(2) assign you to it" in message
    assert pages and "The call is not authorized" in pages[0]  # the browser stayed on the error page
    assert not config_path.exists() or "dev" not in [p["name"] for p in load_json(config_path)["profiles"]]
    assert await side.stop() == 0


async def test_refused_client_and_unknown_site_over_rpc(sidecar: Sidecar, config_path: Path, emu: Emulator) -> None:
    await sign_in(sidecar)
    emu.inject("token", "invalid_client", count=1)
    with pytest.raises(JsonRpcException) as info:
        await sidecar.request("aliyun/refresh", {"force": "accessToken"})
    assert info.value.data["kind"] == "clientNotAuthorized" and info.value.data["profile"] == "dev"
    calls = emu.stats["requests"]["token"]
    with pytest.raises(JsonRpcException) as info:
        await sidecar.request("aliyun/refresh", {"force": "accessToken"})
    assert info.value.data["kind"] == "clientNotAuthorized"
    assert emu.stats["requests"]["token"] == calls  # permanent: not retried
    edit_profile(config_path, oauth_site_type="EU")
    with pytest.raises(JsonRpcException) as info:
        await sidecar.request("aliyun/refresh", {"force": "sts"})
    assert info.value.data == {"kind": "unknownSite", "profile": "dev", "site": "EU", "valid": ["CN", "INTL"]}
    entry = by_name(await sidecar.request("aliyun/listProfiles"), "dev")
    assert entry["stateReason"] == "unknownSite"


# ------------------------------------------------------------------ the log: one line per failure


def lines_naming(stderr: bytes, kind: str) -> list[str]:
    return [line for line in stderr.decode("utf-8", "replace").splitlines() if f": {kind}: " in line]


async def test_each_sign_in_failure_leaves_one_log_line_naming_its_cause(
    emu: Emulator, isolated_home: Path, config_path: Path
) -> None:
    """Denied, cancelled, timed out, ports busy, network down: one line each, at its level; never
    pygls' generic "Exception occurred" line, never "could not handle", never a secret."""
    ports = free_port_range()
    side = Sidecar(isolated_home, {
        "configPath": str(config_path), "callbackPorts": ports, "signInTimeoutSeconds": 2, "keepFresh": False,
        "endpoints": {"signinBase": emu.url, "oauthBase": emu.url},
    })
    side.browser = follow_in_browser
    await side.start()
    try:
        emu.set_not_authorized(True)
        try:
            with pytest.raises(JsonRpcException):
                await sign_in(side)
        finally:
            emu.set_not_authorized(False)
        side.browser = None
        seen = len(side.of("aliyun/signInStarted"))
        _, answer = side.start_request("aliyun/signIn", {"profile": "dev"})
        await side.wait_for("aliyun/signInStarted", lambda _p: len(side.of("aliyun/signInStarted")) > seen)
        assert await side.request("aliyun/cancelSignIn") == {"cancelled": True}
        with pytest.raises(JsonRpcException):
            await asyncio.wait_for(answer, 5)
        with pytest.raises(JsonRpcException):
            await sign_in(side)  # nobody opens the page: timeout
        holders = [await asyncio.start_server(lambda r, w: None, "127.0.0.1", p) for p in range(ports[0], ports[1] + 1)]
        try:
            with pytest.raises(JsonRpcException):
                await sign_in(side)
        finally:
            for holder in holders:
                holder.close()
    finally:
        assert await side.stop() == 0

    # network down: the token endpoint does not answer (a closed port on loopback)
    closed = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    dead_port = closed.sockets[0].getsockname()[1]
    closed.close()
    await closed.wait_closed()
    net = Sidecar(isolated_home, {
        "configPath": str(config_path), "callbackPorts": free_port_range(), "keepFresh": False,
        "endpoints": {"signinBase": emu.url, "oauthBase": f"http://127.0.0.1:{dead_port}"},
    })
    net.browser = follow_in_browser
    await net.start()
    try:
        with pytest.raises(JsonRpcException) as info:
            await sign_in(net)
        assert info.value.data["kind"] == "network"
    finally:
        assert await net.stop() == 0

    for stderr in (side.stderr, net.stderr):
        text = stderr.decode("utf-8", "replace")
        assert "Exception occurred" not in text and "could not handle" not in text, text[-2000:]
        assert "Traceback" not in text
    expected = {"signInDenied": "WARNING", "cancelled": "INFO", "signInTimeout": "WARNING", "portsBusy": "WARNING"}
    for kind, level in expected.items():
        found = lines_naming(side.stderr, kind)
        assert len(found) == 1, (kind, found)
        assert f" {level} " in found[0], found[0]
    found = lines_naming(net.stderr, "network")
    assert len(found) == 1 and " WARNING " in found[0], found
    assert_no_secrets(side, config_path)
