"""The README's demo: the whole life of an OAuth profile against the embedded emulator.

It uses a throw-away config file (never ``~/.aliyun``), the same service code as the editor, and an
HTTP client in the role of the browser (or you, with ``--interactive``). Secrets are shown only as
length + fingerprint.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sidecar.config.profiles import find_profile, read_oauth_tokens
from sidecar.errors import SidecarError
from sidecar.service import Settings, SidecarService
from sidecar.sites import Endpoints
from sidecar.tokens import fingerprint, format_rfc3339

from .server import Emulator


def mask(secret: str | None) -> str:
    """What the demo shows of a secret: its length and the fingerprint, never a character of it."""
    if not secret:
        return "(none)"
    return f"<{len(secret)} chars, #{fingerprint(secret)}>"


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def _info(text: str) -> None:
    print(f"   {text}", flush=True)


def _key_id(key_id: str) -> str:
    """Enough of an AccessKeyId to see that it changed."""
    return key_id[:7] + "…"


def _until(epoch: int | None) -> str:
    if not epoch:
        return "-"
    return f"{format_rfc3339(epoch)} (in {int(epoch - time.time())} s)"


async def _browser(emu: Emulator, url: str, interactive: bool) -> None:
    """Play the user: open the sign-in page, press Authorize, follow the redirect to the editor."""
    if interactive:
        _info(f"open this URL in your browser and press Authorize:\n   {url}")
        return
    import httpx

    redirect = await asyncio.to_thread(emu.approve, url)
    async with httpx.AsyncClient() as client:
        page = await client.get(redirect)
    _info(f"browser: Authorize pressed; the callback page says: {page.text.split('<title>')[-1].split('</title>')[0]!r}")


async def _show(service: SidecarService) -> None:
    listing = await service.list_profiles()
    for entry in listing.profiles:
        mark = "*" if entry.is_current else " "
        _info(
            f"{mark} {entry.name:<10} {entry.mode:<6} site={entry.site} region={entry.region or '-'} "
            f"state={entry.state} sts until {_until(entry.sts_expires_at)}"
        )


async def _tokens_of(service: SidecarService, name: str) -> tuple[str, str]:
    profile = find_profile(await service.store.aread(), name) or {}
    tokens = read_oauth_tokens(profile)
    return (mask(tokens.refresh_token), mask(profile.get("access_key_secret"))) if tokens else ("-", "-")


SignIn = Callable[[str, str, str], Awaitable[None]]


def _signer(service: SidecarService, emu: Emulator, interactive: bool) -> SignIn:
    """Sign in a profile, the browser played by the emulator (or by you, ``interactive``)."""

    async def sign_in(profile: str, site: str, region: str) -> None:
        async def started(url: str, redirect_uri: str) -> None:
            _info(f"callback listening at {redirect_uri}")
            asyncio.ensure_future(_browser(emu, url, interactive))

        entry = await service.sign_in(profile, site, region, "en", started, lambda m: _info(f"... {m}"))
        _info(f"signed in: profile '{entry.name}' is current, state={entry.state}")

    return sign_in


async def _demo(emu: Emulator, config: Path, interactive: bool) -> None:
    overrides = {"signinBase": emu.url, "oauthBase": emu.url}
    service = SidecarService(Settings(config_path=str(config), endpoints=Endpoints().with_overrides(overrides)))
    sign_in = _signer(service, emu, interactive)
    try:
        _step("1. Sign in (browser, PKCE, loopback callback) as profile 'demo' on the China site")
        await sign_in("demo", "CN", "cn-hangzhou")
        await _show(service)
        await _each_layer(service, emu)
        await _profiles(service, sign_in)
        _step(f"Done. The demo's config file ({config}) goes away with its temporary folder.")
    finally:
        await service.aclose()


async def _each_layer(service: SidecarService, emu: Emulator) -> None:
    """Steps 2 to 5: hand out credentials, renew each layer, and renew what the service expired."""
    _step("2. Credentials for tools (what aliyun/getCredentials and the External command hand out)")
    sts = await service.credentials("demo")
    _info(f"AccessKeyId={_key_id(sts.access_key_id)} secret={mask(sts.access_key_secret)} token={mask(sts.security_token)}")
    _info(f"expires {_until(sts.expires_at)}")

    _step("3. Forced renewal of the STS credentials (layer 1)")
    again = await service.refresher.credentials("demo", force="sts")
    _info(f"new AccessKeyId={_key_id(again.access_key_id)} (was {_key_id(sts.access_key_id)})")

    _step("4. Forced renewal of the OAuth access token (layer 2) - spends and rotates the refresh token (layer 3)")
    before, _ = await _tokens_of(service, "demo")
    await service.refresher.credentials("demo", force="accessToken")
    after, _ = await _tokens_of(service, "demo")
    _info(f"refresh token {before} -> {after}; the old one is now refused by the service")
    _info(f"emulator counters: {emu.stats}")

    _step("5. The service expires every STS credential: the next request renews it on its own")
    emu.expire_sts()
    # The file still says the old credentials are good until later; age them as time would.
    await service.store.aupdate(lambda doc: [p.update(sts_expiration=int(time.time()) - 1) for p in doc["profiles"]])
    renewed = await service.credentials("demo")
    _info(f"renewed without a browser: AccessKeyId={_key_id(renewed.access_key_id)}, expires {_until(renewed.expires_at)}")


async def _profiles(service: SidecarService, sign_in: SignIn) -> None:
    """Steps 6 and 7: a second profile, a switch, a delete."""
    _step("6. A second profile on the international site, then switch back")
    await sign_in("demo-intl", "INTL", "ap-southeast-1")
    await service.switch_profile("demo")
    await _show(service)

    _step("7. Delete 'demo-intl' (its tokens leave the file; nothing is revoked)")
    await service.delete_profile("demo-intl")
    await _show(service)


def run_demo(interactive: bool = False) -> int:
    with tempfile.TemporaryDirectory(prefix="aliyun-sidecar-demo-") as tmp:
        config = Path(tmp) / ".aliyun" / "config.json"
        with Emulator(host="127.0.0.1", port=0, auto_approve=False) as emu:
            print(f"Emulated sign-in service at {emu.url}; config file {config} (your ~/.aliyun is not touched)")
            try:
                asyncio.run(_demo(emu, config, interactive))
            except SidecarError as exc:
                print(f"demo failed: {exc.message}", file=sys.stderr)
                return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulator.demo",
        description="Sign-in, credentials, refresh of each layer, switch and delete against the embedded emulator.",
    )
    parser.add_argument("--interactive", action="store_true", help="you click Authorize in your browser")
    return run_demo(interactive=parser.parse_args(argv).interactive)


if __name__ == "__main__":
    sys.exit(main())
