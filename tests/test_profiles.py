"""Profile operations with the CLI's semantics, selection order and token-layer states."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar import wire
from sidecar.config import profiles as P
from sidecar.config.store import ConfigStore
from sidecar.errors import InvalidParams, ProfileNotFound
from sidecar.tokens import OAuthTokens, StsCredentials

from .conftest import load_json

NOW = 1_800_000_000


def oauth_profile(**overrides: object) -> dict:
    profile = {
        "name": "p",
        "mode": "OAuth",
        "oauth_site_type": "CN",
        "access_key_id": "STS.k",
        "access_key_secret": "s",
        "sts_token": "t",
        "sts_expiration": NOW + 1000,
        "oauth_access_token": "a",
        "oauth_refresh_token": "r",
        "oauth_access_token_expire": NOW + 2000,
        "oauth_refresh_token_expire": NOW + 90000,
    }
    profile.update(overrides)
    return profile


def test_list_summaries_of_every_mode(cli_config: Path) -> None:
    doc = ConfigStore(cli_config).read()
    summaries = {s.name: s for s in P.summarize_all(doc, now=NOW)}
    assert len(summaries) == 14
    assert summaries["default"].state == "notOAuth"
    assert summaries["default"].site is None
    assert summaries["default"].region == "cn-hangzhou"
    assert summaries["default"].language == "zh"
    oauth = summaries["oauth-dev"]
    assert oauth.is_current and oauth.mode == "OAuth" and oauth.site == "CN"
    # STS and access token long expired, refresh token alive -> refreshable
    assert oauth.state == "refreshable"
    assert oauth.sts_expires_at == 1700000000
    assert oauth.refresh_token_expires_at == 4102444800
    assert not summaries["sts"].is_current
    entry = wire.to_json(oauth)
    assert set(entry) == {
        "name", "mode", "site", "region", "language", "isCurrent", "state",
        "stsExpiresAt", "accessTokenExpiresAt", "refreshTokenExpiresAt",
    }
    assert not any("token" in str(v) and "old" in str(v) for v in entry.values())


@pytest.mark.parametrize(
    ("overrides", "dead", "state"),
    [
        ({}, False, "valid"),
        ({"sts_expiration": NOW - 1}, False, "refreshable"),
        ({"sts_expiration": NOW - 1, "oauth_access_token_expire": NOW - 1}, False, "refreshable"),
        ({"sts_expiration": NOW - 1, "oauth_access_token_expire": NOW - 1}, True, "signInRequired"),
        (
            {"sts_expiration": NOW - 1, "oauth_access_token_expire": NOW - 1, "oauth_refresh_token_expire": NOW - 1},
            False,
            "signInRequired",
        ),
        ({"sts_expiration": NOW - 1, "oauth_access_token_expire": NOW - 1, "oauth_refresh_token": ""}, False, "signInRequired"),
        ({"sts_token": ""}, False, "refreshable"),
        ({"sts_expiration": "soon"}, False, "refreshable"),
        ({"mode": "AK"}, False, "notOAuth"),
    ],
)
def test_profile_state(overrides: dict, dead: bool, state: str) -> None:
    assert P.profile_state(oauth_profile(**overrides), NOW, dead) == state


def test_absent_refresh_expiry_means_alive() -> None:
    profile = oauth_profile(sts_expiration=NOW - 1, oauth_access_token_expire=NOW - 1)
    del profile["oauth_refresh_token_expire"]
    assert P.profile_state(profile, NOW) == "refreshable"


def test_selection_order(cli_config: Path) -> None:
    doc = ConfigStore(cli_config).read()
    assert P.select_profile_name(doc, None, {}) == "oauth-dev"
    env = {"ALICLOUD_PROFILE": "c", "ALIBABACLOUD_PROFILE": "b"}
    assert P.select_profile_name(doc, None, env) == "b"
    env["ALIBABA_CLOUD_PROFILE"] = "a"
    assert P.select_profile_name(doc, None, env) == "a"
    assert P.select_profile_name(doc, "explicit", env) == "explicit"
    with pytest.raises(ProfileNotFound):
        P.select_profile_name({"current": "", "profiles": []}, None, {})


def test_switch_unknown_lists_existing(cli_config: Path) -> None:
    store = ConfigStore(cli_config)
    with pytest.raises(ProfileNotFound) as info:
        store.update(lambda doc: P.switch_profile(doc, "nope"))
    assert "default" in info.value.message and "oauth-dev" in info.value.message
    assert info.value.to_data()["existing"][0] == "default"
    store.update(lambda doc: P.switch_profile(doc, "sts"))
    assert load_json(cli_config)["current"] == "sts"


def test_delete_current_passes_to_first_remaining(cli_config: Path) -> None:
    store = ConfigStore(cli_config)
    store.update(lambda doc: P.delete_profile(doc, "oauth-dev"))
    doc = load_json(cli_config)
    assert P.find_profile(doc, "oauth-dev") is None
    assert doc["current"] == "default"
    assert "old-refresh" not in cli_config.read_text()


def test_delete_other_keeps_current_and_last_gives_default(config_path: Path) -> None:
    store = ConfigStore(config_path)
    store.update(lambda doc: doc.update(current="b", profiles=[{"name": "a"}, {"name": "b"}]))
    store.update(lambda doc: P.delete_profile(doc, "a"))
    assert load_json(config_path)["current"] == "b"
    store.update(lambda doc: P.delete_profile(doc, "b"))
    assert load_json(config_path) == {"current": "default", "profiles": [], "meta_path": ""}
    with pytest.raises(ProfileNotFound):
        store.update(lambda doc: P.delete_profile(doc, "b"))


def test_set_region_and_language_validated(cli_config: Path) -> None:
    store = ConfigStore(cli_config)
    store.update(lambda doc: P.set_profile_options(doc, "sts", region="ap-southeast-1", language="zh"))
    profile = P.get_profile(load_json(cli_config), "sts")
    assert (profile["region_id"], profile["language"]) == ("ap-southeast-1", "zh")
    with pytest.raises(InvalidParams):
        store.update(lambda doc: P.set_profile_options(doc, "sts", language="fr"))
    with pytest.raises(InvalidParams):
        store.update(lambda doc: P.set_profile_options(doc, "sts", region="cn hangzhou; rm"))


def test_upsert_new_and_existing_profile(cli_config: Path) -> None:
    tokens = OAuthTokens("new-access", "new-refresh", NOW + 3600, None)
    sts = StsCredentials("STS.new", "new-secret", "new-token", NOW + 3600)
    store = ConfigStore(cli_config)
    store.update(lambda doc: P.upsert_oauth_profile(doc, "oauth-dev", "INTL", tokens, sts, None, None))
    profile = P.get_profile(load_json(cli_config), "oauth-dev")
    assert profile["unknown_oauth_extra"] is True and profile["read_timeout"] == 10
    assert profile["region_id"] == "cn-hangzhou" and profile["oauth_site_type"] == "INTL"
    assert profile["oauth_refresh_token"] == "new-refresh"
    assert "oauth_refresh_token_expire" not in profile
    assert profile["sts_expiration"] == NOW + 3600
    store.update(lambda doc: P.upsert_oauth_profile(doc, "fresh", "CN", tokens, sts, "cn-beijing", "zh"))
    doc = load_json(cli_config)
    assert doc["current"] == "fresh"
    fresh = P.get_profile(doc, "fresh")
    assert fresh["mode"] == "OAuth" and fresh["region_id"] == "cn-beijing" and fresh["language"] == "zh"


def test_token_reprs_hide_secrets() -> None:
    tokens = OAuthTokens("access-secret-value", "refresh-secret-value", 1, 2)
    sts = StsCredentials("STS.id", "sts-secret-value", "sts-token-value", 3)
    text = repr(tokens) + repr(sts)
    for secret in ("access-secret-value", "refresh-secret-value", "sts-secret-value", "sts-token-value"):
        assert secret not in text


@pytest.mark.parametrize("name", ["", "  ", 5, None, "a\nb", "x" * 200])
def test_invalid_profile_names(name: object) -> None:
    with pytest.raises(InvalidParams):
        P.validate_profile_name(name)
