"""The sidecar's use cases in one place, shared by the JSON-RPC edge and the command-line entry points.

It wires the config store, the OAuth client, the refresher and sign-in flows together and knows
nothing of JSON-RPC: callers pass plain values and get typed values (or typed errors) back;
``wire.py`` turns those into the contract's JSON.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import profiles as P
from .config.store import ConfigStore, FileStamp
from .credentials.courier import Courier
from .credentials.identity import CallerIdentityClient, IdentityCache
from .credentials.refresher import CredentialEvent, Force, Refresher
from .errors import Cancelled, InvalidParams
from .oauth.client import OAuthClient
from .oauth.signin import ProgressCallback, SignInFlow, SignInRequest, StartedCallback
from .sites import DEFAULT_CALLBACK_PORTS, Endpoints
from .timing import HTTP_TIMEOUT, SIGNIN_TIMEOUT, Margins
from .tokens import Identity, StsCredentials

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProfileListing:
    """Every profile of the file (the contract's ``ProfileList``)."""

    current: str
    config_path: str
    profiles: list[P.ProfileSummary]


@dataclass(frozen=True)
class Settings:
    """Everything an entry point may choose; defaults behave like the official CLI's OAuth mode."""

    config_path: str | None = None
    endpoints: Endpoints = field(default_factory=Endpoints.from_environment)
    callback_ports: tuple[int, int] = DEFAULT_CALLBACK_PORTS
    margins: Margins = Margins()
    signin_timeout: float = SIGNIN_TIMEOUT
    http_timeout: float = HTTP_TIMEOUT
    #: Token refreshes are made by a process that outlives the sidecar (``credentials/courier.py``),
    #: so that no kill of the sidecar can lose a rotated refresh token.
    durable_refresh: bool = True


class SidecarService:
    def __init__(
        self,
        settings: Settings,
        *,
        on_credentials: Callable[[CredentialEvent], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = ConfigStore(settings.config_path)
        self._clock = clock
        self._client: OAuthClient | None = None
        self.refresher = Refresher(
            self.store,
            self._oauth_client,
            settings.endpoints,
            margins=settings.margins,
            clock=clock,
            on_event=on_credentials,
            courier=Courier(http_timeout=settings.http_timeout) if settings.durable_refresh else None,
        )
        self._signin_task: asyncio.Task[dict[str, Any]] | None = None
        self._signin_flow: SignInFlow | None = None
        #: Caller identities per profile, valid while the STS AccessKeyId is the same (memory only).
        self._identities = IdentityCache(CallerIdentityClient(timeout=settings.http_timeout).get)
        #: ``current`` of the file as of its stamp (see :meth:`select`).
        self._selected: tuple[FileStamp | None, str] | None = None

    def _oauth_client(self) -> OAuthClient:
        if self._client is None:
            self._client = OAuthClient(timeout=self.settings.http_timeout, clock=self._clock)
        return self._client

    async def aclose(self) -> None:
        self.cancel_sign_in()
        await self.refresher.aclose()

    # ----------------------------------------------------------------- profiles

    def _listing(self, doc: P.ConfigDoc) -> ProfileListing:
        dead = self.refresher.dead_profiles(doc)
        return ProfileListing(doc.get("current") or "", str(self.store.path), P.summarize_all(doc, self._clock(), dead))

    async def list_profiles(self) -> ProfileListing:
        return self._listing(await self.store.aread())

    def listing_of(self, doc: P.ConfigDoc) -> ProfileListing:
        """The ``ProfileList`` of an already read document (for change notifications)."""
        return self._listing(doc)

    async def profile_entry(self, name: str) -> P.ProfileSummary:
        doc = await self.store.aread()
        profile = P.get_profile(doc, name)
        dead = self.refresher.dead_profiles(doc).get(name)
        return P.summarize(doc, profile, self._clock(), dead)

    async def _mutate(self, mutate: Callable[[P.ConfigDoc], None]) -> ProfileListing:
        def apply(doc: P.ConfigDoc) -> ProfileListing:
            mutate(doc)
            return self._listing(doc)

        return await self.store.aupdate(apply)

    async def switch_profile(self, name: str) -> ProfileListing:
        return await self._mutate(lambda doc: P.switch_profile(doc, name))

    async def delete_profile(self, name: str) -> ProfileListing:
        result = await self._mutate(lambda doc: P.delete_profile(doc, name))
        self.refresher.invalidate(name)
        return result

    async def set_profile(self, name: str, region: str | None, language: str | None) -> ProfileListing:
        return await self._mutate(lambda doc: P.set_profile_options(doc, name, region, language))

    async def select(self, explicit: str | None) -> str:
        """The profile a request without a name means (explicit, environment, then ``current``).

        ``current`` is remembered with the file's stamp, so that the request path (``getCredentials``
        for the selected profile) does not read and parse the whole file on every call."""
        chosen = P.chosen_without_file(explicit)
        if chosen is not None:
            return chosen
        stamp = self.store.stamp()  # before the read: a write in between only causes a re-read
        known = self._selected
        if stamp is not None and known is not None and known[0] == stamp:
            return known[1]
        name = P.select_profile_name(await self.store.aread(), None)
        self._selected = (stamp, name)
        return name

    # ----------------------------------------------------------------- credentials

    async def refresh(self, name: str, force: Force) -> P.ProfileSummary:
        await self.refresher.credentials(name, force)
        return await self.profile_entry(name)

    async def credentials(self, name: str) -> StsCredentials:
        return await self.refresher.credentials(name)

    async def who_am_i(self, name: str) -> Identity:
        """The caller identity of the profile's STS credentials (``aliyun/whoAmI``).

        The credentials come from the refresher first, so expired STS is renewed before STS is asked;
        the answer is cached until the credentials change (a new AccessKeyId means a new lookup).
        """
        sts = await self.refresher.credentials(name)
        return await self._identities.get(name, sts, self.settings.endpoints.sts_endpoint)

    # ----------------------------------------------------------------- sign-in

    async def sign_in(
        self,
        profile: str,
        site: str | None,
        region: str | None,
        language: str | None,
        on_started: StartedCallback,
        on_progress: ProgressCallback = lambda _m: None,
    ) -> P.ProfileSummary:
        """Run a browser sign-in; a sign-in already running is cancelled first (one at a time)."""
        P.validate_profile_name(profile)
        existing = P.find_profile(await self.store.aread(), profile)
        endpoints = self.settings.endpoints
        # Without a site, the profile's own (unknownSite when it is not one: never a guess).
        chosen = endpoints.site_of(existing or {}, profile) if site is None else endpoints.site(P.validate_site(site))
        request = SignInRequest(
            profile=profile,
            site=chosen,
            region=P.validate_region(region) if region is not None else None,
            language=P.validate_language(language) if language is not None else None,
        )
        self.cancel_sign_in()
        flow = SignInFlow(
            self.store,
            self._oauth_client(),
            ports=self.settings.callback_ports,
            timeout=self.settings.signin_timeout,
        )
        task = asyncio.ensure_future(flow.run(request, on_started, on_progress))
        self._signin_task, self._signin_flow = task, flow
        try:
            await task
        except asyncio.CancelledError:
            task.cancel()
            caller = asyncio.current_task()
            if caller is not None and caller.cancelling():
                raise  # our caller was cancelled ($/cancelRequest): let the edge answer -32800
            raise Cancelled("The sign-in was cancelled (a newer sign-in started, or it was stopped).") from None
        finally:
            if self._signin_task is task:
                self._signin_task = self._signin_flow = None
        self.refresher.invalidate(profile)
        return await self.profile_entry(profile)

    def cancel_sign_in(self) -> bool:
        task = self._signin_task
        if task is None or task.done():
            return False
        task.cancel()
        return True

    def complete_sign_in(self, url: str) -> None:
        """Paste-back: feed the redirect URL the user copied from the browser to the pending sign-in."""
        flow = self._signin_flow
        if flow is None or flow.pending is None or self._signin_task is None or self._signin_task.done():
            raise Cancelled("No sign-in is waiting for a redirect URL; start a sign-in first.")
        if not isinstance(url, str) or not url.strip():
            raise InvalidParams("Paste the full address the browser showed after signing in.", field="url")
        flow.pending.deliver_url(url)
