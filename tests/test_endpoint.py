"""``sidecar/credentials/endpoint.py``: the loopback ``ALIBABA_CLOUD_CREDENTIALS_URI`` endpoint that
every SDK in a terminal calls (the ``credentials`` command is in ``test_cli.py``).

Secrets never reach the test output: comparisons of secret values are computed into booleans
before they are asserted (pytest would print both sides), and leak checks report field names only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.flood import Flood
from sidecar.credentials.endpoint import CredentialsEndpoint, CredentialsSource, refresher_source

from emulator import Emulator
from sidecar.service import SidecarService
from sidecar.timing import ENDPOINT_MIN_STS_LIFETIME

from .flows import age, profile_of, signed_in
from .conftest import load_json

REPO = Path(__file__).resolve().parent.parent
SECRET_FIELDS = ("oauth_access_token", "oauth_refresh_token", "access_key_secret", "sts_token")
URI_KEYS = {"Code", "AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration"}


# ================================================================== helpers (also used by test_sdk_interop, test_cli)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(host="127.0.0.1", port=0, auto_approve=True) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _clean_emulator(request: pytest.FixtureRequest) -> None:
    if "emu" in request.fixturenames:
        request.getfixturevalue("emu").clear_faults()


def secret_values(config: Path, *extra: str) -> dict[str, str]:
    """Every secret in the file (by ``profile.field``), plus ``extra`` ones, for leak checks."""
    found = {f"extra{i}": value for i, value in enumerate(extra)}
    try:
        doc = load_json(config)
    except (OSError, ValueError):
        return found
    for profile in doc.get("profiles", []):
        for field in SECRET_FIELDS:
            value = profile.get(field)
            if isinstance(value, str) and len(value) >= 8:
                found[f"{profile.get('name')}.{field}"] = value
    return found


def assert_no_secrets(text: str, config: Path, *extra: str) -> None:
    leaked = [where for where, value in secret_values(config, *extra).items() if value in text]
    assert not leaked, f"secrets leaked: {leaked}"


def matches_file(payload: dict[str, Any], config: Path, name: str = "dev") -> bool:
    """Whether a URI-style answer carries exactly the STS credentials stored for ``name``."""
    profile = profile_of(config, name)
    return (
        payload.get("AccessKeyId") == profile["access_key_id"]
        and payload.get("AccessKeySecret") == profile["access_key_secret"]
        and payload.get("SecurityToken") == profile["sts_token"]
    )


def emulator_calls(emu: Emulator) -> tuple[int, int]:
    """(token requests, exchange requests) that reached the emulator so far."""
    requests = emu.stats["requests"]
    return requests["token"], requests["exchange"]


async def raw_http(port: int, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send exactly ``head`` (CRLF line ends added) and read the whole answer: full control of headers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.replace("\n", "\r\n").encode("latin-1") + b"\r\n\r\n" + body)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head_bytes, _, payload = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, payload


def get(endpoint: CredentialsEndpoint, path: str, host: str | None = None, extra: str = "", method: str = "GET") -> str:
    """A request head for ``path`` on the endpoint (``host`` None: the right Host)."""
    host = f"127.0.0.1:{endpoint.port}" if host is None else host
    lines = [f"{method} {path} HTTP/1.1"]
    if host != "":
        lines.append(f"Host: {host}")
    if extra:
        lines.append(extra)
    return "\n".join(lines)


def path_of(uri: str) -> str:
    return "/" + uri.split("/", 3)[3]


def source_of(service: SidecarService) -> CredentialsSource:
    """What the composition root hands the endpoint: the service's selection and refresher."""
    return refresher_source(service.select, service.refresher, service.settings.margins)


def profile_uri(endpoint: CredentialsEndpoint, name: str) -> str:
    """The URL of one fixed profile's credentials: ``/<secret>/profiles/<name>/credentials``."""
    base = endpoint.uri.removesuffix("/credentials")
    return f"{base}/profiles/{urllib.parse.quote(name, safe='')}/credentials"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def served(emu: Emulator, config_path: Path) -> AsyncIterator[tuple[SidecarService, CredentialsEndpoint]]:
    service = await signed_in(emu, config_path)
    endpoint = await CredentialsEndpoint.start(source_of(service))
    try:
        yield service, endpoint
    finally:
        await endpoint.close()
        await service.aclose()


# ================================================================== the endpoint


async def test_serves_sdk_json_for_the_selected_profile(served: tuple[SidecarService, CredentialsEndpoint], config_path: Path) -> None:
    _service, endpoint = served
    path = path_of(endpoint.uri)
    for host in (f"127.0.0.1:{endpoint.port}", f"localhost:{endpoint.port}", "127.0.0.1", "LOCALHOST"):
        status, headers, body = await raw_http(endpoint.port, get(endpoint, path, host=host))
        assert status == 200, host
        payload = json.loads(body)
        assert set(payload) == URI_KEYS and payload["Code"] == "Success"
        ok = matches_file(payload, config_path)
        assert ok, "the endpoint did not serve the STS credentials stored for the profile"
        expires = time.strptime(payload["Expiration"], "%Y-%m-%dT%H:%M:%SZ")  # exactly what the SDK parses
        assert expires.tm_year >= 2024
        assert headers["cache-control"] == "no-store"
        assert headers["content-type"].startswith("application/json")
        assert headers["connection"] == "close"
        assert not [h for h in headers if h.startswith("access-control-")]


async def test_refuses_without_the_session_path(served: tuple[SidecarService, CredentialsEndpoint]) -> None:
    _service, endpoint = served
    secret = path_of(endpoint.uri).split("/")[1]
    wrong = [
        "/",
        "/credentials",
        f"/{secret}",
        f"/{secret}/",
        f"/{secret}/credentials/",
        f"/{secret}/credentials?x=1",
        f"/{secret}//credentials",
        f"/{secret[:-1]}/credentials",
        f"/{secret}x/credentials",
        f"/{secret.swapcase()}/credentials",
        f"/x/{secret}/credentials",
        f"/{secret}/profiles//credentials",
        f"/{secret}/profiles/dev",
        f"/{secret}/profiles/%ff/credentials",
        f"/{secret}/profiles/a%0Ab/credentials",
        "/" + "A" * 43 + "/credentials",
    ]
    for path in wrong:
        status, headers, body = await raw_http(endpoint.port, get(endpoint, path))
        assert status == 404, path.replace(secret, "<secret>")
        assert json.loads(body)["Code"] == "NotFound"
        assert secret.encode() not in body
        assert not [h for h in headers if h.startswith("access-control-")]


async def test_refuses_a_foreign_host(served: tuple[SidecarService, CredentialsEndpoint]) -> None:
    _service, endpoint = served
    path = path_of(endpoint.uri)
    for host in (
        f"evil.example:{endpoint.port}",
        "evil.example",
        f"127.0.0.1:{endpoint.port + 1}",
        f"127.0.0.1.evil.example:{endpoint.port}",
        f"[::1]:{endpoint.port}",
        f"127.0.0.2:{endpoint.port}",
        "",  # no Host at all: RFC 9112 says 400 for that, and h11 answers so before any route runs
    ):
        status, headers, body = await raw_http(endpoint.port, get(endpoint, path, host=host))
        assert status == (400 if host == "" else 421), host
        assert json.loads(body)["Code"] != "Success"
        assert b"AccessKey" not in body and not [h for h in headers if h.startswith("access-control-")]


async def test_refuses_browsers_and_never_speaks_cors(served: tuple[SidecarService, CredentialsEndpoint]) -> None:
    _service, endpoint = served
    path = path_of(endpoint.uri)
    for extra in (
        "Origin: https://evil.example",
        "Origin: null",
        f"Origin: http://127.0.0.1:{endpoint.port}",  # even our own origin: no page has a reason to ask
        "Sec-Fetch-Site: cross-site",
        "Sec-Fetch-Mode: no-cors",
    ):
        status, headers, body = await raw_http(endpoint.port, get(endpoint, path, extra=extra))
        assert status == 403, extra
        assert b"AccessKey" not in body and not [h for h in headers if h.startswith("access-control-")]
    preflight = get(endpoint, path, method="OPTIONS", extra="Origin: https://evil.example\nAccess-Control-Request-Method: GET")
    status, headers, _ = await raw_http(endpoint.port, preflight)
    assert status == 403 and not [h for h in headers if h.startswith("access-control-")]


async def test_only_get(served: tuple[SidecarService, CredentialsEndpoint]) -> None:
    _service, endpoint = served
    path = path_of(endpoint.uri)
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
        status, headers, body = await raw_http(endpoint.port, get(endpoint, path, method=method, extra="Content-Length: 0"))
        assert status == 405, method
        assert headers["allow"] == "GET" and b"AccessKey" not in body
    status, headers, body = await raw_http(endpoint.port, get(endpoint, path, method="HEAD"))
    assert status == 405 and body == b""
    # and on a wrong path the method does not matter: 404, nothing learnt
    status, _, _ = await raw_http(endpoint.port, get(endpoint, "/nope/credentials", method="POST", extra="Content-Length: 0"))
    assert status == 404


async def test_malformed_requests(served: tuple[SidecarService, CredentialsEndpoint]) -> None:
    _service, endpoint = served
    status, _, body = await raw_http(endpoint.port, "GET /credentials")
    assert status == 400 and json.loads(body)["Code"] == "BadRequest"
    status, _, _ = await raw_http(endpoint.port, get(endpoint, path_of(endpoint.uri), extra="X-Big: " + "a" * 20000))
    assert status == 431
    status, _, _ = await raw_http(endpoint.port, get(endpoint, path_of(endpoint.uri), extra=f"Host: 127.0.0.1:{endpoint.port}"))
    assert status == 400  # a second Host


async def test_a_flood_of_half_sent_requests_does_not_starve_the_endpoint(served: tuple[SidecarService, CredentialsEndpoint]) -> None:
    """Issue 14: 33 half-sent requests, re-opened as they were dropped, filled the cap: every SDK got 503."""
    _service, endpoint = served
    async with Flood(endpoint.port, 200) as flood:
        await flood.until_churning()  # all 200 held, and the dropped ones are coming back
        for _ in range(5):
            status, _, body = await raw_http(endpoint.port, get(endpoint, path_of(endpoint.uri)))
            assert status == 200 and json.loads(body)["Code"] == "Success"


async def test_follows_the_current_profile_and_serves_fixed_ones(emu: Emulator, config_path: Path) -> None:
    service = await signed_in(emu, config_path, "dev", "my team")  # the last sign-in becomes current
    async with await CredentialsEndpoint.start(source_of(service)) as endpoint:

        async def served_profile(uri: str) -> str:
            status, _, body = await raw_http(endpoint.port, get(endpoint, path_of(uri)))
            assert status == 200
            payload = json.loads(body)
            return next(n for n in ("dev", "my team") if matches_file(payload, config_path, n))

        assert await served_profile(endpoint.uri) == "my team"
        assert await served_profile(profile_uri(endpoint, "dev")) == "dev"
        assert "/profiles/my%20team/" in profile_uri(endpoint, "my team")
        assert await served_profile(profile_uri(endpoint, "my team")) == "my team"
        await service.switch_profile("dev")  # the status bar switches: terminals follow
        assert await served_profile(endpoint.uri) == "dev"
        assert await served_profile(profile_uri(endpoint, "my team")) == "my team"
    await service.aclose()


async def test_errors_are_json_and_carry_no_secrets(
    served: tuple[SidecarService, CredentialsEndpoint], emu: Emulator, config_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service, endpoint = served
    caplog.set_level(logging.DEBUG)
    status, _, body = await raw_http(endpoint.port, get(endpoint, path_of(profile_uri(endpoint, "nobody"))))
    assert status == 404 and json.loads(body)["Code"] == "ProfileNotFound"

    doc = load_json(config_path)
    doc["profiles"].append({"name": "ak", "mode": "AK", "access_key_id": "LTAIexample", "access_key_secret": "ak-secret-value-123"})
    config_path.write_text(json.dumps(doc))
    status, _, body = await raw_http(endpoint.port, get(endpoint, path_of(profile_uri(endpoint, "ak"))))
    assert status == 409 and json.loads(body)["Code"] == "NotAnOAuthProfile"
    assert b"ak-secret-value-123" not in body

    # sign-in required: everything expired, and the service refuses the refresh token
    old = secret_values(config_path)
    emu.revoke_refresh_tokens()
    age(config_path, sts=-60, access=-60)
    calls = emulator_calls(emu)
    status, headers, body = await raw_http(endpoint.port, get(endpoint, path_of(endpoint.uri)))
    answer = json.loads(body)
    assert status == 503 and answer["Code"] == "SignInRequired"
    assert "sign in" in answer["Message"].lower() and "'dev'" in answer["Message"]
    assert headers["cache-control"] == "no-store"
    assert_no_secrets(body.decode(), config_path, *old.values())
    assert emulator_calls(emu)[0] == calls[0] + 1  # one refresh attempt...
    status, _, _ = await raw_http(endpoint.port, get(endpoint, path_of(endpoint.uri)))
    assert status == 503 and emulator_calls(emu)[0] == calls[0] + 1  # ...and no retry loop after it

    secret = path_of(endpoint.uri).split("/")[1]
    logs = caplog.text
    assert secret not in logs, "the session secret reached a log line"
    assert_no_secrets(logs, config_path, *old.values())
    del service


async def test_concurrent_requests_share_one_refresh(served: tuple[SidecarService, CredentialsEndpoint], emu: Emulator, config_path: Path) -> None:
    _service, endpoint = served
    age(config_path, sts=-5)
    calls = emulator_calls(emu)
    answers = await asyncio.gather(*(raw_http(endpoint.port, get(endpoint, path_of(endpoint.uri))) for _ in range(20)))
    assert {status for status, _, _ in answers} == {200}
    assert len({json.loads(body)["AccessKeyId"] for _, _, body in answers}) == 1
    assert emulator_calls(emu) == (calls[0], calls[1] + 1)
    ok = matches_file(json.loads(answers[0][2]), config_path)
    assert ok, "the renewed credentials were not written to the file"


async def test_hands_out_credentials_an_sdk_can_cache(served: tuple[SidecarService, CredentialsEndpoint], emu: Emulator, config_path: Path) -> None:
    """The Python SDK's URI provider calls credentials stale 15 minutes before expiry: serve more than that."""
    _service, endpoint = served
    age(config_path, sts=ENDPOINT_MIN_STS_LIFETIME + 60)
    calls = emulator_calls(emu)
    status, _, _ = await raw_http(endpoint.port, get(endpoint, path_of(endpoint.uri)))
    assert status == 200 and emulator_calls(emu) == calls
    age(config_path, sts=ENDPOINT_MIN_STS_LIFETIME - 30)
    status, _, body = await raw_http(endpoint.port, get(endpoint, path_of(endpoint.uri)))
    assert status == 200 and emulator_calls(emu) == (calls[0], calls[1] + 1)
    expires = profile_of(config_path)["sts_expiration"]
    assert expires - time.time() > ENDPOINT_MIN_STS_LIFETIME
    assert json.loads(body)["Expiration"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))


async def test_close_stops_serving(emu: Emulator, config_path: Path) -> None:
    service = await signed_in(emu, config_path)
    endpoint = await CredentialsEndpoint.start(source_of(service))
    port, uri = endpoint.port, endpoint.uri
    assert uri.startswith(f"http://127.0.0.1:{port}/") and len(path_of(uri).split("/")[1]) >= 43
    assert "secret" not in repr(endpoint) and path_of(uri).split("/")[1] not in repr(endpoint)
    env = endpoint.environment()
    assert env == {
        "ALIBABA_CLOUD_CREDENTIALS_URI": uri,
        "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true",
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
    }
    await endpoint.close()
    await endpoint.close()
    with pytest.raises(OSError):
        await raw_http(port, get(endpoint, path_of(uri)))
    # a new session has a new secret: old URLs die with the session
    again = await CredentialsEndpoint.start(source_of(service))
    assert path_of(again.uri).split("/")[1] != path_of(uri).split("/")[1]
    await again.close()
    await service.aclose()
