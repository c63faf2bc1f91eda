"""``sidecar/service.py``: what the service decides itself (the domain it ties together has its own
tests: refresher, sign-in flow, profiles, identity; the JSON-RPC methods over it are in
``test_rpc_e2e.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import Emulator
from sidecar.config import profiles as P
from sidecar.errors import UnknownSite
from sidecar.service import Settings, SidecarService

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


async def test_select_follows_the_cli_when_it_ignores_the_profile_variables(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ALIBABA_CLOUD_IGNORE_PROFILE=TRUE`` makes the profile variables count for nothing: the
    request path's ``select`` falls back to ``current`` exactly as ``select_profile_name`` does."""
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text('{"current": "dev", "profiles": [{"name": "dev", "mode": "AK"}]}')
    service = SidecarService(Settings(config_path=str(config_path)))
    monkeypatch.setenv("ALIBABA_CLOUD_PROFILE", "elsewhere")
    assert await service.select(None) == "elsewhere"
    monkeypatch.setenv("ALIBABA_CLOUD_IGNORE_PROFILE", "TRUE")
    assert await service.select(None) == "dev"
    assert await service.select("named") == "named"
    await service.aclose()
