"""Our signature v1 (RPC style, HMAC-SHA1) against the official SDK's, the oracle (see rpcv1.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.credentials import rpcv1

NAMES = st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=122), min_size=1, max_size=12)
VALUES = st.text(max_size=40)


def sdk_signature(query: dict[str, str], secret: str, method: str = "POST") -> str:
    from alibabacloud_tea_openapi.utils import Utils

    return Utils.get_rpcsignature(dict(query), method, secret)


def test_generate_access_token_is_signed_as_the_sdk_signs_it() -> None:
    query = rpcv1.signed_query(
        action="GenerateAccessToken",
        version="2026-04-21",
        params={"ClientId": "4071151845732613353", "Scope": "/internal/acs/openapi"},
        access_key_id="STS.NTexample",
        access_key_secret="secret-example-0123456789",
        security_token="token/with+symbols= and space",
        now=1_700_000_000,
        nonce="n0nce",
    )
    ours = query.pop("Signature")
    assert query["Timestamp"] == "2023-11-14T22:13:20Z" and query["SignatureMethod"] == "HMAC-SHA1"
    assert query["SecurityToken"] == "token/with+symbols= and space"
    assert ours == sdk_signature(query, "secret-example-0123456789")


def test_no_security_token_for_long_lived_keys_and_the_secret_matters() -> None:
    common = dict(action="A", version="V", params={}, access_key_id="k", security_token=None, now=0, nonce="n")
    one, two = rpcv1.signed_query(access_key_secret="one", **common), rpcv1.signed_query(access_key_secret="two", **common)
    assert "SecurityToken" not in one and one["Signature"] != two["Signature"]


@settings(max_examples=150, deadline=None)
@given(query=st.dictionaries(NAMES, VALUES, max_size=6), secret=st.text(min_size=1, max_size=30), method=st.sampled_from(["GET", "POST"]))
def test_any_parameters_match_the_sdk(query: dict[str, str], secret: str, method: str) -> None:
    assert rpcv1.signature(query, secret, method) == sdk_signature(query, secret, method)
