"""The emulator's MCP services (issue 23, item 3): RamOAuth ``GenerateAccessToken``, OpenAPI Explorer
(``ListApiMcpServerCores``, ``ListApiMcpServers``, ``/safePolicy/set``) and the MCP Streamable-HTTP
server, checked against the official SDKs as the oracle where they are installed.

Everything runs over real HTTP against an in-process emulator; expiries are reached with
``expire_*`` operations or clock skew, never by sleeping.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from emulator import Emulator, Identity

from .test_emulator import exchange, sign_in

CN_MCP_CLIENT = "4071151845732613353"
INTL_MCP_CLIENT = "4195410055503316452"
SCOPE = "/internal/acs/openapi"


@dataclass(frozen=True)
class Sts:
    access_key_id: str
    access_key_secret: str
    security_token: str


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0, follow_redirects=False, verify=False) as client:
        yield client


def sts_of(http: httpx.Client, emu: Emulator) -> Sts:
    """A sign-in and an exchange: STS credentials the emulator issued."""
    answer = exchange(http, emu, sign_in(http, emu)["access_token"]).json()
    return Sts(answer["accessKeyId"], answer["accessKeySecret"], answer["securityToken"])


def sdk_client(emu: Emulator, sts: Sts, *, rpc_v1: bool = True) -> Any:
    """The official OpenAPI client as the official proxy configures it (``signature_algorithm="v2"``
    routes RPC calls to signature v1)."""
    from alibabacloud_tea_openapi import models as open_api_models
    from alibabacloud_tea_openapi.client import Client

    config = open_api_models.Config(
        access_key_id=sts.access_key_id,
        access_key_secret=sts.access_key_secret,
        security_token=sts.security_token,
        endpoint=emu.url.removeprefix("http://"),
        protocol="http",
        read_timeout=10000,
        connect_timeout=5000,
    )
    if rpc_v1:
        config.signature_algorithm = "v2"
    return Client(config)


def sdk_generate_access_token(emu: Emulator, sts: Sts, **query: str) -> dict[str, Any]:
    from alibabacloud_tea_openapi import utils_models
    from darabonba.runtime import RuntimeOptions

    params = utils_models.Params(
        action="GenerateAccessToken",
        version="2026-04-21",
        protocol="HTTP",
        pathname="/",
        method="POST",
        auth_type="AK",
        style="RPC",
        req_body_type="formData",
        body_type="json",
    )
    request = utils_models.OpenApiRequest(query={"ClientId": CN_MCP_CLIENT, "Scope": SCOPE, **query})
    return sdk_client(emu, sts).call_api(params, request, RuntimeOptions())


def sdk_error(call: Any) -> Any:
    from darabonba.exceptions import DaraException

    with pytest.raises(DaraException) as caught:
        call()
    return caught.value


# -- GenerateAccessToken --------------------------------------------------------------------------------


def test_generate_access_token_signed_by_the_official_sdk_is_accepted(emu: Emulator, http: httpx.Client) -> None:
    emu.configure_mcp(token_ttl=1234)
    answer = sdk_generate_access_token(emu, sts_of(http, emu))
    assert answer["statusCode"] == 200
    data = answer["body"]["Data"]
    assert answer["body"]["RequestId"]
    assert data["TokenType"] == "Bearer" and data["ExpiresIn"] == "1234" and data["Scope"] == SCOPE
    token = emu.mcp.token(data["AccessToken"])
    assert token is not None and token.identity == emu.state.config.identity and token.client_id == CN_MCP_CLIENT
    assert [e["outcome"] for e in emu.mcp_log("ramoauth")] == ["issued"]
    assert emu.mcp_log("ramoauth")[0]["token"] == emu.token_id(data["AccessToken"])


def test_generate_access_token_on_the_wire_as_the_official_proxy_sends_it(emu: Emulator, http: httpx.Client) -> None:
    """Query-only parameters, ``application/octet-stream`` with an empty body (mcp.md §13)."""
    from alibabacloud_tea_openapi.utils import Utils

    sts = sts_of(http, emu)

    def signed(**changes: str) -> dict[str, str]:
        query = {
            "Action": "GenerateAccessToken",
            "Format": "json",
            "Version": "2026-04-21",
            "Timestamp": Utils.get_timestamp(),
            "SignatureNonce": Utils.get_nonce(),
            "ClientId": INTL_MCP_CLIENT,
            "Scope": SCOPE,
            "SecurityToken": sts.security_token,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "AccessKeyId": sts.access_key_id,
        }
        query.update(changes)
        query["Signature"] = Utils.get_rpcsignature(query, "POST", sts.access_key_secret)
        return query

    headers = {"content-type": "application/octet-stream", "content-length": "0", "accept": "*/*"}
    good = signed()
    answer = http.post(f"{emu.url}/", params=good, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["Data"]["AccessToken"]
    replay = http.post(f"{emu.url}/", params=good, headers=headers)
    assert replay.status_code == 400 and replay.json()["Code"] == "SignatureNonceUsed"
    tampered = {**signed(), "Scope": "/acs/mcp-server"}
    refused = http.post(f"{emu.url}/", params=tampered, headers=headers)
    assert refused.status_code == 400 and refused.json()["Code"] == "SignatureDoesNotMatch"
    stale = signed(Timestamp="2020-01-01T00:00:00Z")
    assert http.post(f"{emu.url}/", params=stale, headers=headers).json()["Code"] == "InvalidTimeStamp.Expired"
    sha256 = signed(SignatureMethod="HMAC-SHA256")
    assert http.post(f"{emu.url}/", params=sha256, headers=headers).json()["Code"] == "IncompleteSignature"
    no_token = signed()
    del no_token["SecurityToken"]
    no_token["Signature"] = Utils.get_rpcsignature({k: v for k, v in no_token.items() if k != "Signature"}, "POST", sts.access_key_secret)
    assert http.post(f"{emu.url}/", params=no_token, headers=headers).json()["Code"] == "InvalidAccessKeyId.NotFound"
    unknown_client = signed(ClientId="123")
    assert http.post(f"{emu.url}/", params=unknown_client, headers=headers).json()["Code"] == "InvalidClient"


def test_a_tampered_sdk_request_is_refused(emu: Emulator, http: httpx.Client) -> None:
    sts = sts_of(http, emu)
    wrong = Sts(sts.access_key_id, sts.access_key_secret[:-1] + ("A" if sts.access_key_secret[-1] != "A" else "B"), sts.security_token)
    error = sdk_error(lambda: sdk_generate_access_token(emu, wrong))
    assert error.code == "SignatureDoesNotMatch"
    assert emu.mcp.tokens() == []


def test_expired_sts_is_refused(emu: Emulator, http: httpx.Client) -> None:
    sts = sts_of(http, emu)
    emu.expire_sts()
    assert sdk_error(lambda: sdk_generate_access_token(emu, sts)).code == "InvalidSecurityToken.Expired"


@pytest.mark.parametrize("detail_only", [False, True])
def test_a_ram_deny_is_a_403_naming_the_action(emu: Emulator, http: httpx.Client, detail_only: bool) -> None:
    sts = sts_of(http, emu)
    emu.configure_mcp(deny_detail_only=detail_only)
    emu.deny_permission("ram:GenerateAccessToken", emu.state.config.identity.arn)
    error = sdk_error(lambda: sdk_generate_access_token(emu, sts))
    assert error.code == "NoPermission" and error.status_code == 403
    assert ("Action: ram:GenerateAccessToken" in error.message) is not detail_only
    answer = sdk_error(lambda: sdk_generate_access_token(emu, sts))
    assert answer.data["AccessDeniedDetail"]["AuthAction"] == "ram:GenerateAccessToken"
    emu.clear_permission_denies()
    assert sdk_generate_access_token(emu, sts)["statusCode"] == 200


def test_a_deny_for_another_identity_does_not_apply(emu: Emulator, http: httpx.Client) -> None:
    emu.deny_permission("ram:*", Identity.user("someone-else").arn)
    assert sdk_generate_access_token(emu, sts_of(http, emu))["statusCode"] == 200


def test_app_not_installed_and_boundary_policy(emu: Emulator, http: httpx.Client) -> None:
    sts = sts_of(http, emu)
    bad = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    assert sdk_error(lambda: sdk_generate_access_token(emu, sts, Policy=bad)).code == "InvalidParameter.Policy"
    good = json.dumps({"Version": "1", "Statement": [{"Effect": "Deny", "Action": "ecs:Delete*", "Resource": "*"}]})
    token = sdk_generate_access_token(emu, sts, Policy=good)["body"]["Data"]["AccessToken"]
    assert emu.mcp.token(token).boundary.denies("ecs:DeleteInstance") == "ecs:Delete*"
    emu.configure_mcp(app_not_installed=True)
    assert sdk_error(lambda: sdk_generate_access_token(emu, sts)).code == "AppNotFound"


def test_acs3_is_refused_unless_switched_on(emu: Emulator, http: httpx.Client) -> None:
    from alibabacloud_tea_openapi import utils_models
    from darabonba.runtime import RuntimeOptions

    sts = sts_of(http, emu)
    params = utils_models.Params(
        action="GenerateAccessToken", version="2026-04-21", protocol="HTTP", pathname="/", method="POST",
        auth_type="AK", style="RPC", req_body_type="formData", body_type="json",
    )

    def call() -> dict[str, Any]:
        request = utils_models.OpenApiRequest(query={"ClientId": CN_MCP_CLIENT, "Scope": SCOPE})
        return sdk_client(emu, sts, rpc_v1=False).call_api(params, request, RuntimeOptions())

    assert sdk_error(call).code == "IncompleteSignature"
    emu.configure_mcp(ramoauth_accept_acs3=True)
    assert call()["statusCode"] == 200


def test_sts_get_caller_identity_still_answers_at_the_same_path(emu: Emulator, http: httpx.Client) -> None:
    from alibabacloud_tea_openapi import utils_models
    from darabonba.runtime import RuntimeOptions

    params = utils_models.Params(
        action="GetCallerIdentity", version="2015-04-01", protocol="HTTP", pathname="/", method="POST",
        auth_type="AK", style="RPC", req_body_type="formData", body_type="json",
    )
    answer = sdk_client(emu, sts_of(http, emu), rpc_v1=False).call_api(params, utils_models.OpenApiRequest(), RuntimeOptions())
    assert answer["body"]["AccountId"] == emu.state.config.identity.account_id


# -- OpenAPI Explorer -----------------------------------------------------------------------------------


def sdk_roa(emu: Emulator, sts: Sts, action: str, pathname: str, method: str = "GET", query: dict[str, str] | None = None) -> dict[str, Any]:
    """An ACS3-signed ROA call with the official client (what discovery sends)."""
    from alibabacloud_tea_openapi import utils_models
    from darabonba.runtime import RuntimeOptions

    params = utils_models.Params(
        action=action, version="2024-11-30", protocol="HTTP", pathname=pathname, method=method,
        auth_type="AK", style="ROA", req_body_type="json", body_type="json",
    )
    return sdk_client(emu, sts, rpc_v1=False).call_api(params, utils_models.OpenApiRequest(query=query or {}), RuntimeOptions())


def test_list_cores_returns_the_accounts_core_pointing_at_the_emulator(emu: Emulator, http: httpx.Client) -> None:
    answer = sdk_roa(emu, sts_of(http, emu), "ListApiMcpServerCores", "/apimcpservercores")["body"]
    assert answer["requestId"] and answer["totalCount"] == 1 and answer["nextToken"] == "" and answer["maxResults"] == 20
    core = answer["apiMcpServerCores"][0]
    uid = emu.state.config.identity.account_id
    assert core["urls"]["mcp"] == emu.mcp_url() and core["urls"]["mcp"].startswith(f"{emu.url}/accounts/{uid}/custom/")
    assert core["urls"]["mcp"].endswith(f"/id/{core['id']}/mcp")
    assert set(emu.mcp_env().values()) == {emu.url}


def test_list_cores_empty_denied_and_tampered(emu: Emulator, http: httpx.Client) -> None:
    sts = sts_of(http, emu)
    emu.configure_mcp(core_exists=False)
    empty = sdk_roa(emu, sts, "ListApiMcpServerCores", "/apimcpservercores")["body"]
    assert empty["totalCount"] == 0 and empty["apiMcpServerCores"] == []
    emu.deny_permission("openapiexplorer:*")
    error = sdk_error(lambda: sdk_roa(emu, sts, "ListApiMcpServerCores", "/apimcpservercores"))
    assert error.code == "NoPermission" and "openapiexplorer:ListApiMcpServerCores" in error.message
    emu.clear_permission_denies()
    forged = Sts(sts.access_key_id, "x" * 44, sts.security_token)
    assert sdk_error(lambda: sdk_roa(emu, forged, "ListApiMcpServerCores", "/apimcpservercores")).code == "SignatureDoesNotMatch"


def test_list_servers_filters_and_pages(emu: Emulator, http: httpx.Client) -> None:
    sts = sts_of(http, emu)
    emu.configure_mcp(custom_servers=["alpha", "beta", "gamma"])
    first = sdk_roa(emu, sts, "ListApiMcpServers", "/apimcpservers", query={"maxResults": "2"})["body"]
    assert first["totalCount"] == 3 and [s["name"] for s in first["apiMcpServers"]] == ["alpha", "beta"]
    rest = sdk_roa(emu, sts, "ListApiMcpServers", "/apimcpservers", query={"maxResults": "2", "nextToken": first["nextToken"]})["body"]
    assert [s["name"] for s in rest["apiMcpServers"]] == ["gamma"] and rest["nextToken"] == ""
    found = sdk_roa(emu, sts, "ListApiMcpServers", "/apimcpservers", query={"keyword": "bet"})["body"]["apiMcpServers"]
    assert [(s["name"], s["sourceType"]) for s in found] == [("beta", "custom")]
    assert found[0]["urls"]["mcp"].startswith(emu.url)
    assert sdk_roa(emu, sts, "ListApiMcpServers", "/apimcpservers", query={"sourceType": "system"})["body"]["totalCount"] == 0


# -- the safety policy ----------------------------------------------------------------------------------


def new_token(http: httpx.Client, emu: Emulator, **query: str) -> str:
    return sdk_generate_access_token(emu, sts_of(http, emu), **query)["body"]["Data"]["AccessToken"]


def set_policy(http: httpx.Client, emu: Emulator, body: dict[str, Any]) -> httpx.Response:
    """As the official proxy sends it: anonymous ROA, JSON body (mcp.md §3.3)."""
    headers = {
        "content-type": "application/json; charset=utf-8",
        "accept": "application/json",
        "x-acs-action": "UpdateBearerTokenSafetyPolicy",
        "x-acs-version": "2024-11-30",
        "x-acs-signature-method": "HMAC-SHA1",
        "x-acs-signature-nonce": "33a653772a130384182eae5b3a34c7af",
        "x-acs-signature-version": "1.0",
    }
    return http.post(f"{emu.url}/safePolicy/set", content=json.dumps(body), headers=headers)


def test_safe_policy_is_bound_to_the_token(emu: Emulator, http: httpx.Client) -> None:
    from emulator.safety import READ_ONLY_POLICY

    token = new_token(http, emu)
    answer = set_policy(http, emu, {"bearerToken": token, "safePolicy": READ_ONLY_POLICY})
    assert answer.status_code == 200 and set(answer.json()) == {"requestId"}
    record = emu.mcp.token(token)
    assert record.safe_policy.source == READ_ONLY_POLICY and record.allowed_tools is None
    tools = json.dumps({"allowedTools": ["AlibabaCloud___CallCLI"]})
    assert set_policy(http, emu, {"bearerToken": token, "safePolicy": '{"rules":[]}', "toolPolicy": tools}).status_code == 200
    assert emu.mcp.token(token).allowed_tools == {"AlibabaCloud___CallCLI"} and emu.mcp.token(token).safe_policy.rules == ()
    emu.configure_mcp(safe_policy_create_only=True)
    assert set_policy(http, emu, {"bearerToken": token, "safePolicy": "*=deny"}).status_code == 409


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"safePolicy": "*=deny"}, "MissingBearerToken"),
        ({"bearerToken": "not-a-token", "safePolicy": "*=deny"}, "InvalidBearerToken"),
        ({"bearerToken": "<token>", "safePolicy": "ecs:*=maybe"}, "InvalidParameter.SafePolicy"),
        ({"bearerToken": "<token>", "safePolicy": "ecs:*"}, "InvalidParameter.SafePolicy"),
        ({"bearerToken": "<token>", "safePolicy": '{"rules": 3}'}, "InvalidParameter.SafePolicy"),
        ({"bearerToken": "<token>", "toolPolicy": "[]"}, "InvalidParameter.SafePolicy"),
        ({"bearerToken": "<token>"}, "MissingSafePolicy"),
    ],
)
def test_bad_tokens_and_policies_are_4xx(emu: Emulator, http: httpx.Client, body: dict[str, Any], code: str) -> None:
    token = new_token(http, emu)
    body = {k: (token if v == "<token>" else v) for k, v in body.items()}
    answer = set_policy(http, emu, body)
    assert 400 <= answer.status_code < 500 and answer.json()["Code"] == code
    assert token not in answer.text
    assert emu.mcp.token(token).safe_policy is None


def test_an_expired_token_cannot_get_a_policy(emu: Emulator, http: httpx.Client) -> None:
    token = new_token(http, emu)
    emu.expire_mcp_tokens()
    assert set_policy(http, emu, {"bearerToken": token, "safePolicy": "*=deny"}).json()["Code"] == "InvalidBearerToken.Expired"


def test_the_safety_policy_grammar() -> None:
    from emulator.safety import READ_ONLY_POLICY, parse_safety_policy

    read_only = parse_safety_policy(READ_ONLY_POLICY)
    for subject in ("ecs:describe-regions", "sts:get-caller-identity", "alibabacloud:list-products", "alibabacloud:get-task"):
        assert read_only.decide(subject)[0], subject
    for subject in ("ecs:run-instances", "ecs:delete-instance", "alibabacloud:run-script", "alibabacloud:run-iac"):
        assert read_only.decide(subject) == (False, "*=deny"), subject
    first_wins = parse_safety_policy(" ECS:Describe-*=ALLOW , *=deny")
    assert first_wins.decide("ecs:describe-instances") == (True, "ECS:Describe-*=allow")
    assert parse_safety_policy('{"rules":[{"pattern":"ecs:*","action":"deny"}]}').decide("ecs:x") == (False, "ecs:*=deny")
    assert parse_safety_policy('{"rules":[]}').decide("anything:at-all") == (True, "")


# -- the MCP server over httpx --------------------------------------------------------------------------

ACCEPT = "application/json, text/event-stream"


class Mcp:
    """A bare Streamable-HTTP client: one JSON-RPC message per POST, answers read as JSON or SSE."""

    def __init__(self, http: httpx.Client, url: str, token: str | None) -> None:
        self.http, self.url, self.token = http, url, token
        self.session: str | None = None
        self.version = ""
        self.next_id = 0

    def headers(self) -> dict[str, str]:
        headers = {"accept": ACCEPT, "content-type": "application/json"}
        if self.token is not None:
            headers["authorization"] = f"Bearer {self.token}"
        if self.session:
            headers["mcp-session-id"] = self.session
        if self.version:
            headers["mcp-protocol-version"] = self.version
        return headers

    def post(self, method: str, params: dict[str, Any] | None = None, *, notify: bool = False) -> httpx.Response:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if not notify:
            message["id"] = self.next_id
            self.next_id += 1
        return self.http.post(self.url, content=json.dumps(message), headers=self.headers())

    @staticmethod
    def answer(response: httpx.Response) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        if response.headers["content-type"].startswith("text/event-stream"):
            data = [line[len("data: ") :] for line in response.text.splitlines() if line.startswith("data: ")]
            assert "event: message" in response.text and len(data) == 1
            return json.loads(data[0])
        assert response.headers["content-type"].startswith("application/json")
        return response.json()

    def initialize(self, version: str = "2025-06-18") -> dict[str, Any]:
        response = self.post("initialize", {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}})
        result = self.answer(response)["result"]
        self.session = response.headers.get("mcp-session-id")
        self.version = result["protocolVersion"]
        assert self.post("notifications/initialized", notify=True).status_code == 202
        return result

    def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        return self.answer(self.post("tools/call", {"name": tool, "arguments": arguments}))


@pytest.fixture
def mcp_token(emu: Emulator, http: httpx.Client) -> str:
    return new_token(http, emu)


def test_the_mcp_flow(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    client = Mcp(http, emu.mcp_url(), mcp_token)
    result = client.initialize()
    assert result["protocolVersion"] == "2025-06-18" and result["capabilities"]["tools"] == {"listChanged": False}
    assert client.session
    tools = {t["name"]: t for t in client.answer(client.post("tools/list"))["result"]["tools"]}
    assert {"AlibabaCloud___CallCLI", "AlibabaCloud___ListProducts", "AlibabaCloud___RunScript"} <= set(tools)
    assert tools["AlibabaCloud___CallCLI"]["inputSchema"]["required"] == ["command"]
    read = client.call("AlibabaCloud___CallCLI", command="aliyun sts GetCallerIdentity")["result"]
    assert read["isError"] is False
    assert json.loads(read["content"][0]["text"])["Arn"] == emu.state.config.identity.arn
    write = client.call("AlibabaCloud___CallCLI", command="aliyun ecs RunInstances --ImageId x")["result"]
    assert write["isError"] is False and json.loads(write["content"][0]["text"])["Accepted"] is True
    assert client.answer(client.post("ping"))["result"] == {}
    assert client.answer(client.post("resources/list"))["error"]["code"] == -32601
    assert client.call("AlibabaCloud___Nope")["error"]["code"] == -32602
    bad = client.call("AlibabaCloud___CallCLI", command="aliyun ecs DescribeRegions | sh")["result"]
    assert bad["isError"] is True
    assert client.call("AlibabaCloud___CallCLI")["result"]["content"][0]["text"] == "Input validation error: 'command' is a required property"
    log = emu.mcp_log("mcp")
    calls = [e for e in log if e.get("tool") == "AlibabaCloud___CallCLI"]
    assert calls[0]["token"] == emu.token_id(mcp_token) and calls[0]["session"] == client.session
    assert calls[0]["subject"] == "sts:get-caller-identity" and calls[0]["outcome"] == "ok"
    assert mcp_token not in json.dumps(log)


@pytest.mark.parametrize(
    ("asked", "answered"),
    [("2024-11-05", "2024-11-05"), ("2025-03-26", "2025-03-26"), ("2025-11-25", "2025-11-25"), ("2099-01-01", "2025-11-25")],
)
def test_protocol_version_negotiation(emu: Emulator, http: httpx.Client, mcp_token: str, asked: str, answered: str) -> None:
    assert Mcp(http, emu.mcp_url(), mcp_token).initialize(asked)["protocolVersion"] == answered


def test_a_forced_protocol_version(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    emu.configure_mcp(protocol_version="2026-07-28")
    client = Mcp(http, emu.mcp_url(), mcp_token)
    assert client.initialize("2025-11-25")["protocolVersion"] == "2026-07-28"
    assert client.answer(client.post("tools/list"))["result"]["tools"]
    client.version = "1999-01-01"
    assert client.post("tools/list").status_code == 400


def test_write_refused_under_a_read_only_policy(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    from emulator.safety import READ_ONLY_POLICY

    assert set_policy(http, emu, {"bearerToken": mcp_token, "safePolicy": READ_ONLY_POLICY}).status_code == 200
    client = Mcp(http, emu.mcp_url(), mcp_token)
    client.initialize()
    read = client.call("AlibabaCloud___CallCLI", command="aliyun ecs DescribeRegions --region cn-hangzhou")["result"]
    assert read["isError"] is False and "cn-hangzhou" in read["content"][0]["text"]
    assert client.call("AlibabaCloud___ListProducts", filter="ec")["result"]["isError"] is False
    for tool, arguments in (
        ("AlibabaCloud___CallCLI", {"command": "aliyun ecs DeleteInstance --InstanceId i-1"}),
        ("AlibabaCloud___CallCLI", {"command": "aliyun ecs run-instances"}),
        ("AlibabaCloud___RunScript", {"script": "aliyun ecs StopInstance"}),
    ):
        refused = client.call(tool, **arguments)["result"]
        assert refused["isError"] is True and "safety policy" in refused["content"][0]["text"], refused
    assert [e["outcome"] for e in emu.mcp_log("mcp") if e.get("rpc") == "tools/call"] == ["ok", "ok", "denied", "denied", "denied"]
    emu.configure_mcp(policy_denial="jsonrpc_error")
    error = client.call("AlibabaCloud___RunScript", script="x")["error"]
    assert error["code"] == -32001 and "run-script" in error["message"]


def test_tool_policy_and_boundary_policy(emu: Emulator, http: httpx.Client) -> None:
    boundary = json.dumps({"Version": "1", "Statement": [{"Effect": "Deny", "Action": ["ecs:Delete*"], "Resource": "*"}]})
    token = new_token(http, emu, Policy=boundary)
    tools = json.dumps({"allowedTools": ["AlibabaCloud___CallCLI"]})
    assert set_policy(http, emu, {"bearerToken": token, "safePolicy": '{"rules":[]}', "toolPolicy": tools}).status_code == 200
    client = Mcp(http, emu.mcp_url(), token)
    client.initialize()
    assert "tool policy" in client.call("AlibabaCloud___ListProducts")["result"]["content"][0]["text"]
    assert "boundary policy" in client.call("AlibabaCloud___CallCLI", command="aliyun ecs DeleteInstance")["result"]["content"][0]["text"]
    assert len(client.answer(client.post("tools/list"))["result"]["tools"]) > 1
    emu.configure_mcp(tool_policy_filters_list=True)
    assert [t["name"] for t in client.answer(client.post("tools/list"))["result"]["tools"]] == ["AlibabaCloud___CallCLI"]


@pytest.mark.parametrize("token", [None, "unknown-token"])
def test_missing_or_unknown_bearer_is_401(emu: Emulator, http: httpx.Client, token: str | None) -> None:
    answer = Mcp(http, emu.mcp_url(), token).post("initialize", {"protocolVersion": "2025-06-18"})
    assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")


def test_expired_token_is_401_on_every_request(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    client = Mcp(http, emu.mcp_url(), mcp_token)
    client.initialize()
    emu.expire_mcp_tokens()
    answer = client.post("tools/list")
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert "expired" in answer.json()["error_description"]
    client.token = new_token(http, emu)
    assert client.answer(client.post("tools/list"))["result"]["tools"]  # a fresh token on the same session


def test_a_short_token_lifetime_runs_out(emu: Emulator, http: httpx.Client) -> None:
    emu.configure_mcp(token_ttl=60)
    token = new_token(http, emu)
    client = Mcp(http, emu.mcp_url(), token)
    client.initialize()
    emu.set_clock_skew(61)
    assert client.post("tools/list").status_code == 401


def test_sessions_unknown_missing_deleted(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    client = Mcp(http, emu.mcp_url(), mcp_token)
    client.initialize()
    session = client.session
    client.session = None
    assert client.post("tools/list").status_code == 400
    client.session = "no-such-session"
    assert client.post("tools/list").status_code == 404
    client.session = session
    assert http.delete(emu.mcp_url(), headers=client.headers()).status_code == 204
    assert client.post("tools/list").status_code == 404
    assert http.delete(emu.mcp_url(), headers=client.headers()).status_code == 404


def test_another_accounts_server_and_unknown_paths(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    other = emu.mcp_url("9999999999999999")
    assert Mcp(http, other, mcp_token).post("initialize", {}).status_code == 403
    assert Mcp(http, emu.mcp_url().replace("/id/", "/id/x"), mcp_token).post("initialize", {}).status_code == 404
    assert Mcp(http, emu.mcp_url()[: -len("mcp")] + "sse", mcp_token).post("initialize", {}).status_code == 404


def test_custom_server_path_is_served(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    uid = emu.state.config.identity.account_id
    custom = next(s for s in emu.mcp.servers(uid) if not s.core)
    assert Mcp(http, f"{emu.url}{custom.path}/mcp", mcp_token).initialize()["protocolVersion"]


def test_sse_response_mode(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    emu.configure_mcp(response_mode="sse")
    client = Mcp(http, emu.mcp_url(), mcp_token)
    client.initialize()
    response = client.post("tools/list")
    assert response.headers["content-type"].startswith("text/event-stream")
    assert client.answer(response)["result"]["tools"]


def test_stateless_mode_issues_no_session(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    emu.configure_mcp(issue_session_id=False)
    client = Mcp(http, emu.mcp_url(), mcp_token)
    client.initialize()
    assert client.session is None
    assert client.answer(client.post("tools/list"))["result"]["tools"]


def test_the_get_stream_stays_open_until_the_session_ends(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    emu.configure_mcp(sse_keepalive=0.2)
    client = Mcp(http, emu.mcp_url(), mcp_token)
    client.initialize()
    headers = {**client.headers(), "accept": "text/event-stream"}
    with http.stream("GET", emu.mcp_url(), headers=headers) as stream:
        assert stream.status_code == 200 and stream.headers["content-type"] == "text/event-stream"
        lines = stream.iter_lines()
        assert next(lines) == ": stream open"
        assert next(l for l in lines if l) == ": keep-alive"
        assert emu.drop_mcp_sessions() == 1
        assert [l for l in lines if l and l != ": keep-alive"] == []  # the stream ends with the session
    assert http.get(emu.mcp_url(), headers=headers).status_code == 404


# -- MCP fault switches ---------------------------------------------------------------------------------


def test_401_on_the_nth_call(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    client = Mcp(http, emu.mcp_url(), mcp_token)
    client.initialize()
    emu.inject("mcp", "401", after=1, match="tools/call")
    assert client.call("AlibabaCloud___ListProducts")["result"]["isError"] is False  # the 1st call passes
    second = client.post("tools/call", {"name": "AlibabaCloud___ListProducts", "arguments": {}})
    assert second.status_code == 401 and second.headers["www-authenticate"].startswith("Bearer")
    assert client.call("AlibabaCloud___ListProducts")["result"]["isError"] is False  # the token is still good
    assert [e["outcome"] for e in emu.mcp_log("mcp") if e.get("rpc") == "tools/call"] == ["ok", "fault 401", "ok"]


def test_session_loss(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    client = Mcp(http, emu.mcp_url(), mcp_token)
    client.initialize()
    emu.inject("mcp", "session_lost")
    assert client.post("tools/list").status_code == 404
    assert client.post("tools/list").status_code == 404  # the session is gone for good
    client.initialize()
    assert client.answer(client.post("tools/list"))["result"]["tools"]


@pytest.mark.parametrize("kind", ["500", "503"])
def test_5xx(emu: Emulator, http: httpx.Client, mcp_token: str, kind: str) -> None:
    client = Mcp(http, emu.mcp_url(), mcp_token)
    client.initialize()
    emu.inject("mcp", kind)
    assert client.post("tools/list").status_code == int(kind)
    assert client.answer(client.post("tools/list"))["result"]["tools"]


def test_slow_sse_and_jsonrpc_error(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    client = Mcp(http, emu.mcp_url(), mcp_token)
    client.initialize()
    emu.inject("mcp", "slow_sse", seconds=0.05)
    slow = client.post("tools/list")
    assert slow.headers["content-type"].startswith("text/event-stream") and client.answer(slow)["result"]["tools"]
    emu.inject("mcp", "jsonrpc_error", match="tools/call")
    assert client.call("AlibabaCloud___ListProducts")["error"]["code"] == -32603
    assert [e["outcome"] for e in emu.mcp_log("mcp")][-2:] == ["fault slow_sse", "fault jsonrpc_error"]


def test_the_control_api_drives_the_mcp_switches(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    control = f"{emu.url}/__emulator"
    assert http.post(f"{control}/mcp/config", json={"token_ttl": 10, "response_mode": "sse"}).json()["token_ttl"] == 10
    assert http.post(f"{control}/mcp/config", json={"response_mode": "xml"}).status_code == 400
    assert http.post(f"{control}/ram/deny", json={"action": "ram:GenerateAccessToken"}).json()["denies"] == [
        {"action": "ram:GenerateAccessToken", "principal": "*"}
    ]
    assert http.delete(f"{control}/ram/denies").json() == {"denies": []}
    assert http.post(f"{control}/faults", json={"endpoint": "mcp", "fault": "401", "after": 2, "match": "tools/call"}).status_code == 200
    assert emu.faults.pending()[0]["after"] == 2
    tokens = http.get(f"{control}/mcp/tokens").json()["tokens"]
    assert [t["token_id"] for t in tokens] == [emu.token_id(mcp_token)] and mcp_token not in json.dumps(tokens)
    Mcp(http, emu.mcp_url(), mcp_token).initialize()
    assert len(http.get(f"{control}/mcp/sessions").json()["sessions"]) == 1
    log = http.get(f"{control}/mcp/log/mcp").json()["log"]
    assert [e["rpc"] for e in log] == ["initialize", "notifications/initialized"]
    assert http.post(f"{control}/mcp/drop-sessions").json() == {"dropped": 1}
    assert http.post(f"{control}/mcp/expire-tokens").json() == {"expired": 1}
    assert http.delete(f"{control}/mcp/log").json() == {"log": []}


# -- the official MCP client as the oracle -------------------------------------------------------------


def official_client(url: str, token: str) -> Any:
    """The official SDK's Streamable-HTTP client with our bearer token on every request."""
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    return streamable_http_client(url, http_client=create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}))


@pytest.mark.parametrize("mode", ["json", "sse"])
async def test_the_official_mcp_client_drives_the_server(emu: Emulator, http: httpx.Client, mode: str) -> None:
    mcp_client = pytest.importorskip("mcp")
    from emulator.safety import READ_ONLY_POLICY

    emu.configure_mcp(response_mode=mode, sse_keepalive=0.2)
    token = new_token(http, emu)
    assert set_policy(http, emu, {"bearerToken": token, "safePolicy": READ_ONLY_POLICY}).status_code == 200
    async with official_client(emu.mcp_url(), token) as (read, write, _):
        async with mcp_client.ClientSession(read, write) as session:
            initialized = await session.initialize()
            assert initialized.serverInfo.name == "alibabacloud-openapi-mcp-server-emulator"
            names = [t.name for t in (await session.list_tools()).tools]
            assert "AlibabaCloud___CallCLI" in names
            read_result = await session.call_tool("AlibabaCloud___CallCLI", {"command": "aliyun sts GetCallerIdentity"})
            assert not read_result.isError and emu.state.config.identity.arn in read_result.content[0].text
            refused = await session.call_tool("AlibabaCloud___CallCLI", {"command": "aliyun ecs StopInstance --InstanceId i-1"})
            assert refused.isError and "safety policy" in refused.content[0].text
            await session.send_ping()
    # The client closed its session with DELETE.
    assert ("DELETE", "deleted") in [(e["http"], e.get("outcome")) for e in emu.mcp_log("mcp")]
    assert emu.mcp.session_ids() == []


async def test_the_official_mcp_client_sees_the_401(emu: Emulator) -> None:
    mcp_client = pytest.importorskip("mcp")

    with pytest.raises(BaseExceptionGroup) as caught:
        async with official_client(emu.mcp_url(), "not-a-token") as (read, write, _):
            async with mcp_client.ClientSession(read, write) as session:
                await session.initialize()
    statuses = [getattr(getattr(e, "response", None), "status_code", None) for e in _leaves(caught.value)]
    assert 401 in statuses


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def test_emulator_logs_carry_no_mcp_secrets(emu: Emulator, http: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="emulator")
    sts = sts_of(http, emu)
    token = sdk_generate_access_token(emu, sts)["body"]["Data"]["AccessToken"]
    set_policy(http, emu, {"bearerToken": token, "safePolicy": "*=deny"})
    client = Mcp(http, emu.mcp_url(), token)
    client.initialize()
    client.call("AlibabaCloud___CallCLI", command="aliyun ecs DescribeRegions")
    assert "POST (mcp) -> 200" in caplog.text and "POST / -> 200" in caplog.text
    logged = caplog.text + json.dumps(emu.mcp_log())
    for secret in (token, sts.access_key_secret, sts.security_token, client.session or "-"):
        assert secret not in caplog.text
    for secret in (token, sts.access_key_secret, sts.security_token):
        assert secret not in logged


def test_bad_switch_values_are_refused(emu: Emulator) -> None:
    for changes in ({"response_mode": "xml"}, {"policy_denial": "x"}, {"custom_servers": ["../x"]}, {"core_exists": "yes"}, {"nope": 1}):
        with pytest.raises(ValueError):
            emu.configure_mcp(**changes)


def test_generate_access_token_parameters_in_a_form_body_are_accepted(emu: Emulator, http: httpx.Client) -> None:
    """Leniency the reference asks for (§11): the same signed parameters sent as a form body."""
    from alibabacloud_tea_openapi.utils import Utils

    sts = sts_of(http, emu)
    form = {
        "Action": "GenerateAccessToken", "Version": "2026-04-21", "Format": "json", "Timestamp": Utils.get_timestamp(),
        "SignatureNonce": Utils.get_nonce(), "ClientId": CN_MCP_CLIENT, "Scope": SCOPE, "SecurityToken": sts.security_token,
        "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "AccessKeyId": sts.access_key_id,
    }
    form["Signature"] = Utils.get_rpcsignature(form, "POST", sts.access_key_secret)
    answer = http.post(f"{emu.url}/", data=form, headers={"x-acs-action": "GenerateAccessToken"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["Data"]["Scope"] == SCOPE


def test_a_session_bound_to_its_token(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    client = Mcp(http, emu.mcp_url(), mcp_token)
    client.initialize()
    emu.configure_mcp(session_bound_to_token=True)
    client.token = new_token(http, emu)  # a renewed token of the same identity
    assert client.post("tools/list").status_code == 404
    client.initialize()
    assert client.answer(client.post("tools/list"))["result"]["tools"]


def test_mcp_requests_can_require_the_openapiexplorer_permission(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    emu.deny_permission("openapiexplorer:*")
    client = Mcp(http, emu.mcp_url(), mcp_token)
    client.initialize()  # off by default: the MCP endpoint checks only the token
    emu.configure_mcp(mcp_checks_ram=True)
    refused = client.post("tools/list")
    assert refused.status_code == 403 and refused.json()["Code"] == "NoPermission"
    assert "Action: openapiexplorer:CallApiMcpServer" in refused.json()["Message"]


def test_drop_after_serves_the_call_but_loses_the_answer(emu: Emulator, http: httpx.Client, mcp_token: str) -> None:
    emu.configure_mcp(response_mode="sse")
    client = Mcp(http, emu.mcp_url(), mcp_token)
    client.initialize()
    emu.inject("mcp", "drop_after", match="tools/call")
    with pytest.raises(httpx.TransportError):
        client.post("tools/call", {"name": "AlibabaCloud___RunScript", "arguments": {"script": "x"}})
    assert [e["outcome"] for e in emu.mcp_log("mcp") if e.get("rpc") == "tools/call"] == ["ok"]
