"""Who a profile's STS credentials belong to: STS ``GetCallerIdentity`` through the official SDK.

The call and its request signing are the official maintained SDK's (``alibabacloud-sts20150401`` on
``alibabacloud-tea-openapi``), so the signature is whatever Alibaba Cloud's own clients send today
(``ACS3-HMAC-SHA256`` in an ``Authorization`` header) and never a hand-written copy that drifts.

Why it is shaped like this:

* The SDK costs about half a second to import (aiohttp, the credentials library, cryptography); the
  sidecar must answer ``initialize`` fast, so it is imported on the first lookup only, and in a worker
  thread so that the import never stalls the event loop either.
* The SDK has native async calls (aiohttp); they are used, so a lookup never blocks the loop and never
  takes a thread for the network wait.
* The identity of an STS credential never changes, so the answer is cached per profile under the STS
  AccessKeyId: new credentials (a refresh, a new sign-in) mean a new lookup, the same ones never do.
  The cache lives in memory only (nothing about identities is written anywhere).
* Failures become the domain's typed errors: ``NetworkError`` when STS was not reached or did not
  answer, ``UpstreamError`` (with the STS ``Code`` in ``error``) for an error answer or one we cannot
  read. No message ever contains the secret or the security token: the SDK's own exception text (which
  embeds the whole answer) is never used, and the STS ``Message`` is scrubbed of both before use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from ..errors import InvalidParams, NetworkError, UpstreamError
from ..tokens import StsCredentials

#: The STS API the SDK package speaks (``alibabacloud-sts20150401``).
API_VERSION = "2015-04-01"
MAX_MESSAGE = 200


@dataclass(frozen=True)
class Identity:
    """The caller identity of one STS credential, as ``GetCallerIdentity`` describes it."""

    account_id: str
    #: ``RAMUser``, ``AssumedRoleUser`` or ``Account``.
    identity_type: str
    arn: str
    #: The user id for a RAM user; ``<roleId>:<sessionName>`` for an assumed role.
    principal_id: str
    #: Only for a RAM user or the account itself (STS sends no ``UserId`` for an assumed role).
    user_id: str | None
    #: Only for an assumed role (STS ``RoleId``).
    role_id: str | None = None


# ------------------------------------------------------------------------------- the SDK, lazily

_sdk: dict[str, ModuleType] | None = None


def _import_sdk() -> dict[str, ModuleType]:
    """Import the SDK modules (run in a worker thread: it takes ~0.5 s)."""
    global _sdk
    if _sdk is None:
        import aiohttp
        import alibabacloud_sts20150401.client as sts_client
        import alibabacloud_tea_openapi.utils_models as openapi_models
        import darabonba.exceptions as dara_errors
        import darabonba.runtime as dara_runtime

        _sdk = {
            "aiohttp": aiohttp,
            "client": sts_client,
            "models": openapi_models,
            "dara_errors": dara_errors,
            "runtime": dara_runtime,
        }
    return _sdk


async def load_sdk() -> dict[str, ModuleType]:
    """The SDK modules, importing them off the event loop the first time."""
    if _sdk is not None:
        return _sdk
    return await asyncio.to_thread(_import_sdk)


def sdk_endpoint(sts_endpoint: str) -> tuple[str, str]:
    """``(endpoint, protocol)`` for the tea config from a URL such as ``http://127.0.0.1:8080``.

    The SDK wants the host (with the port, if any) and ``HTTP``/``HTTPS`` separately; a path on the URL
    cannot be expressed (RPC calls always go to ``/``), so one is refused rather than silently dropped.
    """
    parts = urlsplit(sts_endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
        raise InvalidParams(
            "The STS endpoint must be an http(s) URL without a path, such as https://sts.aliyuncs.com.",
            field="endpoints.stsEndpoint",
        )
    if "@" in parts.netloc:
        raise InvalidParams("The STS endpoint must not contain user information.", field="endpoints.stsEndpoint")
    return parts.netloc, parts.scheme.upper()


# ------------------------------------------------------------------------------- the call

Lookup = Callable[[StsCredentials, str], Awaitable[Identity]]


class CallerIdentityClient:
    """Calls ``GetCallerIdentity`` with given STS credentials; no state besides the settings."""

    def __init__(self, *, timeout: float = 15.0) -> None:
        self.timeout = timeout

    async def get(self, sts: StsCredentials, sts_endpoint: str) -> Identity:
        endpoint, protocol = sdk_endpoint(sts_endpoint)
        host = endpoint  # safe to name in messages (no credentials in it: user info is refused)
        sdk = await load_sdk()
        config = sdk["models"].Config(
            access_key_id=sts.access_key_id,
            access_key_secret=sts.access_key_secret,
            security_token=sts.security_token,
            endpoint=endpoint,
            protocol=protocol,
            # Milliseconds. The region only matters when no endpoint is given; ours always is.
            read_timeout=int(self.timeout * 1000),
            connect_timeout=int(min(self.timeout, 10.0) * 1000),
            region_id="cn-hangzhou",
            user_agent="aliyun-sidecar/0.1",
        )
        runtime = sdk["runtime"].RuntimeOptions(
            read_timeout=int(self.timeout * 1000),
            connect_timeout=int(min(self.timeout, 10.0) * 1000),
            autoretry=False,
        )
        try:
            client = sdk["client"].Client(config)
            response = await client.get_caller_identity_with_options_async(runtime)
        except sdk["dara_errors"].ResponseException as exc:  # an error answer (4xx/5xx)
            raise _upstream_error(exc, sts) from None
        except sdk["dara_errors"].UnretryableException as exc:
            inner = getattr(exc, "inner_exception", None)
            if isinstance(inner, (sdk["dara_errors"].RetryError, OSError, asyncio.TimeoutError, sdk["aiohttp"].ClientError)):
                kind = type(inner).__name__
                raise NetworkError(f"Could not reach {host} for GetCallerIdentity ({kind}).", host=host) from None
            raise _unreadable(host) from None
        except (OSError, asyncio.TimeoutError, sdk["aiohttp"].ClientError) as exc:
            raise NetworkError(
                f"Could not reach {host} for GetCallerIdentity ({type(exc).__name__}).", host=host
            ) from None
        except Exception:  # the SDK failed to read or build something: an answer we cannot use
            raise _unreadable(host) from None
        return _identity(getattr(response, "body", None), host)


def _scrub(text: str, sts: StsCredentials) -> str:
    """The STS message, safe to show: never the secret or token, should a service ever echo them."""
    for secret in (sts.access_key_secret, sts.security_token):
        if len(secret) >= 8:  # real ones are 30+ characters; a shorter one cannot be told from words
            text = text.replace(secret, "***")
    return " ".join(text.split())[:MAX_MESSAGE]


def _upstream_error(exc: Any, sts: StsCredentials) -> UpstreamError:
    data = exc.data if isinstance(getattr(exc, "data", None), dict) else {}
    code = str(data.get("Code") or data.get("code") or getattr(exc, "code", "") or "")[:64]
    if code == "None":
        code = ""
    status = int(getattr(exc, "status_code", 0) or data.get("statusCode") or 0)
    request_id = str(data.get("RequestId") or data.get("requestId") or "")[:64]
    detail = _scrub(str(data.get("Message") or data.get("message") or ""), sts)
    message = f"STS refused GetCallerIdentity (HTTP {status}" + (f", {code})" if code else ")")
    if detail:
        message += f": {detail}"
    return UpstreamError(message, error=code, status=status, request_id=request_id)


def _unreadable(host: str) -> UpstreamError:
    return UpstreamError(
        f"{host} gave an answer to GetCallerIdentity that could not be read.", error="malformed_response"
    )


def _identity(body: Any, host: str) -> Identity:
    def text(name: str) -> str | None:
        value = getattr(body, name, None)
        return value if isinstance(value, str) and value else None

    account, kind, arn = text("account_id"), text("identity_type"), text("arn")
    if body is None or not (account and kind and arn):
        raise _unreadable(host)
    user_id, role_id = text("user_id"), text("role_id")
    principal = text("principal_id") or user_id or role_id or ""
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

    def forget(self, profile: str | None = None) -> None:
        if profile is None:
            self._known.clear()
        else:
            self._known.pop(profile, None)

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


__all__ = ["API_VERSION", "CallerIdentityClient", "Identity", "IdentityCache", "load_sdk", "sdk_endpoint"]
