"""sidecar/credentials/acs3.py: our ACS3-HMAC-SHA256 signature is the official SDK's, byte for byte.

The SDK (``alibabacloud-tea-openapi``, in the test extras only) is the oracle: the sidecar signs the
request itself so that it ships without native code, and this test fails the day the two disagree.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.credentials import acs3

# Header values and query values as the service could see them: printable text, spaces, non-ASCII.
VALUES = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=40)
NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True)


def sdk_authorization(method: str, query: dict[str, str], headers: dict[str, str], payload: str, ak: str, secret: str) -> str:
    from alibabacloud_tea_openapi.utils import Utils
    from darabonba.request import DaraRequest

    request = DaraRequest()
    request.method = method
    request.pathname = "/"
    request.query = dict(query)
    request.headers = dict(headers)
    return Utils.get_authorization(request, "ACS3-HMAC-SHA256", payload, ak, secret)


def test_the_sts_request_is_signed_as_the_sdk_signs_it() -> None:
    headers = acs3.signed_headers(
        host="sts.aliyuncs.com",
        action="GetCallerIdentity",
        version="2015-04-01",
        access_key_id="STS.NTexample",
        access_key_secret="secret-example-0123456789",
        security_token="token/with+symbols=",
        now=1_700_000_000,
        nonce="n0nce",
    )
    ours = headers.pop("Authorization")
    assert headers["x-acs-date"] == "2023-11-14T22:13:20Z"
    assert headers["x-acs-content-sha256"] == hashlib.sha256(b"").hexdigest()
    assert ours.startswith("ACS3-HMAC-SHA256 Credential=STS.NTexample,SignedHeaders=host;x-acs-action;")
    expected = sdk_authorization("POST", {}, headers, headers["x-acs-content-sha256"], "STS.NTexample", "secret-example-0123456789")
    assert ours == expected


def test_a_different_secret_gives_a_different_signature() -> None:
    common = dict(host="h", action="A", version="V", access_key_id="k", security_token=None, now=0, nonce="n")
    assert acs3.signed_headers(access_key_secret="one", **common) != acs3.signed_headers(access_key_secret="two", **common)
    assert "x-acs-security-token" not in acs3.signed_headers(access_key_secret="one", **common)


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT"]),
    query=st.dictionaries(NAMES, VALUES, max_size=4),
    headers=st.dictionaries(NAMES.map(lambda n: "x-acs-" + n.lower()), VALUES, max_size=4),
    body=st.binary(max_size=64),
    secret=st.text(min_size=1, max_size=30),
)
def test_any_request_matches_the_sdk(method: str, query: dict[str, str], headers: dict[str, str], body: bytes, secret: str) -> None:
    headers = {"host": "example.aliyuncs.com", **headers}
    payload = hashlib.sha256(body).hexdigest()
    ours = acs3.authorization(
        method=method, path="/", query=query, headers=headers, payload_sha256=payload, access_key_id="AK", access_key_secret=secret
    )
    assert ours == sdk_authorization(method, query, headers, payload, "AK", secret)


@pytest.mark.parametrize(("value", "encoded"), [("a b", "a%20b"), ("a*b", "a%2Ab"), ("a~b", "a~b"), ("é", "%C3%A9"), ("/", "%2F")])
def test_query_encoding_is_rfc3986(value: str, encoded: str) -> None:
    assert acs3.canonical_query({"k": value}) == f"k={encoded}"
