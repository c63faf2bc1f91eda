"""The official Python SDK (``alibabacloud_credentials``, default chain, no config) as our client.

Each check runs the SDK in a child process with ``HOME`` set to the test's temporary home (the SDK
reads ``~/.aliyun/config.json`` through ``HOME`` and its environment variables at import time). The
child prints the AccessKeyId, the provider that answered and fingerprints (never values) of the
secret and the token. ``HTTPS_PROXY`` points at a closed port in every child: the SDK's hard-coded
production hosts are unreachable, so any network call of the SDK's own would fail the check.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from sidecar.config import profiles as P
from sidecar.credentials.endpoint import CredentialsEndpoint
from sidecar.credentials.keeper import CredentialKeeper
from emulator import Emulator
from sidecar.tokens import fingerprint

from .conftest import free_port_range, load_json, posix_only
from .rpc_harness import Sidecar, follow_in_browser
from .test_endpoint import emu  # noqa: F401 - the module's emulator fixture
from .flows import age, profile_of, signed_in
from .test_endpoint import REPO, assert_no_secrets, closed_port, emulator_calls, secret_values, source_of

SDK_CHILD = r"""
import json, os, sys
from alibabacloud_credentials.client import Client
from sidecar.tokens import fingerprint
uri = os.environ.get("ALIBABA_CLOUD_CREDENTIALS_URI")
try:
    cred = Client().get_credential()  # no config: the default provider chain
    print(json.dumps({
        "ok": True,
        "akid": cred.access_key_id,
        "provider": cred.provider_name,
        "secret": fingerprint(cred.access_key_secret or ""),
        "token": fingerprint(cred.security_token) if cred.security_token else None,
    }))
except Exception as exc:
    text = str(exc)
    if uri:
        text = text.replace(uri, "<uri>")  # the URL holds the session secret
    print(json.dumps({"ok": False, "error": type(exc).__name__, "message": text}))
"""


@pytest.fixture
def home_config(isolated_home: Path) -> Path:
    """The file the SDK reads: ``$HOME/.aliyun/config.json`` of the temporary home."""
    return isolated_home / ".aliyun" / "config.json"


def sdk_env(home: Path, emu: Emulator | None = None, **extra: str) -> dict[str, str]:
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO),
        "PYTHONDONTWRITEBYTECODE": "1",
        # The SDK's own production hosts are https: send every https request to a closed port.
        "HTTPS_PROXY": f"http://127.0.0.1:{closed_port()}",
        **extra,
    }
    if emu is not None:  # for our credentials command, run by the SDK (External mode)
        env["ALIYUN_SIDECAR_SIGNIN_BASE"] = env["ALIYUN_SIDECAR_OAUTH_BASE"] = emu.url
    return env


async def run_sdk(env: dict[str, str], child: str | None = None) -> dict[str, Any]:
    """Run the SDK's default chain in a child process (``child``: another script, default ``SDK_CHILD``)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", child or SDK_CHILD, env=env, cwd=str(env["HOME"]),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, "the SDK child crashed"
    return json.loads(out.decode().strip().splitlines()[-1])


def same_as_file(result: dict[str, Any], config: Path, name: str = "dev") -> bool:
    """Whether the SDK got exactly the STS credentials stored for ``name`` (compared by fingerprint)."""
    profile = profile_of(config, name)
    return (
        result.get("ok") is True
        and result["akid"] == profile["access_key_id"]
        and result["secret"] == fingerprint(profile["access_key_secret"])
        and result["token"] == fingerprint(profile["sts_token"])
    )


# ------------------------------------------------------------------ (a) the OAuth profile in the file


async def test_sdk_uses_our_oauth_profile_without_any_network_call(emu: Emulator, home_config: Path, isolated_home: Path) -> None:
    service = await signed_in(emu, home_config)
    before_bytes = home_config.read_bytes()
    calls = emulator_calls(emu)

    result = await run_sdk(sdk_env(isolated_home))
    assert result["ok"], result.get("error")
    assert result["provider"].startswith("default/cli_profile")
    ok = same_as_file(result, home_config)
    assert ok, "the SDK did not take the STS credentials our sign-in wrote"
    assert emulator_calls(emu) == calls  # nothing reached the emulator...
    assert home_config.read_bytes() == before_bytes  # ...and the SDK wrote nothing back

    # Control: with the STS credentials expired the SDK goes to the network itself, and fails
    # (production hosts behind a dead proxy). So the success above really was network-free.
    age(home_config, sts=-60)
    control = await run_sdk(sdk_env(isolated_home))
    assert not control["ok"]
    assert_no_secrets(control["message"], home_config)
    assert "oauth.aliyun.com" in control["message"]  # it tried its production host (and failed)
    assert emulator_calls(emu) == calls

    # The keeper (what the editor runs) puts fresh credentials back; the SDK is served again.
    await CredentialKeeper(service.refresher).tick()
    assert emulator_calls(emu) == (calls[0], calls[1] + 1)
    result = await run_sdk(sdk_env(isolated_home))
    ok = same_as_file(result, home_config)
    assert ok, "the SDK did not take the renewed credentials"
    await service.aclose()


# ------------------------------------------------------------------ (b) an External profile running our command


def external_profile(config: Path, command_profile: str = "dev") -> str:
    """Add an ``External`` profile running our command and make it current; returns the command."""
    command = " ".join(
        shlex.quote(part)
        for part in (sys.executable, "-m", "sidecar", "--config-path", str(config), "credentials", "--profile", command_profile)
    )
    doc = load_json(config)
    doc["profiles"].append({"name": "ext", "mode": "External", "process_command": command, "region_id": "cn-hangzhou"})
    doc["current"] = "ext"
    config.write_text(json.dumps(doc, indent="\t"))
    config.chmod(0o600)
    return command


@posix_only
async def test_sdk_external_profile_runs_our_command(emu: Emulator, home_config: Path, isolated_home: Path) -> None:
    service = await signed_in(emu, home_config)
    await service.aclose()
    external_profile(home_config)
    env = sdk_env(isolated_home, emu)
    calls = emulator_calls(emu)

    result = await run_sdk(env)
    assert result["ok"], result.get("error")
    assert result["provider"] == "default/cli_profile/external"
    ok = same_as_file(result, home_config)
    assert ok, "the SDK did not get the profile's STS credentials from our command"
    assert emulator_calls(emu) == calls  # fresh in the file: our command made no call either

    # The SDK writes what the command printed back into the External profile (its own behaviour),
    # keeping the file's mode; everything of ours survives.
    doc = load_json(home_config)
    ext, dev = P.get_profile(doc, "ext"), P.get_profile(doc, "dev")
    assert ext["access_key_id"] == dev["access_key_id"] and dev["mode"] == "OAuth"
    assert stat.S_IMODE(home_config.stat().st_mode) == 0o600

    # Expired in the file: our command renews them through the refresher (one exchange), not the SDK.
    age(home_config, sts=-60)
    result = await run_sdk(env)
    assert emulator_calls(emu) == (calls[0], calls[1] + 1)
    ok = same_as_file(result, home_config)
    assert ok, "the SDK did not get the renewed credentials"


async def test_sdk_external_profile_reports_sign_in_required(emu: Emulator, home_config: Path, isolated_home: Path) -> None:
    service = await signed_in(emu, home_config)
    await service.aclose()
    external_profile(home_config)
    old = secret_values(home_config)
    emu.revoke_refresh_tokens()
    age(home_config, sts=-60, access=-60)
    result = await run_sdk(sdk_env(isolated_home, emu))
    assert not result["ok"]
    assert_no_secrets(result["message"], home_config, *old.values())
    assert "exit status 2" in result["message"]
    assert "needs a new browser sign-in" in result["message"] and "signin --profile dev" in result["message"]


# ------------------------------------------------------------------ (c) our endpoint via ALIBABA_CLOUD_CREDENTIALS_URI


async def test_sdk_uses_our_endpoint_in_process(emu: Emulator, home_config: Path, isolated_home: Path) -> None:
    service = await signed_in(emu, home_config)
    async with await CredentialsEndpoint.start(source_of(service)) as endpoint:
        calls = emulator_calls(emu)
        result = await run_sdk(sdk_env(isolated_home, **endpoint.environment()))
        assert result["ok"], result.get("error")
        assert result["provider"] == "default/credential_uri"
        ok = same_as_file(result, home_config)
        assert ok, "the SDK did not get the profile's credentials from the endpoint"
        assert emulator_calls(emu) == calls

        # Without ALIBABA_CLOUD_CLI_PROFILE_DISABLED the config file comes first in the chain.
        only_uri = await run_sdk(sdk_env(isolated_home, ALIBABA_CLOUD_CREDENTIALS_URI=endpoint.uri))
        assert only_uri["ok"] and only_uri["provider"].startswith("default/cli_profile")

        # Sign-in required: the SDK raises, with our message (and no secret) in its text.
        old = secret_values(home_config)
        emu.revoke_refresh_tokens()
        age(home_config, sts=-60, access=-60)
        failed = await run_sdk(sdk_env(isolated_home, **endpoint.environment()))
        assert not failed["ok"]
        assert_no_secrets(failed["message"], home_config, *old.values())
        assert "http_code=503" in failed["message"] and "SignInRequired" in failed["message"]
    await service.aclose()


async def test_sdk_uses_the_endpoint_of_a_real_sidecar(emu: Emulator, home_config: Path, isolated_home: Path) -> None:
    """``aliyun/credentialsEndpoint`` on a real ``python -m sidecar``: started once, follows the
    profile switched over JSON-RPC, and gone when the sidecar shuts down."""
    emu.set_auto_approve(True)
    first, last = free_port_range()
    side = Sidecar(
        isolated_home,
        {
            "configPath": str(home_config),
            "endpoints": {"signinBase": emu.url, "oauthBase": emu.url},
            "callbackPorts": [first, last],
            "keepFresh": False,
            "logLevel": "debug",
        },
    )
    side.browser = follow_in_browser
    await side.start()
    try:
        for name in ("dev", "prod"):
            await side.request("aliyun/signIn", {"profile": name, "site": "CN", "region": "cn-hangzhou"})
        answer = await side.request("aliyun/credentialsEndpoint", {})
        again = await side.request("aliyun/credentialsEndpoint", {})
        assert again == answer  # once per sidecar
        uri, environment = answer["uri"], answer["environment"]
        assert uri.startswith("http://127.0.0.1:") and uri.endswith("/credentials")
        assert environment["ALIBABA_CLOUD_CREDENTIALS_URI"] == uri
        assert environment["ALIBABA_CLOUD_CLI_PROFILE_DISABLED"] == "true"

        result = await run_sdk(sdk_env(isolated_home, **environment))
        assert result["provider"] == "default/credential_uri"
        ok = same_as_file(result, home_config, "prod")
        assert ok, "the SDK did not get the current profile (prod)"
        await side.request("aliyun/switchProfile", {"name": "dev"})
        result = await run_sdk(sdk_env(isolated_home, **environment))
        ok = same_as_file(result, home_config, "dev")
        assert ok, "the endpoint did not follow the switch to dev"
    finally:
        code = await side.stop()
    assert code == 0
    stderr = side.stderr.decode("utf-8", "replace")
    assert uri.split("/")[3] not in stderr, "the session secret reached the sidecar's log"
    assert_no_secrets(stderr, home_config)
    gone = await run_sdk(sdk_env(isolated_home, **environment))
    assert not gone["ok"]  # the URL died with the sidecar


# ------------------------------------------------------------------ (d) the SDK refreshing on its own (issue 13)

#: The SDK's OAuth provider with its hard-coded production host replaced by the emulator's URL (the
#: only change: the SDK's code runs as shipped), then the same child as above.
SDK_OAUTH_CHILD = (
    "import os\n"
    "from alibabacloud_credentials.provider import oauth as _oauth\n"
    "_original = _oauth.OAuthCredentialsProvider.__init__\n"
    "def _init(self, *args, **kwargs):\n"
    "    kwargs['sign_in_url'] = os.environ['EMULATOR_OAUTH_BASE']\n"
    "    _original(self, *args, **kwargs)\n"
    "_oauth.OAuthCredentialsProvider.__init__ = _init\n"
) + SDK_CHILD


@pytest.mark.parametrize(("spelling", "sdk_reads_it"), [("pascal", True), ("camel", False)])
async def test_the_sdk_refreshing_itself_does_not_sign_the_user_out(
    home_config: Path, isolated_home: Path, spelling: str, sdk_reads_it: bool
) -> None:
    """The Python SDK renews the access token itself (20 minutes or less left), spends the rotating
    refresh token, exchanges, and writes the result back. Against the service in the spelling it
    reads (PascalCase), the rotation is saved and we carry on with it: nobody is signed out. In the
    other spelling (the control) it spends the token, cannot read the answer, saves nothing, and the
    user is signed out: the reading matters, and ours must not depend on it."""
    from sidecar.errors import SignInRequired

    with Emulator(auto_approve=True, exchange_spelling=spelling) as emu:
        service = await signed_in(emu, home_config)
        spent = profile_of(home_config)["oauth_refresh_token"]
        age(home_config, sts=-60, access=600)  # the SDK's own rule: renew at 1200 s or less
        env = sdk_env(isolated_home, EMULATOR_OAUTH_BASE=emu.url)
        result = await run_sdk(env, SDK_OAUTH_CHILD)
        assert emu.stats["refreshes"] == 1  # the SDK spent the refresh token
        if not sdk_reads_it:
            assert not result["ok"]
            assert profile_of(home_config)["oauth_refresh_token"] == spent  # nothing was saved
            with pytest.raises(SignInRequired):
                await service.refresher.credentials("dev", force="accessToken")
            await service.aclose()
            return
        assert result["ok"], result.get("error")
        assert same_as_file(result, home_config), "the SDK did not save what it got"
        saved = profile_of(home_config)["oauth_refresh_token"]
        assert saved != spent
        service.refresher.invalidate()
        await service.refresher.credentials("dev", force="accessToken")  # we carry on with its token
        assert emu.stats["invalid_grant"] == 0
        assert (await service.profile_entry("dev")).state == "valid"
        await service.aclose()
