"""A connection flood against a loopback server, and the figure "legitimate requests served during it".

The attack of issue 14: a local process without the endpoint's secret opens connections, sends half a
request line and never finishes it, and re-opens each connection as soon as the server drops it. On
main, 33 such connections filled the 32-connection cap and every SDK got 503 (none served).

:class:`Flood` is the attacker (also used by the tests, in-process). :func:`bench_flood` runs it in a
separate process (``python -m benchmarks.flood PORT CONNECTIONS SECONDS``, so it competes for the CPU
as a real attacker would) against a real sidecar's credentials endpoint, and counts the legitimate
requests (the secret path, one fresh connection each, as an SDK makes them) answered 200 within
:data:`CLIENT_TIMEOUT`; the floor is the same requests, in the same run, without the flood.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

#: How long a legitimate client waits for its answer (the SDKs' read timeouts are of this order).
CLIENT_TIMEOUT = 5.0
HALF_REQUEST = b"GET /"


class Flood:
    """``connections`` clients that each send half a request line (or ``payload``), hold the
    connection, and reconnect as soon as it is dropped."""

    def __init__(self, port: int, connections: int, payload: bytes = HALF_REQUEST) -> None:
        self.port = port
        self.connections = connections
        self.payload = payload
        self.opened = 0
        self.refused = 0
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._held = 0
        self._full = asyncio.Event()
        self._churning = asyncio.Event()

    async def __aenter__(self) -> Self:
        self._tasks = [asyncio.create_task(self._client()) for _ in range(self.connections)]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def until_full(self, timeout: float = 10.0) -> None:
        """Wait until every client has opened its first connection (the flood is on)."""
        async with asyncio.timeout(timeout):
            await self._full.wait()

    async def until_churning(self, timeout: float = 10.0) -> None:
        """Wait until every client is connected AND some were dropped and came back (the flood is
        at full strength and the server is pushing back, as it must once it is over its cap)."""
        async with asyncio.timeout(timeout):
            await self._full.wait()
            await self._churning.wait()

    async def _client(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                self.refused += 1
                await asyncio.sleep(0.01)
                continue
            self.opened += 1
            if self.opened > self.connections:
                self._churning.set()
            if first:
                first = False
                self._held += 1
                if self._held == self.connections:
                    self._full.set()
            try:
                if self.payload:
                    writer.write(self.payload)
                    await writer.drain()
                dropped = asyncio.ensure_future(reader.read())
                stop = asyncio.ensure_future(self._stop.wait())
                await asyncio.wait({dropped, stop}, return_when=asyncio.FIRST_COMPLETED)
                for future in (dropped, stop):
                    future.cancel()
            except OSError:
                pass
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()


async def legitimate_get(uri: str, timeout: float = CLIENT_TIMEOUT) -> tuple[int, float]:
    """One GET of ``uri`` on a fresh connection: (status, seconds); status 0 = no answer in time."""
    parts = urlsplit(uri)
    t0 = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            try:
                writer.write(f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: */*\r\n\r\n".encode("ascii"))
                await writer.drain()
                answer = await reader.read()
            finally:
                writer.close()
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    except (OSError, TimeoutError, ValueError, IndexError):
        status = 0
    return status, time.perf_counter() - t0


async def _served(uri: str, requests: int) -> dict[str, Any]:
    results = [await legitimate_get(uri) for _ in range(requests)]
    ok = [seconds for status, seconds in results if status == 200]
    statuses: dict[str, int] = {}
    for status, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {"requests": requests, "served": len(ok), "p50": statistics.median(ok) if ok else float("nan"),
            "statuses": statuses}


async def bench_flood(emu: Any, work: Path, *, requests: int, connections: int) -> dict[str, Any]:
    """Legitimate requests served by a real sidecar's credentials endpoint, without and during a flood
    of ``connections`` half-sent requests."""
    from benchmarks import seed
    from benchmarks.lsp import REPO, Client, sidecar_env

    home = work / "flood"
    config = home / ".aliyun" / "config.json"
    await seed.sign_in(emu, config, "dev")
    client = await Client.spawn(home)
    await client.initialize({"configPath": str(config), "endpoints": seed.emulator_endpoints(emu),
                             "keepFresh": False, "logLevel": "warning"})
    try:
        uri = (await client.request("aliyun/credentialsEndpoint", {}))["uri"]
        await legitimate_get(uri)  # warm: the first answer may renew nothing, but loads the code path
        floor = await _served(uri, requests)
        port = urlsplit(uri).port
        seconds = 120.0
        attacker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.flood", str(port), str(connections), str(seconds),
            cwd=str(REPO), env=sidecar_env(home), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            assert attacker.stdout is not None
            await asyncio.wait_for(attacker.stdout.readline(), 30)  # "full": every connection is open
            await asyncio.sleep(1.0)
            during = await _served(uri, requests)
        finally:
            attacker.terminate()
            out, _ = await attacker.communicate()
        stats = json.loads(out.decode().strip().splitlines()[-1]) if out.strip() else {}
    finally:
        await client.stop()
    return {"floor": floor, "during": during, "connections": connections, "attacker": stats}


async def _attack(port: int, connections: int, seconds: float) -> dict[str, int]:
    flood = Flood(port, connections)
    async with flood:
        await flood.until_full(30)
        print("full", flush=True)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(seconds)
    return {"opened": flood.opened, "refused": flood.refused}


def main(argv: list[str]) -> int:
    import signal

    port, connections, seconds = int(argv[0]), int(argv[1]), float(argv[2])
    loop = asyncio.new_event_loop()
    task = loop.create_task(_attack(port, connections, seconds))
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        stats = loop.run_until_complete(task)
    except asyncio.CancelledError:
        stats = {}
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
