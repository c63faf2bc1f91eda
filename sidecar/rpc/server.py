"""The JSON-RPC edge: the lifecycle (``initialize`` builds the :class:`~sidecar.app.App`, ``shutdown``
stops it) and the dispatch of the ``aliyun/*`` table (``methods.py``): params checked field by field,
the service called, typed errors mapped to JSON-RPC errors (``errors.py``). The connection itself
(framing, pygls) is ``adapter.py``'s. No logic lives here that a command-line entry point would need.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .. import __version__, logs, wire
from ..app import App
from ..service import Settings
from ..timing import SHOW_DOCUMENT_TIMEOUT
from .adapter import Edge, Hooks, run_stdio
from .errors import not_initialized
from .methods import METHODS
from .options import options_from
from .params import as_object

log = logging.getLogger("sidecar.rpc")


class Sidecar:
    """The edge's state: the app, once the client said ``initialize``."""

    def __init__(self, defaults: Settings) -> None:
        self.defaults = defaults
        self.app: App | None = None
        self.edge: Edge | None = None

    def hooks(self) -> Hooks:
        return Hooks(
            dispatch=self.dispatch,
            methods=METHODS,
            initialize=self.initialize,
            initialized=self.initialized,
            shutdown=self.shutdown,
        )

    # ----------------------------------------------------------------- lifecycle

    def initialize(self, params: dict[str, Any]) -> dict[str, Any]:
        """Build the app; answer ``capabilities.experimental`` (the site table with the endpoints in
        effect, from which the extension builds its site pickers)."""
        options = options_from(params.get("initializationOptions"), self.defaults)
        logs.configure(options.log_level)
        self.app = App(options.settings, keep_fresh=options.keep_fresh, notify=self.notify)
        return {"aliyun": wire.aliyun_capabilities(options.settings.endpoints, __version__)}

    def initialized(self) -> None:
        if self.app is not None:
            self.app.start()

    async def shutdown(self) -> None:
        app, self.app = self.app, None
        if app is not None:
            await app.stop()

    # ----------------------------------------------------------------- requests

    async def dispatch(self, name: str, params: Any) -> Any:
        method = METHODS[name]
        app = self.app
        if app is None:
            raise not_initialized()
        p = as_object(params)
        args = {key: param.check(p, key) for key, param in method.params.items()}
        result = wire.to_json(await method.call(app, args, self))  # typed values → the contract's JSON
        if method.writes:
            await app.changed()
        return result

    # ----------------------------------------------------------------- the client (methods.Client)

    def notify(self, method: str, params: Any) -> None:
        if self.edge is not None:
            self.edge.notify(method, params)

    def progress(self, token: str | int, value: dict[str, Any]) -> None:
        if self.edge is not None:
            self.edge.progress(token, value)

    async def open_in_browser(self, url: str) -> None:
        """Ask the editor to open the sign-in page; the flow never waits on it (the editor may not answer)."""
        edge = self.edge
        if edge is None or not edge.can_show_documents():
            log.info("the client cannot open documents; it was sent aliyun/signInStarted instead")
            return
        try:
            if not await asyncio.wait_for(edge.show_document(url), timeout=SHOW_DOCUMENT_TIMEOUT):
                log.warning("the editor could not open the sign-in page; the user can copy its address instead")
        except Exception as exc:
            log.warning("asking the editor to open the sign-in page failed (%s)", type(exc).__name__)


def serve(defaults: Settings) -> int:
    """Run until ``exit`` (or the end of stdin); the exit code is 0 only after a ``shutdown``."""
    logs.configure("info")
    sidecar = Sidecar(defaults)

    def bind(edge: Edge) -> None:
        sidecar.edge = edge

    return run_stdio("aliyun-sidecar", __version__, sidecar.hooks(), bind)
