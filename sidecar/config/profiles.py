"""Profiles inside the config document: selection, summaries, and the CLI's operations.

Everything here works on the raw ``dict`` of the document and changes only the fields an operation is
about, so unknown modes and fields survive. Mutating functions are meant to run inside
``ConfigStore.update`` (they receive the freshly re-read document under the lock).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidParams, ProfileNotFound
from ..sites import DEFAULT_SITE, site_names
from ..tokens import OAuthTokens, StsCredentials
from .store import DEFAULT_PROFILE_NAME, ConfigDoc

OAUTH_MODE = "OAuth"
LANGUAGES = ("en", "zh")
#: Checked in this order after an explicit name, before ``current``: the CLI's ``getProfileName``
#: (``util.GetFromEnv``: the first one that is set and not empty wins).
PROFILE_ENV_VARS = ("ALIBABACLOUD_PROFILE", "ALIBABA_CLOUD_PROFILE", "ALICLOUD_PROFILE")
#: The CLI ignores its config file (and so the variables above) when the first of these that is set
#: and not empty is exactly ``TRUE`` (case-sensitive, as the CLI compares). The sidecar exists to
#: manage that file, so it cannot ignore it; it ignores the profile variables, as the CLI never
#: reads them then, and falls back to ``current``.
IGNORE_PROFILE_ENV_VARS = ("ALIBABA_CLOUD_IGNORE_PROFILE", "ALIBABACLOUD_IGNORE_PROFILE")
#: ``stateReason`` values of a profile whose state is ``signInRequired``.
REASON_REFUSED = "refreshTokenRefused"
#: Refused by the service after the file's ``oauth_refresh_token_expire`` had passed.
REASON_EXPIRED = "refreshTokenExpired"
REASON_NO_REFRESH_TOKEN = "noRefreshToken"
REASON_CLIENT_NOT_AUTHORIZED = "clientNotAuthorized"
REASON_UNKNOWN_SITE = "unknownSite"
#: The one ``stateReason`` of a ``refreshable`` profile: the file's ``oauth_refresh_token_expire`` has
#: passed, but that time is only a hint (the real CLI rotates the token without updating it), so the
#: refresh is still tried; only the service's refusal makes the profile ``signInRequired``.
REASON_MAY_HAVE_EXPIRED = "refreshTokenMayHaveExpired"


def profiles_of(doc: ConfigDoc) -> list[dict[str, Any]]:
    profiles = doc.get("profiles")
    if profiles is None:
        profiles = doc["profiles"] = []
    return profiles


def profile_names(doc: ConfigDoc) -> list[str]:
    return [str(p.get("name", "")) for p in doc.get("profiles") or []]


def find_profile(doc: ConfigDoc, name: str) -> dict[str, Any] | None:
    """The first profile with that name (the CLI also takes the first of duplicates)."""
    for profile in doc.get("profiles") or []:
        if profile.get("name") == name:
            return profile
    return None


def get_profile(doc: ConfigDoc, name: str) -> dict[str, Any]:
    profile = find_profile(doc, name)
    if profile is None:
        raise ProfileNotFound(name, profile_names(doc))
    return profile


def chosen_without_file(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """The profile named explicitly or by the profile environment variables (unless the CLI would
    ignore them), or None when only the file's ``current`` can say."""
    if explicit:
        return explicit
    env = os.environ if environ is None else environ
    if _first_set(env, IGNORE_PROFILE_ENV_VARS) != "TRUE":
        return _first_set(env, PROFILE_ENV_VARS) or None
    return None


def select_profile_name(
    doc: ConfigDoc, explicit: str | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """Explicit name, then the profile environment variables (unless the CLI would ignore them),
    then ``current``."""
    chosen = chosen_without_file(explicit, environ)
    if chosen is not None:
        return chosen
    current = doc.get("current") or ""
    if not current:
        raise ProfileNotFound("(none selected)", profile_names(doc))
    return current


def _first_set(env: Mapping[str, str], names: tuple[str, ...]) -> str:
    """The first variable of ``names`` that is set and not empty (the CLI's ``util.GetFromEnv``)."""
    for var in names:
        value = env.get(var)
        if value:
            return value
    return ""


def source_chain(doc: ConfigDoc, name: str) -> list[str]:
    """``name`` and the profiles its ``source_profile`` leads to, in order, as the CLI and the SDKs
    follow a ``ChainableRamRoleArn`` chain; it stops at a missing profile or before a cycle."""
    chain = [name]
    profile = find_profile(doc, name)
    while profile is not None:
        source = profile.get("source_profile")
        if not isinstance(source, str) or not source or source in chain:
            break
        chain.append(source)
        profile = find_profile(doc, source)
    return chain


def oauth_source(doc: ConfigDoc, name: str) -> str | None:
    """The OAuth profile that ``name`` stands on: itself when it is one, else the first OAuth profile
    down its ``source_profile`` chain (``None`` when there is none, or the chain is broken)."""
    for link in source_chain(doc, name):
        profile = find_profile(doc, link)
        if profile is not None and profile.get("mode") == OAUTH_MODE:
            return link
    return None


def validate_profile_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParams("A profile name must be a non-empty string.", field="name")
    if len(name) > 128 or any(ord(ch) < 32 for ch in name):
        raise InvalidParams("A profile name must be at most 128 printable characters.", field="name")
    return name


# --------------------------------------------------------------------- state of the token layers


def _as_int(value: Any) -> int | None:
    """Expiry fields are numbers; anything else (missing, string, bool) counts as unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value:  # not NaN
        return int(value)
    return None


@dataclass(frozen=True)
class LayerTimes:
    """When each token layer of an OAuth profile expires (unix seconds; None = absent)."""

    sts_expires_at: int | None
    access_expires_at: int | None
    refresh_expires_at: int | None
    has_sts: bool
    has_access_token: bool
    has_refresh_token: bool


def layer_times(profile: Mapping[str, Any]) -> LayerTimes:
    return LayerTimes(
        sts_expires_at=_as_int(profile.get("sts_expiration")),
        access_expires_at=_as_int(profile.get("oauth_access_token_expire")),
        refresh_expires_at=_as_int(profile.get("oauth_refresh_token_expire")),
        has_sts=bool(profile.get("access_key_id") and profile.get("access_key_secret") and profile.get("sts_token")),
        has_access_token=bool(profile.get("oauth_access_token")),
        has_refresh_token=bool(profile.get("oauth_refresh_token")),
    )


Dead = bool | str | None


def _dead_reason(dead: Dead) -> str | None:
    if dead is True:
        return REASON_REFUSED
    return dead or None


def site_known(profile: Mapping[str, Any]) -> bool:
    """Whether ``oauth_site_type`` names a site (absent or empty means ``CN``, as the SDKs default)."""
    site = profile.get("oauth_site_type")
    return site is None or site == "" or (isinstance(site, str) and site.upper() in site_names())


def profile_state_and_reason(profile: Mapping[str, Any], now: float, dead: Dead = None) -> tuple[str, str | None]:
    """The state (``valid`` | ``refreshable`` | ``signInRequired`` | ``notOAuth``) and, for
    ``signInRequired``, why (see the ``REASON_*`` values); a ``refreshable`` profile whose recorded
    refresh-token expiry has passed says ``REASON_MAY_HAVE_EXPIRED`` (a hint: the refresh is tried).

    ``dead`` is what the refresher learned from the service (a refused refresh token, a refused
    client): the file cannot say that a refresh token with a future expiry was revoked elsewhere.
    A profile without a refresh token (the code grant may not return one) is usable while its
    access token lives, and then needs a sign-in.
    """
    if profile.get("mode") != OAUTH_MODE:
        return "notOAuth", None
    if not site_known(profile):
        return "signInRequired", REASON_UNKNOWN_SITE
    t = layer_times(profile)
    if t.has_sts and t.sts_expires_at is not None and t.sts_expires_at > now:
        return "valid", None
    reason = _dead_reason(dead)
    access_alive = t.has_access_token and t.access_expires_at is not None and t.access_expires_at > now
    if access_alive and reason != REASON_CLIENT_NOT_AUTHORIZED:
        return "refreshable", None
    if not t.has_refresh_token:
        return "signInRequired", reason or REASON_NO_REFRESH_TOKEN
    if reason:
        return "signInRequired", reason
    if t.refresh_expires_at is not None and t.refresh_expires_at <= now:
        return "refreshable", REASON_MAY_HAVE_EXPIRED
    return "refreshable", None


@dataclass(frozen=True)
class ProfileSummary:
    """What a client may know about a profile: never a secret (``wire.to_json`` writes it, each field
    camelCased, as the contract's ``ProfileEntry``)."""

    name: str
    mode: str
    site: str | None
    region: str
    language: str
    is_current: bool
    state: str
    sts_expires_at: int | None
    access_token_expires_at: int | None
    refresh_token_expires_at: int | None
    has_refresh_token: bool = False
    #: Optional in the contract: ``wire.to_json`` leaves them out when None.
    state_reason: str | None = field(default=None, metadata={"omitWhenNone": True})
    source_profile: str | None = field(default=None, metadata={"omitWhenNone": True})


def summarize(
    doc: ConfigDoc,
    profile: Mapping[str, Any],
    now: float | None = None,
    refresh_token_dead: Dead = None,
) -> ProfileSummary:
    now = time.time() if now is None else now
    is_oauth = profile.get("mode") == OAUTH_MODE
    t = layer_times(profile)
    site = profile.get("oauth_site_type") or DEFAULT_SITE if is_oauth else None
    state, reason = profile_state_and_reason(profile, now, refresh_token_dead)
    source = profile.get("source_profile")
    return ProfileSummary(
        name=str(profile.get("name", "")),
        mode=str(profile.get("mode", "")),
        site=str(site).upper() if site else None,
        region=str(profile.get("region_id") or ""),
        language=str(profile.get("language") or ""),
        is_current=bool(profile.get("name")) and profile.get("name") == doc.get("current"),
        state=state,
        sts_expires_at=t.sts_expires_at if is_oauth and t.has_sts else None,
        access_token_expires_at=t.access_expires_at if is_oauth and t.has_access_token else None,
        refresh_token_expires_at=t.refresh_expires_at if is_oauth and t.has_refresh_token else None,
        has_refresh_token=is_oauth and t.has_refresh_token,
        state_reason=reason,
        source_profile=source if isinstance(source, str) and source else None,
    )


def summarize_all(
    doc: ConfigDoc,
    now: float | None = None,
    dead: Mapping[str, str] | frozenset[str] | set[str] = frozenset(),
) -> list[ProfileSummary]:
    """Summaries of every profile; ``dead`` names the profiles the service refused to renew (with
    the reason, when a mapping)."""
    now = time.time() if now is None else now

    def dead_of(name: str) -> Dead:
        if isinstance(dead, Mapping):
            return dead.get(name)
        return name in dead

    return [summarize(doc, p, now, dead_of(str(p.get("name")))) for p in doc.get("profiles") or []]


# --------------------------------------------------------------------- operations (mutators)


def switch_profile(doc: ConfigDoc, name: str) -> None:
    get_profile(doc, name)
    doc["current"] = name


def delete_profile(doc: ConfigDoc, name: str) -> None:
    """Remove the profile and its tokens; a deleted current profile passes to the first remaining one.

    Of two profiles with the same name only the first goes: the one the CLI and the SDKs use, and so
    the one the user saw and meant; the other stays (and becomes the one they use).
    """
    profiles = profiles_of(doc)
    index = next((i for i, p in enumerate(profiles) if p.get("name") == name), None)
    if index is None:
        raise ProfileNotFound(name, profile_names(doc))
    del profiles[index]
    kept = profiles
    if doc.get("current") == name and find_profile(doc, name) is None:
        doc["current"] = str(kept[0].get("name", "")) if kept else DEFAULT_PROFILE_NAME


def validate_region(region: Any) -> str:
    if not isinstance(region, str) or len(region) > 64 or not all(c.isalnum() or c == "-" for c in region):
        raise InvalidParams("A region id looks like 'cn-hangzhou' (letters, digits and dashes).", field="region")
    return region


def validate_language(language: Any) -> str:
    if language not in LANGUAGES:
        raise InvalidParams("The language must be 'en' or 'zh'.", field="language")
    return str(language)


def validate_site(site: Any) -> str:
    value = site.upper() if isinstance(site, str) else site
    if value not in site_names():
        raise InvalidParams(f"The site must be one of {', '.join(site_names())}.", field="site")
    return str(value)


def set_profile_options(doc: ConfigDoc, name: str, region: str | None = None, language: str | None = None) -> None:
    profile = get_profile(doc, name)
    if region is not None:
        profile["region_id"] = validate_region(region)
    if language is not None:
        profile["language"] = validate_language(language)


def apply_oauth_tokens(profile: dict[str, Any], tokens: OAuthTokens) -> None:
    """Store a session's tokens. Without a refresh token the fields are left out, as the CLI's Go
    structs (``omitempty``) leave them out: a stale one from an older session must not stay."""
    profile["oauth_access_token"] = tokens.access_token
    profile["oauth_access_token_expire"] = tokens.access_expires_at
    if not tokens.refresh_token:
        profile.pop("oauth_refresh_token", None)
        profile.pop("oauth_refresh_token_expire", None)
        return
    profile["oauth_refresh_token"] = tokens.refresh_token
    if tokens.refresh_expires_at is not None:
        profile["oauth_refresh_token_expire"] = tokens.refresh_expires_at
    else:
        profile.pop("oauth_refresh_token_expire", None)


def apply_sts(profile: dict[str, Any], sts: StsCredentials) -> None:
    profile["access_key_id"] = sts.access_key_id
    profile["access_key_secret"] = sts.access_key_secret
    profile["sts_token"] = sts.security_token
    profile["sts_expiration"] = sts.expires_at


def read_oauth_tokens(profile: Mapping[str, Any]) -> OAuthTokens | None:
    """The profile's tokens; ``refresh_token`` is ``""`` when it has none (absent or empty)."""
    access = profile.get("oauth_access_token")
    refresh = profile.get("oauth_refresh_token")
    if refresh is None:
        refresh = ""
    if not isinstance(access, str) or not isinstance(refresh, str) or not (access or refresh):
        return None
    return OAuthTokens(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=_as_int(profile.get("oauth_access_token_expire")) or 0,
        refresh_expires_at=_as_int(profile.get("oauth_refresh_token_expire")),
    )


def read_sts(profile: Mapping[str, Any]) -> StsCredentials | None:
    t = layer_times(profile)
    if not t.has_sts or t.sts_expires_at is None:
        return None
    return StsCredentials(
        access_key_id=str(profile["access_key_id"]),
        access_key_secret=str(profile["access_key_secret"]),
        security_token=str(profile["sts_token"]),
        expires_at=t.sts_expires_at,
    )


#: The CLI's key order for a profile: the field order of its Go ``Profile`` struct (aliyun-cli
#: ``config/profile.go``, read in December 2026: its JSON tags, so ``ReadTimeout`` is "retry_timeout"),
#: which ``json.Marshal`` follows. A profile we create is written in this order,
#: so a diff against the CLI's next write shows only values; an existing profile keeps its own order.
CLI_PROFILE_KEY_ORDER: tuple[str, ...] = (
    "name", "mode", "access_key_id", "access_key_secret", "sts_token", "sts_region",
    "ram_role_name", "ram_role_arn", "ram_session_name", "external_id", "source_profile", "private_key",
    "key_pair_name", "expired_seconds", "verified", "region_id", "output_format", "language", "site",
    "retry_timeout", "connect_timeout", "retry_count", "process_command", "credentials_uri",
    "oidc_provider_arn", "oidc_token_file", "cloud_sso_sign_in_url", "access_token",
    "cloud_sso_access_token_expire", "sts_expiration", "cloud_sso_access_config", "cloud_sso_account_id",
    "oauth_access_token", "oauth_refresh_token", "oauth_access_token_expire", "oauth_refresh_token_expire",
    "oauth_site_type", "endpoint_type", "endpoint", "external_account_type", "auto_plugin_install",
    "auto_plugin_install_enable_pre", "bearer_token", "bearer_token_header_key",
)  # fmt: skip
_CLI_KEY_RANK = {key: rank for rank, key in enumerate(CLI_PROFILE_KEY_ORDER)}


def in_cli_key_order(profile: dict[str, Any]) -> None:
    """Reorder ``profile``'s keys in place as the CLI writes them (keys it does not know go last, in
    their own order)."""
    ordered = sorted(profile.items(), key=lambda item: _CLI_KEY_RANK.get(item[0], len(_CLI_KEY_RANK)))
    profile.clear()
    profile.update(ordered)


def upsert_oauth_profile(
    doc: ConfigDoc,
    name: str,
    site: str,
    tokens: OAuthTokens,
    sts: StsCredentials,
    region: str | None = None,
    language: str | None = None,
    make_current: bool = True,
) -> dict[str, Any]:
    """Write a signed-in profile. An existing profile keeps every field but mode, site and tokens."""
    profile = find_profile(doc, name)
    if profile is None:
        profile = {
            "name": name,
            "mode": OAUTH_MODE,
            "access_key_id": "",
            "access_key_secret": "",
            "sts_token": "",
            "sts_expiration": 0,
            "region_id": region or "",
            "output_format": "json",
            "language": language or "en",
            "oauth_site_type": site,
        }
        profiles_of(doc).append(profile)
        created = True
    else:
        created = False
        profile["mode"] = OAUTH_MODE
        profile["oauth_site_type"] = site
        if region is not None:
            profile["region_id"] = region
        if language is not None:
            profile["language"] = language
    apply_oauth_tokens(profile, tokens)
    apply_sts(profile, sts)
    if created:
        in_cli_key_order(profile)
    if make_current:
        doc["current"] = name
    return profile
