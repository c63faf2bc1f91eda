"""``sidecar/cli.py``: ``python -m sidecar credentials`` (an ``External`` profile's ``process_command``)
prints only JSON and exits 0, 2 (sign in again) or 1 (anything else), with no secret on stderr. (The
``signin`` command through a pseudo-terminal is in ``test_terminal_signin.py``.)"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from emulator import Emulator

from .conftest import load_json
from .flows import age, profile_of, signed_in
from .test_endpoint import REPO, URI_KEYS, assert_no_secrets, closed_port, matches_file, secret_values


def cli_env(home: Path, emu_url: str) -> dict[str, str]:
    return {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO),
        "PYTHONDONTWRITEBYTECODE": "1",
        "ALIYUN_SIDECAR_SIGNIN_BASE": emu_url,
        "ALIYUN_SIDECAR_OAUTH_BASE": emu_url,
    }


async def run_cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sidecar", *args,
        env=env, cwd=str(REPO), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_cli_credentials_prints_only_json(emulator: Emulator, config_path: Path, isolated_home: Path) -> None:
    service = await signed_in(emulator, config_path)
    await service.aclose()
    env = cli_env(isolated_home, emulator.url)
    code, out, err = await run_cli(env, "--config-path", str(config_path), "credentials", "--profile", "dev")
    assert code == 0 and err == ""
    assert out.endswith("\n") and out.count("\n") == 1
    external = json.loads(out)  # the whole of stdout is one JSON document
    assert set(external) == {"mode", "access_key_id", "access_key_secret", "sts_token", "expiration"}
    assert external["mode"] == "StsToken"
    profile = profile_of(config_path)
    ok = (external["access_key_id"], external["access_key_secret"], external["sts_token"]) == (
        profile["access_key_id"], profile["access_key_secret"], profile["sts_token"])
    assert ok, "the command printed other credentials than the file's"
    time.strptime(external["expiration"], "%Y-%m-%dT%H:%M:%SZ")

    code, out, err = await run_cli(env, "--config-path", str(config_path), "credentials", "--format", "uri")
    assert code == 0 and err == ""  # no --profile: the current one
    payload = json.loads(out)
    assert set(payload) == URI_KEYS and payload["Code"] == "Success"
    ok = matches_file(payload, config_path)
    assert ok


async def test_cli_credentials_sign_in_required_exits_2(emulator: Emulator, config_path: Path, isolated_home: Path) -> None:
    service = await signed_in(emulator, config_path)
    await service.aclose()
    old = secret_values(config_path)
    emulator.revoke_refresh_tokens()
    age(config_path, sts=-60, access=-60)
    code, out, err = await run_cli(cli_env(isolated_home, emulator.url), "--config-path", str(config_path), "credentials", "--profile", "dev")
    assert code == 2 and out == ""
    assert "needs a new browser sign-in" in err and "Run: aliyun-sidecar signin --profile dev" in err
    assert_no_secrets(err, config_path, *old.values())


async def test_cli_credentials_other_errors_exit_1(emulator: Emulator, config_path: Path, isolated_home: Path) -> None:
    service = await signed_in(emulator, config_path)
    await service.aclose()
    doc = load_json(config_path)
    doc["profiles"].append({"name": "ak", "mode": "AK", "access_key_id": "LTAIexample", "access_key_secret": "ak-secret-value-123"})
    config_path.write_text(json.dumps(doc))
    env = cli_env(isolated_home, emulator.url)
    base = ("--config-path", str(config_path), "credentials", "--profile")
    unknown, not_oauth = await asyncio.gather(run_cli(env, *base, "nobody"), run_cli(env, *base, "ak"))
    assert unknown[0] == 1 and unknown[1] == "" and "does not exist" in unknown[2]
    assert not_oauth[0] == 1 and not_oauth[1] == "" and "not OAuth" in not_oauth[2]

    # the service cannot be reached: tokens are kept, exit 1 (not 2: signing in would not help)
    age(config_path, sts=-60)
    before = secret_values(config_path)
    dead = {**env, "ALIYUN_SIDECAR_OAUTH_BASE": f"http://127.0.0.1:{closed_port()}"}
    code, out, err = await run_cli(dead, *base, "dev")
    assert code == 1 and out == "" and err.startswith("error: ")
    assert secret_values(config_path) == before
    assert_no_secrets(err, config_path)

    corrupt = config_path.with_name("corrupt.json")
    corrupt.write_text('{"current": "dev", "profiles": [')
    code, out, err = await run_cli(env, "--config-path", str(corrupt), "credentials", "--profile", "dev")
    assert code == 1 and out == "" and "not valid" in err
    assert corrupt.read_text() == '{"current": "dev", "profiles": ['
