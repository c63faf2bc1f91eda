"""Building blocks shared by the domain-level tests: a service wired to the emulator, a finished
sign-in, and expiries moved as time would move them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sidecar.config import profiles as P
from sidecar.credentials.refresher import CredentialEvent
from emulator import Emulator
from sidecar.service import Settings, SidecarService
from sidecar.sites import Endpoints
from sidecar.timing import EXCHANGE_MIN_ACCESS_LIFETIME

from .conftest import load_json

EXPIRY_FIELDS = {"sts": "sts_expiration", "access": "oauth_access_token_expire", "refresh": "oauth_refresh_token_expire"}


def make_service(
    emu: Emulator,
    config: Path,
    events: list[CredentialEvent] | None = None,
    **settings: Any,
) -> SidecarService:
    """Every endpoint (sign-in, OAuth API, STS) on the emulator; the OS picks the callback port."""
    endpoints = Endpoints().with_overrides({"signinBase": emu.url, "oauthBase": emu.url, "stsEndpoint": emu.url})
    on_event: Callable[[CredentialEvent], None] | None = events.append if events is not None else None
    return SidecarService(
        Settings(config_path=str(config), endpoints=endpoints, callback_ports=(0, 0), **settings),
        on_credentials=on_event,
    )


async def signed_in(emu: Emulator, config: Path, *names: str, service: SidecarService | None = None) -> SidecarService:
    """A service whose profiles ``names`` (default ``dev``) went through a real sign-in; the user
    approves in the emulator and the redirect is pasted back (no browser, no fixed port)."""
    service = service or make_service(emu, config)

    async def browser(url: str, _redirect: str) -> None:
        service.complete_sign_in(await asyncio.to_thread(emu.approve, url))

    for name in names or ("dev",):
        await service.sign_in(name, "CN", "cn-hangzhou", "en", browser)
    return service


def edit_profile(config: Path, name: str = "dev", **fields: Any) -> None:
    """Change fields of a profile in the file as a hand edit would (None removes the field)."""
    doc = load_json(config)
    profile = P.get_profile(doc, name)
    for key, value in fields.items():
        if value is None:
            profile.pop(key, None)
        else:
            profile[key] = value
    config.write_text(json.dumps(doc, indent="\t"))


def age(config: Path, name: str = "dev", **fields: int) -> None:
    """Move expiries as time would (``sts`` / ``access`` / ``refresh`` = seconds from now)."""
    now = int(time.time())
    edit_profile(config, name, **{EXPIRY_FIELDS[key]: now + delta for key, delta in fields.items()})


def profile_of(config: Path, name: str = "dev") -> dict[str, Any]:
    return P.get_profile(load_json(config), name)


#: The readings where the official clients disagree, as emulator settings (``Emulator.configure``).
#: The end-to-end tests whose outcome depends on them run under each; see ``variant`` fixtures.
VARIANTS: dict[str, dict[str, Any]] = {
    "camel": {},
    "pascal": {"exchange_spelling": "pascal"},
    "noRefreshToken": {"refresh_token_in_code_grant": False},
    "noRotation": {"refresh_token_in_refresh": False},
    "strict": {
        "exchange_min_access_lifetime": float(EXCHANGE_MIN_ACCESS_LIFETIME),
        "refresh_token_absolute": True,
        "send_refresh_expiry": True,
        "registered_ports_only": True,
    },
}
#: What ``Emulator.configure`` restores after a variant.
VARIANT_DEFAULTS: dict[str, Any] = {
    "exchange_spelling": "camel",
    "refresh_token_in_code_grant": True,
    "refresh_token_in_refresh": True,
    "exchange_min_access_lifetime": 0.0,
    "refresh_token_absolute": False,
    "send_refresh_expiry": False,
    "registered_ports_only": False,
}


def has_refresh_token(variant: str) -> bool:
    return VARIANTS[variant].get("refresh_token_in_code_grant", True)
