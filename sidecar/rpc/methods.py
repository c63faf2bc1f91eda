"""The ``aliyun/*`` requests as one table, each method declared once: the params it takes (each
field's check and its schema), its result's schema, the service call, whether it writes the config
file (then the change is notified at once, not at the watcher's next poll) and its documentation.

``python -m contract.generate`` writes the contract JSON, the method sections of docs/contract.md and
the extension's types from this table; ``tests/test_contract.py`` fails while they are stale, and the
bad-input suite fuzzes every method listed here. Adding a method is one entry here (and, for a new use
case, its function in ``sidecar/service.py``): see docs/architecture.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import schema as S
from .. import wire
from ..app import App
from .params import Param, flag, force, optional_string, progress_token, required_string

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
    #: The result's schema in the contract (a shared type, or an object of its own).
    result: S.Schema
    #: What the method does, for docs/contract.md (Markdown, below its signature).
    doc: str
    #: Checked in this order (the first bad field is the one reported).
    params: Mapping[str, Param] = field(default_factory=dict)
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


PROFILE = {"profile": optional_string("default: the selected profile")}
LANGUAGE = S.ref("Language")

METHODS: dict[str, Method] = {
    "aliyun/listProfiles": Method(
        _list_profiles,
        S.ref("ProfileList"),
        """\
All profiles of the file (see the types below).

`state`: `valid` = the STS credentials in the file are good now; `refreshable` = they are not, but
the access token or the refresh token can renew them without the browser; `signInRequired` = only a
browser sign-in helps (refresh token refused, or absent); `notOAuth` = a profile of another
mode (AK, RamRoleArn, ...), shown but never changed by the sidecar.
`hasRefreshToken`: false for a profile signed in without one (the service may not return it): it is
`valid`/`refreshable` while its access token lives and `signInRequired` after. `stateReason` comes
with `signInRequired` and says why; a `refreshable` profile whose recorded refresh-token expiry has
passed says `refreshTokenMayHaveExpired` (that time is a hint: the refresh is still tried). `sourceProfile`: the `source_profile` of a chained profile
(`ChainableRamRoleArn`...); the sidecar keeps the OAuth profile at the end of the chain fresh when
the chained one is current. A missing or empty config file reads as no profiles; the first write
creates the file the CLI would (`current` = `default`, one empty `default` profile, then ours).
The profile environment variables are read as the CLI reads them: `ALIBABACLOUD_PROFILE`, then
`ALIBABA_CLOUD_PROFILE`, then `ALICLOUD_PROFILE`; none of them when `ALIBABA_CLOUD_IGNORE_PROFILE`
(or `ALIBABACLOUD_IGNORE_PROFILE`) is exactly `TRUE`.""",
    ),
    "aliyun/signIn": Method(
        _sign_in,
        S.ref("ProfileEntry"),
        """\
Runs the browser sign-in (PKCE) and writes the profile (mode `OAuth`), which becomes current. An
existing profile of that name keeps its other fields; its tokens are replaced. `site` (a name from
`initialize`'s sites) defaults to the profile's site or the default site (the first of `initialize`'s
sites, `CN`); `region`/`language` default to the profile's or `""`/`en`.

Before it waits for the browser, the sidecar:
1. sends the notification `aliyun/signInStarted {profile, url, redirectUri}`;
2. unless `openBrowser` is false, asks the client to open `url` with `window/showDocument {uri: url, external: true}`.

With a `workDoneToken` it reports `$/progress` (`begin` "Signing in to Alibaba Cloud", `report`
messages "Waiting for the browser…", "Exchanging the authorization code…", "Getting STS
credentials…", then `end`). It honours `$/cancelRequest` (answer `-32800`, `cancelled`). Only one
sign-in runs at a time: a new `aliyun/signIn` cancels the pending one (which answers `cancelled`).
Errors: `signInDenied` (with `data.error`, e.g. `access_denied`, `data.description` and
`data.reason`: `"userDenied"` | `"notAuthorized"` | `"other"`), `signInTimeout` (`data.seconds`,
`data.mayBeNotAuthorized: true`), `cancelled`, `portsBusy` (`data.ports = [first, last]`), `network`,
`upstream`, `clientNotAuthorized`, `unknownSite` (see "Errors" for their data). The callback port is released as soon as the answer arrives, so sign-ins in a row never
run out of ports.""",
        {
            "profile": required_string("the profile to sign in (created if new)"),
            "openBrowser": Param(flag(True), S.boolean("ask the client to open the page (default true)")),
            "workDoneToken": Param(progress_token, S.types("string", "integer", description="report $/progress on it")),
            "site": optional_string("default: the profile's site, else the default site", S.ref("Site")),
            "region": optional_string('default: the profile\'s, else ""'),
            "language": optional_string("default: the profile's, else en", LANGUAGE),
        },
        writes=True,
    ),
    "aliyun/completeSignIn": Method(
        _complete_sign_in,
        S.closed_object({"accepted": S.const(True, "always true")}, ["accepted"]),
        """\
Paste-back: the redirect URL the browser landed on (`http://127.0.0.1:<port>/cli/callback?code=…&state=…`),
copied by the user when the loopback callback could not be reached. It completes the pending
sign-in exactly as the callback would have (the pending `aliyun/signIn` then answers). Errors:
`invalidParams` (not such a URL, or its `state` is not the pending sign-in's: stale or foreign),
`signInDenied` (the URL carries `error=`), `cancelled` (no sign-in is pending).""",
        {"url": required_string("the redirect URL the browser landed on")},
    ),
    "aliyun/cancelSignIn": Method(
        _cancel_sign_in,
        S.closed_object({"cancelled": S.boolean("whether a sign-in was pending")}, ["cancelled"]),
        "Cancels the pending sign-in, if any (for clients that cannot send `$/cancelRequest`).",
    ),
    "aliyun/switchProfile": Method(
        _profile_call("switch_profile"),
        S.ref("ProfileList"),
        "Sets `current`. `profileNotFound` (with `data.existing`) for an unknown name.",
        {"name": required_string("the profile to make current")},
        writes=True,
    ),
    "aliyun/deleteProfile": Method(
        _profile_call("delete_profile"),
        S.ref("ProfileList"),
        """\
Removes the profile and all its tokens (nothing is revoked upstream). A deleted current profile
passes `current` to the first remaining profile, or to `default` when none remain (as the CLI does).""",
        {"name": required_string("the profile to delete")},
        writes=True,
    ),
    "aliyun/setProfile": Method(
        _set_profile,
        S.ref("ProfileList"),
        "Changes only those fields.",
        {
            "name": required_string("the profile"),
            "region": optional_string("its new default region"),
            "language": optional_string("its new language", LANGUAGE),
        },
        writes=True,
    ),
    "aliyun/refresh": Method(
        _refresh,
        S.ref("ProfileEntry"),
        """\
Brings the profile's layers up to date (profile defaults to the selected one: `ALIBABACLOUD_PROFILE`
and friends in the sidecar's environment, then `current`). `force: "sts"` renews the STS credentials
even if fresh; `"accessToken"` renews the access token (spending and rotating the refresh token) and
then the STS credentials; `true` = `"accessToken"`. Errors: `signInRequired`, `network`,
`upstream`, `clientNotAuthorized`, `unknownSite`, `profileNotFound`, `invalidParams` (not an OAuth
profile).""",
        {
            "force": Param(
                force,
                S.one_of(S.boolean(), S.enum("sts", "accessToken"), description="renew even if fresh"),
            ),
            **PROFILE,
        },
        writes=True,
    ),
    "aliyun/getCredentials": Method(
        _get_credentials,
        S.ref("Credentials"),
        "Refreshes as needed first. Concurrent calls share one upstream call.",
        PROFILE,
    ),
    "aliyun/credentialsEndpoint": Method(
        _credentials_endpoint,
        S.ref("CredentialsEndpoint"),
        """\
Starts (once per sidecar) the loopback endpoint compatible with `ALIBABA_CLOUD_CREDENTIALS_URI` and
returns its URL and the variables a terminal needs (`ALIBABA_CLOUD_CREDENTIALS_URI`,
`ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true`, `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`; apply all of
`environment`). The URL serves the selected profile, following switches; it stops with the sidecar.
See `docs/credentials.md` for the paths, the answers and the threat model.""",
    ),
    "aliyun/whoAmI": Method(
        _who_am_i,
        S.ref("Identity"),
        "The caller identity of the profile's STS credentials (`GetCallerIdentity`), cached until they change.",
        PROFILE,
    ),
}
