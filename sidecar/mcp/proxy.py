"""Forwarding one agent request to the hosted MCP server, as the chosen profile.

Per request, in order: the profile (the one named, else the file's ``current``, so a switch in the
editor or with ``aliyun configure switch`` is followed at the next request; a new profile drops the
token, the session and a discovered address), its STS credentials (from the same refresher, file and
locks as every other path), the bearer token (``bearer``), the server's address (discovered once per
profile unless given), and one open session (``upstream``).

What is retried, and why only that:

* the token refused (401/403): renewed once, on a new session, and the request sent again: a refused
  request never ran. A second refusal is a permission problem that names the permission and the fix;
* the session lost (404): a new session with the same token, once: it never ran either;
* a 5xx, 429 or a dropped connection: once after a short pause, but never for a ``tools/call`` that
  went out: a tool that changes something may have run, and running it twice is worse than an error
  the agent can see (one that failed while its session was opening never went out);
* a JSON-RPC error from the server: never; it goes to the agent as it came, with its reason (the
  official proxy retries three times and the agent sees only "failed after 3 attempts").
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import SidecarError, SignInRequired
from ..service import SidecarService
from ..sites import DEFAULT_SITE, Site
from ..timing import MCP_RETRY_DELAY
from ..tokens import StsCredentials
from . import openapi
from .bearer import Bearer, BearerTokens
from .flags import CORE
from .problems import McpProblem, permission_denied, sign_in_required
from .upstream import AnswerLost, HttpRefused, OnMessage, Session, SessionLost

log = logging.getLogger(__name__)

#: Methods whose retry after a failure on the way cannot change anything.
REPEATABLE = frozenset({"tools/list", "prompts/list", "prompts/get", "resources/list", "resources/read", "resources/templates/list", "ping"})
#: The domain's error kinds as the agent's problems (anything else: ``upstreamRefused``).
DOMAIN_KINDS = {"network": "upstreamUnavailable", "profileNotFound": "badSetting", "unknownSite": "badSetting", "invalidParams": "badSetting"}


@dataclass(frozen=True)
class ProxyOptions:
    #: A profile name, or None: the file's ``current`` at each request.
    profile: str | None
    #: ``policy.READ_ONLY`` or ``policy.FULL``.
    mode: str
    #: ``core``, a server's name, or its https address.
    server: str = CORE


@dataclass
class _Context:
    profile: str
    site: Site
    sts: StsCredentials
    bearer: Bearer
    #: Set once the session is open (a refusal of ``initialize`` itself still knows its bearer).
    session: Session | None = None


@dataclass
class _Attempt:
    """What one request has spent of its retries."""

    refused: Bearer | None = None
    relost: bool = False
    repeated: bool = False


class McpProxy:
    def __init__(self, service: SidecarService, options: ProxyOptions, http: httpx.AsyncClient, on_message: OnMessage) -> None:
        self._service = service
        self.options = options
        self._http = http
        self._on_message = on_message
        self.tokens = BearerTokens(http, service.settings.endpoints, options.mode)
        self._profile: str | None = None
        self._url: str | None = None
        self._session: Session | None = None
        #: (profile, STS AccessKeyId, its site): see ``_site``.
        self._site_known: tuple[str, str, Site] | None = None
        self._opening = asyncio.Lock()
        #: Sessions opened (the tests and the benchmark read it).
        self.sessions_opened = 0

    async def forward(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """The server's ``result`` for the request; ``McpProblem`` or ``upstream.RpcError`` otherwise."""
        attempt = _Attempt()
        while True:
            context: _Context | None = None
            try:
                context = await self._context(attempt.refused)
                context.session = await self._open(context.site, context.sts, context.bearer)
                return await context.session.request(method, params)
            except SessionLost as exc:
                await self._discard(context)
                if attempt.relost or (isinstance(exc, AnswerLost) and method not in REPEATABLE):
                    raise McpProblem("upstreamUnavailable", _lost_message(method)) from None
                attempt.relost = True
            except HttpRefused as exc:
                await self._discard(context)
                await self._after_refusal(exc, method, attempt, context)
            except httpx.TransportError as exc:
                await self._discard(context)
                self._after_transport_error(exc, method, attempt, _sent(context))
                await asyncio.sleep(MCP_RETRY_DELAY)

    async def _after_refusal(self, exc: HttpRefused, method: str, attempt: _Attempt, context: _Context | None) -> None:
        """Decide whether a non-2xx answer is worth one more try (then return) or is the end (raise)."""
        if exc.status in (401, 403) and context is not None:
            if attempt.refused is not None:
                action = exc.permission or "openapiexplorer:*"
                raise permission_denied(action, "the MCP request", exc.words) from None
            log.info("MCP server refused token %s (HTTP %d): renewing it once", context.bearer.id, exc.status)
            attempt.refused = context.bearer
            return
        if (exc.status >= 500 or exc.status == 429) and (method in REPEATABLE or not _sent(context)) and not attempt.repeated:
            attempt.repeated = True
            await asyncio.sleep(MCP_RETRY_DELAY)
            return
        kind = "upstreamUnavailable" if exc.status >= 500 or exc.status == 429 else "upstreamRefused"
        raise McpProblem(kind, f"The Alibaba Cloud MCP server answered {method} with HTTP {exc.status}. {exc.words}".strip()) from None

    @staticmethod
    def _after_transport_error(exc: httpx.TransportError, method: str, attempt: _Attempt, sent: bool) -> None:
        never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)) or not sent
        if attempt.repeated or not (never_sent or method in REPEATABLE):
            raise McpProblem(
                "upstreamUnavailable",
                f"The connection to the Alibaba Cloud MCP server failed during {method} ({type(exc).__name__})"
                + ("" if never_sent else "; the call may have run, so it was not sent again")
                + ".",
            ) from None
        attempt.repeated = True

    # ------------------------------------------------------------------ the request's context

    async def _context(self, refused: Bearer | None) -> _Context:
        try:
            profile = await self._service.select(self.options.profile)
            if profile != self._profile:
                await self._switch(profile)
            sts = await self._service.credentials(profile)
            site = await self._site(profile, sts)
        except SignInRequired as exc:
            raise sign_in_required(exc.details.get("profile", "?"), exc.message.split(": ", 1)[-1]) from None
        except SidecarError as exc:
            raise McpProblem(DOMAIN_KINDS.get(exc.kind, "upstreamRefused"), exc.message) from None
        bearer = await self.tokens.get(profile, site, sts, refused=refused)
        return _Context(profile, site, sts, bearer)

    async def _site(self, profile: str, sts: StsCredentials) -> Site:
        """The profile's site, read from the file once per STS credential (a new sign-in, which may
        change the site, always brings new STS): not a parse of the whole file on every tool call."""
        known = self._site_known
        if known is not None and known[:2] == (profile, sts.access_key_id):
            return known[2]
        entry = await self._service.profile_entry(profile)
        site = self._service.settings.endpoints.site(entry.site or DEFAULT_SITE, profile=profile)
        self._site_known = (profile, sts.access_key_id, site)
        return site

    async def _switch(self, profile: str) -> None:
        if self._profile is not None:
            log.info("Profile changed from '%s' to '%s': new token and session", self._profile, profile)
        self._profile = profile
        if self.options.server == CORE or not self.options.server.startswith(("http://", "https://")):
            self._url = None  # discovered for the old profile's account
        await self._discard_session()

    async def _open(self, site: Site, sts: StsCredentials, bearer: Bearer) -> Session:
        async with self._opening:
            session = self._session
            if session is not None and not session.lost:
                session.token = bearer.token  # a renewed token is used at once
                return session
            url = self._url or await self._discover(site, sts)
            self._url = url
            session = Session(self._http, url, bearer.token, self._on_message)
            await session.open()
            self._session = session
            self.sessions_opened += 1
            log.info("MCP session open with %s (protocol %s)", openapi.origin(url), session.protocol)
            return session

    async def _discover(self, site: Site, sts: StsCredentials) -> str:
        server = self.options.server
        if server == CORE:
            return await openapi.core_server_url(self._http, site, sts)
        if server.startswith(("http://", "https://")):
            return openapi.base_url(server, "The MCP server address (aliyun.mcp.servers)", path_allowed=True)
        return await openapi.named_server_url(self._http, site, sts, server)

    async def _discard(self, context: _Context | None) -> None:
        if context is not None and context.session is not None and context.session is self._session:
            await self._discard_session()
        elif context is not None and context.session is None:
            await self._discard_session()  # it failed while opening: nothing of it is worth keeping

    async def _discard_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def aclose(self) -> None:
        await self._discard_session()


def _sent(context: _Context | None) -> bool:
    """Whether the request itself went out (a failure while opening the session means it did not)."""
    return context is not None and context.session is not None


def _lost_message(method: str) -> str:
    if method == "tools/call":
        return "The Alibaba Cloud MCP server's answer to the tool call was lost on the way; the call may have run, so it was not sent again."
    return f"The Alibaba Cloud MCP server lost the session twice during {method}; try again."


__all__ = ["McpProxy", "ProxyOptions"]
