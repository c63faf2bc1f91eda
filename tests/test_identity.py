"""Who am I: STS GetCallerIdentity (signed with ACS3-HMAC-SHA256), against the emulator's STS endpoint.

The emulator verifies the real request signature with the secret it issued, so these tests prove
that the credentials the sidecar keeps are the ones the service accepts, and for whom.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sidecar import wire
from sidecar.config import profiles as P
from sidecar.credentials.identity import CallerIdentityClient, Identity, sts_host
from emulator import Emulator
from emulator import Identity as EmuIdentity
from sidecar.errors import InvalidParams, NetworkError, UpstreamError
from sidecar.tokens import StsCredentials

from .conftest import load_json
from .flows import age, signed_in


def stored_sts(config: Path, name: str = "dev") -> StsCredentials:
    profile = P.get_profile(load_json(config), name)
    return StsCredentials(
        profile["access_key_id"], profile["access_key_secret"], profile["sts_token"], int(profile["sts_expiration"])
    )


def assert_no_secret(text: str, sts: StsCredentials) -> None:
    assert sts.access_key_secret not in text
    assert sts.security_token not in text


# ------------------------------------------------------------------------------- identities


async def test_identity_of_a_ram_user(emulator: Emulator, config_path: Path) -> None:
    emulator.set_identity(EmuIdentity.user("alice", account_id="1111222233334444", user_id="208800001111"))
    service = await signed_in(emulator, config_path)
    answer = wire.identity_json("dev", await service.who_am_i("dev"))
    assert answer == {
        "profile": "dev",
        "accountId": "1111222233334444",
        "identityType": "RAMUser",
        "arn": "acs:ram::1111222233334444:user/alice",
        "principalId": "208800001111",
        "userId": "208800001111",
        "roleId": None,
    }
    assert emulator.stats["caller_identity"] == 1
    assert_no_secret(json.dumps(answer), stored_sts(config_path))
    await service.aclose()


async def test_identity_of_an_assumed_role(emulator: Emulator, config_path: Path) -> None:
    emulator.set_identity(EmuIdentity.role("OpsAdmin", account_id="5555666677778888", session_name="bob", role_id="300999"))
    service = await signed_in(emulator, config_path)
    answer = wire.identity_json("dev", await service.who_am_i("dev"))
    assert answer == {
        "profile": "dev",
        "accountId": "5555666677778888",
        "identityType": "AssumedRoleUser",
        "arn": "acs:ram::5555666677778888:assumed-role/OpsAdmin/bob",
        "principalId": "300999:bob",
        "userId": None,  # the real STS sends RoleId, not UserId, for a role
        "roleId": "300999",
    }
    identity = await CallerIdentityClient().get(stored_sts(config_path), emulator.url)
    assert identity == Identity("5555666677778888", "AssumedRoleUser", answer["arn"], "300999:bob", None, "300999")
    await service.aclose()


# ------------------------------------------------------------------------------- refusals


async def test_a_wrong_secret_is_refused_as_signature_mismatch(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    real = stored_sts(config_path)
    tampered = StsCredentials(real.access_key_id, real.access_key_secret[::-1], real.security_token, real.expires_at)
    with pytest.raises(UpstreamError) as info:
        await CallerIdentityClient().get(tampered, emulator.url)
    err = info.value
    assert (err.error, err.status) == ("SignatureDoesNotMatch", 400)
    assert err.kind == "upstream" and err.details["requestId"]
    for text in (err.message, str(err), json.dumps(err.to_data())):
        assert_no_secret(text, real)
        assert_no_secret(text, tampered)
    assert emulator.stats["caller_identity"] == 0 and emulator.stats["caller_identity_failures"] == 1
    assert emulator.stats["errors"].get("SignatureDoesNotMatch") == 1
    await service.aclose()


@pytest.mark.parametrize(
    ("tamper", "code", "status"),
    [
        ("token", "InvalidSecurityToken.MismatchWithAccessKey", 400),
        ("key", "InvalidAccessKeyId.NotFound", 404),
        ("no-token", "InvalidAccessKeyId.NotFound", 404),
    ],
)
async def test_other_tampered_credentials_are_refused(
    emulator: Emulator, config_path: Path, tamper: str, code: str, status: int
) -> None:
    service = await signed_in(emulator, config_path)
    real = stored_sts(config_path)
    key, token = real.access_key_id, real.security_token
    if tamper == "token":
        token = token[:-4] + "AAAA"
    elif tamper == "key":
        key = "STS.NT" + "x" * 26
    else:
        token = ""
    with pytest.raises(UpstreamError) as info:
        await CallerIdentityClient().get(StsCredentials(key, real.access_key_secret, token, real.expires_at), emulator.url)
    assert (info.value.error, info.value.status) == (code, status)
    assert_no_secret(info.value.message, real)
    await service.aclose()


async def test_credentials_the_service_expired_are_refused(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    emulator.expire_sts()  # the file still says they are good; the service knows better
    with pytest.raises(UpstreamError) as info:
        await service.who_am_i("dev")
    assert info.value.error == "InvalidSecurityToken.Expired"
    await service.aclose()


# ------------------------------------------------------------------------------- refresh and cache


async def test_expired_sts_is_refreshed_before_asking(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    first = await service.who_am_i("dev")
    old_key = stored_sts(config_path).access_key_id
    emulator.expire_sts()  # what time does to the old credential at the service...
    age(config_path, sts=-1)  # ...and in the file
    exchanges = emulator.stats["exchanges"]
    second = await service.who_am_i("dev")
    assert emulator.stats["exchanges"] == exchanges + 1
    assert stored_sts(config_path).access_key_id != old_key
    assert second == first
    assert emulator.stats["caller_identity"] == 2  # new credentials: asked again
    assert emulator.stats["caller_identity_failures"] == 0  # the expired ones were never shown to STS
    await service.aclose()


async def test_same_credentials_are_asked_about_once(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    answers = await asyncio.gather(*(service.who_am_i("dev") for _ in range(10)))
    answers.append(await service.who_am_i("dev"))
    assert all(a == answers[0] for a in answers)
    assert emulator.stats["caller_identity"] == 1
    await service.aclose()


async def test_new_credentials_are_asked_about_again(emulator: Emulator, config_path: Path) -> None:
    emulator.set_identity(EmuIdentity.user("carol"))
    service = await signed_in(emulator, config_path)
    assert (await service.who_am_i("dev")).arn.endswith(":user/carol")
    await service.refresh("dev", "sts")  # a forced STS exchange: a new AccessKeyId
    assert (await service.who_am_i("dev")).arn.endswith(":user/carol")
    assert emulator.stats["caller_identity"] == 2
    # A new sign-in as someone else: new credentials, a new identity.
    emulator.set_identity(EmuIdentity.role("Auditor", session_name="carol"))

    async def browser(url: str, _redirect: str) -> None:
        service.complete_sign_in(await asyncio.to_thread(emulator.approve, url))

    await service.sign_in("dev", "CN", None, None, browser)
    answer = await service.who_am_i("dev")
    assert answer.identity_type == "AssumedRoleUser" and answer.arn.endswith(":assumed-role/Auditor/carol")
    assert emulator.stats["caller_identity"] == 3
    await service.aclose()


async def test_failures_are_not_cached(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    emulator.inject("sts", "503")
    with pytest.raises(UpstreamError) as info:
        await service.who_am_i("dev")
    assert info.value.status == 503
    assert (await service.who_am_i("dev")).identity_type == "RAMUser"
    await service.aclose()


# ------------------------------------------------------------------------------- transport failures


async def test_unreachable_sts_is_a_network_error(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    import socket

    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(NetworkError) as info:
        await CallerIdentityClient(timeout=2).get(stored_sts(config_path), dead)
    assert info.value.kind == "network"
    assert_no_secret(info.value.message, stored_sts(config_path))
    await service.aclose()


@pytest.mark.parametrize(("fault", "expected"), [("drop", NetworkError), ("hang", NetworkError), ("malformed", UpstreamError)])
async def test_bad_answers(emulator: Emulator, config_path: Path, fault: str, expected: type[Exception]) -> None:
    service = await signed_in(emulator, config_path)
    emulator.inject("sts", fault, seconds=5 if fault == "hang" else 0)
    started = time.monotonic()
    with pytest.raises(expected) as info:
        await CallerIdentityClient(timeout=1).get(stored_sts(config_path), emulator.url)
    assert time.monotonic() - started < 4
    if fault == "malformed":
        assert info.value.error == "malformed_response"  # type: ignore[attr-defined]
    await service.aclose()


# ------------------------------------------------------------------------------- the emulator's STS


def v1_request(url: str, sts: StsCredentials, *, nonce: str, timestamp: str | None = None) -> str:
    """A GetCallerIdentity URL signed with the public RPC V1 algorithm (as the CLI does)."""

    def enc(value: str) -> str:
        return quote(value, safe="~")

    params = {
        "Action": "GetCallerIdentity",
        "Version": "2015-04-01",
        "Format": "JSON",
        "AccessKeyId": sts.access_key_id,
        "SecurityToken": sts.security_token,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce,
        "Timestamp": timestamp or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    canonical = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(params.items()))
    to_sign = f"GET&%2F&{enc(canonical)}"
    digest = hmac.new(f"{sts.access_key_secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    params["Signature"] = base64.b64encode(digest).decode()
    return f"{url}/?" + "&".join(f"{enc(k)}={enc(v)}" for k, v in params.items())


async def test_emulator_accepts_rpc_v1_signatures_and_refuses_replays(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    sts = stored_sts(config_path)
    url = v1_request(emulator.url, sts, nonce=uuid.uuid4().hex)
    async with httpx.AsyncClient() as http:
        first = await http.get(url)
        assert first.status_code == 200, first.text
        assert first.json()["IdentityType"] == "RAMUser" and set(first.json()) == {
            "RequestId", "AccountId", "Arn", "IdentityType", "UserId", "PrincipalId"
        }
        replay = await http.get(url)
        assert replay.status_code == 400 and replay.json()["Code"] == "SignatureNonceUsed"
        stale = await http.get(v1_request(emulator.url, sts, nonce=uuid.uuid4().hex, timestamp="2020-01-01T00:00:00Z"))
        assert stale.json()["Code"] == "InvalidTimeStamp.Expired"
        for answer in (first, replay, stale):
            assert_no_secret(answer.text, sts)
    await service.aclose()


async def sdk_caller_identity(sts: StsCredentials, url: str, **config: str) -> Any:
    """``GetCallerIdentity`` through the official STS SDK (its own signing), against ``url``."""
    from alibabacloud_sts20150401.client import Client
    from alibabacloud_tea_openapi.utils_models import Config

    _, endpoint = sts_host(url)
    sdk_config = Config(
        access_key_id=sts.access_key_id,
        access_key_secret=sts.access_key_secret,
        security_token=sts.security_token,
        endpoint=endpoint,
        protocol="HTTP",
        **config,
    )
    return await Client(sdk_config).get_caller_identity_async()


async def test_emulator_checks_the_sdks_v1_signing_too(emulator: Emulator, config_path: Path) -> None:
    """The SDK's older RPC signing (``signature_algorithm='v2'``) is verified like the ACS3 one."""
    service = await signed_in(emulator, config_path)
    response = await sdk_caller_identity(stored_sts(config_path), emulator.url, signature_algorithm="v2")
    assert response.body.identity_type == "RAMUser"
    assert emulator.stats["caller_identity"] == 1
    await service.aclose()


async def test_emulator_refuses_unsigned_and_unknown_actions(emulator: Emulator) -> None:
    async with httpx.AsyncClient() as http:
        unsigned = await http.post(f"{emulator.url}/?Action=GetCallerIdentity&Version=2015-04-01&Format=JSON")
        assert unsigned.status_code == 400 and unsigned.json()["Code"] == "MissingAccessKeyId"
        assert set(unsigned.json()) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert emulator.stats["caller_identity_failures"] == 1


# ------------------------------------------------------------------------------- plumbing


def test_sts_host_from_url() -> None:
    assert sts_host("https://sts.aliyuncs.com") == ("https://sts.aliyuncs.com/", "sts.aliyuncs.com")
    assert sts_host("http://127.0.0.1:8080/") == ("http://127.0.0.1:8080/", "127.0.0.1:8080")
    assert sts_host("http://[::1]:8080") == ("http://[::1]:8080/", "[::1]:8080")
    for bad in ("ftp://sts.aliyuncs.com", "https://sts.aliyuncs.com/v1", "sts.aliyuncs.com", "https://u:p@host"):
        with pytest.raises(InvalidParams):
            sts_host(bad)


async def test_the_official_sdks_acs3_request_is_accepted_too(emulator: Emulator, config_path: Path) -> None:
    """The emulator checks the SDK's own V3 signing like ours: the two agree on what the service wants."""
    service = await signed_in(emulator, config_path)
    sts = stored_sts(config_path)
    response = await sdk_caller_identity(sts, emulator.url)
    assert response.body.arn == (await CallerIdentityClient().get(sts, emulator.url)).arn
    assert emulator.stats["caller_identity"] == 2
    await service.aclose()


#: Modules that are native code (or pull it in): none may be imported by any sidecar module, or the
#: universal VSIX (pure-Python libraries only) would fail on some platform or Python version.
NATIVE = ("aiohttp", "cryptography", "cffi", "_cffi_backend", "yarl", "multidict", "frozenlist", "propcache",
          "charset_normalizer", "alibabacloud_", "darabonba", "Tea")


def test_no_sidecar_module_imports_native_code_or_the_sdk() -> None:
    code = (
        "import importlib, pkgutil, sys, sidecar\n"
        "for m in pkgutil.walk_packages(sidecar.__path__, 'sidecar.'):\n"
        "    importlib.import_module(m.name)\n"
        f"print(sorted(n for n in sys.modules if n.startswith({NATIVE!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_first_lookup_imports_httpx_off_the_event_loop(tmp_path: Path) -> None:
    """In a fresh process (httpx not yet imported), the first lookup imports httpx in a worker thread,
    never on the event loop's thread (the import takes ~0.1 s, more on a busy machine)."""
    script = tmp_path / "first_lookup.py"
    script.write_text(
        """
import asyncio, sys, threading
from importlib.abc import MetaPathFinder

class Watch(MetaPathFinder):
    threads = []
    def find_spec(self, name, path=None, target=None):
        if name == "httpx":
            self.threads.append(threading.current_thread() is threading.main_thread())
        return None

sys.meta_path.insert(0, Watch())
from sidecar.credentials.identity import CallerIdentityClient
from sidecar.errors import UpstreamError
from sidecar.tokens import StsCredentials
from emulator import Emulator

async def main():
    with Emulator() as emu:
        before = "httpx" in sys.modules
        try:
            await CallerIdentityClient().get(StsCredentials("STS.unknown", "s" * 30, "t" * 30, 0), emu.url)
        except UpstreamError as exc:
            assert exc.error == "InvalidAccessKeyId.NotFound", exc.error
    print(before, Watch.threads)

asyncio.run(main())
"""
    )
    repo = Path(__file__).parent.parent
    # A script's own folder leads sys.path: the repository (sidecar/, emulator/) must be named.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=repo, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    # httpx was not loaded before the lookup, and it was imported once, on a thread other than the loop's.
    assert out.stdout.strip() == "False [False]"
