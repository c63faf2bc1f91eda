"""The three calls to the OAuth API: code exchange, refresh (rotating), and the STS exchange.

All failures become typed errors: ``NetworkError`` when the service was not reached or did not answer
(which never means a token expired), ``InvalidGrant`` when a code or refresh token was refused,
``ClientNotAuthorized`` when a token call says the client itself is refused (permanent, as the CLI
treats it), and ``UpstreamError`` for any other error answer or an answer we cannot read. No message
ever includes a token or the body of an answer (which may hold one).

Answers are read the way the most lenient official client reads them, because the clients disagree
on the wire and the real service cannot be reached from here: field names match without regard to
case (the Go CLI's JSON decoding does that, so ``AccessKeyId`` as the Python SDK reads it and
``accessKeyId`` as the Node.js SDK reads it are both understood), and a token answer without a
``refresh_token`` is accepted (the Python and Go SDKs support "OAuth credential without refresh
token"; the CLI checks only ``access_token``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .. import __version__
from ..errors import ClientNotAuthorized, InvalidGrant, NetworkError, UpstreamError
from ..logs import scrub_echo
from ..sites import Site
from ..timing import ACCESS_TOKEN_MARGIN, HTTP_CONNECT_TIMEOUT, HTTP_TIMEOUT, SKEW_TOLERANCE
from ..tokens import OAuthTokens, StsCredentials, parse_rfc3339

if TYPE_CHECKING:
    import httpx

MAX_DESCRIPTION = 200
#: The form fields of a token call whose values are secrets (masked in any text the service sends back).
SECRET_FORM_FIELDS = ("refresh_token", "code", "code_verifier")
#: In the CLI's style (``aliyun-cli/<version>``), naming this program honestly.
USER_AGENT = f"aliyun-sidecar/{__version__}"
#: What every official client sends on ``/v1/exchange`` (which has no body).
EXCHANGE_HEADERS = {"Content-Type": "application/json"}
#: Token-call errors that mean "this client is refused here" (the CLI's OAuth code treats them as
#: permanent): the official-cli application is not installed in the account or not assigned.
CLIENT_REFUSED_ERRORS = frozenset({"invalid_client", "unauthorized_client", "invalid_token"})


def field(body: dict[str, Any], name: str) -> Any:
    """``body[name]``, else the first key equal to ``name`` without regard to case (as Go decodes)."""
    if name in body:
        return body[name]
    folded = name.casefold()
    for key, value in body.items():
        if isinstance(key, str) and key.casefold() == folded:
            return value
    raise KeyError(name)


def optional_field(body: dict[str, Any], name: str) -> Any:
    try:
        return field(body, name)
    except KeyError:
        return None


def json_object(response: Any) -> dict[str, Any] | None:
    """A service answer's body when it is a JSON object, else None (not JSON, or another JSON value).
    Shared by every client of a service answer: OAuth here, STS (``credentials/identity.py``), and the
    MCP calls (``mcp/openapi.py``, ``mcp/upstream.py``)."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


class OAuthClient:
    """One ``httpx.AsyncClient`` for all sites (connection reuse across refreshes)."""

    def __init__(
        self,
        *,
        timeout: float = HTTP_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        import httpx  # imported here: it costs ~0.1 s, and the sidecar must answer initialize fast

        self._httpx = httpx
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, HTTP_CONNECT_TIMEOUT)),
            transport=transport,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )
        self._clock = clock

    async def aclose(self) -> None:
        await self._client.aclose()

    # ----------------------------------------------------------------- the calls

    async def exchange_code(self, site: Site, code: str, redirect_uri: str, verifier: str) -> OAuthTokens:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": site.client_id,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        return await self._token_call(site, form, "the authorization code exchange")

    async def refresh(self, site: Site, refresh_token: str) -> OAuthTokens:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": site.client_id}
        return await self._token_call(site, form, "the access token refresh")

    async def with_lifetime_for_exchange(self, site: Site, tokens: OAuthTokens) -> OAuthTokens:
        """``tokens``, renewed once first when their access token has ``ACCESS_TOKEN_MARGIN`` or less
        left (the exchange needs time on it) and there is a refresh token to renew it with. For the
        token a sign-in just got; the refresher applies the same margin on its own paths."""
        if not tokens.refresh_token or tokens.access_expires_at - self._clock() > ACCESS_TOKEN_MARGIN:
            return tokens
        new = await self.refresh(site, tokens.refresh_token)
        if not new.refresh_token:  # none came back: the one we used stays ours
            new = OAuthTokens(new.access_token, tokens.refresh_token, new.access_expires_at, tokens.refresh_expires_at)
        return new

    async def exchange_sts(self, site: Site, access_token: str) -> StsCredentials:
        url = f"{site.oauth_base}/v1/exchange"
        headers = {**EXCHANGE_HEADERS, "Authorization": f"Bearer {access_token}"}
        response, body = await self._post(url, "the STS exchange", sent=(access_token,), headers=headers)
        try:
            key_id = field(body, "accessKeyId")
            secret = field(body, "accessKeySecret")
            token = field(body, "securityToken")
            expiration = parse_rfc3339(field(body, "expiration"))
            if not all(isinstance(v, str) and v for v in (key_id, secret, token)):
                raise ValueError
        except (KeyError, TypeError, ValueError, AttributeError):
            raise self._unreadable("the STS exchange", response) from None
        return StsCredentials(key_id, secret, token, expiration - self._skew(response))

    # ----------------------------------------------------------------- plumbing

    async def _token_call(self, site: Site, form: dict[str, str], what: str) -> OAuthTokens:
        started = int(self._clock())
        sent = tuple(form[name] for name in SECRET_FORM_FIELDS if name in form)
        response, body = await self._post(f"{site.oauth_base}/v1/token", what, token_call=True, sent=sent, data=form)
        try:
            access = field(body, "access_token")
            # May be absent (or empty): the caller keeps the refresh token it had, if any.
            refresh = optional_field(body, "refresh_token") or ""
            expires_in_value = optional_field(body, "expires_in")
            expires_in = int(expires_in_value) if expires_in_value is not None else 3600
            if not (isinstance(access, str) and access and isinstance(refresh, str)) or expires_in <= 0:
                raise ValueError
            refresh_in = optional_field(body, "refresh_token_expires_in")
            refresh_expires_at = started + int(refresh_in) if refresh_in is not None and refresh else None
        except (KeyError, TypeError, ValueError, AttributeError):
            raise self._unreadable(what, response) from None
        # Expiries count from when we asked, so a slow answer never makes us think a token lives longer.
        return OAuthTokens(access, refresh, started + expires_in, refresh_expires_at)

    async def _post(
        self, url: str, what: str, *, sent: tuple[str, ...], token_call: bool = False, **kwargs: Any
    ) -> tuple[httpx.Response, dict[str, Any]]:
        """POSTs; an error answer becomes a typed error whose every text has ``sent`` (the secrets of
        this request) masked."""
        httpx = self._httpx
        host = urlsplit(url).netloc
        try:
            response = await self._client.post(url, **kwargs)
        except httpx.TimeoutException:
            raise NetworkError(f"{host} did not answer {what} in time.", host=host) from None
        except httpx.HTTPError as exc:
            raise NetworkError(f"Could not reach {host} for {what} ({type(exc).__name__}).", host=host) from None
        body = json_object(response)
        if response.status_code != 200:
            raise self._error(what, response, body, sent, token_call)
        if body is None:
            raise self._unreadable(what, response)
        return response, body

    @staticmethod
    def _request_id(body: dict[str, Any] | None, sent: tuple[str, ...]) -> str:
        rid = optional_field(body or {}, "requestId") or optional_field(body or {}, "request_id") or ""
        return scrub_echo(rid, sent, 64)

    def _error(
        self,
        what: str,
        response: httpx.Response,
        body: dict[str, Any] | None,
        sent: tuple[str, ...],
        token_call: bool = False,
    ) -> UpstreamError | ClientNotAuthorized:
        error = scrub_echo(optional_field(body or {}, "error") or "", sent, 64)
        if token_call and error in CLIENT_REFUSED_ERRORS:
            return ClientNotAuthorized(error, self._request_id(body, sent))
        description = scrub_echo(optional_field(body or {}, "error_description") or "", sent, MAX_DESCRIPTION)
        message = f"The sign-in service refused {what} (HTTP {response.status_code}"
        message += f", {error})" if error else ")"
        if description:
            message += f": {description}"
        cls = InvalidGrant if error == "invalid_grant" else UpstreamError
        return cls(message, error=error, status=response.status_code, request_id=self._request_id(body, sent))

    def _unreadable(self, what: str, response: httpx.Response) -> UpstreamError:
        return UpstreamError(
            f"The sign-in service gave an answer to {what} that could not be read (HTTP {response.status_code}).",
            error="malformed_response",
            status=response.status_code,
        )

    def _skew(self, response: httpx.Response) -> int:
        """How far the service's clock is ahead of ours, from its ``Date`` header (0 if close)."""
        date = response.headers.get("date")
        if not date:
            return 0
        try:
            server_now = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError):
            return 0
        skew = int(server_now - self._clock())
        return skew if abs(skew) > SKEW_TOLERANCE else 0
