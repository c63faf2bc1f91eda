"""Notices when another program (the CLI, an SDK, a hand edit) changes the config file.

Polling ``stat`` twice a second costs microseconds and works the same on every file system and for
every way of writing (rename over, truncate-and-write in place, editors' swap files), which is why it
is used instead of inotify. A burst of writes settles into one notification.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ..asyncutil import cancel_and_wait
from ..errors import ConfigInsecure, SidecarError
from ..timing import WATCH_INTERVAL
from .store import ConfigDoc, ConfigStore, FileStamp

log = logging.getLogger(__name__)

_UNSEEN = object()

OnChange = Callable[[ConfigDoc | None, SidecarError | None], Awaitable[None]]


class ConfigWatcher:
    def __init__(self, store: ConfigStore, on_change: OnChange, interval: float = WATCH_INTERVAL) -> None:
        self.store = store
        self.on_change = on_change
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        #: ``_UNSEEN`` until the first look, so that the state at start-up is reported too.
        self._last: FileStamp | None | object = _UNSEEN
        self._last_error: str | None = None
        #: A fix of an insecure file (chmod, chown of it or its folder) changes no stamp: look again.
        self._insecure = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    def _stamp(self) -> FileStamp | None:
        try:
            return self.store.stamp()
        except SidecarError:
            return None

    async def check(self) -> None:
        """Look once; report a change (or a newly broken file) to ``on_change``."""
        stamp = self._stamp()
        if stamp == self._last and not self._insecure:
            return
        self._last = stamp
        try:
            doc = await self.store.aread()
        except SidecarError as exc:
            self._insecure = isinstance(exc, ConfigInsecure)
            if exc.message != self._last_error:  # report a broken file once, not every poll
                if self._last_error is None:  # one log line per transition into the broken state
                    log.warning("config file: %s: %s", exc.kind, exc.message)
                self._last_error = exc.message
                await self.on_change(None, exc)
            return
        self._insecure = False
        if self._last_error is not None:
            log.info("config file: valid again")
        self._last_error = None
        await self.on_change(doc, None)

    async def _run(self) -> None:
        while True:
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("config watcher: unexpected error")
            await asyncio.sleep(self.interval)
