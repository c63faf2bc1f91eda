"""``python -m sidecar mcp`` driven by a real MCP client: the official MCP Python SDK's stdio client
(test-only dependency) starts the real process, which forwards to the emulator's hosted MCP server,
RamOAuth and OpenAPI Explorer on loopback, as profiles signed in through the emulator's OAuth service.

Each test reads what the emulator saw (its MCP log, its tokens), so a proxy that answered from a
cache, skipped the policy or retried where it must not would fail here.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from emulator import Emulator
from emulator.identity import Identity
from sidecar.mcp.policy import READ_ONLY_POLICY
from sidecar.mcp.problems import SYSTEM_POLICY

from .flows import edit_profile, profile_of, signed_in

mcp = pytest.importorskip("mcp")
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402
from mcp.shared.exceptions import McpError  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
READ = {"command": "aliyun sts GetCallerIdentity"}
WRITE = {"command": "aliyun ecs StopInstance --InstanceId i-1"}
CALL_CLI = "AlibabaCloud___CallCLI"
pytestmark = pytest.mark.slow


def agent_env(emu: Emulator) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALIYUN_SIDECAR_")}
    env.update(emu.mcp_env())
    env.update({"ALIYUN_SIDECAR_SIGNIN_BASE": emu.url, "ALIYUN_SIDECAR_OAUTH_BASE": emu.url, "ALIYUN_SIDECAR_STS_ENDPOINT": emu.url})
    return env


@asynccontextmanager
async def agent(emu: Emulator, config: Path, *flags: str, errlog: Path | None = None) -> AsyncIterator[Any]:
    """An initialized MCP client session with ``python -m sidecar --config-path C mcp FLAGS``."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "sidecar", "--config-path", str(config), "mcp", *flags],
        env=agent_env(emu),
        cwd=str(REPO),
    )
    with open(errlog or os.devnull, "w", encoding="utf-8") as err:
        async with stdio_client(params, errlog=err) as (read, write):
            async with mcp.ClientSession(read, write) as session:
                session.initialize_result = await session.initialize()
                yield session


def issued(emu: Emulator) -> list[dict[str, Any]]:
    """The emulator's record of every MCP token it issued."""
    return [e for e in emu.mcp_log("ramoauth") if e.get("outcome") == "issued"]


def text_of(result: Any) -> str:
    return "\n".join(part.text for part in result.content if getattr(part, "type", "") == "text")


def arn_of(result: Any) -> str:
    assert not result.isError, text_of(result)
    return json.loads(text_of(result))["Arn"]


@pytest.fixture
async def dev(emulator: Emulator, config_path: Path) -> AsyncIterator[Path]:
    service = await signed_in(emulator, config_path, "dev")
    await service.aclose()
    yield config_path


async def test_an_agent_lists_reads_and_is_refused_a_write_in_read_only_mode(emulator: Emulator, dev: Path) -> None:
    async with agent(emulator, dev) as session:
        info = session.initialize_result
        assert info.serverInfo.name == "aliyun-sidecar" and info.serverInfo.title == "Alibaba Cloud (dev, read-only)"
        names = [tool.name for tool in (await session.list_tools()).tools]
        assert CALL_CLI in names and "AlibabaCloud___RunScript" in names
        assert arn_of(await session.call_tool(CALL_CLI, READ)) == emulator.state.config.identity.arn
        refused = await session.call_tool(CALL_CLI, WRITE)
        assert refused.isError and "safety policy" in text_of(refused)
        await session.send_ping()
    assert len(issued(emulator)) == 1  # one token for the whole session
    assert [e["outcome"] for e in emulator.mcp_log("safepolicy")] == ["bound"]
    assert [t.safe_policy.source for t in emulator.mcp.tokens() if t.safe_policy] == [READ_ONLY_POLICY]


async def test_full_mode_binds_no_policy_and_the_write_runs(emulator: Emulator, dev: Path) -> None:
    async with agent(emulator, dev, "--mode", "full") as session:
        assert session.initialize_result.serverInfo.title == "Alibaba Cloud (dev, full access)"
        result = await session.call_tool(CALL_CLI, WRITE)
        assert not result.isError and json.loads(text_of(result))["Accepted"] is True
    assert emulator.mcp_log("safepolicy") == [] and len(issued(emulator)) == 1


@pytest.mark.parametrize("bound", [False, True], ids=["session-per-account", "session-per-token"])
async def test_a_token_renewed_mid_session_goes_unnoticed(emulator: Emulator, dev: Path, bound: bool) -> None:
    emulator.configure_mcp(session_bound_to_token=bound)
    async with agent(emulator, dev) as session:
        assert arn_of(await session.call_tool(CALL_CLI, READ))
        assert emulator.expire_mcp_tokens() == 1  # the service ends the token early
        assert arn_of(await session.call_tool(CALL_CLI, READ))  # the agent sees nothing
        emulator.inject("mcp", "401", match="tools/call")  # and a refusal out of the blue
        assert arn_of(await session.call_tool(CALL_CLI, READ))
        assert (await session.list_tools()).tools
    assert len(issued(emulator)) == 3
    outcomes = [e["outcome"] for e in emulator.mcp_log("mcp") if e.get("rpc") == "tools/call"]
    assert outcomes.count("ok") == 3 and outcomes.count("fault 401") == 1


async def test_a_lost_session_is_rebuilt_and_a_json_rpc_error_is_passed_on_once(emulator: Emulator, dev: Path) -> None:
    async with agent(emulator, dev) as session:
        assert (await session.list_tools()).tools
        emulator.inject("mcp", "session_lost")
        assert arn_of(await session.call_tool(CALL_CLI, READ))
        emulator.inject("mcp", "jsonrpc_error", match="tools/call")
        with pytest.raises(McpError) as caught:
            await session.call_tool(CALL_CLI, READ)
        assert caught.value.error.code == -32603
    calls = [e for e in emulator.mcp_log("mcp") if e.get("rpc") == "tools/call"]
    assert [e["outcome"] for e in calls][-1] == "fault jsonrpc_error"  # sent once, not retried
    assert len([e for e in emulator.mcp_log("mcp") if e.get("rpc") == "initialize"]) == 2


@pytest.mark.parametrize("detail_only", [False, True], ids=["in-message", "detail-only"])
async def test_a_missing_permission_is_named_with_its_fix(emulator: Emulator, dev: Path, detail_only: bool) -> None:
    emulator.configure_mcp(deny_detail_only=detail_only)
    emulator.deny_permission("ram:GenerateAccessToken")
    async with agent(emulator, dev) as session:
        result = await session.call_tool(CALL_CLI, READ)
        assert result.isError
        assert "ram:GenerateAccessToken" in text_of(result) and SYSTEM_POLICY in text_of(result)
        with pytest.raises(McpError) as caught:
            await session.list_tools()
        assert caught.value.error.code == -32002 and caught.value.error.data["permission"] == "ram:GenerateAccessToken"
        emulator.clear_permission_denies()
        assert (await session.list_tools()).tools  # granted: works without a restart


async def test_the_mcp_endpoints_permission_is_named_after_one_renewal(emulator: Emulator, dev: Path) -> None:
    emulator.configure_mcp(mcp_checks_ram=True)
    emulator.deny_permission("openapiexplorer:*")
    async with agent(emulator, dev) as session:
        with pytest.raises(McpError) as caught:
            await session.list_tools()
    assert caught.value.error.data["kind"] == "permissionDenied"
    assert "openapiexplorer:" in caught.value.error.message and SYSTEM_POLICY in caught.value.error.message


async def test_the_official_app_not_installed_says_how_to_install_it(emulator: Emulator, dev: Path) -> None:
    emulator.configure_mcp(app_not_installed=True)
    async with agent(emulator, dev) as session:
        result = await session.call_tool(CALL_CLI, READ)
    assert result.isError and "API MCP Server" in text_of(result) and "OAuth Applications" in text_of(result)


async def test_the_agent_follows_a_profile_switch(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path, "dev")
    emulator.set_identity(Identity.user("ops", user_id="203456789012349999"))
    await signed_in(emulator, config_path, "ops", service=service)
    await service.switch_profile("dev")
    async with agent(emulator, config_path) as session:
        assert arn_of(await session.call_tool(CALL_CLI, READ)).endswith(":user/dev")
        await service.switch_profile("ops")  # the editor's status bar, or `aliyun configure switch`
        assert arn_of(await session.call_tool(CALL_CLI, READ)).endswith(":user/ops")
    await service.aclose()


async def test_a_named_profile_is_kept_whatever_the_current_one(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path, "dev")
    emulator.set_identity(Identity.user("ops", user_id="203456789012349999"))
    await signed_in(emulator, config_path, "ops", service=service)
    async with agent(emulator, config_path, "--profile", "dev") as session:
        assert session.initialize_result.serverInfo.title == "Alibaba Cloud (dev, read-only)"
        assert arn_of(await session.call_tool(CALL_CLI, READ)).endswith(":user/dev")
    await service.aclose()


async def test_a_profile_that_needs_a_sign_in_says_so(emulator: Emulator, dev: Path) -> None:
    emulator.revoke_refresh_tokens()
    emulator.expire_access_tokens()
    edit_profile(dev, "dev", sts_expiration=0, oauth_access_token_expire=0)
    async with agent(emulator, dev) as session:
        result = await session.call_tool(CALL_CLI, READ)
    assert result.isError and "needs a new browser sign-in" in text_of(result)
    assert "aliyun-sidecar signin --profile dev" in text_of(result)


async def test_servers_by_name_and_an_account_without_a_core(emulator: Emulator, dev: Path) -> None:
    async with agent(emulator, dev, "--server", "demo") as session:
        assert (await session.list_tools()).tools
    emulator.configure_mcp(core_exists=False)
    async with agent(emulator, dev) as session:
        with pytest.raises(McpError) as caught:
            await session.list_tools()
    assert caught.value.error.data["kind"] == "noServer" and "create-api-mcp-server-core" in caught.value.error.message


async def test_read_only_never_runs_without_its_policy(emulator: Emulator, dev: Path) -> None:
    emulator.inject("safepolicy", "500")
    async with agent(emulator, dev) as session:
        result = await session.call_tool(CALL_CLI, WRITE)
        assert result.isError and "read-only safety policy could not be bound" in text_of(result)
        assert not [e for e in emulator.mcp_log("mcp") if e.get("rpc") == "tools/call"]  # nothing reached the server
        refused = await session.call_tool(CALL_CLI, WRITE)  # the next try binds it, and the write is refused
        assert refused.isError and "safety policy" in text_of(refused)


async def test_nothing_secret_reaches_the_agent_stderr_or_the_log(emulator: Emulator, dev: Path, tmp_path: Path) -> None:
    errlog = tmp_path / "stderr.txt"
    emulator.deny_permission("ram:GenerateAccessToken")
    async with agent(emulator, dev, "--log-level", "debug", errlog=errlog) as session:
        denied = await session.call_tool(CALL_CLI, READ)
        emulator.clear_permission_denies()
        allowed = await session.call_tool(CALL_CLI, READ)
    profile = profile_of(dev, "dev")
    secrets = [profile["access_key_secret"], profile["sts_token"], profile["oauth_refresh_token"], profile["oauth_access_token"]]
    secrets += emulator.mcp.secrets()
    assert len(emulator.mcp.secrets()) == 1
    logs = list((Path(os.environ["HOME"])).rglob("mcp.log*"))
    assert logs, "the MCP log file was written under the (temporary) home"
    seen = text_of(denied) + text_of(allowed) + errlog.read_text() + "".join(p.read_text() for p in logs)
    for secret in secrets:
        assert secret not in seen


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--server", "http://example.com/mcp"], "must use https"),
        (["--server", "https://user@example.com/mcp"], "https URL"),
        (["--mode", "admin"], "invalid choice"),
    ],
)
def test_bad_flags_fail_at_once(emulator: Emulator, dev: Path, flags: list[str], said: str) -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "sidecar", "--config-path", str(dev), "mcp", *flags],
        cwd=REPO, env=agent_env(emulator), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2 and said in done.stderr and done.stdout == ""
