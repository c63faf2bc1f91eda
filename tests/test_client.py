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
