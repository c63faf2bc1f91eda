"""A loopback HTTP endpoint for ``ALIBABA_CLOUD_CREDENTIALS_URI``: STS credentials for every tool.

The official SDKs' default chains end with a "credentials URI" provider: it GETs the URL and reads
``{"Code": "Success", "AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration"}``. A terminal
opened by the editor gets that variable (plus ``ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true``, or the
config file would win), so every SDK-based tool in it signs requests with the credentials of the
profile selected in the editor, renewed by the sidecar's refresher (single-flight, under the file
lock): the tools never spend the rotating refresh token themselves.

Two paths, both under a per-session secret:

* ``/<secret>/credentials``: the sidecar's *selected* profile (``ALIBABA_CLOUD_PROFILE`` in the
  sidecar's environment, else ``current`` in the file), looked up on every request, so terminals
  follow a profile switch in the status bar without being restarted;
* ``/<secret>/profiles/<name>/credentials``: one fixed profile (``<name>`` percent-encoded).

Threat model (docs/credentials.md has the whole argument): any local user can connect to a loopback
port, so the path holds a 256-bit secret compared in constant time; web pages can make a browser
send requests here, so ``Host`` must name the loopback address (DNS rebinding), browser-made
requests (``Origin``, ``Sec-Fetch-*``) are refused, and there are never CORS headers. Nothing here
logs a request target, since it holds the secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any, Self

from ..errors import (
    ConfigCorrupt,
    ConfigUnavailable,
    InvalidParams,
    NetworkError,
    ProfileNotFound,
    SidecarError,
    SignInRequired,
    UpstreamError,
)
from ..loopback import (
    LOOPBACK_HOST,
    Headers,
    LoopbackServer,
    Request,
    Response,
    host_names_this_server,
)
from ..timing import ENDPOINT_MIN_STS_LIFETIME, LOOPBACK_HEAD_TIMEOUT, Margins
from ..tokens import StsCredentials, format_rfc3339
from ..wire import uri_payload
from .refresher import Refresher

log = logging.getLogger(__name__)

#: What a terminal needs: our URL, and the two providers that come before it in the Python SDK's
#: default chain switched off (the config file would win; so would an ECS instance's RAM role).
ENV_URI = "ALIBABA_CLOUD_CREDENTIALS_URI"
ENV_CLI_PROFILE_DISABLED = "ALIBABA_CLOUD_CLI_PROFILE_DISABLED"
ENV_ECS_METADATA_DISABLED = "ALIBABA_CLOUD_ECS_METADATA_DISABLED"

#: Given the profile name from the path (``None``: the selected profile), valid STS credentials and
#: the name they belong to. Raises :class:`SidecarError` for anything the caller should hear about.
#: The endpoint knows nothing else of the sidecar: the composition root hands it one of these.
CredentialsSource = Callable[[str | None], Awaitable[tuple[str, StsCredentials]]]
#: The profile a request without a name means (explicit name, environment, then ``current``).
ProfileSelector = Callable[[str | None], Awaitable[str]]

_HEADERS: Headers = (
    ("Content-Type", "application/json; charset=utf-8"),
    ("Connection", "close"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Referrer-Policy", "no-referrer"),
)
#: Headers only browsers send: a request carrying one was made by (or for) a web page.
_BROWSER_HEADERS = ("origin", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest", "sec-fetch-user")

#: Error kind → (HTTP status, ``Code``). Every non-200 answer makes the SDKs raise with our body (so
#: our ``Message``) in the error text. Sign-in required is 503, not 401: the caller's own
#: authorisation (the secret path) is fine; what is missing is the user's, and a retry succeeds once
#: they have signed in in the editor.
_ANSWER_OF_KIND: dict[str, tuple[int, str]] = {
    SignInRequired.kind: (503, "SignInRequired"),
    NetworkError.kind: (503, "NetworkError"),
    ConfigUnavailable.kind: (503, "ConfigUnavailable"),
    UpstreamError.kind: (502, "UpstreamError"),
    ProfileNotFound.kind: (404, "ProfileNotFound"),
    InvalidParams.kind: (409, "NotAnOAuthProfile"),  # the only invalidParams a credentials lookup raises
    ConfigCorrupt.kind: (500, "ConfigCorrupt"),
}
_SIGN_IN_HINT = " Sign in again from the editor (the Alibaba Cloud status bar item), then retry."


def _json_response(status: int, payload: dict[str, Any], extra: Headers = ()) -> Response:
    return Response(status, json.dumps(payload).encode("utf-8"), extra)


def _error(status: int, code: str, message: str, extra: Headers = ()) -> Response:
    return _json_response(status, {"Code": code, "Message": message}, extra)


_NOT_FOUND = _error(404, "NotFound", "Not found.")
_HEAD_ERRORS: dict[int, Response] = {
    400: _error(400, "BadRequest", "Bad request."),
    408: _error(408, "RequestTimeout", "Request timeout."),
    414: _error(414, "UriTooLong", "Request line too long."),
    431: _error(431, "HeadersTooLarge", "Request headers too large."),
    503: _error(503, "Busy", "Too many connections."),
}
_BROWSER_REFUSED = _error(403, "Forbidden", "Credentials are not served to web pages.")
_WRONG_HOST = _error(421, "MisdirectedRequest", "This endpoint answers only to 127.0.0.1 or localhost.")
_METHOD_NOT_ALLOWED = _error(405, "MethodNotAllowed", "Only GET is allowed.", (("Allow", "GET"),))


def error_response(exc: BaseException) -> Response:
    """A failure as JSON the SDKs show to the user: ``Code`` is never "Success"; no secret inside.

    Only :class:`SidecarError` messages are passed on (they are written never to hold a secret);
    anything else is a bug and says nothing beyond "internal error".
    """
    if isinstance(exc, SidecarError) and exc.kind in _ANSWER_OF_KIND:
        status, code = _ANSWER_OF_KIND[exc.kind]
        message = exc.message + (_SIGN_IN_HINT if isinstance(exc, SignInRequired) else "")
        return _error(status, code, message)
    return _error(500, "InternalError", "The sidecar failed to get credentials; see its log.")


def refresher_source(select: ProfileSelector, refresher: Refresher, margins: Margins) -> CredentialsSource:
    """Credentials of the selected (or named) profile, renewed through ``refresher`` when needed.

    The STS margin is raised to ``timing.ENDPOINT_MIN_STS_LIFETIME`` so that an SDK can cache what it
    gets instead of coming back on every call.
    """
    served = Margins(sts=max(margins.sts, ENDPOINT_MIN_STS_LIFETIME), access_token=margins.access_token)

    async def fetch(profile: str | None) -> tuple[str, StsCredentials]:
        name = await select(profile)
        return name, await refresher.credentials(name, margins=served)

    return fetch


class CredentialsEndpoint:
    """The loopback server; build it with :meth:`start`, end it with :meth:`close`.

    Connections, deadlines and the cap are :class:`~sidecar.loopback.LoopbackServer`'s; what is its
    own is the route: browser headers, ``Host``, then the path secret, then the method.
    """

    def __init__(self, source: CredentialsSource, *, secret: str, head_timeout: float) -> None:
        """Internal: use :meth:`start`, which also binds and listens."""
        self._source = source
        # Compared as digests: equal length whatever was sent, so the comparison leaks nothing.
        self._secret = secret
        self._secret_digest = hashlib.sha256(secret.encode("ascii")).digest()
        self._http = LoopbackServer(
            self._route,
            label="credentials endpoint",
            base_headers=_HEADERS,
            error_response=_HEAD_ERRORS.__getitem__,
            head_timeout=head_timeout,
        )
        self._closing = False

    def __repr__(self) -> str:
        return f"<CredentialsEndpoint port={self.port} closed={self._closing}>"  # never the secret

    @classmethod
    async def start(
        cls,
        source: CredentialsSource,
        *,
        port: int = 0,
        head_timeout: float = LOOPBACK_HEAD_TIMEOUT,
    ) -> CredentialsEndpoint:
        """Listen on 127.0.0.1 (only) on ``port`` (0: the system picks a free one).

        ``source`` is all the endpoint knows of the sidecar (see :func:`refresher_source`);
        ``head_timeout`` is each connection's deadline for its request head.
        """
        endpoint = cls(source, secret=secrets.token_urlsafe(32), head_timeout=head_timeout)
        await endpoint._http.listen([port])
        log.info("credentials endpoint listening on %s:%d", LOOPBACK_HOST, endpoint.port)
        return endpoint

    # --- what clients are given ------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def uri(self) -> str:
        """The URL of the selected profile's credentials (it follows profile switches)."""
        return f"http://{LOOPBACK_HOST}:{self.port}/{self._secret}/credentials"

    def environment(self, uri: str | None = None) -> dict[str, str]:
        """The variables a terminal needs so that the SDKs' default chains end up here."""
        return {
            ENV_URI: uri or self.uri,
            ENV_CLI_PROFILE_DISABLED: "true",
            ENV_ECS_METADATA_DISABLED: "true",
        }

    @property
    def closed(self) -> bool:
        return self._closing

    async def close(self) -> None:
        """Stop listening and drop every open connection. Safe to call more than once."""
        if self._closing:
            return
        self._closing = True
        await self._http.close()
        log.info("credentials endpoint stopped")

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # --- serving ---------------------------------------------------------------------------------

    def _match(self, target: str) -> tuple[bool, str | None]:
        """``(found, profile)`` for a request target; ``profile`` None means the selected profile.

        The secret segment is always compared (digest against digest, in constant time) before the
        shape of the rest is looked at, so a wrong path costs the same whatever it looks like.
        """
        segments = target.split("/")
        given = segments[1] if len(segments) > 1 else ""
        digest = hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest()
        if not hmac.compare_digest(digest, self._secret_digest):
            return False, None
        rest = segments[2:]
        if rest == ["credentials"]:
            return True, None
        if len(rest) == 3 and rest[0] == "profiles" and rest[2] == "credentials" and rest[1]:
            try:
                name = urllib.parse.unquote(rest[1], errors="strict")
            except UnicodeDecodeError:
                return False, None
            if len(name) > 128 or any(ord(ch) < 32 for ch in name) or not name.strip():
                return False, None
            return True, name
        return False, None

    def _route(self, request: Request) -> Response | Awaitable[Response]:
        """Refuse at once (no await) what lacks the secret, so only a real request is ever awaited."""
        if any(name in request.headers for name in _BROWSER_HEADERS):
            log.info("credentials endpoint: refused a request made by a browser")
            return _BROWSER_REFUSED
        if not host_names_this_server(request.headers.get("host"), self.port):
            log.info("credentials endpoint: refused a request for another host name")
            return _WRONG_HOST
        found, profile = self._match(request.target)
        if not found:
            log.debug("credentials endpoint: %s to an unknown path -> 404", request.method)
            return _NOT_FOUND
        if request.method != "GET":
            return _METHOD_NOT_ALLOWED
        return self._serve(profile)

    async def _serve(self, profile: str | None) -> Response:
        try:
            name, sts = await self._source(profile)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            response = error_response(exc)
            if isinstance(exc, SidecarError):
                log.info("credentials endpoint: no credentials (%s) -> %d", exc.kind, response.status)
            else:
                log.exception("credentials endpoint: failed to get credentials")
            return response
        log.debug("credentials endpoint: served profile %s, valid until %s", name, format_rfc3339(sts.expires_at))
        return _json_response(200, uri_payload(sts))
