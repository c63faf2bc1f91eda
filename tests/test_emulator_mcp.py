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
