"""The ``aliyun/*`` requests as one table: method → the params it takes (each field's check), the
service call, and whether it writes the config file (then the change is notified at once, not at the
watcher's next poll). Adding a method is one entry here plus its line in docs/contract.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import wire
from ..app import App
from .params import Field, flag, force, opt_str, progress_token, req_str

Args = dict[str, Any]


class Client(Protocol):
    """What a handler may ask of the editor on the other end."""

    def notify(self, method: str, params: Any) -> None: ...

    def progress(self, token: str | int, value: dict[str, Any]) -> None: ...

    async def open_in_browser(self, url: str) -> None: ...


Call = Callable[[App, Args, Client], Awaitable[Any]]


@dataclass(frozen=True)
class Method:
    call: Call
    params: Mapping[str, Field] = field(default_factory=dict)
    writes: bool = False


async def _refresh(app: App, a: Args, _c: Client) -> Any:
    return await app.service.refresh(await app.service.select(a["profile"]), a["force"])


async def _get_credentials(app: App, a: Args, _c: Client) -> Any:
    name = await app.service.select(a["profile"])
    return wire.credentials_json(name, await app.service.credentials(name))


async def _credentials_endpoint(app: App, _a: Args, _c: Client) -> Any:
    endpoint = await app.credentials_endpoint()
    return {"uri": endpoint.uri, "environment": endpoint.environment()}


async def _who_am_i(app: App, a: Args, _c: Client) -> Any:
    name = await app.service.select(a["profile"])
    return wire.identity_json(name, await app.service.who_am_i(name))


async def _sign_in(app: App, a: Args, client: Client) -> Any:
    profile, token = a["profile"], a["workDoneToken"]

    async def on_started(url: str, redirect_uri: str) -> None:
        client.notify("aliyun/signInStarted", {"profile": profile, "url": url, "redirectUri": redirect_uri})
        if a["openBrowser"]:
            asyncio.ensure_future(client.open_in_browser(url))

    def on_progress(message: str) -> None:
        if token is not None:
            client.progress(token, {"kind": "report", "message": message})

    if token is not None:
        client.progress(token, {"kind": "begin", "title": "Signing in to Alibaba Cloud", "cancellable": True})
    try:
        return await app.service.sign_in(profile, a["site"], a["region"], a["language"], on_started, on_progress)
    finally:
        if token is not None:
            client.progress(token, {"kind": "end"})


async def _complete_sign_in(app: App, a: Args, _c: Client) -> Any:
    app.service.complete_sign_in(a["url"])
    return {"accepted": True}


async def _cancel_sign_in(app: App, _a: Args, _c: Client) -> Any:
    return {"cancelled": app.service.cancel_sign_in()}


def _profile_call(name: str) -> Call:
    async def call(app: App, a: Args, _c: Client) -> Any:
        return await getattr(app.service, name)(a["name"])

    return call


async def _list_profiles(app: App, _a: Args, _c: Client) -> Any:
    return await app.service.list_profiles()


async def _set_profile(app: App, a: Args, _c: Client) -> Any:
    return await app.service.set_profile(a["name"], a["region"], a["language"])


PROFILE = {"profile": opt_str}

METHODS: dict[str, Method] = {
    "aliyun/listProfiles": Method(_list_profiles),
    "aliyun/switchProfile": Method(_profile_call("switch_profile"), {"name": req_str}, writes=True),
    "aliyun/deleteProfile": Method(_profile_call("delete_profile"), {"name": req_str}, writes=True),
    "aliyun/setProfile": Method(_set_profile, {"name": req_str, "region": opt_str, "language": opt_str}, writes=True),
    "aliyun/refresh": Method(_refresh, {"force": force, **PROFILE}, writes=True),
    "aliyun/getCredentials": Method(_get_credentials, PROFILE),
    "aliyun/credentialsEndpoint": Method(_credentials_endpoint),
    "aliyun/whoAmI": Method(_who_am_i, PROFILE),
    "aliyun/signIn": Method(
        _sign_in,
        {"profile": req_str, "openBrowser": flag(True), "workDoneToken": progress_token,
         "site": opt_str, "region": opt_str, "language": opt_str},
        writes=True,
    ),
    "aliyun/completeSignIn": Method(_complete_sign_in, {"url": req_str}),
    "aliyun/cancelSignIn": Method(_cancel_sign_in),
}
