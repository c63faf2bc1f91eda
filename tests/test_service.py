"""``sidecar/service.py``: what the service decides itself (the domain it ties together has its own
tests: refresher, sign-in flow, profiles, identity; the JSON-RPC methods over it are in
``test_rpc_e2e.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import Emulator
from sidecar.config import profiles as P
from sidecar.errors import UnknownSite

from .conftest import load_json
from .flows import edit_profile, signed_in


async def test_a_sign_in_again_without_a_site_refuses_an_unknown_one(emulator: Emulator, config_path: Path) -> None:
    service = await signed_in(emulator, config_path)
    edit_profile(config_path, oauth_site_type="MARS")
    started: list[str] = []

    async def browser(url: str, _redirect: str) -> None:
        started.append(url)

    with pytest.raises(UnknownSite):
        await service.sign_in("dev", None, None, None, browser)
    assert started == []  # no site was opened
    await signed_in(emulator, config_path, service=service)  # an explicit site (CN) fixes it
    assert P.get_profile(load_json(config_path), "dev")["oauth_site_type"] == "CN"
    await service.aclose()
