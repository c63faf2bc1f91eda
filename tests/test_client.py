"""``sidecar/oauth/client.py``: the OAuth API calls as the official clients make them, and every reading
of their answers (the calls against the emulator and its faults are in ``test_refresher.py`` and
``test_faults.py``)."""

from __future__ import annotations

import asyncio

import httpx

from sidecar.oauth.client import OAuthClient
from sidecar.sites import Endpoints


def test_the_exchange_answer_is_read_in_either_spelling_and_sent_with_the_clients_headers() -> None:
    seen: list[httpx.Request] = []
    answers = iter(
        [
            {"AccessKeyId": "STS.P", "AccessKeySecret": "s", "SecurityToken": "t", "Expiration": "2030-01-01T00:00:00Z"},
            {"accessKeyId": "STS.C", "accessKeySecret": "s", "securityToken": "t", "expiration": "2030-01-01T00:00:00Z"},
            {"ACCESSKEYID": "STS.U", "accesskeysecret": "s", "SECURITYTOKEN": "t", "EXPIRATION": "2030-01-01T00:00:00Z"},
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=next(answers))

    async def run() -> list[str]:
        client = OAuthClient(transport=httpx.MockTransport(handler))
        site = Endpoints().site("CN")
        try:
            return [(await client.exchange_sts(site, "access")).access_key_id for _ in range(3)]
        finally:
            await client.aclose()

    assert asyncio.run(run()) == ["STS.P", "STS.C", "STS.U"]
    request = seen[0]
    assert request.headers["content-type"] == "application/json"
    assert request.content == b""
    assert request.headers["user-agent"].startswith("aliyun-sidecar/")
    assert request.headers["authorization"] == "Bearer access"


def test_the_code_grant_may_come_without_a_refresh_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"access_token": "a", "expires_in": 3600, "token_type": "Bearer"})

    async def run() -> object:
        client = OAuthClient(transport=httpx.MockTransport(handler))
        try:
            return await client.exchange_code(Endpoints().site("CN"), "code", "http://127.0.0.1:12345/cli/callback", "v" * 43)
        finally:
            await client.aclose()

    tokens = asyncio.run(run())
    assert tokens.refresh_token == "" and tokens.access_token == "a"  # type: ignore[attr-defined]


def test_an_error_that_echoes_the_request_is_scrubbed_of_every_secret_it_carried() -> None:
    """``error``, ``error_description`` and ``requestId`` quoting the form (raw and URL-encoded) and the
    bearer token: none of the secrets reaches the error's message or fields."""
    from urllib.parse import quote, unquote_plus

    from sidecar.errors import SidecarError

    refresh, code, verifier, access = "R" * 40 + "/+=", "C" * 32, "V" * 43, "A" * 48

    def handler(request: httpx.Request) -> httpx.Response:
        said = request.content.decode() + " " + request.headers.get("authorization", "")
        raw = unquote_plus(said)
        return httpx.Response(400, json={"error": f"invalid_request {said}", "error_description": f"{said} | {raw}", "requestId": raw})

    async def run() -> list[SidecarError]:
        client = OAuthClient(transport=httpx.MockTransport(handler))
        site = Endpoints().site("CN")
        found: list[SidecarError] = []
        calls = (
            lambda: client.refresh(site, refresh),
            lambda: client.exchange_code(site, code, "http://127.0.0.1:12345/cli/callback", verifier),
            lambda: client.exchange_sts(site, access),
        )
        try:
            for call in calls:
                try:
                    await call()
                except SidecarError as exc:
                    found.append(exc)
        finally:
            await client.aclose()
        return found

    found = asyncio.run(run())
    assert len(found) == 3
    for exc in found:
        text = f"{exc} {exc.args} {vars(exc)}"
        for secret in (refresh, code, verifier, access):
            assert secret not in text and quote(secret, safe="") not in text, type(exc).__name__
        assert "***" in text
