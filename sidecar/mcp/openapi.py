"""The Alibaba Cloud API calls around the hosted MCP server, each signed the way the official proxy signs
it (mcp.md §3-§5), over the proxy's one httpx client:

* RamOAuth ``GenerateAccessToken`` (2026-04-21): RPC style, every parameter in the query, signature v1
  with the profile's STS credentials; the answer's ``Data.AccessToken`` is the MCP bearer token.
* OpenAPI Explorer ``ListApiMcpServerCores`` / ``ListApiMcpServers`` (2024-11-30): ROA ``GET``, ACS3.
* ``UpdateBearerTokenSafetyPolicy``: an anonymous ``POST /safePolicy/set`` with a JSON body.

Answers are hostile until checked: a field of the wrong type is an unreadable answer, not a crash, and
a server URL from discovery must be on the host discovery was asked (else a service, or anything in
between, could send the agent's bearer token elsewhere). Every word of a service that reaches a
message goes through ``scrub_echo`` with the secrets of the request.
"""

from __future__ import annotations

import email.utils
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..credentials import acs3, rpcv1
from ..logs import scrub_echo
from ..oauth.client import json_object
from ..sites import Site
from ..tokens import StsCredentials
from .problems import McpProblem, app_not_installed, permission_denied

RAMOAUTH_VERSION = "2026-04-21"
EXPLORER_VERSION = "2024-11-30"
#: The scope of the official proxy's tokens (mcp.md §4).
SCOPE = "/internal/acs/openapi"
USER_AGENT = "aliyun-sidecar/0.1 (mcp)"
MAX_WORDS = 300
#: Service codes that mean "the official MCP application is not there for this user" (mcp.md §9.1).
APP_CODES = frozenset({"AppNotFound", "InvalidClient", "InvalidClientId"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    #: Seconds of life the service gave it (``ExpiresIn``), or None when it said nothing.
    expires_in: float | None


def base_url(url: str, what: str, *, path_allowed: bool = False) -> str:
    """``url`` without a trailing slash, when it is an http(s) URL without user information (a
    ``user@`` would be named in messages) and, unless ``path_allowed``, without a path. Plain http
    only to this machine: a token must never cross a network in the clear."""
    parts = urlsplit(url)
    ok = parts.scheme in ("http", "https") and bool(parts.hostname) and "@" not in parts.netloc and not parts.query
    if ok and not path_allowed and parts.path not in ("", "/"):
        ok = False
    if not ok:
        raise McpProblem("badSetting", f"{what} must be an https URL{'' if path_allowed else ' without a path'}: {url[:200]}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise McpProblem("badSetting", f"{what} must use https (plain http is allowed only to this machine): {parts.netloc}")
    return url.rstrip("/")


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _field(data: dict[str, Any], *names: str) -> str:
    for name in names:
        value = data.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
            return str(value)
    return ""


@dataclass(frozen=True)
class Words:
    """What an error answer says, scrubbed of the request's secrets."""

    code: str
    said: str
    #: The RAM action it names (``AccessDeniedDetail.AuthAction``, or ``Action: x`` in the message).
    action: str


_ACTION = re.compile(r"Action:\s*([A-Za-z0-9_-]+:[A-Za-z0-9_*-]+)")


def service_words(data: dict[str, Any], secrets: tuple[str, ...]) -> Words:
    code = scrub_echo(_field(data, "Code", "code", "error"), secrets, 64)
    message = _field(data, "Message", "message", "error_description")
    detail = data.get("AccessDeniedDetail")
    action = _field(detail, "AuthAction") if isinstance(detail, dict) else ""
    if not action and (found := _ACTION.search(message)):
        action = found.group(1)
    if isinstance(detail, dict) and not message:
        message = " ".join(f"{k}={v}" for k, v in detail.items() if isinstance(v, (str, int)) and v != "")
    return Words(code, scrub_echo(message, secrets, MAX_WORDS), scrub_echo(action, secrets, 80))


async def _send(http: httpx.AsyncClient, call: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
    host = urlsplit(url).netloc
    try:
        return await http.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise McpProblem("upstreamUnavailable", f"{host} did not answer {call} in time; try again.") from None
    except httpx.HTTPError as exc:
        raise McpProblem("upstreamUnavailable", f"Could not reach {host} for {call} ({type(exc).__name__}).") from None


def _refusal(response: httpx.Response, call: str, ram_action: str, secrets: tuple[str, ...]) -> McpProblem:
    """The problem an error answer means: a permission, the missing application, or the service's words."""
    words = service_words(json_object(response) or {}, secrets)
    code, said, status = words.code, words.said, response.status_code
    if code in APP_CODES or "AppNotFound" in code:
        return app_not_installed(said)
    if status == 403 or code.startswith(("NoPermission", "Forbidden")) or "NotAuthorized" in code:
        return permission_denied(words.action or ram_action, call, said)
    kind = "upstreamUnavailable" if status >= 500 else "upstreamRefused"
    return McpProblem(kind, f"Alibaba Cloud refused {call} (HTTP {status}{', ' + code if code else ''}): {said or 'no reason given'}")


# ------------------------------------------------------------------------------ RamOAuth


async def generate_access_token(http: httpx.AsyncClient, site: Site, sts: StsCredentials) -> IssuedToken:
    """A bearer token for the MCP server, as the identity of ``sts``."""
    base = base_url(site.ramoauth_base, "The RamOAuth endpoint")
    query = rpcv1.signed_query(
        action="GenerateAccessToken",
        version=RAMOAUTH_VERSION,
        params={"ClientId": site.mcp_client_id, "Scope": SCOPE},
        access_key_id=sts.access_key_id,
        access_key_secret=sts.access_key_secret,
        security_token=sts.security_token,
    )
    headers = {
        "accept": "application/json",
        "user-agent": USER_AGENT,
        "x-acs-action": "GenerateAccessToken",
        "x-acs-version": RAMOAUTH_VERSION,
    }
    response = await _send(http, "GenerateAccessToken", "POST", f"{base}/", params=query, headers=headers, content=b"")
    secrets = (sts.access_key_secret, sts.security_token)
    if response.status_code != 200:
        raise _refusal(response, "GenerateAccessToken", "ram:GenerateAccessToken", secrets)
    return _issued(json_object(response) or {}, secrets)


def _issued(body: dict[str, Any], secrets: tuple[str, ...]) -> IssuedToken:
    data = body.get("Data") if isinstance(body.get("Data"), dict) else body
    token = _field(data, "AccessToken", "access_token")
    if not token:
        words = service_words(body, secrets)
        raise McpProblem(
            "upstreamRefused",
            f"GenerateAccessToken gave no token ({words.code or 'no code'}): {words.said or 'an answer that could not be read'}",
        )
    lifetime = _field(data, "ExpiresIn", "expires_in")
    try:
        expires_in = float(lifetime) if lifetime else None
    except ValueError:
        expires_in = None
    return IssuedToken(token, expires_in if expires_in is not None and expires_in > 0 else None)


# ------------------------------------------------------------------------------ OpenAPI Explorer


async def _explorer_get(
    http: httpx.AsyncClient, site: Site, sts: StsCredentials, action: str, path: str, query: dict[str, str], ram_action: str
) -> dict[str, Any]:
    base = base_url(site.openapi_mcp_base, "The OpenAPI MCP endpoint")
    headers = acs3.signed_headers(
        host=urlsplit(base).netloc,
        action=action,
        version=EXPLORER_VERSION,
        access_key_id=sts.access_key_id,
        access_key_secret=sts.access_key_secret,
        security_token=sts.security_token,
        method="GET",
        path=path,
        query=query,
        extra={"accept": "application/json"},
    )
    headers["user-agent"] = USER_AGENT
    response = await _send(http, action, "GET", f"{base}{path}", params=query, headers=headers)
    if response.status_code != 200:
        raise _refusal(response, action, ram_action, (sts.access_key_secret, sts.security_token))
    return json_object(response) or {}


def _mcp_url(entry: Any, site: Site, what: str) -> str:
    urls = entry.get("urls") if isinstance(entry, dict) else None
    url = urls.get("mcp") if isinstance(urls, dict) else None
    if not isinstance(url, str) or not url:
        raise McpProblem("upstreamRefused", f"{what} has no Streamable HTTP address (urls.mcp).")
    url = base_url(url, f"The address of {what}", path_allowed=True)
    if origin(url) != origin(site.openapi_mcp_base):
        # A server address elsewhere would receive the user's bearer token: never followed.
        raise McpProblem("upstreamRefused", f"{what} is at {urlsplit(url).netloc}, not at {urlsplit(site.openapi_mcp_base).netloc}; refused.")
    return url


async def core_server_url(http: httpx.AsyncClient, site: Site, sts: StsCredentials) -> str:
    """The Streamable HTTP address of the account's Core server (``ListApiMcpServerCores``)."""
    body = await _explorer_get(
        http, site, sts, "ListApiMcpServerCores", "/apimcpservercores", {}, "openapiexplorer:ListApiMcpServerCores"
    )
    cores = body.get("apiMcpServerCores")
    if not isinstance(cores, list) or not cores:
        raise McpProblem(
            "noServer",
            "This Alibaba Cloud account has no OpenAPI MCP Server Core yet. Fix: create it once with "
            "'aliyun openapiexplorer create-api-mcp-server-core --region cn-hangzhou' or in the console "
            "(api.aliyun.com/mcp), or choose a server in the setting aliyun.mcp.servers.",
        )
    return _mcp_url(cores[0], site, "the account's Core server")


async def named_server_url(http: httpx.AsyncClient, site: Site, sts: StsCredentials, name: str) -> str:
    """The address of the account's MCP server called ``name`` (``ListApiMcpServers``)."""
    body = await _explorer_get(
        http, site, sts, "ListApiMcpServers", "/apimcpservers", {"keyword": name, "maxResults": "100"}, "openapiexplorer:ListApiMcpServers"
    )
    servers = body.get("apiMcpServers")
    found = [s for s in servers if isinstance(s, dict) and s.get("name") == name] if isinstance(servers, list) else []
    if not found:
        raise McpProblem("noServer", f"This Alibaba Cloud account has no MCP server named '{name}'. Fix: check the name at api.aliyun.com/mcp.")
    return _mcp_url(found[0], site, f"the MCP server '{name}'")


async def bind_safety_policy(http: httpx.AsyncClient, endpoint: str, token: str, policy: str) -> None:
    """Bind ``policy`` to ``token`` (``UpdateBearerTokenSafetyPolicy``); any failure is ``policyNotBound``."""
    base = base_url(endpoint, "The safety policy endpoint")
    headers = {
        "accept": "application/json",
        "content-type": "application/json; charset=utf-8",
        "date": email.utils.formatdate(usegmt=True),
        "user-agent": USER_AGENT,
        "x-acs-action": "UpdateBearerTokenSafetyPolicy",
        "x-acs-version": EXPLORER_VERSION,
        "x-acs-signature-method": "HMAC-SHA1",
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-signature-version": "1.0",
    }
    body = json.dumps({"bearerToken": token, "safePolicy": policy}).encode("utf-8")
    try:
        response = await _send(http, "UpdateBearerTokenSafetyPolicy", "POST", f"{base}/safePolicy/set", headers=headers, content=body)
    except McpProblem as exc:
        raise McpProblem("policyNotBound", _unbound(exc.message)) from None
    if response.status_code not in (200, 204):
        words = service_words(json_object(response) or {}, (token,))
        raise McpProblem("policyNotBound", _unbound(f"HTTP {response.status_code} {words.code}: {words.said or 'no reason given'}"))


def _unbound(why: str) -> str:
    return (
        f"The read-only safety policy could not be bound to the MCP token ({why}), so the server does not "
        "start in a wider mode than asked. Try again later, or set aliyun.mcp.mode to full access if you "
        "mean to let agents change resources."
    )


__all__ = [
    "IssuedToken",
    "Words",
    "service_words",
    "SCOPE",
    "base_url",
    "bind_safety_policy",
    "core_server_url",
    "generate_access_token",
    "named_server_url",
    "origin",
]
