"""RamOAuth ``GenerateAccessToken`` (2026-04-21): the emulator's STS credentials to an MCP bearer token.

As the official proxy calls it (mcp.md §3.1, §4, §13): RPC style, ``POST /?Action=GenerateAccessToken``
with every parameter in the query, signature v1 (HMAC-SHA1), ``SecurityToken`` for STS keys; the body is
empty (``content-type: application/octet-stream``, ``content-length: 0``). The signature, its method
and version, the nonce, the time window and the STS credential (issued by this emulator's
``/v1/exchange``, unexpired) are checked by the shared verifier in ``sts.py``; ACS3 is refused unless
``ramoauth_accept_acs3`` is on (whether the real service takes it is not known).

Then: ``ClientId`` must be an official MCP application (CN ``4071151845732613353``, INTL
``4195410055503316452``), ``Scope`` one of ``/internal/acs/openapi`` and ``/acs/mcp-server``, the
optional ``Policy`` a Deny-only RAM policy (``safety.parse_boundary_policy``), and the caller must not
be denied ``ram:GenerateAccessToken`` (403 ``NoPermission`` naming the action). The answer is
``{"RequestId","Data":{"TokenType":"Bearer","ExpiresIn":"<seconds>","Scope","AccessToken"}}``.
"""

from __future__ import annotations

from typing import Any
from .mcp_state import MCP_CLIENTS, SCOPES, McpState
from .ram import Permissions, access_denied_message
from .safety import PolicyError, parse_boundary_policy
from .state import new_request_id
from .sts import CallerIdentityService, StsError, StsRequest, gateway_error

ACTION = "GenerateAccessToken"
VERSION = "2026-04-21"
RAM_ACTION = "ram:GenerateAccessToken"
PRODUCT = "RamOAuth"


class RamOAuthService:
    def __init__(self, verifier: CallerIdentityService, mcp: McpState, permissions: Permissions) -> None:
        self.verifier = verifier
        self.mcp = mcp
        self.permissions = permissions

    def answer(self, request: StsRequest) -> tuple[int, dict[str, Any]]:
        host = request.header("host") or "ramoauth.aliyuncs.com"
        extra: dict[str, Any] = {}
        try:
            return 200, self._answer(request, extra)
        except StsError as exc:
            detail = extra.pop("_detail", None)
            self.mcp.log("ramoauth", action=ACTION, status=exc.status, outcome=exc.code, **extra)
            more = {"AccessDeniedDetail": detail} if detail else {}
            return exc.status, gateway_error(exc, host, PRODUCT, **more)

    def _answer(self, request: StsRequest, extra: dict[str, Any]) -> dict[str, Any]:
        schemes = frozenset({"rpc_v1", "acs3"} if self.mcp.config.ramoauth_accept_acs3 else {"rpc_v1"})
        record = self.verifier.verify(request, ACTION, VERSION, schemes)
        identity = record.identity
        extra["account_id"] = identity.account_id
        params = self.verifier.params(request)  # the query, and (leniently) a form body
        client_id = params.get("ClientId", "")
        scope = params.get("Scope", "")
        if not client_id:
            raise StsError(400, "MissingClientId", "ClientId is mandatory for this action.")
        if client_id not in MCP_CLIENTS:
            raise StsError(400, "InvalidClient", "The specified ClientId is not a known application.")
        if not scope:
            raise StsError(400, "MissingScope", "Scope is mandatory for this action.")
        if scope not in SCOPES:
            raise StsError(400, "InvalidScope", "The specified Scope is not granted to this application.")
        if not self.permissions.allowed(identity, RAM_ACTION):
            message, detail = access_denied_message(
                identity, RAM_ACTION, f"acs:ram:*:{identity.account_id}:*", self.mcp.config.deny_detail_only
            )
            extra["_detail"] = detail
            raise StsError(403, "NoPermission", message)
        if self.mcp.config.app_not_installed:
            raise StsError(
                400,
                "AppNotFound",
                "The application is not installed or not assigned to this user: install the official "
                "API MCP Server application (RAM console > OAuth Applications > Third-party).",
            )
        try:
            boundary = parse_boundary_policy(params.get("Policy"))
        except PolicyError as exc:
            raise StsError(400, "InvalidParameter.Policy", str(exc)) from None
        access_token, token = self.mcp.issue_token(identity, client_id, scope, boundary)
        self.mcp.log("ramoauth", action=ACTION, status=200, outcome="issued", token=token.token_id, account_id=identity.account_id)
        return {
            "RequestId": new_request_id(),
            "Data": {
                "TokenType": "Bearer",
                "ExpiresIn": str(int(self.mcp.config.token_ttl)),
                "Scope": scope,
                "AccessToken": access_token,
            },
        }


__all__ = ["ACTION", "RAM_ACTION", "VERSION", "RamOAuthService"]
