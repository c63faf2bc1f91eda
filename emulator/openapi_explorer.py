"""OpenAPI Explorer 2024-11-30, the parts an MCP proxy uses (mcp.md §5): ``ListApiMcpServerCores``,
``ListApiMcpServers`` and ``UpdateBearerTokenSafetyPolicy``.

* ``GET /apimcpservercores`` and ``GET /apimcpservers``: ACS3-signed with the emulator's STS
  credentials (verified by ``sts.py``). The caller's account's servers, in camelCase, with
  ``urls.mcp`` pointing at this emulator's MCP endpoint. ``maxResults`` (1-100, default 20),
  ``nextToken`` and ``skip`` page the list; ``id``, ``keyword`` and ``sourceType`` filter
  ``apimcpservers``. A RAM deny of ``openapiexplorer:<Action>`` (or ``openapiexplorer:*``) is a 403
  ``NoPermission`` (the docs say the Core listing needs no authorization, the official skill says it
  does: the deny switch plays the second reading).
* ``POST /safePolicy/set``: anonymous, JSON ``{bearerToken, safePolicy, toolPolicy?}``. The token must
  be one ``GenerateAccessToken`` issued and unexpired; the policies are parsed (``safety.py``, where the
  grammar is documented) and bound to the token, replacing an earlier one unless
  ``safe_policy_create_only``. Answers ``200 {"requestId"}``, or 4xx ``{Code, Message, RequestId}``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from .mcp_state import McpState, Server
from .ram import Permissions, access_denied_message
from .safety import PolicyError, parse_safety_policy, parse_tool_policy
from .state import new_request_id
from .sts import CallerIdentityService, StsError, StsRequest, gateway_error

VERSION = "2024-11-30"
PRODUCT = "OpenAPIExplorer"
CORES_PATH = "/apimcpservercores"
SERVERS_PATH = "/apimcpservers"
SAFE_POLICY_PATH = "/safePolicy/set"
PATHS = (CORES_PATH, SERVERS_PATH, SAFE_POLICY_PATH)
CREATE_TIME = "2025-05-16 11:17:02"


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _offset(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if not text.startswith("o:"):
            raise ValueError
        return int(text[2:])
    except ValueError:
        raise StsError(400, "InvalidParameter.NextToken", "The specified nextToken is not valid.") from None


class OpenApiExplorerService:
    def __init__(
        self, verifier: CallerIdentityService, mcp: McpState, permissions: Permissions, base_url: Callable[[], str]
    ) -> None:
        self.verifier = verifier
        self.mcp = mcp
        self.permissions = permissions
        self.base_url = base_url

    # -- the listings -----------------------------------------------------------------------------

    def list_cores(self, request: StsRequest) -> tuple[int, dict[str, Any]]:
        return self._listing(request, "ListApiMcpServerCores", "apiMcpServerCores", self._core_json, cores=True)

    def list_servers(self, request: StsRequest) -> tuple[int, dict[str, Any]]:
        return self._listing(request, "ListApiMcpServers", "apiMcpServers", self._server_json, cores=False)

    def _listing(
        self, request: StsRequest, action: str, key: str, render: Callable[[Server], dict[str, Any]], cores: bool
    ) -> tuple[int, dict[str, Any]]:
        host = request.header("host") or "openapi-mcp.cn-hangzhou.aliyuncs.com"
        detail: dict[str, Any] = {}
        try:
            if request.method != "GET":
                raise StsError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
            record = self.verifier.verify(request, action, VERSION, frozenset({"acs3"}))
            identity = record.identity
            ram_action = f"openapiexplorer:{action}"
            if not self.permissions.allowed(identity, ram_action):
                message, detail = access_denied_message(
                    identity, ram_action, f"acs:openapiexplorer::{identity.account_id}:apimcpserver/*", self.mcp.config.deny_detail_only
                )
                raise StsError(403, "NoPermission", message)
            query = dict(parse_qsl(request.query, keep_blank_values=True, max_num_fields=64))
            servers = [s for s in self.mcp.servers(identity.account_id) if s.core == cores]
            servers = self._filter(servers, query)
            page, next_token, max_results = self._page(servers, query)
        except StsError as exc:
            self.mcp.log("openapi", action=action, status=exc.status, outcome=exc.code)
            return exc.status, gateway_error(exc, host, PRODUCT, **({"AccessDeniedDetail": detail} if detail else {}))
        self.mcp.log("openapi", action=action, status=200, outcome="ok", account_id=identity.account_id, count=len(page))
        return 200, {
            "requestId": new_request_id(),
            "nextToken": next_token,
            "totalCount": len(servers),
            "maxResults": max_results,
            key: [render(s) for s in page],
        }

    @staticmethod
    def _filter(servers: list[Server], query: dict[str, str]) -> list[Server]:
        if query.get("id"):
            servers = [s for s in servers if s.id == query["id"]]
        if query.get("sourceType"):
            servers = [s for s in servers if s.source_type == query["sourceType"]]
        if query.get("keyword"):
            servers = [s for s in servers if query["keyword"].lower() in s.name.lower()]
        return servers

    @staticmethod
    def _page(servers: list[Server], query: dict[str, str]) -> tuple[list[Server], str, int]:
        try:
            max_results = int(query.get("maxResults") or 20)
            skip = int(query.get("skip") or 0)
        except ValueError:
            raise StsError(400, "InvalidParameter", "maxResults and skip must be integers.") from None
        if not 1 <= max_results <= 100 or skip < 0:
            raise StsError(400, "InvalidParameter.MaxResults", "maxResults must be between 1 and 100.")
        start = _offset(query["nextToken"]) if query.get("nextToken") else skip
        page = servers[start : start + max_results]
        following = start + max_results
        return page, _page_token(following) if following < len(servers) else "", max_results

    def _urls(self, server: Server) -> dict[str, str]:
        base = self.base_url() + server.path
        return {"mcp": f"{base}/mcp", "sse": f"{base}/sse", "vpcMcp": f"{base}/mcp", "vpcSse": f"{base}/sse"}

    def _core_json(self, server: Server) -> dict[str, Any]:
        return {
            "id": server.id,
            "oauthClientId": "",
            "createTime": CREATE_TIME,
            "vpcWhitelists": [],
            "enableAssumeRole": False,
            "assumeRoleName": "",
            "assumeRoleOverridePolicy": "",
            "publicAccessType": "public",
            "enableCustomVpcWhitelist": False,
            "urls": self._urls(server),
        }

    def _server_json(self, server: Server) -> dict[str, Any]:
        return {
            "id": server.id,
            "name": server.name,
            "sourceType": server.source_type,
            "description": f"Emulated custom server {server.name}.",
            "instructions": "",
            "language": "EN_US",
            "apis": [],
            "urls": self._urls(server),
            "oauthClientId": "",
            "publicAccess": "on",
            "createTime": CREATE_TIME,
            "updateTime": CREATE_TIME,
        }

    # -- the safety policy ------------------------------------------------------------------------

    def set_safe_policy(self, request: StsRequest) -> tuple[int, dict[str, Any]]:
        host = request.header("host") or "openapi-mcp.cn-hangzhou.aliyuncs.com"
        token_name = ""
        try:
            if request.method != "POST":
                raise StsError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
            try:
                data = json.loads(request.body or b"{}")
            except ValueError:
                raise StsError(400, "InvalidParameter", "The body must be a JSON object.") from None
            if not isinstance(data, dict):
                raise StsError(400, "InvalidParameter", "The body must be a JSON object.")
            bearer = data.get("bearerToken")
            if not isinstance(bearer, str) or not bearer:
                raise StsError(400, "MissingBearerToken", "bearerToken is mandatory for this action.")
            record = self.mcp.token(bearer)
            if record is None:
                raise StsError(400, "InvalidBearerToken", "The bearer token is not valid.")
            token_name = record.token_id
            if record.expires_at <= self.mcp.now():
                raise StsError(400, "InvalidBearerToken.Expired", "The bearer token has expired.")
            safe_text = data.get("safePolicy")
            tool_text = data.get("toolPolicy")
            if safe_text is None and tool_text is None:
                raise StsError(400, "MissingSafePolicy", "safePolicy or toolPolicy is mandatory for this action.")
            try:
                safe = parse_safety_policy("" if safe_text is None else safe_text)
                tools = parse_tool_policy(tool_text)
            except PolicyError as exc:
                raise StsError(400, "InvalidParameter.SafePolicy", str(exc)) from None
            if not self.mcp.bind_policy(record, safe, tools):
                raise StsError(409, "SafePolicy.AlreadyExists", "A safety policy is already bound to this token.")
        except StsError as exc:
            self.mcp.log("safepolicy", action="UpdateBearerTokenSafetyPolicy", status=exc.status, outcome=exc.code, token=token_name)
            return exc.status, gateway_error(exc, host, PRODUCT)
        self.mcp.log(
            "safepolicy", action="UpdateBearerTokenSafetyPolicy", status=200, outcome="bound", token=token_name, policy=safe.source
        )
        return 200, {"requestId": new_request_id()}


__all__ = ["PATHS", "OpenApiExplorerService"]
