"""Who a profile's STS credentials belong to: one signed STS ``GetCallerIdentity`` call over httpx.

Why it is shaped like this:

* The request is signed with ``ACS3-HMAC-SHA256`` (``acs3.py``: what Alibaba Cloud's own SDKs send
  today, an ``Authorization`` header) rather than through the STS SDK, whose import chain is native
  code (aiohttp, cryptography...): see ``acs3.py`` for that decision and the test that keeps the two
  byte-for-byte equal. So Who Am I costs no extra import and runs from the universal VSIX.
* The call is async on httpx (already the sidecar's HTTP client), so a lookup never blocks the loop.
* The identity of an STS credential never changes, so the answer is cached per profile under the STS
  AccessKeyId: new credentials (a refresh, a new sign-in) mean a new lookup, the same ones never do.
  The cache lives in memory only (nothing about identities is written anywhere).
* Failures become the domain's typed errors: ``NetworkError`` when STS was not reached or did not
  answer, ``UpstreamError`` (with the STS ``Code`` in ``error``) for an error answer or one we cannot
  read. No message ever contains the secret or the security token: the STS ``Message`` is scrubbed of
  both before use.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from . import acs3
from ..errors import InvalidParams, NetworkError, UpstreamError
from ..logs import scrub_echo
from ..oauth.client import json_object
from ..timing import HTTP_CONNECT_TIMEOUT, HTTP_TIMEOUT
from ..tokens import Identity, StsCredentials

#: The STS API version and action (what ``alibabacloud-sts20150401`` calls).
API_VERSION = "2015-04-01"
ACTION = "GetCallerIdentity"
USER_AGENT = "aliyun-sidecar/0.1 (identity; +editor)"
MAX_MESSAGE = 200


# ------------------------------------------------------------------------------- the call


def sts_host(sts_endpoint: str) -> tuple[str, str]:
    """``(base URL, host)`` from a URL such as ``http://127.0.0.1:8080``.

    RPC calls always go to ``/``, so a path on the URL cannot be honoured: it is refused rather than
    silently dropped, and so is user information (the host is named in messages).
    """
    parts = urlsplit(sts_endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
        raise InvalidParams(
            "The STS endpoint must be an http(s) URL without a path, such as https://sts.aliyuncs.com.",
            field="endpoints.stsEndpoint",
        )
    if "@" in parts.netloc:
        raise InvalidParams("The STS endpoint must not contain user information.", field="endpoints.stsEndpoint")
    return f"{parts.scheme}://{parts.netloc}/", parts.netloc


Lookup = Callable[[StsCredentials, str], Awaitable[Identity]]


class CallerIdentityClient:
    """Calls ``GetCallerIdentity`` with given STS credentials; no state besides the settings."""

    def __init__(self, *, timeout: float = HTTP_TIMEOUT) -> None:
        self.timeout = timeout

    async def get(self, sts: StsCredentials, sts_endpoint: str) -> Identity:
        url, host = sts_host(sts_endpoint)
        httpx = await _httpx()
        headers = acs3.signed_headers(
            host=host,
            action=ACTION,
            version=API_VERSION,
            access_key_id=sts.access_key_id,
            access_key_secret=sts.access_key_secret,
            security_token=sts.security_token,
        )
        headers["Accept"] = "application/json"
        headers["User-Agent"] = USER_AGENT
        # One client per lookup: lookups are rare (once per STS credential, see IdentityCache).
        timeout = httpx.Timeout(self.timeout, connect=min(self.timeout, HTTP_CONNECT_TIMEOUT))
        try:
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as http:
                response = await http.post(url, headers=headers, content=b"")
        except httpx.TimeoutException:
            raise NetworkError(f"{host} did not answer GetCallerIdentity in time.", host=host) from None
        except httpx.HTTPError as exc:
            raise NetworkError(f"Could not reach {host} for GetCallerIdentity ({type(exc).__name__}).", host=host) from None
        body = json_object(response)
        if response.status_code != 200:
            raise _upstream_error(response.status_code, body or {}, sts)
        return _identity(body, host)


_httpx_module: ModuleType | None = None


async def _httpx() -> ModuleType:
    """httpx, imported off the event loop the first time (~0.1 s, more on a busy machine).

    Not on the start-up path (as in oauth/client.py). The import runs in a worker thread, whose
    import lock makes concurrent first lookups wait for a complete module.
    """
    global _httpx_module
    if _httpx_module is None:
        _httpx_module = await asyncio.to_thread(importlib.import_module, "httpx")
    return _httpx_module


def _scrub(text: str, sts: StsCredentials) -> str:
    """The STS message, safe to show: never the secret or token, should a service ever echo them."""
    return scrub_echo(text, (sts.access_key_secret, sts.security_token), MAX_MESSAGE)


def _upstream_error(status: int, data: dict[str, Any], sts: StsCredentials) -> UpstreamError:
    code = _scrub(str(data.get("Code") or data.get("code") or ""), sts)[:64]
    request_id = _scrub(str(data.get("RequestId") or data.get("requestId") or ""), sts)[:64]
    detail = _scrub(str(data.get("Message") or data.get("message") or ""), sts)
    message = f"STS refused GetCallerIdentity (HTTP {status}" + (f", {code})" if code else ")")
    if detail:
        message += f": {detail}"
    return UpstreamError(message, error=code, status=status, request_id=request_id)


def _unreadable(host: str) -> UpstreamError:
    return UpstreamError(
        f"{host} gave an answer to GetCallerIdentity that could not be read.", error="malformed_response"
    )


def _identity(body: dict[str, Any] | None, host: str) -> Identity:
    def text(name: str) -> str | None:
        value = body.get(name) if body is not None else None
        return value if isinstance(value, str) and value else None

    account, kind, arn = text("AccountId"), text("IdentityType"), text("Arn")
    if not (account and kind and arn):
        raise _unreadable(host)
    user_id, role_id = text("UserId"), text("RoleId")
    principal = text("PrincipalId") or user_id or role_id or ""
    return Identity(account, kind, arn, principal, user_id, role_id)


# ------------------------------------------------------------------------------- the cache


class IdentityCache:
    """Per-profile memory of the last identity, valid while the STS AccessKeyId is the same.

    Concurrent lookups for the same profile and key share one call (single flight), so an editor that
    asks from several places at start-up costs one ``GetCallerIdentity``.
    """

    def __init__(self, lookup: Lookup) -> None:
        self._lookup = lookup
        self._known: dict[str, tuple[str, Identity]] = {}
        self._inflight: dict[tuple[str, str], asyncio.Future[Identity]] = {}

    def peek(self, profile: str, access_key_id: str) -> Identity | None:
        entry = self._known.get(profile)
        return entry[1] if entry is not None and entry[0] == access_key_id else None

    async def get(self, profile: str, sts: StsCredentials, sts_endpoint: str) -> Identity:
        known = self.peek(profile, sts.access_key_id)
        if known is not None:
            return known
        key = (profile, sts.access_key_id)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._lookup(sts, sts_endpoint))
            self._inflight[key] = task
            task.add_done_callback(lambda t, k=key: self._settle(k, t))
        # shield: a caller that gives up must not cancel the lookup the others wait for.
        return await asyncio.shield(task)

    def _settle(self, key: tuple[str, str], task: asyncio.Future[Identity]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if task.cancelled() or task.exception() is not None:
            return  # errors are not cached: the next call asks again
        self._known[key[0]] = (key[1], task.result())


__all__ = ["API_VERSION", "CallerIdentityClient", "Identity", "IdentityCache", "sts_host"]
