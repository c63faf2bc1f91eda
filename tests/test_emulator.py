"""The emulator of the Alibaba Cloud sign-in service behaves like the real one, as the official clients read it.

Everything runs over real HTTP against an in-process emulator; expiries are reached with clock skew or
``expire_*`` operations, never by sleeping.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from emulator import AuthorizeError, Emulator, Identity, s256

CN = "4038181954557748008"
INTL = "4103531455503354461"
REDIRECT = "http://127.0.0.1:12345/cli/callback"
ROOT = Path(__file__).resolve().parents[1]


# -- helpers ------------------------------------------------------------------------------------------


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    # Plain HTTP only: verify=False skips building a TLS context (80 ms per client).
    with httpx.Client(timeout=5.0, follow_redirects=False, verify=False) as client:
        yield client


def new_verifier() -> str:
    return secrets.token_urlsafe(48)


def authorize_url(emu: Emulator, verifier: str, **overrides: str | None) -> str:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": CN,
        "redirect_uri": REDIRECT,
        "state": "state-123",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{emu.url}/oauth2/v1/auth?{query}"


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def code_grant(
    http: httpx.Client, emu: Emulator, code: str, verifier: str, client_id: str = CN, redirect_uri: str = REDIRECT
) -> httpx.Response:
    return http.post(
        f"{emu.url}/v1/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
    )


def refresh(http: httpx.Client, emu: Emulator, token: str, client_id: str = CN) -> httpx.Response:
    return http.post(
        f"{emu.url}/v1/token", data={"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id}
    )


def exchange(http: httpx.Client, emu: Emulator, access_token: str) -> httpx.Response:
    return http.post(f"{emu.url}/v1/exchange", headers={"Authorization": f"Bearer {access_token}"})


def sign_in(http: httpx.Client, emu: Emulator, client_id: str = CN) -> dict[str, Any]:
    verifier = new_verifier()
    location = emu.approve(authorize_url(emu, verifier, client_id=client_id))
    answer = code_grant(http, emu, query_of(location)["code"], verifier, client_id=client_id)
    assert answer.status_code == 200, answer.text
    return answer.json()


def assert_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]
    assert body["requestId"]


# -- the happy path -----------------------------------------------------------------------------------


def test_full_sign_in_through_the_page(emu: Emulator, http: httpx.Client) -> None:
    verifier = new_verifier()
    page = http.get(authorize_url(emu, verifier))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Authorize" in page.text and "Deny" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    request_id = re.search(r'name="request_id" value="([^"]+)"', page.text)
    assert request_id
    decided = http.post(
        f"{emu.url}/oauth2/v1/auth/decision", data={"request_id": request_id.group(1), "decision": "authorize"}
    )
    assert decided.status_code == 302
    location = decided.headers["location"]
    assert location.startswith(REDIRECT + "?")
    params = query_of(location)
    assert params["state"] == "state-123"

    tokens = code_grant(http, emu, params["code"], verifier)
    assert tokens.status_code == 200
    assert tokens.headers["cache-control"] == "no-store"
    body = tokens.json()
    assert set(body) == {"access_token", "refresh_token", "expires_in", "token_type"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600

    sts = exchange(http, emu, body["access_token"])
    assert sts.status_code == 200
    creds = sts.json()
    assert set(creds) == {"requestId", "accessKeyId", "accessKeySecret", "securityToken", "expiration"}
    assert creds["accessKeyId"].startswith("STS.")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", creds["expiration"])
    expires = datetime.strptime(creds["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs(expires.timestamp() - (time.time() + 3600)) < 5

    # A used decision form cannot be replayed.
    replay = http.post(
        f"{emu.url}/oauth2/v1/auth/decision", data={"request_id": request_id.group(1), "decision": "authorize"}
    )
    assert replay.status_code == 400 and "location" not in replay.headers

    stats = emu.stats
    assert stats["code_exchanges"] == 1 and stats["exchanges"] == 1
    assert stats["requests"] == {"authorize": 1, "decision": 2, "token": 1, "exchange": 1, "control": 0}


def test_each_exchange_issues_new_sts_and_remembers_identity(emu: Emulator, http: httpx.Client) -> None:
    tokens = sign_in(http, emu)
    first = exchange(http, emu, tokens["access_token"]).json()
    second = exchange(http, emu, tokens["access_token"]).json()
    assert first["accessKeyId"] != second["accessKeyId"]
    assert first["securityToken"] != second["securityToken"]
    record = emu.sts_credentials(first["accessKeyId"])
    assert record is not None and record.access_key_secret == first["accessKeySecret"]
    assert record.identity.arn == "acs:ram::1234567890123456:user/dev"
    assert first["accessKeySecret"] not in repr(record)

    emu.set_identity(Identity.role("Admin", session_name="alice"))
    role_tokens = sign_in(http, emu)
    role_key = exchange(http, emu, role_tokens["access_token"]).json()["accessKeyId"]
    role_record = emu.sts_credentials(role_key)
    assert role_record is not None
    assert role_record.identity.identity_type == "AssumedRoleUser"
    assert role_record.identity.arn == "acs:ram::1234567890123456:assumed-role/Admin/alice"
    # The first family keeps the identity it signed in with, through refreshes too.
    rotated = refresh(http, emu, tokens["refresh_token"]).json()
    later = emu.sts_credentials(exchange(http, emu, rotated["access_token"]).json()["accessKeyId"])
    assert later is not None and later.identity.kind == "user"


def test_auto_approve_redirects_at_once(http: httpx.Client) -> None:
    with Emulator(auto_approve=True) as emu:
        verifier = new_verifier()
        answer = http.get(authorize_url(emu, verifier))
        assert answer.status_code == 302
        params = query_of(answer.headers["location"])
        assert params["state"] == "state-123"
        assert code_grant(http, emu, params["code"], verifier).status_code == 200
        emu.set_auto_approve(False)
        assert http.get(authorize_url(emu, verifier)).status_code == 200


def test_intl_client_is_known(emu: Emulator, http: httpx.Client) -> None:
    tokens = sign_in(http, emu, client_id=INTL)
    assert refresh(http, emu, tokens["refresh_token"], client_id=INTL).status_code == 200


# -- authorize validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://localhost:12345/cli/callback",
        "https://127.0.0.1:12345/cli/callback",
        "http://127.0.0.1/cli/callback",
        "http://127.0.0.1:12345/cli/callback/",
        "http://127.0.0.1:12345/cli/callback?x=1",
        "http://127.0.0.1:12345/other",
        "http://127.0.0.1:99999/cli/callback",
        "http://evil.example/cli/callback",
        "http://127.0.0.1:12345@evil.example/cli/callback",
        "",
    ],
)
def test_bad_redirect_uri_is_never_redirected_to(emu: Emulator, http: httpx.Client, redirect_uri: str) -> None:
    url = authorize_url(emu, new_verifier(), redirect_uri=redirect_uri)
    answer = http.get(url)
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert answer.headers["x-emulator-error"] == "invalid_request"
    with pytest.raises(AuthorizeError):
        emu.approve(url)
    with pytest.raises(AuthorizeError):
        emu.deny(url)


def test_any_port_is_accepted(emu: Emulator) -> None:
    location = emu.approve(authorize_url(emu, new_verifier(), redirect_uri="http://127.0.0.1:54321/cli/callback"))
    assert location.startswith("http://127.0.0.1:54321/cli/callback?code=")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"client_id": "123"}, "invalid_client"),
        ({"client_id": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "unsupported_response_type"),
        ({"state": None}, "invalid_request"),
        ({"state": ""}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"code_challenge": "a" * 42 + "="}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
    ],
)
def test_invalid_authorize_requests_show_an_error_page(
    emu: Emulator, http: httpx.Client, overrides: dict[str, str | None], error: str
) -> None:
    url = authorize_url(emu, new_verifier(), **overrides)
    answer = http.get(url)
    assert answer.status_code == 400 and "location" not in answer.headers
    assert answer.headers["x-emulator-error"] == error
    assert f'id="error">{error}<' in answer.text
    with pytest.raises(AuthorizeError) as raised:
        emu.approve(url)
    assert raised.value.error == error
    assert emu.stats["authorize_requests_rejected"] == 2


def test_repeated_parameter_is_refused(emu: Emulator, http: httpx.Client) -> None:
    url = authorize_url(emu, new_verifier()) + "&state=other"
    assert http.get(url).status_code == 400


def test_echoed_values_are_escaped(emu: Emulator, http: httpx.Client) -> None:
    evil = '"><script>alert(1)</script>&'
    page = http.get(authorize_url(emu, new_verifier(), state=evil))
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;" in page.text
    # ...and the state still comes back intact in the redirect.
    location = emu.approve(authorize_url(emu, new_verifier(), state=evil))
    assert query_of(location)["state"] == evil


def test_approve_rejects_other_paths(emu: Emulator) -> None:
    with pytest.raises(ValueError):
        emu.approve(f"{emu.url}/v1/token?client_id={CN}")


# -- deny and not authorized --------------------------------------------------------------------------


def test_deny_on_the_page_and_through_the_api(emu: Emulator, http: httpx.Client) -> None:
    page = http.get(authorize_url(emu, new_verifier()))
    request_id = re.search(r'name="request_id" value="([^"]+)"', page.text)
    assert request_id
    answer = http.post(
        f"{emu.url}/oauth2/v1/auth/decision", data={"request_id": request_id.group(1), "decision": "deny"}
    )
    assert answer.status_code == 302
    params = query_of(answer.headers["location"])
    assert params["error"] == "access_denied" and params["state"] == "state-123"
    assert "code" not in params and params["error_description"]

    params = query_of(emu.deny(authorize_url(emu, new_verifier())))
    assert params["error"] == "access_denied" and params["state"] == "state-123"
    assert emu.stats["authorizations_denied"] == 2


def test_not_authorized_mode(http: httpx.Client) -> None:
    with Emulator(not_authorized=True, auto_approve=True) as emu:
        answer = http.get(authorize_url(emu, new_verifier()))
        params = query_of(answer.headers["location"])
        assert params == {
            "error": "access_denied",
            "error_description": "The call is not authorized.",
            "state": "state-123",
        }
        assert query_of(emu.approve(authorize_url(emu, new_verifier())))["error"] == "access_denied"
        emu.set_not_authorized(False)
        assert "code" in query_of(emu.approve(authorize_url(emu, new_verifier())))


# -- code exchange ------------------------------------------------------------------------------------


def test_pkce_mismatch_fails_and_spends_the_code(emu: Emulator, http: httpx.Client) -> None:
    verifier = new_verifier()
    code = query_of(emu.approve(authorize_url(emu, verifier)))["code"]
    assert_error(code_grant(http, emu, code, new_verifier()), 400, "invalid_grant")
    assert_error(code_grant(http, emu, code, verifier), 400, "invalid_grant")
    stats = emu.stats
    assert stats["code_exchange_failures"] == 2 and stats["invalid_grant"] == 2 and stats["code_exchanges"] == 0


@pytest.mark.parametrize("verifier", ["short", "a" * 129, "a" * 42 + "!"])
def test_malformed_verifier_is_an_invalid_request(emu: Emulator, http: httpx.Client, verifier: str) -> None:
    good = new_verifier()
    code = query_of(emu.approve(authorize_url(emu, good)))["code"]
    assert_error(code_grant(http, emu, code, verifier), 400, "invalid_request")
    assert code_grant(http, emu, code, good).status_code == 200


def test_code_reuse_fails_and_revokes_what_it_issued(emu: Emulator, http: httpx.Client) -> None:
    verifier = new_verifier()
    code = query_of(emu.approve(authorize_url(emu, verifier)))["code"]
    tokens = code_grant(http, emu, code, verifier).json()
    assert_error(code_grant(http, emu, code, verifier), 400, "invalid_grant")
    assert_error(exchange(http, emu, tokens["access_token"]), 401, "invalid_token")
    assert_error(refresh(http, emu, tokens["refresh_token"]), 400, "invalid_grant")


@pytest.mark.parametrize(
    "binding",
    [{"redirect_uri": "http://127.0.0.1:12346/cli/callback"}, {"client_id": INTL}],
)
def test_code_is_bound_to_client_and_redirect_uri(
    emu: Emulator, http: httpx.Client, binding: dict[str, str]
) -> None:
    verifier = new_verifier()
    code = query_of(emu.approve(authorize_url(emu, verifier)))["code"]
    assert_error(code_grant(http, emu, code, verifier, **binding), 400, "invalid_grant")


def test_code_expires(emu: Emulator, http: httpx.Client) -> None:
    verifier = new_verifier()
    code = query_of(emu.approve(authorize_url(emu, verifier)))["code"]
    emu.set_clock_skew(301)
    assert_error(code_grant(http, emu, code, verifier), 400, "invalid_grant")


def test_unknown_code(emu: Emulator, http: httpx.Client) -> None:
    assert_error(code_grant(http, emu, "nope", new_verifier()), 400, "invalid_grant")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grant_type": "password", "client_id": CN}, "unsupported_grant_type"),
        ({"client_id": CN}, "invalid_request"),
        ({"grant_type": "refresh_token", "client_id": CN}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "x"}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "x", "client_id": "42"}, "invalid_client"),
        ({"grant_type": "authorization_code", "code": "x", "client_id": CN}, "invalid_request"),
    ],
)
def test_token_request_errors(emu: Emulator, http: httpx.Client, data: dict[str, str], error: str) -> None:
    assert_error(http.post(f"{emu.url}/v1/token", data=data), 400, error)
    assert emu.stats["errors"] == {error: 1}


def test_token_needs_a_form_body(emu: Emulator, http: httpx.Client) -> None:
    answer = http.post(f"{emu.url}/v1/token", json={"grant_type": "refresh_token"})
    assert_error(answer, 400, "invalid_request")


def test_wrong_method_and_unknown_path(emu: Emulator, http: httpx.Client) -> None:
    assert http.get(f"{emu.url}/v1/token").status_code == 405
    assert http.get(f"{emu.url}/nothing").status_code == 404


# -- refresh ------------------------------------------------------------------------------------------


def test_refresh_rotates_the_refresh_token(emu: Emulator, http: httpx.Client) -> None:
    first = sign_in(http, emu)
    second = refresh(http, emu, first["refresh_token"])
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["access_token"] != first["access_token"]
    assert rotated["token_type"] == "Bearer"
    # The old refresh token is spent; the old access token stays valid until its own expiry.
    assert_error(refresh(http, emu, first["refresh_token"]), 400, "invalid_grant")
    assert exchange(http, emu, first["access_token"]).status_code == 200
    # The new one still works (the failed reuse did not sign the family out).
    assert refresh(http, emu, rotated["refresh_token"]).status_code == 200
    stats = emu.stats
    assert (stats["refreshes"], stats["refresh_failures"], stats["invalid_grant"]) == (2, 1, 1)


def test_concurrent_refreshes_with_one_token_have_one_winner(emu: Emulator, http: httpx.Client) -> None:
    token = sign_in(http, emu)["refresh_token"]
    statuses: list[int] = []

    def spend() -> None:
        with httpx.Client(timeout=5, verify=False) as client:
            statuses.append(refresh(client, emu, token).status_code)

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [400] * 7


def test_refresh_is_bound_to_the_client(emu: Emulator, http: httpx.Client) -> None:
    tokens = sign_in(http, emu)
    assert_error(refresh(http, emu, tokens["refresh_token"], client_id=INTL), 400, "invalid_grant")


def test_refresh_token_lifetime_is_enforced(http: httpx.Client) -> None:
    with Emulator(refresh_token_ttl=100, send_refresh_expiry=True) as emu:
        tokens = sign_in(http, emu)
        assert tokens["refresh_token_expires_in"] == 100
        emu.set_clock_skew(99)
        rotated = refresh(http, emu, tokens["refresh_token"]).json()
        emu.set_clock_skew(99 + 101)
        assert_error(refresh(http, emu, rotated["refresh_token"]), 400, "invalid_grant")


def test_set_ttls_applies_to_new_tokens(emu: Emulator, http: httpx.Client) -> None:
    emu.set_ttls(access=60, sts=120)
    tokens = sign_in(http, emu)
    assert tokens["expires_in"] == 60
    creds = exchange(http, emu, tokens["access_token"]).json()
    expires = datetime.strptime(creds["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs(expires.timestamp() - (time.time() + 120)) < 5
    with pytest.raises(ValueError):
        emu.set_ttls(access=-1)


def test_revoke_all_refresh_tokens(emu: Emulator, http: httpx.Client) -> None:
    one, two = sign_in(http, emu), sign_in(http, emu)
    assert emu.revoke_refresh_tokens() == 2
    assert_error(refresh(http, emu, one["refresh_token"]), 400, "invalid_grant")
    assert_error(refresh(http, emu, two["refresh_token"]), 400, "invalid_grant")
    assert exchange(http, emu, one["access_token"]).status_code == 200  # access tokens are left alone


def test_revoke_one_family(emu: Emulator, http: httpx.Client) -> None:
    one, two = sign_in(http, emu), sign_in(http, emu)
    rotated = refresh(http, emu, one["refresh_token"]).json()
    # Naming any token of the family (even a spent one) revokes the family's live token.
    assert emu.revoke_refresh_tokens(one["refresh_token"]) == 1
    assert_error(refresh(http, emu, rotated["refresh_token"]), 400, "invalid_grant")
    assert refresh(http, emu, two["refresh_token"]).status_code == 200
    assert emu.revoke_refresh_tokens("unknown") == 0


# -- exchange -----------------------------------------------------------------------------------------


def test_expired_access_token_at_exchange(emu: Emulator, http: httpx.Client) -> None:
    tokens = sign_in(http, emu)
    emu.expire_access_tokens()
    answer = exchange(http, emu, tokens["access_token"])
    assert_error(answer, 401, "expired_token")
    assert 'error="expired_token"' in answer.headers["www-authenticate"]
    # A refresh gives a fresh access token that exchanges again.
    rotated = refresh(http, emu, tokens["refresh_token"]).json()
    assert exchange(http, emu, rotated["access_token"]).status_code == 200
    assert emu.stats["exchange_failures"] == 1


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer unknown", "Basic abc"])
def test_exchange_needs_a_known_bearer_token(emu: Emulator, http: httpx.Client, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    assert_error(http.post(f"{emu.url}/v1/exchange", headers=headers), 401, "invalid_token")


def test_expire_sts_marks_issued_credentials(emu: Emulator, http: httpx.Client) -> None:
    key = exchange(http, emu, sign_in(http, emu)["access_token"]).json()["accessKeyId"]
    assert emu.expire_sts() == 1
    record = emu.sts_credentials(key)
    assert record is not None and record.expires_at < emu.now()


# -- clock --------------------------------------------------------------------------------------------


def test_clock_skew_moves_every_expiry(emu: Emulator, http: httpx.Client) -> None:
    emu.set_clock_skew(-7200)
    tokens = sign_in(http, emu)
    creds = exchange(http, emu, tokens["access_token"]).json()
    expires = datetime.strptime(creds["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs(expires.timestamp() - (time.time() - 3600)) < 5  # service time is two hours behind
    emu.set_clock_skew(-7200 + 3601)
    assert_error(exchange(http, emu, tokens["access_token"]), 401, "expired_token")


# -- faults -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status"),
    [("500", 500), ("503", 503), ("invalid_grant", 400), ("empty", 200), ("malformed", 200)],
)
def test_answer_faults_on_token(emu: Emulator, http: httpx.Client, fault: str, status: int) -> None:
    tokens = sign_in(http, emu)
    emu.inject("token", fault)
    answer = refresh(http, emu, tokens["refresh_token"])
    assert answer.status_code == status
    if fault == "malformed":
        with pytest.raises(json.JSONDecodeError):
            json.loads(answer.text)
    elif fault == "empty":
        assert answer.json() == {}
    else:
        assert answer.json()["error"]
    if fault == "503":
        assert answer.headers["retry-after"] == "1"
    # The fault did not touch the state: the refresh token was not spent.
    assert refresh(http, emu, tokens["refresh_token"]).status_code == 200
    assert emu.stats["faults"] == {fault: 1}


def test_drop_closes_without_answer(emu: Emulator, http: httpx.Client) -> None:
    tokens = sign_in(http, emu)
    emu.inject("exchange", "drop")
    with pytest.raises(httpx.RemoteProtocolError):
        exchange(http, emu, tokens["access_token"])
    assert emu.stats["exchanges"] == 0
    assert exchange(http, emu, tokens["access_token"]).status_code == 200


def test_drop_after_processing_loses_the_rotated_token(emu: Emulator, http: httpx.Client) -> None:
    tokens = sign_in(http, emu)
    emu.inject("token", "drop_after")
    with pytest.raises(httpx.RemoteProtocolError):
        refresh(http, emu, tokens["refresh_token"])
    assert emu.stats["refreshes"] == 1
    assert_error(refresh(http, emu, tokens["refresh_token"]), 400, "invalid_grant")


def test_delay_then_normal_answer(emu: Emulator, http: httpx.Client) -> None:
    tokens = sign_in(http, emu)
    emu.inject("exchange", "delay", seconds=0.3)
    started = time.monotonic()
    assert exchange(http, emu, tokens["access_token"]).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_hang_outlasts_the_client(emu: Emulator) -> None:
    emu.inject("authorize", "hang", seconds=1.0)
    with httpx.Client(timeout=0.2, verify=False) as client, pytest.raises(httpx.ReadTimeout):
        client.get(authorize_url(emu, new_verifier()))


def test_stop_wakes_a_hang_promptly() -> None:
    emu = Emulator().start()
    emu.inject("token", "hang")  # default: longer than any client waits
    errors: list[BaseException] = []

    def call() -> None:
        try:
            with httpx.Client(timeout=5, verify=False) as client:
                refresh(client, emu, "x")
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    deadline = time.monotonic() + 2
    while emu.stats["faults_injected"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    emu.stop()
    thread.join(timeout=3)
    assert time.monotonic() - started < 1.5
    assert not thread.is_alive() and errors


def test_fault_counts_and_any_endpoint(emu: Emulator, http: httpx.Client) -> None:
    tokens = sign_in(http, emu)
    emu.inject("any", "503", count=2)
    assert exchange(http, emu, tokens["access_token"]).status_code == 503
    assert http.get(authorize_url(emu, new_verifier())).status_code == 503
    assert exchange(http, emu, tokens["access_token"]).status_code == 200
    emu.inject("exchange", "500", count=5)
    emu.clear_faults()
    assert exchange(http, emu, tokens["access_token"]).status_code == 200
    with pytest.raises(ValueError):
        emu.inject("token", "explode")
    with pytest.raises(ValueError):
        emu.inject("nowhere", "500")


# -- control over HTTP --------------------------------------------------------------------------------


def test_control_endpoints(emu: Emulator, http: httpx.Client) -> None:
    control = f"{emu.url}/__emulator"
    config = http.post(f"{control}/config", json={"ttls": {"access": 120}, "skew": 5, "auto_approve": True})
    assert config.status_code == 200
    assert config.json()["access_token_ttl"] == 120 and config.json()["clock_skew"] == 5
    verifier = new_verifier()
    location = http.get(authorize_url(emu, verifier)).headers["location"]
    tokens = code_grant(http, emu, query_of(location)["code"], verifier).json()
    assert tokens["expires_in"] == 120

    approved = http.post(f"{control}/approve", json={"url": authorize_url(emu, new_verifier())})
    assert "code" in query_of(approved.json()["location"])
    denied = http.post(f"{control}/deny", json={"url": authorize_url(emu, new_verifier())})
    assert query_of(denied.json()["location"])["error"] == "access_denied"
    bad = http.post(f"{control}/approve", json={"url": authorize_url(emu, new_verifier(), client_id="1")})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_client"

    assert http.post(f"{control}/faults", json={"endpoint": "exchange", "fault": "503"}).status_code == 200
    assert http.get(f"{control}/faults").json()["faults"][0]["fault"] == "503"
    assert exchange(http, emu, tokens["access_token"]).status_code == 503
    http.post(f"{control}/faults", json={"endpoint": "exchange", "fault": "500"})
    assert http.delete(f"{control}/faults").json() == {"faults": []}

    key = exchange(http, emu, tokens["access_token"]).json()["accessKeyId"]
    sts = http.get(f"{control}/sts/{key}").json()
    assert sts["identity"]["name"] == "dev" and "accessKeySecret" not in sts
    assert http.post(f"{control}/expire-sts").json() == {"expired": 1}
    assert http.post(f"{control}/expire-access-tokens").json()["expired"] >= 1
    assert_error(exchange(http, emu, tokens["access_token"]), 401, "expired_token")
    assert http.post(f"{control}/revoke", json={"refresh_token": tokens["refresh_token"]}).json() == {"revoked": 1}
    assert_error(refresh(http, emu, tokens["refresh_token"]), 400, "invalid_grant")

    role = http.post(f"{control}/config", json={"identity": {"kind": "role", "name": "Ops"}})
    assert role.json()["identity"]["arn"].endswith(":assumed-role/Ops/dev")

    stats = http.get(f"{control}/stats").json()
    assert stats["exchanges"] == 1 and stats["faults"] == {"503": 1} and stats["requests"]["control"] >= 10

    assert http.post(f"{control}/config", json={"nonsense": 1}).status_code == 400
    assert http.post(f"{control}/faults", json={"fault": "boom"}).status_code == 400
    assert http.post(f"{control}/config", content=b"not json").status_code == 400
    assert http.get(f"{control}/nothing").status_code == 404


def test_control_can_be_disabled(http: httpx.Client) -> None:
    with Emulator(control=False) as emu:
        assert http.get(f"{emu.url}/__emulator/stats").status_code == 404


# -- logging ------------------------------------------------------------------------------------------


def test_logs_carry_no_secrets(emu: Emulator, http: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="emulator")
    verifier = new_verifier()
    page = http.get(authorize_url(emu, verifier, state="secret-state-value"))
    request_id = re.search(r'name="request_id" value="([^"]+)"', page.text)
    assert request_id
    location = http.post(
        f"{emu.url}/oauth2/v1/auth/decision", data={"request_id": request_id.group(1), "decision": "authorize"}
    ).headers["location"]
    code = query_of(location)["code"]
    tokens = code_grant(http, emu, code, verifier).json()
    creds = exchange(http, emu, tokens["access_token"]).json()
    refresh(http, emu, tokens["refresh_token"])
    assert "POST /v1/token -> 200" in caplog.text
    for secret in (
        verifier,
        code,
        "secret-state-value",
        request_id.group(1),
        tokens["access_token"],
        tokens["refresh_token"],
        creds["accessKeySecret"],
        creds["securityToken"],
    ):
        assert secret not in caplog.text


# -- command line -------------------------------------------------------------------------------------


def test_cli_prints_its_url_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from emulator.cli import main; sys.exit(main())",
            "--auto-approve",
            "--access-token-ttl",
            "90",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = json.loads(line)["url"]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        config = httpx.get(f"{url}/__emulator/config", timeout=5, verify=False).json()
        assert config["auto_approve"] is True and config["access_token_ttl"] == 90
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        assert process.stdout.read() == ""
        assert process.stderr is not None and url in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# -- switches for the readings the official clients disagree on (issue 13) -------------------------


def test_exchange_spelling_switch(http: httpx.Client) -> None:
    with Emulator(exchange_spelling="pascal") as emu:
        body = exchange(http, emu, sign_in(http, emu)["access_token"]).json()
        assert {"AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration", "requestId"} == set(body)
        emu.configure(exchange_spelling="camel")
        body = exchange(http, emu, sign_in(http, emu)["access_token"]).json()
        assert {"accessKeyId", "accessKeySecret", "securityToken", "expiration", "requestId"} == set(body)
        with pytest.raises(ValueError):
            emu.configure(exchange_spelling="snake")


def test_refresh_token_may_be_left_out_of_the_code_grant_and_the_refresh(http: httpx.Client) -> None:
    with Emulator(refresh_token_in_code_grant=False) as emu:
        assert "refresh_token" not in sign_in(http, emu)
    with Emulator(refresh_token_in_refresh=False, send_refresh_expiry=True) as emu:
        tokens = sign_in(http, emu)
        first = refresh(http, emu, tokens["refresh_token"]).json()
        assert "refresh_token" not in first and "refresh_token_expires_in" not in first
        second = refresh(http, emu, tokens["refresh_token"])  # not rotated: the token stays good
        assert second.status_code == 200 and exchange(http, emu, second.json()["access_token"]).status_code == 200


def test_exchange_minimum_remaining_lifetime(http: httpx.Client) -> None:
    with Emulator(access_token_ttl=1000, exchange_min_access_lifetime=900) as emu:
        access = sign_in(http, emu)["access_token"]
        assert exchange(http, emu, access).status_code == 200
        emu.set_clock_skew(200)  # 800 s left on the token for the service
        assert_error(exchange(http, emu, access), 401, "invalid_token")
        emu.configure(exchange_min_access_lifetime=0)
        assert exchange(http, emu, access).status_code == 200


def test_absolute_refresh_token_lifetime_is_never_extended(http: httpx.Client) -> None:
    with Emulator(refresh_token_ttl=1000, refresh_token_absolute=True, send_refresh_expiry=True) as emu:
        tokens = sign_in(http, emu)
        assert tokens["refresh_token_expires_in"] == 1000
        emu.set_clock_skew(600)
        renewed = refresh(http, emu, tokens["refresh_token"]).json()
        assert 399 <= renewed["refresh_token_expires_in"] <= 400  # the first one's end, not 1000 more
        emu.set_clock_skew(1001)
        assert_error(refresh(http, emu, renewed["refresh_token"]), 400, "invalid_grant")
    with Emulator(refresh_token_ttl=1000, send_refresh_expiry=True) as emu:  # sliding (the default)
        tokens = sign_in(http, emu)
        emu.set_clock_skew(600)
        assert refresh(http, emu, tokens["refresh_token"]).json()["refresh_token_expires_in"] == 1000


def test_registered_redirect_ports_only(http: httpx.Client) -> None:
    with Emulator(registered_ports_only=True, auto_approve=True) as emu:
        for port in (12345, 12349):
            uri = f"http://127.0.0.1:{port}/cli/callback"
            answer = http.get(authorize_url(emu, new_verifier(), redirect_uri=uri))
            assert answer.status_code == 302 and answer.headers["location"].startswith(uri)
        for port in (12344, 12350, 8080):
            answer = http.get(authorize_url(emu, new_verifier(), redirect_uri=f"http://127.0.0.1:{port}/cli/callback"))
            assert answer.status_code == 400 and "location" not in answer.headers
            assert "not registered" in answer.text


def test_not_authorized_as_an_error_page_without_redirect(http: httpx.Client) -> None:
    with Emulator(not_authorized=True, not_authorized_page=True, auto_approve=True) as emu:
        answer = http.get(authorize_url(emu, new_verifier()))
        assert answer.status_code == 403 and "location" not in answer.headers
        assert "The call is not authorized." in answer.text
        with pytest.raises(AuthorizeError) as info:
            emu.approve(authorize_url(emu, new_verifier()))
        assert info.value.error == "access_denied"


@pytest.mark.parametrize("error", ["invalid_client", "unauthorized_client", "invalid_token"])
def test_injected_client_refusals(http: httpx.Client, error: str) -> None:
    with Emulator() as emu:
        tokens = sign_in(http, emu)
        emu.inject("token", error)
        answer = refresh(http, emu, tokens["refresh_token"])
        assert answer.json()["error"] == error
        assert refresh(http, emu, tokens["refresh_token"]).status_code == 200  # state untouched


def test_switches_over_the_control_endpoint(http: httpx.Client) -> None:
    with Emulator() as emu:
        changes = {
            "exchange_spelling": "pascal",
            "refresh_token_in_code_grant": False,
            "refresh_token_in_refresh": False,
            "exchange_min_access_lifetime": 900,
            "refresh_token_absolute": True,
            "registered_ports_only": True,
            "registered_ports": [20000, 20004],
            "not_authorized_page": True,
        }
        config = http.post(f"{emu.url}/__emulator/config", json=changes).json()
        assert {k: config[k] for k in changes} == {**changes, "exchange_min_access_lifetime": 900.0}
        assert http.post(f"{emu.url}/__emulator/config", json={"exchange_spelling": "x"}).status_code == 400


def test_switches_on_the_command_line() -> None:
    from emulator.cli import _parser

    args = _parser().parse_args(
        ["--exchange-spelling", "pascal", "--no-refresh-token-in-code-grant", "--no-refresh-token-in-refresh",
         "--exchange-min-access-lifetime", "900", "--refresh-token-absolute", "--registered-ports-only",
         "--not-authorized", "--not-authorized-page"]
    )
    assert args.exchange_spelling == "pascal" and args.no_refresh_token_in_code_grant and args.no_refresh_token_in_refresh
    assert args.exchange_min_access_lifetime == 900 and args.refresh_token_absolute and args.registered_ports_only
    assert args.not_authorized_page
