"""The composition root of the JSON-RPC sidecar: the one place that builds the service and the
background parts around it (config watcher, credential keeper, credentials endpoint) and wires their
events to the client's notifications.

It knows nothing of JSON-RPC or pygls: the edge hands it a ``notify(method, params)`` function and
calls its methods. The command-line entry points need none of this and build a ``SidecarService``
alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from . import wire
from .config.store import ConfigDoc
from .config.watcher import ConfigWatcher
from .credentials.endpoint import CredentialsEndpoint, refresher_source
from .credentials.keeper import CredentialKeeper
from .credentials.refresher import CredentialEvent
from .errors import SidecarError
from .service import Settings, SidecarService

#: How the app tells the client something: a method name and plain-JSON params.
Notify = Callable[[str, dict[str, Any]], None]


class App:
    """What exists once the client said ``initialize``: the service and its background tasks."""

    def __init__(self, settings: Settings, *, keep_fresh: bool, notify: Notify) -> None:
        self.notify = notify
        self.service = SidecarService(settings, on_credentials=self._credentials_changed)
        self.watcher = ConfigWatcher(self.service.store, self._file_changed)
        self.keeper = CredentialKeeper(self.service.refresher) if keep_fresh else None
        self.endpoint: CredentialsEndpoint | None = None
        self._endpoint_starting = asyncio.Lock()

    def start(self) -> None:
        self.watcher.start()
        if self.keeper is not None:
            self.keeper.start()

    async def stop(self) -> None:
        await self.watcher.stop()
        if self.keeper is not None:
            await self.keeper.stop()
        if self.endpoint is not None:
            await self.endpoint.close()
        await self.service.aclose()

    async def credentials_endpoint(self) -> CredentialsEndpoint:
        """The loopback credentials endpoint, started on first use (once per sidecar)."""
        async with self._endpoint_starting:
            if self.endpoint is None:
                service = self.service
                self.endpoint = await CredentialsEndpoint.start(
                    refresher_source(service.select, service.refresher, service.settings.margins)
                )
            return self.endpoint

    async def changed(self) -> None:
        """After our own write: notify at once instead of at the next poll (and only once)."""
        await self.watcher.check()

    def _credentials_changed(self, event: CredentialEvent) -> None:
        payload: dict[str, Any] = {"profile": event.profile, "kind": event.kind}
        if event.expires_at is not None:
            payload["expiresAt"] = event.expires_at
        self.notify("aliyun/credentialsChanged", payload)

    async def _file_changed(self, doc: ConfigDoc | None, error: SidecarError | None) -> None:
        if error is not None:
            self.notify("aliyun/configError", config_error(error, str(self.service.store.path)))
            return
        assert doc is not None
        self.service.refresher.invalidate()
        self.notify("aliyun/profilesChanged", wire.to_json(self.service.listing_of(doc)))
        if self.keeper is not None:
            self.keeper.poke()


def config_error(error: SidecarError, path: str) -> dict[str, Any]:
    """``aliyun/configError`` params: the error's data (kind, path, where, line, column, reason, fix...)
    and its message."""
    return {"path": path, **error.to_data(), "message": error.message}
