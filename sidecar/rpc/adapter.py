"""The one module that knows pygls (tested with pygls 2.1.1, pinned in pyproject.toml).

What pygls does for us: the ``initialize`` answer (server capabilities and info, built from the
client's capabilities) and requests *to* the client (``window/showDocument``), matched with their
answers. What this module does itself, and why:

* the stdio loop: pygls reads stdin a line at a time through a thread (three thread hops per message)
  and gives up on the stream after one malformed ``Content-Length``; here an asyncio pipe feeds
  :class:`~sidecar.rpc.framing.FrameDecoder`, which skips a bad frame and keeps serving;
* the ``aliyun/*`` requests and every lifecycle message: parsed to plain dicts and answered with
  plain JSON, without pygls' cattrs structuring of every message (our handlers take plain dicts
  anyway); one task per request, so ``$/cancelRequest`` cancels it (answered -32800);
* invalid messages (a batch, a number for a method, unparseable JSON) get a JSON-RPC error with a
  fixed message and ``data.kind``, never an exception's text;
* ``shutdown``/``exit``: requests after ``shutdown`` are refused (InvalidRequest, ``shuttingDown``)
  instead of left waiting; the exit code is 0 only after a ``shutdown``, as the LSP spec asks;
* ``initialize`` is answered before pygls is even imported: importing ``lsprotocol.types`` alone
  takes about a quarter of a second, most of the sidecar's start-up. The answer is the one pygls
  would give (:func:`initialize_result`, checked against pygls by ``tests/test_initialize.py``).
  pygls is imported only when something needs it (``window/showDocument`` for a sign-in, a message
  for one of its built-in features), in a background thread, and given the same ``initialize`` (its
  answer dropped); what needs it waits for it. A sidecar that only serves credentials never pays
  for it (time or memory).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

import threading
from ..errors import Cancelled
from ..platform import osfs
from ..platform.stdio import Output, open_output, read_chunks
from ..timing import STOP_FLUSH_TIMEOUT, STOP_REQUESTS_GRACE, STOP_SERVICE_TIMEOUT
from .errors import PARSE_ERROR, RpcError, invalid_request, method_not_found, params_do_not_fit, shutting_down, to_rpc_error
from .framing import BadFrame, FrameDecoder, answer_id, encode, shape_problem

log = logging.getLogger("sidecar.rpc")

#: (method, params) → the result; raises :class:`RpcError` (or anything: mapped to ``internal``).
Dispatch = Callable[[str, Any], Awaitable[Any]]

#: The lifecycle methods the edge handles itself (the LSP names; no lsprotocol needed for them).
INITIALIZE = "initialize"
INITIALIZED = "initialized"
SHUTDOWN = "shutdown"
EXIT = "exit"
CANCEL_REQUEST = "$/cancelRequest"
PROGRESS_CANCEL = "window/workDoneProgress/cancel"
#: The position encodings pygls supports, in the order it prefers when the client offers none.
_ENCODINGS = ("utf-8", "utf-16", "utf-32")


def initialize_result(params: dict[str, Any], experimental: dict[str, Any] | None, name: str, version: str) -> dict[str, Any]:
    """The ``initialize`` answer pygls 2.1.1 gives for our features (no document sync, no commands):
    the first position encoding the client offers that pygls supports, else UTF-16."""
    general = (params.get("capabilities") or {}).get("general") or {}
    offered = general.get("positionEncodings") if isinstance(general, dict) else None
    encoding = next((e for e in offered or () if e in _ENCODINGS), "utf-16")
    capabilities: dict[str, Any] = {
        "positionEncoding": encoding,
        "executeCommandProvider": {"commands": []},
        "workspace": {"workspaceFolders": {"supported": True, "changeNotifications": True}, "fileOperations": {}},
    }
    if experimental is not None:
        capabilities["experimental"] = experimental
    return {"capabilities": capabilities, "serverInfo": {"name": name, "version": version}}


def _initialize_problem(params: Any) -> str | None:
    """Why ``params`` cannot be ``InitializeParams`` (the shape pygls would refuse), or None."""
    if not isinstance(params, dict):
        return "not an object"
    if not isinstance(params.get("capabilities"), dict):
        return "no capabilities object"
    if "processId" in params and not (params["processId"] is None or type(params["processId"]) is int):
        return "a processId that is not an integer"
    return None


@dataclass
class Hooks:
    """What the server module plugs in: the request table and the lifecycle."""

    dispatch: Dispatch
    methods: Mapping[str, object]
    #: ``initialize`` params (plain JSON) → ``capabilities.experimental`` of the answer; raises
    #: :class:`RpcError` to refuse them.
    initialize: Callable[[dict[str, Any]], dict[str, Any]]
    initialized: Callable[[], None]
    shutdown: Callable[[], Awaitable[None]]


def _load_pygls(name: str, version: str) -> Any:
    """pygls' server for what follows ``initialize`` (run in a thread: the imports are the slow part)."""
    from lsprotocol import types
    from pygls.lsp.server import LanguageServer
    from pygls.protocol import LanguageServerProtocol

    class _Protocol(LanguageServerProtocol):
        """pygls' protocol, advertising no document synchronisation (the sidecar reads no documents)."""

    class _Server(LanguageServer):
        def report_server_error(self, error: Exception, source: Any) -> None:
            # pygls would log the error's text, which may quote a message: the kind of problem only.
            log.warning("pygls could not handle a message (%s)", type(error).__name__)

    return _Server(name, version, protocol_cls=_Protocol, text_document_sync_kind=types.TextDocumentSyncKind.None_)


class Edge:
    """The JSON-RPC connection over stdio: read, route, answer."""

    def __init__(self, name: str, version: str, hooks: Hooks) -> None:
        self.hooks = hooks
        self._name, self._version = name, version
        #: pygls' server, once imported (``_start_loading``); messages for it wait in ``_waiting``.
        self._server: Any = None
        self._loaded: asyncio.Future[None] | None = None
        self._waiting: list[dict[str, Any]] = []
        #: The client's ``initialize`` params (its capabilities), as sent.
        self._init_params: dict[str, Any] | None = None
        self._inflight: dict[str | int, asyncio.Task[None]] = {}
        self._out: Output | None = None
        self.shut_down = False
        self._exit_code: int | None = None
        self._stopped: asyncio.Event | None = None  # made in run(), on the loop

    # ----------------------------------------------------------------- to the client

    def _send(self, message: dict[str, Any]) -> None:
        if self._out is not None:
            self._out.write(encode(message))

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def progress(self, token: str | int, value: dict[str, Any]) -> None:
        """``$/progress`` on a ``workDoneToken`` the client created (sent with its request)."""
        self.notify("$/progress", {"token": token, "value": value})

    def can_show_documents(self) -> bool:
        caps = (self._init_params or {}).get("capabilities") or {}
        window = caps.get("window") if isinstance(caps, dict) else None
        show = window.get("showDocument") if isinstance(window, dict) else None
        return bool(isinstance(show, dict) and show.get("support"))

    async def show_document(self, uri: str) -> bool:
        """``window/showDocument`` with ``external: true``; whether the editor says it opened it."""
        from lsprotocol import types  # loaded with pygls by then

        server = await self._pygls()
        result = await server.window_show_document_async(types.ShowDocumentParams(uri=uri, external=True))
        return bool(result.success)

    # ----------------------------------------------------------------- pygls, in the background

    async def _pygls(self) -> Any:
        self._start_loading()
        assert self._loaded is not None
        await asyncio.shield(self._loaded)
        return self._server

    def _start_loading(self) -> None:
        """Import pygls in a thread (the event loop goes on serving) and hand it over on the loop."""
        if self._loaded is not None:
            return
        loop = asyncio.get_running_loop()
        self._loaded = loop.create_future()

        def load() -> None:
            try:
                server, error = _load_pygls(self._name, self._version), None
            except BaseException as exc:  # reported on the loop
                server, error = None, exc
            loop.call_soon_threadsafe(self._pygls_loaded, server, error)

        threading.Thread(target=load, name="pygls-import", daemon=True).start()

    def _pygls_loaded(self, server: Any, error: BaseException | None) -> None:
        assert self._loaded is not None
        if server is None:
            log.error("pygls could not be loaded (%s)", type(error).__name__)
            self._loaded.set_exception(RuntimeError("pygls could not be loaded"))
            self._loaded.exception()  # retrieved: each waiter gets it
            return
        self._server = server
        if self._out is not None:
            server.protocol.set_writer(_PyglsWriter(self._out))
        if self._init_params is not None:
            self._replay_initialize(server.protocol)
        self._loaded.set_result(None)
        waiting, self._waiting = self._waiting, []
        for message in waiting:
            self._for_pygls(message)

    def _replay_initialize(self, protocol: Any) -> None:
        """Give pygls the client's ``initialize`` (its state: the client's capabilities, the
        workspace); its answer was ours, so the one it computes is dropped."""
        try:
            message = protocol.structure_message(
                {"jsonrpc": "2.0", "id": 0, "method": INITIALIZE, "params": self._init_params}
            )
            steps = protocol.lsp_initialize(message.params)
            while True:
                next(steps)
        except StopIteration:
            pass
        except Exception as exc:
            log.warning("pygls did not take the client's initialize params (%s)", type(exc).__name__)

    def _answer(self, msg_id: str | int | None, result: Any = None, error: RpcError | None = None) -> None:
        if error is not None:
            self._send({"jsonrpc": "2.0", "id": msg_id, "error": error.to_json()})
            return
        try:
            data = encode({"jsonrpc": "2.0", "id": msg_id, "result": result})
        except (TypeError, ValueError) as exc:  # a handler returned something that is not JSON
            self._answer(msg_id, error=to_rpc_error(exc, "answer"))
            return
        if self._out is not None:
            self._out.write(data)

    # ----------------------------------------------------------------- from the client

    def _receive(self, body: bytes) -> None:
        try:
            message = json.loads(body)
        except (ValueError, RecursionError):
            log.warning("answered a message that is not valid JSON (%d bytes)", len(body))
            self._answer(None, error=invalid_request(PARSE_ERROR))
            return
        problem = shape_problem(message)
        if problem is not None:
            if isinstance(message, dict) and "id" not in message and isinstance(message.get("method"), str):
                log.warning("ignored an invalid notification (%s)", problem)
                return
            log.warning("answered an invalid message (%s)", problem)
            self._answer(answer_id(message), error=invalid_request())
            return
        method = message.get("method")
        if method is None:  # an answer to one of our requests (showDocument)
            self._for_pygls(message)
        elif "id" in message:
            self._request(message["id"], method, message.get("params"), message)
        else:
            self._notification(method, message.get("params"), message)

    def _request(self, msg_id: str | int, method: str, params: Any, message: dict[str, Any]) -> None:
        if self.shut_down:
            log.info("refused %s after shutdown", method[:100])
            self._answer(msg_id, error=shutting_down())
            return
        if method in self.hooks.methods:
            task = asyncio.ensure_future(self._run(msg_id, method, params))
            self._inflight[msg_id] = task
            return
        if method == INITIALIZE:
            self._initialize(msg_id, params)
        elif method == SHUTDOWN:
            self.shut_down = True
            asyncio.ensure_future(self._shutdown(msg_id))
        else:
            self._for_pygls(message)

    def _initialize(self, msg_id: str | int, params: Any) -> None:
        problem = _initialize_problem(params)
        if problem is not None:
            log.warning("answered an initialize whose params do not fit (%s)", problem)
            self._answer(msg_id, error=params_do_not_fit())
            return
        try:
            experimental = self.hooks.initialize(params)
        except Exception as exc:
            self._answer(msg_id, error=to_rpc_error(exc, INITIALIZE))
            return
        self._init_params = params
        self._answer(msg_id, initialize_result(params, experimental, self._name, self._version))

    def _notification(self, method: str, params: Any, message: dict[str, Any]) -> None:
        if method == CANCEL_REQUEST:
            # Only our own requests can be cancelled (pygls runs no request of the client's that
            # lasts); a cancel for one already answered is normal and ignored.
            task = self._inflight.get(params.get("id")) if isinstance(params, dict) else None
            if task is not None:
                task.cancel()
        elif method == EXIT:
            self._exit_code = 0 if self.shut_down else 1
            assert self._stopped is not None
            self._stopped.set()
        elif method == INITIALIZED:
            self.hooks.initialized()
        elif method == PROGRESS_CANCEL:
            log.debug("ignored a progress cancel (the contract's cancel is $/cancelRequest)")
        elif not self.shut_down:
            self._for_pygls(message)
        else:
            log.debug("ignored a notification %s", method[:100])

    async def _run(self, msg_id: str | int, method: str, params: Any) -> None:
        try:
            result = await self.hooks.dispatch(method, params)
        except asyncio.CancelledError:
            # $/cancelRequest (or shutdown): answered -32800; a cancel the user asked for is not an error.
            self._answer(msg_id, error=to_rpc_error(Cancelled("The request was cancelled."), method))
        except Exception as exc:
            self._answer(msg_id, error=to_rpc_error(exc, method))
        else:
            self._answer(msg_id, result)
        finally:
            self._inflight.pop(msg_id, None)

    async def _shutdown(self, msg_id: str | int) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
        try:
            await self.hooks.shutdown()
        except Exception as exc:
            to_rpc_error(exc, "shutdown")  # logged; the client still gets its answer
        self._answer(msg_id, None)

    def _for_pygls(self, message: dict[str, Any]) -> None:
        """A message pygls may handle (an answer to our request, one of its built-in features): once
        it is loaded; else an unknown method (requests get ``methodNotFound``)."""
        if self._server is None:
            self._start_loading()
            self._waiting.append(message)
            return
        method = message.get("method")
        protocol = self._server.protocol
        if method is not None and method not in protocol.fm.builtin_features and method not in protocol.fm.features:
            if "id" in message:
                log.warning("answered a request for an unknown method %r", method[:100])
                self._answer(message["id"], error=method_not_found(method))
            else:
                log.debug("ignored a notification %s", method[:100])
            return
        if "method" in message and "params" not in message:
            message = {**message, "params": None}  # JSON-RPC lets a message leave "params" out
        try:
            protocol.handle_message(protocol.structure_message(message))
        except Exception as exc:
            log.warning("could not handle a %s message (%s)", str(message.get("method", "response"))[:100], type(exc).__name__)
            if "method" in message and answer_id(message) is not None:
                self._answer(message["id"], error=params_do_not_fit())

    # ----------------------------------------------------------------- the loop

    async def run(self, stdin: BinaryIO, stdout: BinaryIO) -> int:
        self._stopped = asyncio.Event()
        self._out = await open_output(stdout, use_threads=osfs.stdio_threads)
        if self._server is not None:
            self._server.protocol.set_writer(_PyglsWriter(self._out))
        decoder = FrameDecoder()
        reading = asyncio.ensure_future(self._read(stdin, decoder))
        stopped = asyncio.ensure_future(self._stopped.wait())
        await asyncio.wait({reading, stopped}, return_when=asyncio.FIRST_COMPLETED)
        reading.cancel()
        stopped.cancel()
        for task in list(self._inflight.values()):
            task.cancel()
        if self._inflight:
            await asyncio.wait(set(self._inflight.values()), timeout=STOP_REQUESTS_GRACE)
        if not self.shut_down:
            try:
                await asyncio.wait_for(self.hooks.shutdown(), STOP_SERVICE_TIMEOUT)
            except Exception as exc:
                to_rpc_error(exc, "stop")
        await self._out.flush(STOP_FLUSH_TIMEOUT)
        return self._exit_code if self._exit_code is not None else (0 if self.shut_down else 1)

    async def _read(self, stdin: BinaryIO, decoder: FrameDecoder) -> None:
        async for chunk in read_chunks(stdin, use_threads=osfs.stdio_threads):
            for item in decoder.feed(chunk):
                if isinstance(item, BadFrame):
                    log.warning("skipped a malformed frame (%s); reading on from the next header", item.reason)
                    continue
                try:
                    self._receive(item)
                except Exception as exc:  # a bug in routing: the loop must go on
                    to_rpc_error(exc, "receive")
                if self._stopped is not None and self._stopped.is_set():
                    return


class _PyglsWriter:
    """pygls' writer interface over our output (it sends answers to our requests through it)."""

    def __init__(self, out: Output) -> None:
        self._out = out

    def write(self, data: bytes) -> None:
        self._out.write(data)

    def close(self) -> None:  # the edge owns the end
        pass


def run_stdio(name: str, version: str, hooks: Hooks, bind: Callable[[Edge], None]) -> int:
    """Serve over stdin/stdout until ``exit`` or the end of stdin; the process's exit code."""

    async def main() -> int:
        edge = Edge(name, version, hooks)
        bind(edge)
        return await edge.run(sys.stdin.buffer, sys.stdout.buffer)

    return asyncio.run(main())
