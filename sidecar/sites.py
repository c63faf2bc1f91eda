"""The sign-in sites as data (one table: name, label, bases, client id) and where their endpoints are,
with the overrides that tests and the demo use.

Everything that lists sites derives from ``PRODUCTION_SITES``: the CLI's ``--site`` choices, profile
validation, the per-site overrides, and the ``sites`` the sidecar sends in ``initialize`` (from which
the extension builds its pickers). A new site is one entry here (plus its tests); the emulator keeps
its own registry of client ids, as the real service does, and ``tests/test_sites.py`` checks that the
two agree.

Overrides come from (later wins): the environment (``ALIYUN_SIDECAR_SIGNIN_BASE``,
``ALIYUN_SIDECAR_OAUTH_BASE``, ``ALIYUN_SIDECAR_STS_ENDPOINT`` and the per-site
``ALIYUN_SIDECAR_<SITE>_SIGNIN_BASE`` / ``..._OAUTH_BASE``), then command-line options or the
``endpoints`` initialization option. A value "for all sites" applies to both sites unless a per-site
value is given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from .errors import InvalidParams, UnknownSite


@dataclass(frozen=True)
class Site:
    #: What ``oauth_site_type`` holds in the config file (upper case).
    name: str
    #: For people (the extension's pickers and tooltips).
    label: str
    signin_base: str
    oauth_base: str
    #: The official-cli application's client id on this site.
    client_id: str
    #: RamOAuth, which turns STS credentials into an MCP bearer token (``GenerateAccessToken``).
    ramoauth_base: str = ""
    #: The official "API MCP Server" application, the ``ClientId`` of ``GenerateAccessToken``.
    mcp_client_id: str = ""
    #: OpenAPI Explorer: the account's MCP servers (``ListApiMcpServerCores``) and their host.
    openapi_mcp_base: str = ""


#: The table. The first entry is the default site (as in the CLI). Read it through ``site_names()``
#: or ``Endpoints``, at call time, so that a test can add a site by patching this one dict.
PRODUCTION_SITES: dict[str, Site] = {
    site.name: site
    for site in (
        Site(
            "CN",
            "China site (aliyun.com)",
            "https://signin.aliyun.com",
            "https://oauth.aliyun.com",
            "4038181954557748008",
            ramoauth_base="https://ramoauth.aliyuncs.com",
            mcp_client_id="4071151845732613353",
            openapi_mcp_base="https://openapi-mcp.cn-hangzhou.aliyuncs.com",
        ),
        Site(
            "INTL",
            "International site (alibabacloud.com)",
            "https://signin.alibabacloud.com",
            "https://oauth.alibabacloud.com",
            "4103531455503354461",
            # Spelled "alibabacloudcs" in the official proxy's source (mcp.md §4).
            ramoauth_base="https://ramoauth.alibabacloudcs.com",
            mcp_client_id="4195410055503316452",
            openapi_mcp_base="https://openapi-mcp.ap-southeast-1.aliyuncs.com",
        ),
    )
}
#: What a profile without ``oauth_site_type`` means (the SDKs' default; the CLI always writes the field).
DEFAULT_SITE = "CN"


def site_names() -> tuple[str, ...]:
    """The known site names, the default first."""
    return tuple(PRODUCTION_SITES)


DEFAULT_STS_ENDPOINT = "https://sts.aliyuncs.com"
#: Where a safety policy is bound to an MCP bearer token: cn-hangzhou for every site, as the official
#: proxy does (mcp.md §5.4, §13).
DEFAULT_SAFE_POLICY_ENDPOINT = "https://openapi-mcp.cn-hangzhou.aliyuncs.com"

#: The per-site bases an override may set: ``endpoints`` key -> ``Site`` field. A key at the top level
#: applies to every site unless the site's own object sets it.
SITE_OVERRIDES = {
    "signinBase": "signin_base",
    "oauthBase": "oauth_base",
    "ramoauthEndpoint": "ramoauth_base",
    "openapiMcpEndpoint": "openapi_mcp_base",
}
#: The endpoints that are one for all sites: ``endpoints`` key -> ``Endpoints`` field.
GLOBAL_OVERRIDES = {"stsEndpoint": "sts_endpoint", "safePolicyEndpoint": "safe_policy_endpoint"}
#: The environment's names for the overrides (``ALIYUN_SIDECAR_<SITE>_<NAME>`` for one site).
ENVIRONMENT = {
    "SIGNIN_BASE": "signinBase",
    "OAUTH_BASE": "oauthBase",
    "RAMOAUTH_ENDPOINT": "ramoauthEndpoint",
    "OPENAPI_MCP_ENDPOINT": "openapiMcpEndpoint",
    "STS_ENDPOINT": "stsEndpoint",
    "SAFEPOLICY_ENDPOINT": "safePolicyEndpoint",
}
DEFAULT_CALLBACK_PORTS = (12345, 12349)
#: The ports a callback range may use: no privileged port (below 1024). The contract carries these
#: bounds (``InitializationOptions.callbackPorts``), the extension reads them from its generated
#: contract.ts, and tests/test_contract.py ties the setting's bounds in package.json to them.
CALLBACK_PORT_MIN = 1024
CALLBACK_PORT_MAX = 65535
#: At most this many ports from first to last.
CALLBACK_PORT_SPAN = 100


def _check_base(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidParams(f"{what} must be a URL string.", field=what)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidParams(f"{what} must be an http(s) URL such as https://signin.aliyun.com.", field=what)
    return value.rstrip("/")


def check_ports(value: Any) -> tuple[int, int]:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(p, int) and not isinstance(p, bool) and CALLBACK_PORT_MIN <= p <= CALLBACK_PORT_MAX for p in value)
        or value[0] > value[1]
        or value[1] - value[0] > CALLBACK_PORT_SPAN
    ):
        raise InvalidParams(
            f"callbackPorts must be [first, last] with {CALLBACK_PORT_MIN} <= first <= last <= {CALLBACK_PORT_MAX}.",
            field="callbackPorts",
        )
    return int(value[0]), int(value[1])


@dataclass(frozen=True)
class Endpoints:
    """Where each site's services are. Immutable; ``with_overrides`` makes a changed copy."""

    sites: dict[str, Site] = field(default_factory=lambda: dict(PRODUCTION_SITES))
    sts_endpoint: str = DEFAULT_STS_ENDPOINT
    safe_policy_endpoint: str = DEFAULT_SAFE_POLICY_ENDPOINT

    def site(self, name: str, *, profile: str = "") -> Site:
        """The site called ``name`` (any case); :class:`UnknownSite` for any other value, never a
        fallback: a guessed site would send the profile's tokens to the wrong service."""
        found = self.sites.get(name.upper()) if isinstance(name, str) else None
        if found is None:
            raise UnknownSite(profile, str(name), list(self.sites))
        return found

    def site_of(self, profile: Mapping[str, Any], name: str) -> Site:
        """The site of a profile: ``oauth_site_type``, ``DEFAULT_SITE`` when absent or empty (as the SDKs default)."""
        value = profile.get("oauth_site_type")
        if value is None or value == "":
            value = DEFAULT_SITE
        return self.site(value if isinstance(value, str) else repr(value), profile=name)

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> Endpoints:
        """Apply ``{signinBase?, oauthBase?, ..., stsEndpoint?, safePolicyEndpoint?, CN?: {...}, INTL?: {...}}``
        (the keys of ``SITE_OVERRIDES`` and ``GLOBAL_OVERRIDES``)."""
        if not overrides:
            return self
        if not isinstance(overrides, Mapping):
            raise InvalidParams("endpoints must be an object.", field="endpoints")
        sites = dict(self.sites)
        for name, site in sites.items():
            per_site = overrides.get(name) or {}
            if not isinstance(per_site, Mapping):
                raise InvalidParams(f"endpoints.{name} must be an object.", field=f"endpoints.{name}")
            changes = {
                attr: _check_base(value, f"endpoints.{name}.{key}")
                for key, attr in SITE_OVERRIDES.items()
                if (value := per_site.get(key, overrides.get(key))) is not None
            }
            sites[name] = replace(site, **changes) if changes else site
        changes = {
            attr: _check_base(overrides[key], f"endpoints.{key}")
            for key, attr in GLOBAL_OVERRIDES.items()
            if overrides.get(key) is not None
        }
        return replace(self, sites=sites, **changes)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Endpoints:
        env = os.environ if environ is None else environ
        overrides: dict[str, Any] = {
            key: env[f"ALIYUN_SIDECAR_{name}"] for name, key in ENVIRONMENT.items() if env.get(f"ALIYUN_SIDECAR_{name}")
        }
        for site in PRODUCTION_SITES:
            per_site = {
                key: env[f"ALIYUN_SIDECAR_{site}_{name}"]
                for name, key in ENVIRONMENT.items()
                if key in SITE_OVERRIDES and env.get(f"ALIYUN_SIDECAR_{site}_{name}")
            }
            if per_site:
                overrides[site] = per_site
        return cls().with_overrides(overrides)
