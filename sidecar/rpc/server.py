"""The JSON-RPC edge: a pygls server whose ``aliyun/*`` handlers validate params, call the service,
and turn errors into JSON-RPC errors. No logic lives here that a command-line entry point would need.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidRequest, JsonRpcMethodNotFound, JsonRpcServerNotInitialized
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from .. import __version__
from .. import logs, wire
from ..config.store import ConfigDoc
from ..config.watcher import ConfigWatcher
from ..credentials.endpoint import CredentialsEndpoint, service_source
from ..credentials.keeper import CredentialKeeper
from ..credentials.refresher import CredentialEvent, Margins
from ..errors import Cancelled, InvalidParams, SidecarError
from ..oauth.sites import check_ports
from ..service import Settings, SidecarService
from .errors import to_rpc_error
from .params import as_object, opt_bool, opt_progress_token, opt_str, req_str

log = logging.getLogger(__name__)

LOG_LEVELS = ("error", "warning", "info", "debug")


class SidecarProtocol(LanguageServerProtocol):
    """Advertises no document synchronisation (the sidecar reads no documents) and answers requests
    that arrive after ``shutdown`` with InvalidRequest, as the LSP spec asks, instead of leaving the
    client waiting forever as pygls does."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        # JSON-RPC lets a request or notification leave out "params" (vscode-jsonrpc does, for
        # sendRequest(method)); pygls cannot structure such a message and would never answer it.
        if isinstance(data, dict) and "jsonrpc" in data and "method" in data and "params" not in data:
            data = {**data, "params": None}
        return super().structure_message(data)

    def _get_handler(self, feature_name: str) -> Any:
        try:
            return super()._get_handler(feature_name)
        except JsonRpcMethodNotFound:
            # Every error answer carries data.kind (docs/contract.md), protocol-level ones too.
            raise JsonRpcMethodNotFound(
                f"The sidecar has no method {feature_name[:100]!r}.", data={"kind": "methodNotFound"}
            ) from None

    def handle_message(self, message: Any) -> None:
        method = getattr(message, "method", None)
        msg_id = getattr(message, "id", None)
        if self._shutdown and method not in (None, types.EXIT) and msg_id is not None:
            error = JsonRpcInvalidRequest(
                "The sidecar is shutting down and takes no more requests.", data={"kind": "shuttingDown"}
            )
            self._send_response(msg_id, error=error.to_response_error())
            return
        super().handle_message(message)

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):  # type: ignore[override]
        result = yield from super().lsp_initialize(params)
        result.capabilities.text_document_sync = None
        result.capabilities.notebook_document_sync = None
        # The site table and version (docs/contract.md, "initialize"), set by the initialize handler.
        result.capabilities.experimental = {"aliyun": self._server.aliyun_capabilities}
        return result


class SidecarServer(LanguageServer):
    #: ``capabilities.experimental.aliyun`` of the initialize result (``wire.aliyun_capabilities``).
    aliyun_capabilities: dict[str, Any] | None = None

    def report_server_error(self, error: Exception, source: Any) -> None:
        # pygls would show "Error in server: <text>" to the user for malformed frames; the text may
        # quote the frame. Log the kind of problem only.
        log.warning("ignored a message the sidecar could not handle (%s)", type(error).__name__)


def settings_from_options(options: Any, defaults: Settings) -> tuple[Settings, bool, str]:
    """``initializationOptions`` → settings, whether to keep credentials fresh, and the log level."""
    opts = as_object(options)
    config_path = opt_str(opts, "configPath") or defaults.config_path
    endpoints = defaults.endpoints.with_overrides(opts.get("endpoints"))
    ports = check_ports(opts["callbackPorts"]) if opts.get("callbackPorts") is not None else defaults.callback_ports
    margins = defaults.margins
    if opts.get("refreshMarginSeconds") is not None:
        raw = as_object(opts["refreshMarginSeconds"])
        values = {}
        for key, attr in (("sts", "sts"), ("accessToken", "access_token")):
            value = raw.get(key, getattr(margins, attr))
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3000:
                raise InvalidParams(f"refreshMarginSeconds.{key} must be 0..3000 seconds.", field="refreshMarginSeconds")
            values[attr] = value
        margins = Margins(**values)
    timeout = opts.get("signInTimeoutSeconds", defaults.signin_timeout)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 1 <= timeout <= 3600:
        raise InvalidParams("signInTimeoutSeconds must be 1..3600.", field="signInTimeoutSeconds")
    level = opts.get("logLevel", "info")
    if level not in LOG_LEVELS:
        raise InvalidParams(f"logLevel must be one of {', '.join(LOG_LEVELS)}.", field="logLevel")
    settings = Settings(
        config_path=config_path,
        endpoints=endpoints,
        callback_ports=ports,
        margins=margins,
        signin_timeout=float(timeout),
        http_timeout=defaults.http_timeout,
    )
    return settings, opt_bool(opts, "keepFresh", True), str(level)


class Runtime:
    """What exists once the client said ``initialize``: the service and its background tasks."""

    def __init__(self, server: SidecarServer, settings: Settings, keep_fresh: bool) -> None:
        self.server = server
        self.service = SidecarService(settings, on_credentials=self._credentials_changed)
        self.watcher = ConfigWatcher(self.service.store, self._file_changed)
        self.keeper = CredentialKeeper(self.service.refresher) if keep_fresh else None
        self.endpoint: CredentialsEndpoint | None = None
        self._endpoint_starting: asyncio.Lock = asyncio.Lock()

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
                self.endpoint = await CredentialsEndpoint.start(service_source(self.service))
            return self.endpoint

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.server.protocol.notify(method, params)

    def _credentials_changed(self, event: CredentialEvent) -> None:
        payload: dict[str, Any] = {"profile": event.profile, "kind": event.kind}
        if event.expires_at is not None:
            payload["expiresAt"] = event.expires_at
        self.notify("aliyun/credentialsChanged", payload)

    async def _file_changed(self, doc: ConfigDoc | None, error: SidecarError | None) -> None:
        if error is not None:
            self.notify("aliyun/configError", {"kind": error.kind, "message": error.message, "path": str(self.service.store.path)})
            return
        assert doc is not None
        self.service.refresher.invalidate()
        self.notify("aliyun/profilesChanged", wire.to_json(self.service.listing_of(doc)))
        if self.keeper is not None:
            self.keeper.poke()

    async def changed(self) -> None:
        """After our own write: notify at once instead of at the next poll (and only once)."""
        await self.watcher.check()


class Progress:
    """``$/progress`` on the client's ``workDoneToken``, when it sent one."""

    def __init__(self, server: SidecarServer, token: str | int | None) -> None:
        self.server = server
        self.token = token

    def begin(self, title: str) -> None:
        if self.token is not None:
            self.server.work_done_progress.begin(self.token, types.WorkDoneProgressBegin(title=title, cancellable=True))

    def report(self, message: str) -> None:
        if self.token is not None:
            self.server.work_done_progress.report(self.token, types.WorkDoneProgressReport(message=message))

    def end(self, message: str | None = None) -> None:
        if self.token is not None:
            self.server.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))


def build_server(defaults: Settings) -> SidecarServer:
    server = SidecarServer(
        "aliyun-sidecar",
        __version__,
        protocol_cls=SidecarProtocol,
        text_document_sync_kind=types.TextDocumentSyncKind.None_,
    )
    state: dict[str, Runtime] = {}

    def runtime() -> Runtime:
        if "rt" not in state:
            raise JsonRpcServerNotInitialized(
                "The sidecar has not been initialized yet.", data={"kind": "notInitialized"}
            )
        return state["rt"]

    def method(name: str, writes: bool = False) -> Callable[[Callable[[dict[str, Any]], Awaitable[Any]]], None]:
        """Register an ``aliyun/*`` request: plain-dict params in, typed errors mapped out. A handler
        that ``writes`` the file is followed by the change notification (at once, not at the next poll)."""

        def register(handler: Callable[[dict[str, Any]], Awaitable[Any]]) -> None:
            async def endpoint(params: Any) -> Any:
                try:
                    result = wire.to_json(await handler(as_object(params)))  # typed values → contract JSON
                    if writes:
                        await runtime().changed()
                    return result
                except asyncio.CancelledError:
                    # $/cancelRequest: answer -32800 with our data.kind (this task is the request's own).
                    raise to_rpc_error(Cancelled("The request was cancelled."), name) from None
                except JsonRpcServerNotInitialized:
                    raise
                except Exception as exc:  # every failure leaves here as a clean JSON-RPC error
                    raise to_rpc_error(exc, name) from None

            server.feature(name)(endpoint)

        return register

    @server.feature(types.INITIALIZE)
    def on_initialize(params: types.InitializeParams) -> None:
        try:
            settings, keep_fresh, level = settings_from_options(params.initialization_options, defaults)
        except Exception as exc:
            raise to_rpc_error(exc, "initialize") from None
        logs.configure(level)
        server.aliyun_capabilities = wire.aliyun_capabilities(settings.endpoints, __version__)
        state["rt"] = Runtime(server, settings, keep_fresh)

    @server.feature(types.INITIALIZED)
    def on_initialized(_params: Any) -> None:
        if "rt" in state:
            state["rt"].start()

    @server.feature(types.SHUTDOWN)
    async def on_shutdown(_params: Any) -> None:
        rt = state.pop("rt", None)
        if rt is not None:
            await rt.stop()

    @method("aliyun/listProfiles")
    async def list_profiles(_p: dict[str, Any]) -> Any:
        return await runtime().service.list_profiles()

    @method("aliyun/switchProfile", writes=True)
    async def switch_profile(p: dict[str, Any]) -> Any:
        return await runtime().service.switch_profile(req_str(p, "name"))

    @method("aliyun/deleteProfile", writes=True)
    async def delete_profile(p: dict[str, Any]) -> Any:
        return await runtime().service.delete_profile(req_str(p, "name"))

    @method("aliyun/setProfile", writes=True)
    async def set_profile(p: dict[str, Any]) -> Any:
        return await runtime().service.set_profile(req_str(p, "name"), opt_str(p, "region"), opt_str(p, "language"))

    @method("aliyun/refresh", writes=True)
    async def refresh(p: dict[str, Any]) -> Any:
        rt = runtime()
        force = p.get("force", False)
        if force not in (False, True, "sts", "accessToken"):
            raise InvalidParams("'force' must be true, false, \"sts\" or \"accessToken\".", field="force")
        name = await rt.service.select(opt_str(p, "profile"))
        return await rt.service.refresh(name, None if force is False else ("accessToken" if force is True else force))

    @method("aliyun/getCredentials")
    async def get_credentials(p: dict[str, Any]) -> Any:
        rt = runtime()
        name = await rt.service.select(opt_str(p, "profile"))
        sts = await rt.service.credentials(name)
        return wire.credentials_json(name, sts)

    @method("aliyun/credentialsEndpoint")
    async def credentials_endpoint(_p: dict[str, Any]) -> Any:
        endpoint = await runtime().credentials_endpoint()
        return {"uri": endpoint.uri, "environment": endpoint.environment()}

    @method("aliyun/whoAmI")
    async def who_am_i(p: dict[str, Any]) -> Any:
        rt = runtime()
        name = await rt.service.select(opt_str(p, "profile"))
        return wire.identity_json(name, await rt.service.who_am_i(name))

    @method("aliyun/signIn", writes=True)
    async def sign_in(p: dict[str, Any]) -> Any:
        rt = runtime()
        profile = req_str(p, "profile")
        open_browser = opt_bool(p, "openBrowser", True)
        progress = Progress(server, opt_progress_token(p))

        async def on_started(url: str, redirect_uri: str) -> None:
            rt.notify("aliyun/signInStarted", {"profile": profile, "url": url, "redirectUri": redirect_uri})
            if open_browser:
                asyncio.ensure_future(_open_in_browser(server, url))

        progress.begin("Signing in to Alibaba Cloud")
        try:
            entry = await rt.service.sign_in(
                profile, opt_str(p, "site"), opt_str(p, "region"), opt_str(p, "language"), on_started, progress.report
            )
        finally:
            progress.end()
        return entry

    @method("aliyun/completeSignIn")
    async def complete_sign_in(p: dict[str, Any]) -> Any:
        runtime().service.complete_sign_in(req_str(p, "url"))
        return {"accepted": True}

    @method("aliyun/cancelSignIn")
    async def cancel_sign_in(_p: dict[str, Any]) -> Any:
        return {"cancelled": runtime().service.cancel_sign_in()}

    return server


async def _open_in_browser(server: SidecarServer, url: str) -> None:
    """Ask the editor to open the sign-in page; the flow never waits on it (the editor may not answer)."""
    caps = server.client_capabilities
    window = caps.window if caps is not None else None
    if window is None or not window.show_document or not window.show_document.support:
        log.info("the client cannot open documents; it was sent aliyun/signInStarted instead")
        return
    try:
        result = await asyncio.wait_for(
            server.window_show_document_async(types.ShowDocumentParams(uri=url, external=True)), timeout=30
        )
        if not result.success:
            log.warning("the editor could not open the sign-in page")
    except Exception as exc:
        log.warning("asking the editor to open the sign-in page failed (%s)", type(exc).__name__)


def serve(defaults: Settings) -> int:
    """Run until ``exit`` (or the end of stdin); the exit code is 0 only after a ``shutdown``, as the
    LSP spec asks (pygls swallows the code it meant to exit with)."""
    logs.configure("info")
    server = build_server(defaults)
    server.start_io()
    return 0 if server.protocol._shutdown else 1
