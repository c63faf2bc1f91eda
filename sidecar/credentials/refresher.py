"""Keeps the three token layers of OAuth profiles alive: STS credentials, access token, refresh token.

Guarantees:

* **One upstream call per need.** Inside the process, concurrent callers for a profile share one
  in-flight refresh. Across processes, the refresh runs under the profile's refresh lock and re-reads
  the file first: if another process already renewed a layer, its result is used and nothing is
  spent. The refresh lock is not the file lock: that one is held only around each write, never
  across a network call, so another window's profile edit never waits for a hung token call.
* **The rotating refresh token is never lost.** New OAuth tokens are made durable in a recovery
  record, then written to the file, the moment they arrive and before the STS exchange. Whatever
  stops that write (corrupt or unreadable file, lock timeout, disk full, a crash), they are kept
  and saved as soon as the file can be written, without a new upstream call (``recovery.py``).
* **Every path keeps 20 minutes on the access token** it exchanges (``timing.ACCESS_TOKEN_MARGIN``).
* **A failure loses nothing.** Only successful results are written; a network error or an error
  answer leaves the last good tokens in place and is reported as such (never as "expired").
* **``invalid_grant`` is final only when it is really ours.** Writers that take no lock (the
  official SDKs) may rotate the token between our read and our call; then the file holds a newer
  refresh token and we carry on with it. Only a refusal of the token that is in the file means
  "sign in again", and that is remembered (no retry loop) until the file holds another token. So is
  a refused client (``clientNotAuthorized``): no retry can help until an administrator acts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, NoReturn

from ..config.profiles import (
    OAUTH_MODE,
    REASON_CLIENT_NOT_AUTHORIZED,
    REASON_EXPIRED,
    REASON_NO_REFRESH_TOKEN,
    REASON_REFUSED,
    apply_oauth_tokens,
    apply_sts,
    find_profile,
    get_profile,
    read_oauth_tokens,
    read_sts,
)
from ..config.store import ConfigDoc, ConfigStore, FileStamp
from ..errors import (
    ClientNotAuthorized,
    InvalidGrant,
    InvalidParams,
    NetworkError,
    SidecarError,
    SignInRequired,
    UpstreamError,
)
from ..oauth.client import OAuthClient
from ..sites import Endpoints, Site
from ..timing import ACCESS_TOKEN_MARGIN, Margins
from ..tokens import OAuthTokens, StsCredentials, fingerprint
from .courier import Courier, CourierError, Job
from .recovery import Recovery, RecoveryRecords

log = logging.getLogger(__name__)

Force = Literal["sts", "accessToken"] | None
#: STS exchange answers that mean "this access token is no good", whatever its recorded expiry.
DEAD_ACCESS_TOKEN_ERRORS = ("expired_token", "invalid_token", "invalid_grant")


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
        recovery: RecoveryRecords | None = None,
        courier: Courier | None = None,
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
        #: profile -> (fingerprint of the refresh token the service refused, why, the refusal when it
        #: was the client's): remembered so that nothing retries it until the file holds another token.
        self._dead: dict[str, tuple[str, str, ClientNotAuthorized | None]] = {}
        #: profile -> (fingerprint of the spent refresh token, the tokens that replaced it) until the
        #: file holds them: the only copy of the new refresh token (besides the recovery record).
        self._unsaved: dict[str, tuple[str, OAuthTokens]] = {}
        self.recovery = recovery if recovery is not None else RecoveryRecords(store)
        #: Makes refresh calls from a process that outlives this one (None: in-process).
        self.courier = courier

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

    def dead_profiles(self, doc: ConfigDoc) -> dict[str, str]:
        """Profiles whose refresh token in ``doc`` is the one the service refused, with the reason
        (a ``stateReason``)."""
        dead = {}
        for name, (refused, reason, _error) in self._dead.items():
            try:
                tokens = read_oauth_tokens(get_profile(doc, name))
            except Exception:
                continue
            held = tokens.refresh_token if tokens is not None else ""
            if fingerprint(held) == refused:
                dead[name] = reason
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

    def _access_margin(self, margins: Margins) -> int:
        """Every path keeps at least ``ACCESS_TOKEN_MARGIN`` on the token it exchanges."""
        return max(margins.access_token, ACCESS_TOKEN_MARGIN)

    async def _renew(self, name: str, force: Force, margins: Margins) -> StsCredentials:
        if force is None:
            # Most calls end here: the file already holds good credentials (ours or another process's).
            profile = self._oauth_profile(await self.store.aread(), name)
            sts = self._fresh_sts(profile, margins)
            if sts is not None and self._access_ok(profile, margins):
                self._remember(name, sts)
                return sts
        # The refresh lock (per profile, across processes) may be held across the network calls;
        # the file lock is taken only by each write, so profile edits elsewhere never wait for us.
        async with self.store.refresh_lock(name):
            await self._after_courier(name)
            profile = self._oauth_profile(await self.store.aread(), name)
            site = self.endpoints.site_of(profile, name)  # unknownSite: no call to any site
            sts = self._fresh_sts(profile, margins) if force is None else None
            if sts is not None and self._access_ok(profile, margins):
                self._remember(name, sts)  # another process renewed it while we waited for the lock
                return sts
            tokens = await self._recover(name, read_oauth_tokens(profile))
            if tokens is None:
                self._mark_dead(name, None, REASON_NO_REFRESH_TOKEN)
                raise SignInRequired(name, "the profile holds no OAuth tokens.")
            renewed_access = False
            if force == "accessToken" or tokens.access_expires_at - self._clock() <= self._access_margin(margins):
                renewed = await self._renew_access_token(name, site, tokens, force == "accessToken")
                renewed_access, tokens = renewed is not tokens, renewed
            changed = renewed_access or sts is None
            if sts is None:
                sts = await self._exchange(name, site, tokens, renewed_access)
            self._remember(name, sts)
        if changed:  # (a profile without a refresh token may have had nothing to renew)
            self._emit(CredentialEvent(name, "refreshed", sts.expires_at))
        return sts

    def _access_ok(self, profile: dict[str, Any], margins: Margins) -> bool:
        """Whether the access token needs no renewal (only the keeper asks with a larger margin)."""
        if self._access_margin(margins) <= self._access_margin(self.margins):
            return True
        tokens = read_oauth_tokens(profile)
        return tokens is None or tokens.access_expires_at - self._clock() > self._access_margin(margins)

    async def _exchange(self, name: str, site: Site, tokens: OAuthTokens, renewed_access: bool) -> StsCredentials:
        try:
            sts = await self.client.exchange_sts(site, tokens.access_token)
        except UpstreamError as exc:
            if exc.error not in DEAD_ACCESS_TOKEN_ERRORS or renewed_access:
                raise
            # The access token died before its recorded expiry (revoked, or clocks disagree): renew it once.
            log.info("profile %s: access token refused by the STS exchange; renewing it", name)
            tokens = await self._renew_access_token(name, site, tokens, True)
            sts = await self.client.exchange_sts(site, tokens.access_token)
        await self.store.aupdate(lambda doc: apply_sts(get_profile(doc, name), sts))
        log.info("profile %s: STS credentials renewed, valid until %s", name, sts.expires_at)
        return sts

    async def _renew_access_token(self, name: str, site: Site, tokens: OAuthTokens, forced: bool) -> OAuthTokens:
        now = self._clock()
        if not tokens.refresh_token:
            # Signed in without a refresh token: usable until the access token expires, then a sign-in.
            if tokens.access_expires_at > now and not forced:
                return tokens
            self._mark_dead(name, "", REASON_NO_REFRESH_TOKEN)
            raise SignInRequired(name, "it was signed in without a refresh token, and its access token has expired.")
        # ``oauth_refresh_token_expire`` is a hint (the real CLI rotates the token and leaves the old
        # time): past it, the refresh is still tried, and only the service's refusal ends the session.
        self._raise_if_dead(name, tokens.refresh_token)
        try:
            new = await self._refresh_call(name, site, tokens)
        except InvalidGrant:
            # Did a writer that takes no lock (an SDK) rotate the token since we read the file?
            current = read_oauth_tokens(get_profile(await self.store.aread(), name))
            if current is None or current.refresh_token == tokens.refresh_token or not current.refresh_token:
                self._refused(name, tokens)
            log.info("profile %s: refresh token was rotated by another program; using its result", name)
            if current.access_expires_at - self._clock() > ACCESS_TOKEN_MARGIN:
                return current
            tokens = current
            try:
                new = await self._refresh_call(name, site, current)
            except InvalidGrant:
                self._refused(name, current)
        if not new.refresh_token:
            # No refresh token in the answer: the one we used stays ours (keep it, and its expiry).
            new = replace(new, refresh_token=tokens.refresh_token, refresh_expires_at=tokens.refresh_expires_at)
        await self._persist(name, fingerprint(tokens.refresh_token), new)
        self._dead.pop(name, None)
        log.info("profile %s: access token renewed, valid until %s", name, new.access_expires_at)
        return new

    async def _refresh_call(self, name: str, site: Site, tokens: OAuthTokens) -> OAuthTokens:
        try:
            return await self._token_refresh(name, site, tokens)
        except ClientNotAuthorized as exc:
            # Permanent until an administrator acts: remember it (no retry loop), like a refused token.
            self._mark_dead(name, tokens.refresh_token, REASON_CLIENT_NOT_AUTHORIZED, exc)
            raise exc.for_profile(name) from None

    async def _token_refresh(self, name: str, site: Site, tokens: OAuthTokens) -> OAuthTokens:
        """The ``/v1/token`` refresh, through the courier when there is one (see ``courier.py``)."""
        if self.courier is None or not self.recovery.enabled:
            return await self.client.refresh(site, tokens.refresh_token)
        job = Job(
            profile=name,
            site_name=site.name,
            oauth_base=site.oauth_base,
            client_id=site.client_id,
            refresh_token=tokens.refresh_token,
            refresh_expires_at=tokens.refresh_expires_at,
            spent=fingerprint(tokens.refresh_token),
            record_path=str(self.recovery.path_for(name)),
            http_timeout=self.courier.http_timeout,
            now=self._clock(),
        )
        try:
            return await self.courier.refresh(job, self.store.courier_lock_path(name))
        except CourierError as exc:
            if exc.handed_over:
                # The service may have spent the token: only the courier's record can tell (read by
                # the next renewal, after the courier lock). Never spend it again from here.
                log.warning("profile %s: the refresh courier did not answer (%s)", name, exc.message)
                raise NetworkError("The token refresh did not complete; it is tried again on the next request.") from None
            log.warning("profile %s: refreshing in-process: %s", name, exc.message)
            return await self.client.refresh(site, tokens.refresh_token)

    async def _after_courier(self, name: str) -> None:
        """Wait for a refresh courier that still works for ``name`` (its sidecar may be gone), so
        that the record it writes is read. Called under the profile's refresh lock."""
        if not self.store.courier_lock_path(name).exists():
            return
        lock = self.store.courier_lock(name)
        await lock.aacquire()
        lock.release()

    def _refused(self, name: str, tokens: OAuthTokens) -> NoReturn:
        """The service refused the refresh token in the file: remember it and ask for a sign-in. Past
        its recorded expiry, that expiry is the likely why (``refreshTokenExpired``)."""
        expired = tokens.refresh_expires_at is not None and tokens.refresh_expires_at <= self._clock()
        self._mark_dead(name, tokens.refresh_token, REASON_EXPIRED if expired else REASON_REFUSED)
        why = "has expired (refused by the sign-in service)" if expired else "was refused by the sign-in service"
        raise SignInRequired(name, f"its refresh token {why}.") from None

    def _raise_if_dead(self, name: str, refresh_token: str) -> None:
        entry = self._dead.get(name)
        if entry is None or entry[0] != fingerprint(refresh_token):
            return
        if entry[1] == REASON_CLIENT_NOT_AUTHORIZED and entry[2] is not None:
            raise entry[2].for_profile(name)
        raise SignInRequired(name, "its refresh token was refused by the sign-in service.")

    # ----------------------------------------------------------------- never drop a rotated token

    async def _persist(self, name: str, spent: str, new: OAuthTokens) -> None:
        """Save tokens that replace the refresh token with fingerprint ``spent``.

        The old token is already spent, so this is the only copy of the new one: it goes into a
        fsynced recovery record first (a crash during the main write then loses nothing), then into
        the file. If the file cannot be written (corrupt, unreadable, locked, disk full), the tokens
        stay in memory and in the record and are written by the next look at the profile, with no
        new upstream call.
        """
        self._unsaved[name] = (spent, new)
        recorded = await self.recovery.asave(Recovery(name, spent, new))
        try:
            await self.store.aupdate(lambda doc: apply_oauth_tokens(get_profile(doc, name), new))
        except BaseException:
            log.warning(
                "profile %s: the renewed tokens could not be written to the file; kept %s until it can be",
                name,
                "in memory and in a recovery record" if recorded else "in memory",
            )
            raise
        self._unsaved.pop(name, None)
        if recorded:
            await self.recovery.aremove(name)

    async def _recover(self, name: str, tokens: OAuthTokens | None) -> OAuthTokens | None:
        """Write tokens an earlier renewal could not save (memory first, then a recovery record),
        if the file still holds the token they replaced; if it moved on, they are obsolete."""
        candidates: list[tuple[str, OAuthTokens, bool]] = []
        if name in self._unsaved:
            spent, new = self._unsaved[name]
            candidates.append((spent, new, False))
        record = await self.recovery.aload(name) if self.recovery.enabled else None
        if record is not None:
            candidates.append((record.replaces, record.tokens, True))
        if not candidates:
            return tokens
        current = fingerprint(tokens.refresh_token) if tokens is not None else None
        chosen = next(((spent, new) for spent, new, _ in candidates if spent == current), None)
        if chosen is None:
            self._unsaved.pop(name, None)
            if record is not None:
                await self.recovery.aremove(name)
            return tokens
        spent, new = chosen

        def merge(doc: ConfigDoc) -> bool:
            profile = get_profile(doc, name)
            on_disk = read_oauth_tokens(profile)
            if on_disk is None or fingerprint(on_disk.refresh_token) != spent:
                return False  # moved on between our read and this write
            apply_oauth_tokens(profile, new)
            return True

        merged = await self.store.aupdate(merge)
        self._unsaved.pop(name, None)
        if record is not None:
            await self.recovery.aremove(name)
        if not merged:
            return read_oauth_tokens(get_profile(await self.store.aread(), name))
        log.info("profile %s: saved the renewed tokens that an earlier renewal could not write", name)
        return new

    async def save_pending(self) -> list[str]:
        """Write every kept rotated token whose file is writable again (start-up, and the keeper's
        every look). Returns the profiles still pending; errors are logged, never raised."""
        names = set(self._unsaved)
        if self.recovery.enabled:
            names |= {r.profile for r in await self.recovery.aall()}
        pending = []
        for name in sorted(names):
            try:
                async with self.store.refresh_lock(name):
                    await self._after_courier(name)
                    doc = await self.store.aread()
                    profile = find_profile(doc, name)
                    if profile is None:
                        self._unsaved.pop(name, None)
                        await self.recovery.aremove(name)
                        continue
                    await self._recover(name, read_oauth_tokens(profile))
            except SidecarError as exc:
                log.warning("profile %s: renewed tokens still not saved (%s)", name, exc.kind)
                pending.append(name)
        return pending

    def _mark_dead(
        self, name: str, refresh_token: str | None, reason: str, error: ClientNotAuthorized | None = None
    ) -> None:
        self._dead[name] = (fingerprint(refresh_token or ""), reason, error)
        self._cache.pop(name, None)
        self._emit(CredentialEvent(name, "signInRequired"))
