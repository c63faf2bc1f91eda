"""The loopback callback server and the pending authorization (browser answer and paste-back).

Servers bind port 0 (the system picks) unless a test is about the port range; range tests use ports
below the usual ephemeral range, held by the test itself, so parallel runs do not collide with the
real 12345..12349. Timeouts are tiny to keep the whole file fast. The values below are fake, but the
tests still check them with precomputed booleans so a failure never prints one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks.flood import Flood
from emulator import Emulator
from sidecar.errors import Cancelled, InvalidParams, PortsBusy, SignInDenied, SignInTimeout
from sidecar.oauth.callback import CallbackServer, PendingAuthorization
from sidecar.sites import Endpoints
from sidecar.service import Settings, SidecarService

from .conftest import bind_port_range

STATE = "fake-state_0123456789abcdefABCDEF"
CODE = "fake-code-9876543210"
LINGER = 0.05
HEAD_TIMEOUT = 0.3


# --- helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def pending() -> PendingAuthorization:
    return PendingAuthorization(STATE)


@pytest.fixture
async def server(pending: PendingAuthorization) -> AsyncIterator[CallbackServer]:
    srv = await CallbackServer.bind(pending, ports=(0, 0), linger=LINGER, head_timeout=HEAD_TIMEOUT)
    yield srv
    await srv.close()


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(trust_env=False, timeout=2.0)


async def raw_request(port: int, data: bytes) -> bytes:
    """Send bytes as they are and read the whole answer (the server always closes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 2.0)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def get(target: str, *extra_headers: str, method: str = "GET") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *extra_headers, "", ""]
    return "\r\n".join(lines).encode("latin-1")


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def split_answer(answer: bytes) -> tuple[dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers, body


def callback_query(state: str = STATE, code: str = CODE) -> str:
    return f"/cli/callback?code={code}&state={state}"


@contextlib.contextmanager
def held_ports(count: int) -> Iterator[tuple[int, list[socket.socket]]]:
    """``count`` consecutive loopback ports, each held by a listening socket of ours."""
    sockets = bind_port_range(count, listen=True)
    try:
        yield sockets[0].getsockname()[1], sockets
    finally:
        for sock in sockets:
            sock.close()


def emulator_service(emulator: Emulator, folder: Path, ports: tuple[int, int]) -> SidecarService:
    """A service whose sign-in, OAuth and STS calls all go to the emulator, on the given ports."""
    endpoints = Endpoints().with_overrides(
        {"signinBase": emulator.url, "oauthBase": emulator.url, "stsEndpoint": emulator.url}
    )
    return SidecarService(Settings(config_path=str(folder / "config.json"), endpoints=endpoints, callback_ports=ports))


def other_local_addresses() -> list[str]:
    """Addresses of this machine other than 127.0.0.1 (a server bound to 0.0.0.0 would answer there)."""
    found: list[str] = []
    if sys.platform.startswith("linux"):
        found.append("127.0.0.2")  # all of 127/8 reaches this host on Linux
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.254.254.254", 9))  # no packet is sent; this only picks a source address
        address = probe.getsockname()[0]
        if not address.startswith("127.") and address != "0.0.0.0":
            found.append(address)
    return found


# --- binding -------------------------------------------------------------------------------------------


async def test_bind_takes_the_first_free_port_and_skips_busy_ones(pending: PendingAuthorization) -> None:
    with held_ports(3) as (base, sockets):
        sockets[2].close()
        async with await CallbackServer.bind(pending, ports=(base, base + 2)) as srv:
            assert srv.port == base + 2
        sockets[1].close()
        async with await CallbackServer.bind(pending, ports=(base, base + 2)) as srv:
            assert srv.port == base + 1
            assert srv.redirect_uri == f"http://127.0.0.1:{base + 1}/cli/callback"


async def test_all_ports_busy_raises_ports_busy_naming_the_range(pending: PendingAuthorization) -> None:
    with held_ports(3) as (base, _sockets):
        with pytest.raises(PortsBusy) as info:
            await CallbackServer.bind(pending, ports=(base, base + 2))
    assert info.value.details["ports"] == [base, base + 2]
    assert f"{base}-{base + 2}" in str(info.value)


async def test_bind_refuses_non_loopback_hosts_and_bad_ranges(pending: PendingAuthorization) -> None:
    with pytest.raises(ValueError):
        await CallbackServer.bind(pending, ports=(0, 0), host="0.0.0.0")
    with pytest.raises(ValueError):
        await CallbackServer.bind(pending, ports=(12349, 12345))


async def test_listens_on_127_0_0_1_only(server: CallbackServer) -> None:
    candidates = other_local_addresses()
    if not candidates:
        pytest.skip("this machine has no other local address to try")
    _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.close()
    for address in candidates:
        with pytest.raises(OSError):
            await asyncio.wait_for(asyncio.open_connection(address, server.port), 1.0)


def test_redirect_uri_is_exact(server: CallbackServer) -> None:
    assert server.redirect_uri == f"http://127.0.0.1:{server.port}/cli/callback"


# --- the browser's answer --------------------------------------------------------------------------------


async def test_success_page_and_code(server: CallbackServer, pending: PendingAuthorization) -> None:
    async with client() as http:
        answer = await http.get(server.redirect_uri, params={"code": CODE, "state": STATE})
    assert answer.status_code == 200
    assert "Authorization successful. You can close this window." in answer.text
    assert "editor" in answer.text
    echoed = CODE in answer.text or STATE in answer.text
    assert not echoed
    headers = answer.headers
    assert headers["connection"] == "close"
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert headers["referrer-policy"] == "no-referrer"
    got_code = await pending.wait(1.0) == CODE
    assert got_code


async def test_denial_fails_the_sign_in(server: CallbackServer, pending: PendingAuthorization) -> None:
    async with client() as http:
        answer = await http.get(
            server.redirect_uri,
            params={"error": "access_denied", "error_description": "The user denied it", "state": STATE},
        )
    assert answer.status_code == 200
    assert "refused" in answer.text
    assert "The user denied it" in answer.text
    with pytest.raises(SignInDenied) as info:
        await pending.wait(1.0)
    assert info.value.details == {"error": "access_denied", "description": "The user denied it", "reason": "userDenied"}


async def test_error_description_is_escaped_and_cleaned(server: CallbackServer, pending: PendingAuthorization) -> None:
    nasty = "<script>alert(1)</script>\x1b[31m\u202e" + "x" * 2000
    async with client() as http:
        answer = await http.get(
            server.redirect_uri, params={"error": "<b>bad</b>", "error_description": nasty, "state": STATE}
        )
    assert "<script>" not in answer.text
    assert "&lt;script&gt;" in answer.text
    assert "<b>" not in answer.text
    with pytest.raises(SignInDenied) as info:
        await pending.wait(1.0)
    description = info.value.details["description"]
    assert len(description) <= 300
    assert "\x1b" not in description and "\u202e" not in description


async def test_state_mismatch_keeps_waiting_for_the_real_answer(
    server: CallbackServer, pending: PendingAuthorization
) -> None:
    for target in (callback_query(state="older-attempt"), f"/cli/callback?code={CODE}"):
        answer = await raw_request(server.port, get(target))
        assert status_of(answer) == 400
        assert b"older attempt" in answer
    assert not pending.done()
    answer = await raw_request(server.port, get(callback_query()))
    assert status_of(answer) == 200
    got_code = await pending.wait(1.0) == CODE
    assert got_code


@pytest.mark.parametrize(
    "query",
    [
        f"code={CODE}&code=other&state={STATE}",
        f"code={CODE}&state={STATE}&state={STATE}",
        f"state={STATE}",
        f"code=&state={STATE}",
        f"code=has%20space&state={STATE}",
        f"code=%ff&state={STATE}",
        f"code={'c' * 5000}&state={STATE}",
    ],
    ids=["dup-code", "dup-state", "no-code", "empty-code", "space", "bad-utf8", "oversized"],
)
async def test_invalid_answers_are_400_and_keep_waiting(
    server: CallbackServer, pending: PendingAuthorization, query: str
) -> None:
    answer = await raw_request(server.port, get(f"/cli/callback?{query}"))
    assert status_of(answer) == 400
    assert not pending.done()


async def test_answer_after_the_attempt_ended_is_already_done(
    server: CallbackServer, pending: PendingAuthorization
) -> None:
    # A second tab's connection, accepted before the answer arrived (the port is released after it).
    late_reader, late_writer = await asyncio.open_connection("127.0.0.1", server.port)
    assert status_of(await raw_request(server.port, get(callback_query()))) == 200
    late_writer.write(get(callback_query(code="another")))
    answer = await asyncio.wait_for(late_reader.read(), 2.0)
    late_writer.close()
    assert status_of(answer) == 200
    assert b"already finished" in answer
    got_first = await pending.wait(1.0) == CODE
    assert got_first


# --- routing and the HTTP reader -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/cli/callback/",
        "/cli/callback/x",
        "/cli/../cli/callback",
        "/x/../cli/callback",
        "/cli/%2e%2e/cli/callback",
        "/cli/%63allback",
        "/cli%2Fcallback",
        "//cli/callback",
        "/CLI/CALLBACK",
        "/cli/callback;x",
    ],
)
async def test_other_paths_are_404(server: CallbackServer, pending: PendingAuthorization, path: str) -> None:
    answer = await raw_request(server.port, get(f"{path}?code={CODE}&state={STATE}"))
    assert status_of(answer) == 404
    assert not pending.done()


async def test_host_must_name_this_server_exactly(server: CallbackServer, pending: PendingAuthorization) -> None:
    """The one Host check of both loopback servers: 127.0.0.1 or localhost, bare or with OUR port
    (the callback used to take any loopback address with any port)."""
    for host in (f"[::1]:{server.port}", f"127.0.0.2:{server.port}", f"127.0.0.1:{server.port + 1}", "127.1"):
        answer = await raw_request(server.port, get(callback_query()).replace(b"Host: 127.0.0.1", f"Host: {host}".encode()))
        assert status_of(answer) == 400, host
    assert not pending.done()
    answer = await raw_request(server.port, get(callback_query()).replace(b"127.0.0.1", f"127.0.0.1:{server.port}".encode()))
    assert status_of(answer) == 200


async def test_favicon_is_a_quiet_404(server: CallbackServer) -> None:
    answer = await raw_request(server.port, get("/favicon.ico"))
    assert status_of(answer) == 404
    assert split_answer(answer)[1] == b""


@pytest.mark.parametrize("method", ["POST", "HEAD", "PUT", "DELETE", "OPTIONS", "get"])
async def test_other_methods_are_405(server: CallbackServer, pending: PendingAuthorization, method: str) -> None:
    answer = await raw_request(server.port, get(callback_query(), method=method))
    assert status_of(answer) == 405
    headers, body = split_answer(answer)
    assert headers["allow"] == "GET"
    if method == "HEAD":
        assert body == b""
    assert not pending.done()


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /cli/callback\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET  /cli/callback HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET /cli/callback HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET http://127.0.0.1/cli/callback HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"G\xc9T /cli/callback HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET /cli/callback HTTP/1.1\r\nHost: 127.0.0.1\r\n folded\r\n\r\n",
        b"GET /cli/callback HTTP/1.1\r\nno colon here\r\n\r\n",
        b"GET /cli/callback HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET /cli/callback HTTP/1.1\r\n\r\n",
        b"GET /cli/callback HTTP/1.1\r\nHost: attacker.example\r\n\r\n",
        b"GET /cli/callback HTTP/1.1",
    ],
)
async def test_malformed_requests_are_400(server: CallbackServer, request_bytes: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(request_bytes)
    writer.write_eof()  # the last case is a head cut short by the client
    answer = await asyncio.wait_for(reader.read(), 2.0)
    writer.close()
    assert status_of(answer) == 400


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (get("/cli/callback?x=" + "a" * 9000), 414),
        (get("/cli/callback?x=" + "a" * 20000), 414),
        (get("/cli/callback", "X-Big: " + "a" * 17000), 431),
        (get("/cli/callback", *[f"X-H{i}: {'a' * 200}" for i in range(90)]), 431),
        (get("/cli/callback", *[f"X-H{i}: a" for i in range(101)]), 431),
    ],
    ids=["line-9k", "line-20k", "one-big-header", "headers-18k", "101-headers"],
)
async def test_oversized_requests_are_refused(server: CallbackServer, request_bytes: bytes, status: int) -> None:
    answer = await raw_request(server.port, request_bytes)
    assert status_of(answer) == status


async def test_slow_client_times_out_without_blocking_the_real_answer(pending: PendingAuthorization) -> None:
    # A linger longer than the read timeout, so the slow client meets the timeout, not close().
    async with await CallbackServer.bind(pending, ports=(0, 0), linger=2.0, head_timeout=0.2) as srv:
        slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", srv.port)
        slow_writer.write(b"GET /cli/callback?co")
        await slow_writer.drain()
        answer = await raw_request(srv.port, get(callback_query()))
        assert status_of(answer) == 200
        got_code = await pending.wait(1.0) == CODE
        assert got_code
        slow_writer.write(b"de=")  # dripping bytes does not extend the deadline
        slow_answer = await asyncio.wait_for(slow_reader.read(), 1.0)
        slow_writer.close()
        assert status_of(slow_answer) == 408


async def test_close_drops_a_slow_client(server: CallbackServer) -> None:
    slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", server.port)
    slow_writer.write(b"GET /cli/callback?co")
    await slow_writer.drain()
    await asyncio.sleep(0.01)
    await server.close()
    try:
        rest = await asyncio.wait_for(slow_reader.read(), 1.0)
    except ConnectionError:
        rest = b""
    slow_writer.close()
    assert rest == b""


async def test_debug_logs_hold_no_secrets(
    server: CallbackServer, pending: PendingAuthorization, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sidecar.oauth")
    await raw_request(server.port, get(callback_query(state="wrong-state-value")))
    await raw_request(server.port, get(callback_query()))
    await pending.wait(1.0)
    text = caplog.text
    assert "/cli/callback" in text and "accepted" in text
    leaked = any(secret in text for secret in (CODE, STATE, "wrong-state-value"))
    assert not leaked


# --- waiting, timeout, cancellation -----------------------------------------------------------------------


async def test_wait_timeout_raises_sign_in_timeout(pending: PendingAuthorization) -> None:
    with pytest.raises(SignInTimeout) as info:
        await pending.wait(0.05)
    assert "0.05 seconds" in str(info.value)
    assert "again" in str(info.value)
    assert pending.done()
    assert pending.deliver({"code": CODE, "state": STATE}) == "already_done"


async def test_timeout_data_says_how_long_and_that_it_may_be_not_authorized(pending: PendingAuthorization) -> None:
    """Issue 15: the service's not-authorized page may never redirect, so a timeout names the
    administrator's two documented steps (install the official-cli application, assign the user)."""
    with pytest.raises(SignInTimeout) as info:
        await pending.wait(0.05)
    assert info.value.details == {"seconds": 0.05, "mayBeNotAuthorized": True}
    message = str(info.value)
    assert "The call is not authorized" in message
    assert "install the official-cli application" in message and "Provision Official Application" in message
    assert "assign you to it" in message and "Create Assignment" in message


@pytest.mark.parametrize(
    ("error", "description", "reason"),
    [
        ("access_denied", "", "userDenied"),
        ("access_denied", "The user denied the request.", "userDenied"),
        ("access_denied", "The call is not authorized.", "notAuthorized"),
        ("access_denied", "You are not allowed to do this action.", "notAuthorized"),
        ("unauthorized_client", "The call is NOT AUTHORIZED", "notAuthorized"),
        ("server_error", "", "other"),
        ("invalid_request", "bad redirect_uri", "other"),
    ],
)
async def test_a_denial_says_why(pending: PendingAuthorization, error: str, description: str, reason: str) -> None:
    assert pending.deliver({"error": error, "error_description": description, "state": STATE}) == "denied"
    with pytest.raises(SignInDenied) as info:
        await pending.wait(1.0)
    assert info.value.details["reason"] == reason
    assert info.value.to_data()["reason"] == reason


@pytest.mark.parametrize(("not_authorized", "reason"), [(False, "userDenied"), (True, "notAuthorized")])
async def test_the_emulators_deny_and_not_authorized_answers_are_told_apart(
    emulator: Emulator, tmp_path: Path, not_authorized: bool, reason: str
) -> None:
    emulator.set_not_authorized(not_authorized)
    service = emulator_service(emulator, tmp_path, (0, 0))

    async def browser(url: str, _redirect_uri: str) -> None:
        decide = emulator.approve if not_authorized else emulator.deny  # not authorized: even Authorize fails
        location = await asyncio.to_thread(decide, url)
        async with client() as http:
            assert (await http.get(location)).status_code == 200

    try:
        with pytest.raises(SignInDenied) as info:
            await service.sign_in("dev", "CN", "cn-hangzhou", "en", browser)
    finally:
        await service.aclose()
    assert info.value.details["reason"] == reason and info.value.details["error"] == "access_denied"


async def test_task_cancellation_propagates_and_ends_the_attempt(pending: PendingAuthorization) -> None:
    waiter = asyncio.create_task(pending.wait(5.0))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert pending.done()
    assert pending.deliver({"code": CODE, "state": STATE}) == "already_done"


async def test_cancel_makes_the_waiter_raise_cancelled(pending: PendingAuthorization) -> None:
    waiter = asyncio.create_task(pending.wait(5.0))
    await asyncio.sleep(0)
    assert pending.cancel() is True
    with pytest.raises(Cancelled):
        await waiter
    assert pending.cancel() is False


def test_pending_needs_a_state() -> None:
    with pytest.raises(ValueError):
        PendingAuthorization("")


async def test_repr_does_not_show_the_state(pending: PendingAuthorization) -> None:
    shown = STATE in repr(pending)
    assert not shown


# --- lifetime -------------------------------------------------------------------------------------------


async def test_a_settled_sign_in_frees_its_port_at_once_and_stops_by_itself(pending: PendingAuthorization) -> None:
    """The next sign-in can bind the same port right after the answer (issue 14: the 6th quick
    sign-in in a row got portsBusy while each finished one held its port for the linger)."""
    srv = await CallbackServer.bind(pending, ports=(0, 0), linger=30.0, head_timeout=HEAD_TIMEOUT)
    port = srv.port
    try:
        assert status_of(await raw_request(port, get(callback_query()))) == 200
        assert not srv.listening
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)  # nobody listens there any more
        async with await CallbackServer.bind(PendingAuthorization(STATE), ports=(port, port)) as again:
            assert again.port == port
        await asyncio.wait_for(srv.wait_closed(), 2.0)  # its last page is out: no need for the linger
    finally:
        await srv.close()


async def test_the_page_still_reaches_a_browser_that_reads_it_late(pending: PendingAuthorization) -> None:
    srv = await CallbackServer.bind(pending, ports=(0, 0), linger=5.0, head_timeout=HEAD_TIMEOUT)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        writer.write(get(callback_query()))
        got_code = await pending.wait(1.0) == CODE
        assert got_code
        await asyncio.sleep(0.05)
        assert not srv.listening
        answer = await asyncio.wait_for(reader.read(), 2.0)
        writer.close()
        assert status_of(answer) == 200 and b"Authorization successful" in answer
        await asyncio.wait_for(srv.wait_closed(), 2.0)
    finally:
        await srv.close()


async def test_six_quick_sign_ins_in_a_row_on_a_five_port_range(emulator: Emulator, tmp_path: Path) -> None:
    """Issue 14: each finished sign-in held its port for the linger, so the 6th in a row got portsBusy."""
    with held_ports(5) as (base, sockets):
        for sock in sockets:
            sock.close()
    service = emulator_service(emulator, tmp_path, (base, base + 4))
    used: list[int] = []

    async def browser(url: str, redirect_uri: str) -> None:
        location = await asyncio.to_thread(emulator.approve, url)  # the user presses Authorize...
        used.append(int(redirect_uri.rsplit(":", 1)[1].split("/")[0]))
        async with client() as http:  # ...and the browser follows the redirect to our port
            assert (await http.get(location)).status_code == 200

    try:
        for index in range(7):
            await service.sign_in(f"p{index}", "CN", "cn-hangzhou", "en", browser)
    finally:
        await service.aclose()
    assert len(used) == 7 and set(used) <= set(range(base, base + 5))


async def test_the_browsers_redirect_gets_through_a_connection_flood(pending: PendingAuthorization) -> None:
    """Issue 14: 40 held connections blocked the browser's redirect (the cap was full)."""
    async with await CallbackServer.bind(pending, ports=(0, 0), linger=LINGER, head_timeout=2.0) as srv:
        async with Flood(srv.port, 200) as flood:
            await flood.until_churning()  # all 200 held, and the dropped ones are coming back
            answer = await raw_request(srv.port, get(callback_query()))
            assert status_of(answer) == 200
            got_code = await pending.wait(1.0) == CODE
            assert got_code


async def test_stops_after_a_timeout_too(server: CallbackServer, pending: PendingAuthorization) -> None:
    with pytest.raises(SignInTimeout):
        await pending.wait(0.01)
    await asyncio.wait_for(server.wait_closed(), 1.0)


async def test_close_is_idempotent_and_drops_open_connections(server: CallbackServer) -> None:
    idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", server.port)
    await asyncio.sleep(0.01)
    await asyncio.gather(server.close(), server.close())
    await server.close()
    assert server.closed
    try:
        rest = await asyncio.wait_for(idle_reader.read(), 1.0)
    except ConnectionError:
        rest = b""
    assert rest == b""
    idle_writer.close()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", server.port)


async def test_async_with_closes(pending: PendingAuthorization) -> None:
    async with await CallbackServer.bind(pending, ports=(0, 0)) as srv:
        assert not srv.closed
    assert srv.closed


# --- paste-back -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"http://127.0.0.1:12345{callback_query()}",
        f"  'http://127.0.0.1:12345{callback_query()}'\n",
        f'"http://127.0.0.1:12346{callback_query()}"',
        f"<http://127.0.0.1:12345{callback_query()}>",
        f"127.0.0.1:12345{callback_query()}",
        f"http://127.0.0.1:12345/cli/call\nback?code={CODE}&state={STATE}",
    ],
    ids=["plain", "quoted-spaces", "double-quotes", "angle", "no-scheme", "wrapped"],
)
async def test_deliver_url_accepts_a_good_url(pending: PendingAuthorization, url: str) -> None:
    pending.deliver_url(url)
    got_code = await pending.wait(1.0) == CODE
    assert got_code


async def test_deliver_url_with_the_wrong_state_explains(pending: PendingAuthorization) -> None:
    with pytest.raises(InvalidParams) as info:
        pending.deliver_url(f"http://127.0.0.1:12345{callback_query(state='an-older-state')}")
    message = str(info.value)
    assert "another or an older sign-in" in message
    assert "newest" in message
    leaked = "an-older-state" in message or CODE in message
    assert not leaked
    assert not pending.done()


async def test_deliver_url_with_error_returns_and_the_waiter_reports_it(pending: PendingAuthorization) -> None:
    pending.deliver_url(f"http://127.0.0.1:12345/cli/callback?error=access_denied&state={STATE}")
    with pytest.raises(SignInDenied) as info:
        await pending.wait(1.0)
    assert info.value.details["error"] == "access_denied"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "hello world",
        "https://example.com/other?code=x&state=y",
        "http://127.0.0.1:12345/cli/callback",
        f"http://127.0.0.1:12345/cli/callback?state={STATE}",
        f"http://127.0.0.1:12345/cli/callback?code={CODE}",
        f"http://127.0.0.1:12345/cli/callback?code={CODE}&code=x&state={STATE}",
        f"ftp://127.0.0.1/cli/callback?code={CODE}&state={STATE}",
        "http://[::1/cli/callback?code=x&state=y",
        "x" * 10000,
    ],
)
async def test_deliver_url_refuses_what_is_not_an_answer(pending: PendingAuthorization, url: str) -> None:
    with pytest.raises(InvalidParams) as info:
        pending.deliver_url(url)
    leaked = CODE in str(info.value) or STATE in str(info.value)
    assert not leaked
    assert not pending.done()


async def test_deliver_url_after_the_browser_won_is_harmless(pending: PendingAuthorization) -> None:
    assert pending.deliver({"code": CODE, "state": STATE}) == "accepted"
    pending.deliver_url(f"http://127.0.0.1:12345{callback_query()}")


async def test_deliver_url_after_cancel_says_start_again(pending: PendingAuthorization) -> None:
    pending.cancel()
    with pytest.raises(InvalidParams, match="start the sign-in again"):
        pending.deliver_url(f"http://127.0.0.1:12345{callback_query()}")


# --- the judge itself ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "outcome"),
    [
        ({"code": CODE, "state": STATE}, "accepted"),
        ({"code": CODE, "state": STATE, "extra": "ignored"}, "accepted"),
        ({"error": "access_denied", "state": STATE}, "denied"),
        ({"error": "access_denied", "code": CODE, "state": STATE}, "denied"),
        ({"code": CODE}, "state_mismatch"),
        ({"code": CODE, "state": ""}, "state_mismatch"),
        ({"code": CODE, "state": STATE + "x"}, "state_mismatch"),
        ({"code": CODE, "state": "\u00e9" * 600}, "state_mismatch"),
        ({"error": "access_denied", "state": "other"}, "state_mismatch"),
        ({"state": STATE}, "invalid"),
        ({"code": "c" * 5000, "state": STATE}, "invalid"),
        ({"code": "a\x00b", "state": STATE}, "invalid"),
    ],
)
async def test_deliver_outcomes(pending: PendingAuthorization, params: dict[str, str], outcome: str) -> None:
    assert pending.deliver(params) == outcome
    assert pending.done() == (outcome in ("accepted", "denied"))
