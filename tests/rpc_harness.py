"""A real ``python -m sidecar`` process driven over stdio, as an editor would drive it.

Collects every notification, answers ``window/showDocument`` (optionally playing the browser), and
keeps the sidecar's whole stderr so tests can prove that no secret ever reaches it. Every result,
notification, error and ``initialize`` answer received is validated against the contract source
(``contract/aliyun-sidecar.contract.json``): a field the contract does not know, or one it requires
and the sidecar left out, fails the test.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.client import LanguageClient

from sidecar.rpc.params import to_plain

from .contract_schema import check_error, check_initialize, check_notification, check_result

REPO = Path(__file__).resolve().parent.parent


class Sidecar:
    def __init__(self, home: Path, init_options: dict[str, Any], env: dict[str, str] | None = None) -> None:
        self.home = home
        self.init_options = init_options
        self.extra_env = env or {}
        self.client = LanguageClient("aliyun-sidecar-tests", "1")
        self.notifications: list[tuple[str, dict[str, Any]]] = []
        #: Notifications that did not fit the contract (raised by ``of``, ``wait_for`` and ``stop``).
        self.contract_violations: list[str] = []
        self.shown: list[str] = []
        self.stderr = bytearray()
        self._arrived = asyncio.Event()
        #: What to do with a URL the sidecar asks the editor to open (None: nothing, like a closed browser).
        self.browser: Callable[[str], Any] | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        for method in (
            "aliyun/profilesChanged",
            "aliyun/credentialsChanged",
            "aliyun/signInStarted",
            "aliyun/configError",
            "$/progress",
        ):
            self.client.feature(method)(self._collector(method))

        @self.client.feature(types.WINDOW_SHOW_DOCUMENT)
        async def show_document(params: types.ShowDocumentParams) -> types.ShowDocumentResult:
            self.shown.append(params.uri)
            if self.browser is not None:
                asyncio.ensure_future(self._open(params.uri))
            return types.ShowDocumentResult(success=True)

    async def _open(self, url: str) -> None:
        result = self.browser(url) if self.browser else None
        if asyncio.iscoroutine(result):
            await result

    def _collector(self, method: str) -> Callable[[Any], None]:
        def collect(params: Any) -> None:
            if hasattr(params, "__attrs_attrs__"):  # typed LSP params ($/progress): back to plain JSON
                params = self.client.protocol._converter.unstructure(params)
            plain = to_plain(params)
            try:
                check_notification(method, plain)
            except AssertionError as exc:  # raised here it would vanish inside pygls: keep it
                self.contract_violations.append(str(exc))
            self.notifications.append((method, plain))
            self._arrived.set()

        return collect

    async def start(self, initialize: bool = True) -> Sidecar:
        env = {
            "HOME": str(self.home),
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO),
            "PYTHONDONTWRITEBYTECODE": "1",
            **self.extra_env,
        }
        await self.client.start_io(sys.executable, "-m", "sidecar", env=env, cwd=str(REPO))
        server = self.client._server  # the subprocess; its stderr is ours to drain and inspect
        assert server is not None and server.stderr is not None
        self._stderr_task = asyncio.ensure_future(self._drain(server.stderr))
        if initialize:
            await self.initialize(self.init_options)
        return self

    async def initialize(self, options: dict[str, Any]) -> types.InitializeResult:
        result = await self.client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(
                    window=types.WindowClientCapabilities(
                        show_document=types.ShowDocumentClientCapabilities(support=True),
                        work_done_progress=True,
                    )
                ),
                initialization_options=options,
            )
        )
        check_initialize(self.client.protocol._converter.unstructure(result))
        self.client.initialized(types.InitializedParams())
        return result

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self.stderr.extend(chunk)

    @property
    def process(self) -> asyncio.subprocess.Process:
        assert self.client._server is not None
        return self.client._server

    async def request(self, method: str, params: Any = None, timeout: float = 30, msg_id: str | None = None) -> Any:
        return await asyncio.wait_for(
            checked(method, self.client.protocol.send_request_async(method, params if params is not None else {}, msg_id=msg_id)),
            timeout,
        )

    def start_request(self, method: str, params: Any) -> tuple[str, asyncio.Future[Any]]:
        """Send without waiting: returns the id (for ``$/cancelRequest``) and the answer's future."""
        msg_id = str(uuid.uuid4())

        async def answer() -> Any:
            return await checked(method, self.client.protocol.send_request_async(method, params, msg_id=msg_id))

        return msg_id, asyncio.ensure_future(answer())

    def cancel(self, msg_id: str) -> None:
        self.client.protocol.notify("$/cancelRequest", types.CancelParams(id=msg_id))

    def of(self, method: str) -> list[dict[str, Any]]:
        assert not self.contract_violations, self.contract_violations
        return [params for name, params in self.notifications if name == method]

    async def wait_for(self, method: str, predicate: Callable[[dict[str, Any]], bool] = lambda _p: True, timeout: float = 10) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                for params in self.of(method):
                    if predicate(params):
                        return params
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(find(), timeout)

    async def stop(self) -> int:
        """shutdown + exit, then the process's exit code."""
        if self.process.returncode is None:
            try:
                await asyncio.wait_for(self.client.shutdown_async(None), 5)
                self.client.exit(None)
                await asyncio.wait_for(self.process.wait(), 5)
            except (asyncio.TimeoutError, ConnectionError, RuntimeError):
                self.process.kill()
        await self.client.stop()
        if self._stderr_task is not None:
            await asyncio.wait_for(self._stderr_task, 5)
        assert not self.contract_violations, self.contract_violations
        return self.process.returncode if self.process.returncode is not None else -1


async def checked(method: str, answer: Any) -> Any:
    """The plain JSON result of a request, after checking it (or its error) against the contract."""
    try:
        result = to_plain(await answer)
    except JsonRpcException as exc:
        check_error(exc.code, to_plain(exc.data))
        raise
    check_result(method, result)
    return result


async def follow_in_browser(url: str) -> httpx.Response:
    """A browser that loads the sign-in page and follows every redirect (auto-approving emulator)."""
    async with httpx.AsyncClient(follow_redirects=True, timeout=10) as http:
        return await http.get(url)
