"""Keeps the current profile's credentials fresh in the file while the editor is open.

Two thresholds matter to other programs, not to us:
* the official SDKs reuse the STS credentials in the file while ``sts_expiration`` is in the future,
  so renewing them early means no SDK process ever calls the service itself;
* both SDKs renew the OAuth access token themselves (spending the rotating refresh token, without our
  lock) once 20 minutes or less remain on it, so the keeper keeps more than that on it.

The current profile may stand on an OAuth profile without being one: a ``ChainableRamRoleArn`` (or any
profile with a ``source_profile``) is followed back to its source, as the CLI and the SDKs follow it,
and that OAuth source is what is kept fresh. Renewed tokens that could not be written (a corrupt or
locked file, a full disk) are written at the keeper's next look, which comes sooner while any wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ..asyncutil import cancel_and_wait
from ..config.profiles import OAUTH_MODE, find_profile, layer_times, oauth_source, select_profile_name
from ..errors import NetworkError, SidecarError, SignInRequired, UpstreamError
from ..timing import (
    KEEPER_ACCESS_TOKEN_MARGIN,
    KEEPER_MAX_SLEEP,
    KEEPER_MIN_SLEEP,
    KEEPER_RETRY_AFTER_FAILURE,
    KEEPER_STS_MARGIN,
    Margins,
)
from .refresher import Refresher

log = logging.getLogger(__name__)

KEEPER_MARGINS = Margins(sts=KEEPER_STS_MARGIN, access_token=KEEPER_ACCESS_TOKEN_MARGIN)


class CredentialKeeper:
    def __init__(
        self,
        refresher: Refresher,
        *,
        margins: Margins = KEEPER_MARGINS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.refresher = refresher
        self.margins = margins
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def poke(self) -> None:
        """Look again now (the file changed, or the current profile switched)."""
        self._wake.set()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def tick(self) -> float:
        """Save what waits to be saved, renew what is due; return how long to sleep before the next look."""
        pending = await self.refresher.save_pending()
        delay = await self._keep_current_fresh()
        return min(delay, KEEPER_RETRY_AFTER_FAILURE) if pending else delay

    async def _keep_current_fresh(self) -> float:
        store = self.refresher.store
        try:
            doc = await store.aread()
            current = select_profile_name(doc)
        except SidecarError:
            return KEEPER_MAX_SLEEP
        name = oauth_source(doc, current)
        profile = find_profile(doc, name) if name is not None else None
        if name is None or profile is None or profile.get("mode") != OAUTH_MODE or name in self.refresher.dead_profiles(doc):
            return KEEPER_MAX_SLEEP
        if name != current:
            log.debug("profile %s stands on OAuth profile %s; keeping that one fresh", current, name)
        try:
            await self.refresher.credentials(name, margins=self.margins)
        except SignInRequired:
            return KEEPER_MAX_SLEEP
        except (NetworkError, UpstreamError) as exc:
            log.warning(
                "keeping profile %s fresh failed (%s); retrying in %d s", name, exc.kind, KEEPER_RETRY_AFTER_FAILURE
            )
            return KEEPER_RETRY_AFTER_FAILURE
        except SidecarError as exc:  # clientNotAuthorized, unknownSite, ...: permanent, no loop
            log.warning("keeping profile %s fresh failed (%s)", name, exc.kind)
            return KEEPER_MAX_SLEEP
        times = layer_times(find_profile(await store.aread(), name) or {})
        now = self._clock()
        # Without a refresh token the access token cannot be renewed: only its STS layer is due.
        access_at = times.access_expires_at if times.has_refresh_token else None
        due = [
            t - margin - now
            for t, margin in ((times.sts_expires_at, self.margins.sts), (access_at, self.margins.access_token))
            if t is not None
        ]
        return max(KEEPER_MIN_SLEEP, min([KEEPER_MAX_SLEEP, *due]))

    async def _run(self) -> None:
        while True:
            try:
                delay = await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("credential keeper: unexpected error")
                delay = KEEPER_MAX_SLEEP
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass
