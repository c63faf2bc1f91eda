"""The browser sign-in, from the PKCE pair to a saved, current OAuth profile.

The flow owns nothing long-lived: a sign-in binds a loopback port, waits for one answer (from the
browser, or pasted back by the user), releases the port (so quick sign-ins in a row never run out of
the five registered ports), exchanges the code, gets the first STS credentials and writes the
profile under the config lock. Cancelling the task that runs it closes the port at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ..config.profiles import upsert_oauth_profile
from ..config.store import ConfigStore
from ..sites import DEFAULT_CALLBACK_PORTS, Site
from ..timing import SIGNIN_TIMEOUT
from .callback import CallbackServer, PendingAuthorization
from .client import OAuthClient
from .pkce import challenge_for, new_state, new_verifier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignInRequest:
    profile: str
    site: Site
    region: str | None = None
    language: str | None = None


def authorize_url(site: Site, redirect_uri: str, state: str, challenge: str) -> str:
    """The sign-in page URL. Every value is URL-safe already (digits, base64url), so no editor or
    browser re-encoding of the query can change it."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": site.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{site.signin_base}/oauth2/v1/auth?{query}"


StartedCallback = Callable[[str, str], Awaitable[None]]
ProgressCallback = Callable[[str], None]


class SignInFlow:
    """One sign-in attempt. ``pending`` accepts a pasted redirect URL while the flow waits."""

    def __init__(
        self,
        store: ConfigStore,
        client: OAuthClient,
        *,
        ports: tuple[int, int] = DEFAULT_CALLBACK_PORTS,
        timeout: float = SIGNIN_TIMEOUT,
    ) -> None:
        self.store = store
        self.client = client
        self.ports = ports
        self.timeout = timeout
        self.pending: PendingAuthorization | None = None

    async def run(
        self,
        request: SignInRequest,
        on_started: StartedCallback,
        on_progress: ProgressCallback = lambda _message: None,
    ) -> dict[str, Any]:
        verifier = new_verifier()
        state = new_state()
        self.pending = PendingAuthorization(state)
        server = await CallbackServer.bind(self.pending, ports=self.ports)
        try:
            url = authorize_url(request.site, server.redirect_uri, state, challenge_for(verifier))
            log.info("sign-in for profile %s: waiting for the browser on port %d", request.profile, server.port)
            on_progress("Waiting for the browser…")
            await on_started(url, server.redirect_uri)
            code = await self.pending.wait(self.timeout)
            server.release_port()  # already released by the answer; the next sign-in may bind it now
            on_progress("Exchanging the authorization code…")
            tokens = await self.client.exchange_code(request.site, code, server.redirect_uri, verifier)
            tokens = await self.client.with_lifetime_for_exchange(request.site, tokens)
            on_progress("Getting STS credentials…")
            sts = await self.client.exchange_sts(request.site, tokens.access_token)
            on_progress("Saving the profile…")
            profile = await self.store.aupdate(
                lambda doc: dict(
                    upsert_oauth_profile(
                        doc,
                        request.profile,
                        request.site.name,
                        tokens,
                        sts,
                        region=request.region,
                        language=request.language,
                    )
                )
            )
            log.info("sign-in for profile %s: done", request.profile)
            return profile
        except BaseException:
            await server.close()
            raise
        finally:
            self.pending.cancel()
