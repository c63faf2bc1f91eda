"""Keeps the three token layers of OAuth profiles alive: STS credentials, access token, refresh token.

Guarantees:

* **One upstream call per need.** Inside the process, concurrent callers for a profile share one
  in-flight refresh. Across processes, the refresh runs under the config lock and re-reads the file
  first: if another process already renewed a layer, its result is used and nothing is spent.
* **The rotating refresh token is never lost.** New OAuth tokens are written to the file the moment
  they arrive, before the STS exchange, so a failure after that point cannot strand a spent token.
* **A failure loses nothing.** Only successful results are written; a network error or an error
  answer leaves the last good tokens in place and is reported as such (never as "expired").
* **``invalid_grant`` is final only when it is really ours.** Writers that take no lock (the
  official SDKs) may rotate the token between our read and our call; then the file holds a newer
  refresh token and we carry on with it. Only a refusal of the token that is in the file means
  "sign in again", and that is remembered (no retry loop) until the file holds another token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..config.profiles import (
    OAUTH_MODE,
    apply_oauth_tokens,
    apply_sts,
    get_profile,
    read_oauth_tokens,
    read_sts,
)
from ..config.store import ConfigDoc, ConfigStore, FileStamp, LockedConfig
from ..errors import ConfigUnavailable, InvalidGrant, InvalidParams, SignInRequired, UpstreamError
from ..oauth.client import OAuthClient
from ..oauth.sites import Endpoints, Site
from ..tokens import OAuthTokens, StsCredentials, fingerprint

log = logging.getLogger(__name__)

Force = Literal["sts", "accessToken"] | None
#: STS exchange answers that mean "this access token is no good", whatever its recorded expiry.
DEAD_ACCESS_TOKEN_ERRORS = ("expired_token", "invalid_token", "invalid_grant")


@dataclass(frozen=True)
class Margins:
    """Renew a layer when less than this many seconds remain on it."""

    sts: int = 300
    access_token: int = 300


@dataclass(frozen=True)
class CredentialEvent:
    profile: str
    kind: Literal["refreshed", "signInRequired"]
    expires_at: int | None = None


class Refresher:
    def __init__(
        self,
        store: ConfigStore,
        client_factory: Callable[[], OAuthClient],
        endpoints: Endpoints,
        *,
        margins: Margins = Margins(),
        clock: Callable[[], float] = time.time,
        on_event: Callable[[CredentialEvent], None] | None = None,
    ) -> None:
        self.store = store
        self.endpoints = endpoints
        self.margins = margins
        self._client_factory = client_factory
        self._client: OAuthClient | None = None
        self._clock = clock
        self._on_event = on_event
        self._inflight: dict[str, asyncio.Task[StsCredentials]] = {}
        self._forced: dict[str, asyncio.Lock] = {}
        #: Fresh STS credentials per profile, valid while the file is unchanged.
        self._cache: dict[str, tuple[FileStamp | None, StsCredentials]] = {}
        #: profile -> fingerprint of the refresh token that was refused.
        self._dead: dict[str, str] = {}
        #: profile -> (fingerprint of the spent refresh token, the tokens that replaced it) when the
        #: file could not be written (disk full): the only copy of the new refresh token is here.
        self._unsaved: dict[str, tuple[str, OAuthTokens]] = {}

    @property
    def client(self) -> OAuthClient:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    async def aclose(self) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()

    # ----------------------------------------------------------------- public

    async def credentials(self, name: str, force: Force = None, margins: Margins | None = None) -> StsCredentials:
        """Valid STS credentials for the profile, renewing whatever layers need it first."""
        if force is not None:
            lock = self._forced.setdefault(name, asyncio.Lock())
            async with lock:
                return await self._renew(name, force, margins or self.margins)
        cached = self._cached(name) if margins is None else None
        if cached is not None:
            return cached
        key = name if margins is None else f"{name}\0{margins.sts}\0{margins.access_token}"
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._renew(name, None, margins or self.margins))
            self._inflight[key] = task
            task.add_done_callback(lambda t, k=key: self._forget(k, t))
        # shield: a caller that gives up (cancelled request) must not cancel the others' refresh.
        return await asyncio.shield(task)

    def dead_profiles(self, doc: ConfigDoc) -> set[str]:
        """Profiles whose refresh token in ``doc`` is the one the service refused."""
        dead = set()
        for name, refused in self._dead.items():
            try:
                tokens = read_oauth_tokens(get_profile(doc, name))
            except Exception:
                continue
            if tokens is not None and fingerprint(tokens.refresh_token) == refused:
                dead.add(name)
        return dead

    def invalidate(self, name: str | None = None) -> None:
        if name is None:
            self._cache.clear()
        else:
            self._cache.pop(name, None)

    # ----------------------------------------------------------------- internals

    def _forget(self, key: str, task: asyncio.Task[StsCredentials]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # mark retrieved: every waiter gets it through shield

    def _cached(self, name: str) -> StsCredentials | None:
        entry = self._cache.get(name)
        if entry is None:
            return None
        stamp, sts = entry
        if sts.expires_at - self._clock() <= self.margins.sts or self.store.stamp() != stamp:
            self._cache.pop(name, None)
            return None
        return sts

    def _remember(self, name: str, sts: StsCredentials) -> None:
        self._cache[name] = (self.store.stamp(), sts)

    def _emit(self, event: CredentialEvent) -> None:
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:  # a listener's bug must not fail a refresh
                log.exception("credential event listener failed")

    def _oauth_profile(self, doc: ConfigDoc, name: str) -> dict[str, Any]:
        profile = get_profile(doc, name)
        if profile.get("mode") != OAUTH_MODE:
            raise InvalidParams(
                f"Profile '{name}' uses mode {profile.get('mode')!r}, not OAuth; the sidecar does not manage it.",
                field="profile",
            )
        return profile

    def _fresh_sts(self, profile: dict[str, Any], margins: Margins) -> StsCredentials | None:
        sts = read_sts(profile)
        if sts is not None and sts.expires_at - self._clock() > margins.sts:
            return sts
        return None

    async def _renew(self, name: str, force: Force, margins: Margins) -> StsCredentials:
        if force is None:
            # Most calls end here: the file already holds good credentials (ours or another process's).
            profile = self._oauth_profile(await self.store.aread(), name)
            sts = self._fresh_sts(profile, margins)
            if sts is not None and self._access_ok(profile, margins):
                self._remember(name, sts)
                return sts
        async with self.store.alocked() as cfg:
            profile = self._oauth_profile(await cfg.aread(), name)
            site = self.endpoints.site(str(profile.get("oauth_site_type") or "CN"))
            tokens = read_oauth_tokens(profile)
            sts = self._fresh_sts(profile, margins) if force is None else None
            if sts is not None and self._access_ok(profile, margins):
                self._remember(name, sts)  # another process renewed it while we waited for the lock
                return sts
            if tokens is None:
                self._mark_dead(name, None)
                raise SignInRequired(name, "the profile holds no OAuth tokens.")
            tokens = await self._save_unsaved(cfg, name, tokens)
            renewed_access = False
            if force == "accessToken" or tokens.access_expires_at - self._clock() <= margins.access_token:
                tokens = await self._renew_access_token(cfg, name, site, tokens)
                renewed_access = True
            if sts is None:
                sts = await self._exchange(cfg, name, site, tokens, renewed_access)
            self._remember(name, sts)
        self._emit(CredentialEvent(name, "refreshed", sts.expires_at))
        return sts

    def _access_ok(self, profile: dict[str, Any], margins: Margins) -> bool:
        """Whether the access token needs no renewal (only the keeper asks with a large margin)."""
        if margins.access_token <= self.margins.access_token:
            return True
        tokens = read_oauth_tokens(profile)
        return tokens is None or tokens.access_expires_at - self._clock() > margins.access_token

    async def _exchange(
        self, cfg: LockedConfig, name: str, site: Site, tokens: OAuthTokens, renewed_access: bool
    ) -> StsCredentials:
        try:
            sts = await self.client.exchange_sts(site, tokens.access_token)
        except UpstreamError as exc:
            if exc.error not in DEAD_ACCESS_TOKEN_ERRORS or renewed_access:
                raise
            # The access token died before its recorded expiry (revoked, or clocks disagree): renew it once.
            log.info("profile %s: access token refused by the STS exchange; renewing it", name)
            tokens = await self._renew_access_token(cfg, name, site, tokens)
            sts = await self.client.exchange_sts(site, tokens.access_token)
        await cfg.aupdate(lambda doc: apply_sts(get_profile(doc, name), sts))
        log.info("profile %s: STS credentials renewed, valid until %s", name, sts.expires_at)
        return sts

    async def _renew_access_token(
        self, cfg: LockedConfig, name: str, site: Site, tokens: OAuthTokens
    ) -> OAuthTokens:
        now = self._clock()
        if tokens.refresh_expires_at is not None and tokens.refresh_expires_at <= now:
            self._mark_dead(name, tokens.refresh_token)
            raise SignInRequired(name, "its refresh token has expired.")
        if self._dead.get(name) == fingerprint(tokens.refresh_token):
            raise SignInRequired(name, "its refresh token was refused by the sign-in service.")
        try:
            new = await self.client.refresh(site, tokens.refresh_token)
        except InvalidGrant:
            # Did a writer that takes no lock (an SDK) rotate the token since we read the file?
            current = read_oauth_tokens(get_profile(await cfg.aread(), name))
            if current is None or current.refresh_token == tokens.refresh_token:
                self._mark_dead(name, tokens.refresh_token)
                raise SignInRequired(name, "its refresh token was refused by the sign-in service.") from None
            log.info("profile %s: refresh token was rotated by another program; using its result", name)
            if current.access_expires_at - self._clock() > self.margins.access_token:
                return current
            try:
                new = await self.client.refresh(site, current.refresh_token)
            except InvalidGrant:
                self._mark_dead(name, current.refresh_token)
                raise SignInRequired(name, "its refresh token was refused by the sign-in service.") from None
        # Persist at once: the old refresh token is spent, so this is the only copy of the new one.
        try:
            await cfg.aupdate(lambda doc: apply_oauth_tokens(get_profile(doc, name), new))
        except ConfigUnavailable:
            self._unsaved[name] = (fingerprint(tokens.refresh_token), new)
            raise
        self._dead.pop(name, None)
        log.info("profile %s: access token renewed, valid until %s", name, new.access_expires_at)
        return new

    async def _save_unsaved(self, cfg: LockedConfig, name: str, tokens: OAuthTokens) -> OAuthTokens:
        """Write tokens an earlier renewal could not save, if the file still holds the token they
        replaced; if the file moved on (a new sign-in), they are obsolete."""
        entry = self._unsaved.get(name)
        if entry is None:
            return tokens
        spent, new = entry
        if fingerprint(tokens.refresh_token) != spent:
            del self._unsaved[name]
            return tokens
        await cfg.aupdate(lambda doc: apply_oauth_tokens(get_profile(doc, name), new))
        del self._unsaved[name]
        log.info("profile %s: saved the tokens that an earlier renewal could not write", name)
        return new

    def _mark_dead(self, name: str, refresh_token: str | None) -> None:
        self._dead[name] = fingerprint(refresh_token or "")
        self._cache.pop(name, None)
        self._emit(CredentialEvent(name, "signInRequired"))
