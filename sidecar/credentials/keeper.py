"""Keeps the current profile's credentials fresh in the file while the editor is open.

Two thresholds matter to other programs, not to us:
* the official SDKs reuse the STS credentials in the file while ``sts_expiration`` is in the future,
  so renewing them early means no SDK process ever calls the service itself;
* both SDKs renew the OAuth access token themselves (spending the rotating refresh token, without our
  lock) once 20 minutes or less remain on it, so the keeper keeps more than that on it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ..config.profiles import OAUTH_MODE, find_profile, layer_times, select_profile_name
from ..asyncutil import cancel_and_wait
from ..errors import NetworkError, SidecarError, SignInRequired, UpstreamError
from .refresher import Margins, Refresher

log = logging.getLogger(__name__)

#: The SDKs refresh the access token themselves at 1200 s; stay well above it.
KEEPER_MARGINS = Margins(sts=900, access_token=1800)
MIN_SLEEP, MAX_SLEEP = 5.0, 300.0
RETRY_AFTER_FAILURE = 30.0


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
        """Renew what is due; return how long to sleep before the next look."""
        store = self.refresher.store
        try:
            doc = await store.aread()
            name = select_profile_name(doc)
        except SidecarError:
            return MAX_SLEEP
        profile = find_profile(doc, name)
        if profile is None or profile.get("mode") != OAUTH_MODE or name in self.refresher.dead_profiles(doc):
            return MAX_SLEEP
        try:
            await self.refresher.credentials(name, margins=self.margins)
        except SignInRequired:
            return MAX_SLEEP
        except (NetworkError, UpstreamError) as exc:
            log.warning("keeping profile %s fresh failed (%s); retrying in %d s", name, exc.kind, RETRY_AFTER_FAILURE)
            return RETRY_AFTER_FAILURE
        except SidecarError as exc:
            log.warning("keeping profile %s fresh failed (%s)", name, exc.kind)
            return MAX_SLEEP
        times = layer_times(find_profile(await store.aread(), name) or {})
        now = self._clock()
        due = [
            t - margin - now
            for t, margin in ((times.sts_expires_at, self.margins.sts), (times.access_expires_at, self.margins.access_token))
            if t is not None
        ]
        return max(MIN_SLEEP, min([MAX_SLEEP, *due]))

    async def _run(self) -> None:
        while True:
            try:
                delay = await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("credential keeper: unexpected error")
                delay = MAX_SLEEP
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass
