"""The loopback server base under the callback and the credentials endpoint: the one Host check,
binding to 127.0.0.1 only, the per-connection head deadline, and eviction at the connection cap
(issue 14: a local process without the secret must not be able to starve the servers)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from benchmarks.flood import Flood
from sidecar.loopback import LoopbackServer, Request, Response, host_names_this_server, require_loopback_bind

PORT = 41234


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        (f"127.0.0.1:{PORT}", True),
        ("localhost", True),
        (f"LOCALHOST:{PORT}", True),
        (f"127.0.0.1:{PORT + 1}", False),
        ("127.0.0.1:", False),
        (f"[::1]:{PORT}", False),
        (f"127.0.0.2:{PORT}", False),
        (f"127.0.0.1.evil.example:{PORT}", False),
        (f"evil.example:{PORT}", False),
        (f"127.0.0.1@evil.example:{PORT}", False),
        ("", False),
        (None, False),
    ],
)
def test_the_one_host_check(host: str | None, expected: bool) -> None:
    assert host_names_this_server(host, PORT) is expected


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "::1", "127.0.0.2", "localhost", ""])
def test_binds_the_loopback_address_only(host: str) -> None:
    with pytest.raises(ValueError):
        require_loopback_bind(host)


def _plain(status: int) -> Response:
    return Response(status, f"status {status}".encode())


@contextlib.asynccontextmanager
async def serving(route, *, max_connections: int, head_timeout: float = 5.0) -> AsyncIterator[LoopbackServer]:  # type: ignore[no-untyped-def]
    server = LoopbackServer(route, label="test", base_headers=(("Connection", "close"),), error_response=_plain,
                            head_timeout=head_timeout, max_connections=max_connections)
    await server.listen([0])
    try:
        yield server
    finally:
        await server.close()


async def get(port: int, target: str = "/ok") -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        return await asyncio.wait_for(reader.read(), 5.0)
    finally:
        writer.close()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer else 0


async def test_at_the_cap_the_oldest_connection_without_a_request_is_dropped() -> None:
    async with serving(lambda _request: Response(200, b"ok"), max_connections=4) as server:
        idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(4)]
        for _reader, writer in idle:
            writer.write(b"GET /")
        await asyncio.sleep(0.05)
        assert status_of(await get(server.port)) == 200  # not 503: the newcomer takes the oldest's place
        oldest = await asyncio.wait_for(idle[0][0].read(), 2.0)
        assert oldest == b""  # dropped, unanswered
        assert server.evicted == 1
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(idle[1][0].read(), 0.1)  # the younger ones are still held
        for _reader, writer in idle:
            writer.close()


async def test_a_request_being_served_is_never_evicted_and_a_full_server_says_503() -> None:
    release = asyncio.Event()

    async def slow(_request: Request) -> Response:
        await release.wait()
        return Response(200, b"served")

    async with serving(slow, max_connections=2) as server:
        first = asyncio.ensure_future(get(server.port))
        second = asyncio.ensure_future(get(server.port))
        await asyncio.sleep(0.1)
        assert status_of(await get(server.port)) == 503  # both slots serve a complete request
        release.set()
        assert [status_of(a) for a in await asyncio.gather(first, second)] == [200, 200]


@pytest.mark.parametrize("payload", [b"GET /", b""], ids=["half-sent", "silent"])
async def test_a_legitimate_request_is_served_while_a_flood_reconnects(payload: bytes) -> None:
    async with serving(lambda _request: Response(200, b"ok"), max_connections=32) as server:
        async with Flood(server.port, 200, payload) as flood:
            await flood.until_churning()  # all 200 held, and the dropped ones are coming back
            answers = [await get(server.port) for _ in range(10)]
            assert [status_of(a) for a in answers] == [200] * 10
        assert server.evicted > 0


async def test_a_connect_storm_is_held_in_the_kernel_queue_while_the_loop_is_busy() -> None:
    """200 connections opened while the server's loop cannot accept (it is busy: here, with these
    very connects) all complete their handshake: none of their SYNs is dropped. With the old queue of
    16, 183 of them waited for a SYN retransmission (1 s, then 2 s, ...)."""
    import select
    import socket

    async def route(request: Request) -> Response:
        return _plain(200)

    async with serving(route, max_connections=128) as server:
        pending = []
        for _ in range(200):  # nothing below yields to the loop: no accept happens meanwhile
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", server.port))
            pending.append(sock)
        # A handshake on loopback completes at once or its SYN was dropped; wait briefly to see which.
        established = 0
        waiting = list(pending)
        for _ in range(20):
            _, writable, _ = select.select([], waiting, [], 0.05)
            for sock in writable:
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    established += 1
                waiting.remove(sock)
            if not waiting:
                break
        for sock in pending:
            sock.close()
        assert established == 200, f"{200 - established} of 200 handshakes waited for a retransmission"
        assert (await get(server.port)).startswith(b"HTTP/1.1 200")  # and the server still serves
