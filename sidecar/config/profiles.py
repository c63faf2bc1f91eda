"""Profiles inside the config document: selection, summaries, and the CLI's operations.

Everything here works on the raw ``dict`` of the document and changes only the fields an operation is
about, so unknown modes and fields survive. Mutating functions are meant to run inside
``ConfigStore.update`` (they receive the freshly re-read document under the lock).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidParams, ProfileNotFound
from ..oauth.sites import site_names
from ..tokens import OAuthTokens, StsCredentials
from .store import DEFAULT_PROFILE_NAME, ConfigDoc

OAUTH_MODE = "OAuth"
LANGUAGES = ("en", "zh")
#: Checked in this order after an explicit name, before ``current`` (as the CLI and SDKs do).
PROFILE_ENV_VARS = ("ALIBABA_CLOUD_PROFILE", "ALIBABACLOUD_PROFILE", "ALICLOUD_PROFILE")

#: Token fields of an OAuth profile: what sign-in replaces and delete removes with the profile.
OAUTH_TOKEN_FIELDS = (
    "oauth_access_token",
    "oauth_refresh_token",
    "oauth_access_token_expire",
    "oauth_refresh_token_expire",
)
STS_FIELDS = ("access_key_id", "access_key_secret", "sts_token", "sts_expiration")


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


def select_profile_name(
    doc: ConfigDoc, explicit: str | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """Explicit name, then the profile environment variables, then ``current``."""
    if explicit:
        return explicit
    env = os.environ if environ is None else environ
    for var in PROFILE_ENV_VARS:
        value = env.get(var)
        if value:
            return value
    current = doc.get("current") or ""
    if not current:
        raise ProfileNotFound("(none selected)", profile_names(doc))
    return current


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


def profile_state(profile: Mapping[str, Any], now: float, refresh_token_dead: bool = False) -> str:
    """``valid`` | ``refreshable`` | ``signInRequired`` | ``notOAuth``.

    ``refresh_token_dead`` is what the refresher learned from an ``invalid_grant``: the file cannot
    say that a refresh token with a future expiry was revoked or spent elsewhere.
    """
    if profile.get("mode") != OAUTH_MODE:
        return "notOAuth"
    t = layer_times(profile)
    if t.has_sts and t.sts_expires_at is not None and t.sts_expires_at > now:
        return "valid"
    if t.has_access_token and t.access_expires_at is not None and t.access_expires_at > now:
        return "refreshable"
    refresh_alive = t.has_refresh_token and (t.refresh_expires_at is None or t.refresh_expires_at > now)
    if refresh_alive and not refresh_token_dead:
        return "refreshable"
    return "signInRequired"


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


def summarize(
    doc: ConfigDoc,
    profile: Mapping[str, Any],
    now: float | None = None,
    refresh_token_dead: bool = False,
) -> ProfileSummary:
    now = time.time() if now is None else now
    is_oauth = profile.get("mode") == OAUTH_MODE
    t = layer_times(profile)
    site = profile.get("oauth_site_type") or "CN" if is_oauth else None
    return ProfileSummary(
        name=str(profile.get("name", "")),
        mode=str(profile.get("mode", "")),
        site=str(site).upper() if site else None,
        region=str(profile.get("region_id") or ""),
        language=str(profile.get("language") or ""),
        is_current=bool(profile.get("name")) and profile.get("name") == doc.get("current"),
        state=profile_state(profile, now, refresh_token_dead),
        sts_expires_at=t.sts_expires_at if is_oauth and t.has_sts else None,
        access_token_expires_at=t.access_expires_at if is_oauth and t.has_access_token else None,
        refresh_token_expires_at=t.refresh_expires_at if is_oauth and t.has_refresh_token else None,
    )


def summarize_all(
    doc: ConfigDoc, now: float | None = None, dead: frozenset[str] | set[str] = frozenset()
) -> list[ProfileSummary]:
    """Summaries of every profile; ``dead`` names the profiles whose refresh token was refused."""
    now = time.time() if now is None else now
    return [summarize(doc, p, now, str(p.get("name")) in dead) for p in doc.get("profiles") or []]


# --------------------------------------------------------------------- operations (mutators)


def switch_profile(doc: ConfigDoc, name: str) -> None:
    get_profile(doc, name)
    doc["current"] = name


def delete_profile(doc: ConfigDoc, name: str) -> None:
    """Remove the profile and its tokens; a deleted current profile passes to the first remaining one."""
    profiles = profiles_of(doc)
    kept = [p for p in profiles if p.get("name") != name]
    if len(kept) == len(profiles):
        raise ProfileNotFound(name, profile_names(doc))
    profiles[:] = kept
    if doc.get("current") == name:
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
    profile["oauth_access_token"] = tokens.access_token
    profile["oauth_refresh_token"] = tokens.refresh_token
    profile["oauth_access_token_expire"] = tokens.access_expires_at
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
    access = profile.get("oauth_access_token")
    refresh = profile.get("oauth_refresh_token")
    if not isinstance(access, str) or not isinstance(refresh, str):
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
    else:
        profile["mode"] = OAUTH_MODE
        profile["oauth_site_type"] = site
        if region is not None:
            profile["region_id"] = region
        if language is not None:
            profile["language"] = language
    apply_oauth_tokens(profile, tokens)
    apply_sts(profile, sts)
    if make_current:
        doc["current"] = name
    return profile
