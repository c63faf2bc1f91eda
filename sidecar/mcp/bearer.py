"""The MCP bearer token of the profile in use: fetched with ``GenerateAccessToken``, bound to the
mode's safety policy before anyone uses it, cached, and renewed ahead of expiry.

A token belongs to the STS credentials it was made with (profile and AccessKeyId): new STS (a renewal,
another sign-in, another profile) means a new token, as the official proxy does on a new AccessKeyId,
so a token never outlives the identity it speaks for. A refusal by the MCP server (401/403) renews it
once (``force``). In read-only mode a token whose policy could not be bound is never handed out: the
server does not run wider than asked. Only fingerprints of tokens are ever logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from ..sites import Endpoints, Site
from ..timing import MCP_TOKEN_DEFAULT_LIFETIME, MCP_TOKEN_MAX_MARGIN, MCP_TOKEN_MIN_MARGIN
from ..tokens import StsCredentials, fingerprint
from . import openapi
from .policy import POLICIES

log = logging.getLogger(__name__)


def renew_margin(lifetime: float) -> float:
    """How long before its end a token of ``lifetime`` seconds is renewed."""
    return min(MCP_TOKEN_MAX_MARGIN, max(MCP_TOKEN_MIN_MARGIN, lifetime / 10))


@dataclass(frozen=True)
class Bearer:
    token: str = field(repr=False)
    #: (profile, STS AccessKeyId, site): what the token speaks for.
    owner: tuple[str, str, str]
    renew_at: float

    @property
    def id(self) -> str:
        return fingerprint(self.token)


class BearerTokens:
    """One cached token; concurrent requests for it share one fetch."""

    def __init__(self, http: httpx.AsyncClient, endpoints: Endpoints, mode: str, clock: Callable[[], float] = time.time) -> None:
        self._http = http
        self._endpoints = endpoints
        self._policy = POLICIES[mode]
        self._clock = clock
        self._current: Bearer | None = None
        self._lock = asyncio.Lock()
        #: Tokens fetched in this process (the benchmark and the tests read it).
        self.fetched = 0

    async def get(self, profile: str, site: Site, sts: StsCredentials, *, refused: Bearer | None = None) -> Bearer:
        """The token for these credentials; a new one when the cached one is near its end, belongs to
        other credentials, or is ``refused`` (the server turned it away; a request that renewed it
        meanwhile is not renewed again)."""
        owner = (profile, sts.access_key_id, site.name)
        async with self._lock:
            known = self._current
            if known is not None and known is not refused and known.owner == owner and self._clock() < known.renew_at:
                return known
            self._current = None  # a failed fetch leaves nothing stale behind
            self._current = await self._fetch(owner, site, sts)
            return self._current

    async def _fetch(self, owner: tuple[str, str, str], site: Site, sts: StsCredentials) -> Bearer:
        issued = await openapi.generate_access_token(self._http, site, sts)
        self.fetched += 1
        lifetime = issued.expires_in or MCP_TOKEN_DEFAULT_LIFETIME
        bearer = Bearer(issued.access_token, owner, self._clock() + lifetime - renew_margin(lifetime))
        if self._policy is not None:
            await openapi.bind_safety_policy(self._http, self._endpoints.safe_policy_endpoint, bearer.token, self._policy)
        log.info("MCP token %s for profile '%s' (%s), good for %d s%s", bearer.id, owner[0], owner[2], lifetime,
                 ", read-only policy bound" if self._policy else "")
        return bearer


__all__ = ["Bearer", "BearerTokens", "renew_margin"]
