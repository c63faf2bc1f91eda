"""PKCE and state generation (RFC 7636)."""

from __future__ import annotations

import re

import pytest

from sidecar.oauth.pkce import challenge_for, new_state, new_verifier


def test_rfc7636_appendix_b_known_answer() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert challenge_for(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_verifier_is_64_unreserved_characters_and_fresh() -> None:
    verifiers = {new_verifier() for _ in range(50)}
    assert len(verifiers) == 50
    well_formed = all(re.fullmatch(r"[A-Za-z0-9\-._~]{64}", v) for v in verifiers)
    assert well_formed


def test_challenge_is_unpadded_base64url_of_sha256() -> None:
    challenge = challenge_for(new_verifier())
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", challenge)


@pytest.mark.parametrize("bad", ["", "a" * 42, "a" * 129, "a" * 42 + "+", "a" * 42 + " ", "é" * 43])
def test_challenge_refuses_verifiers_outside_the_grammar_without_echoing_them(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        challenge_for(bad)
    echoed = bool(bad) and bad in str(info.value)
    assert not echoed


def test_state_is_url_safe_and_at_least_128_bits() -> None:
    states = {new_state() for _ in range(50)}
    assert len(states) == 50
    # 22 base64url characters carry 132 bits; nothing that a URL round-trip could alter.
    well_formed = all(re.fullmatch(r"[A-Za-z0-9_-]{22,}", s) for s in states)
    assert well_formed
