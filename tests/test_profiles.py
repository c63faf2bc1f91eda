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
        "stsExpiresAt", "accessTokenExpiresAt", "refreshTokenExpiresAt", "hasRefreshToken",
    }
    assert entry["hasRefreshToken"] is True
    assert wire.to_json(summaries["default"])["hasRefreshToken"] is False
    assert not any("token" in str(v) and "old" in str(v) for v in entry.values())


@pytest.mark.parametrize(
    ("overrides", "dead", "state"),
    [
        ({}, False, "valid"),
        ({"sts_expiration": NOW - 1}, False, "refreshable"),
        ({"sts_expiration": NOW - 1, "oauth_access_token_expire": NOW - 1}, False, "refreshable"),
        ({"sts_expiration": NOW - 1, "oauth_access_token_expire": NOW - 1}, True, "signInRequired"),
        # a passed refresh-token expiry is a hint (the CLI leaves it stale): still refreshable
        (
            {"sts_expiration": NOW - 1, "oauth_access_token_expire": NOW - 1, "oauth_refresh_token_expire": NOW - 1},
            False,
            "refreshable",
        ),
        ({"sts_expiration": NOW - 1, "oauth_access_token_expire": NOW - 1, "oauth_refresh_token": ""}, False, "signInRequired"),
        ({"sts_token": ""}, False, "refreshable"),
        ({"sts_expiration": "soon"}, False, "refreshable"),
        ({"mode": "AK"}, False, "notOAuth"),
    ],
)
def test_profile_state(overrides: dict, dead: bool, state: str) -> None:
    assert P.profile_state_and_reason(oauth_profile(**overrides), NOW, dead)[0] == state


def test_absent_refresh_expiry_means_alive() -> None:
    profile = oauth_profile(sts_expiration=NOW - 1, oauth_access_token_expire=NOW - 1)
    del profile["oauth_refresh_token_expire"]
    assert P.profile_state_and_reason(profile, NOW) == ("refreshable", None)


def test_selection_order(cli_config: Path) -> None:
    """The CLI's ``getProfileName``: ALIBABACLOUD_PROFILE, then ALIBABA_CLOUD_PROFILE, then
    ALICLOUD_PROFILE (the first set and not empty), then ``current``."""
    doc = ConfigStore(cli_config).read()
    assert P.select_profile_name(doc, None, {}) == "oauth-dev"
    env = {"ALICLOUD_PROFILE": "c"}
    assert P.select_profile_name(doc, None, env) == "c"
    env["ALIBABA_CLOUD_PROFILE"] = "b"
    assert P.select_profile_name(doc, None, env) == "b"
    env["ALIBABACLOUD_PROFILE"] = "a"
    assert P.select_profile_name(doc, None, env) == "a"
    env["ALIBABACLOUD_PROFILE"] = ""  # set but empty: skipped, as util.GetFromEnv skips it
    assert P.select_profile_name(doc, None, env) == "b"
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


@pytest.mark.parametrize(
    ("ignore", "selected"),
    [
        ({"ALIBABA_CLOUD_IGNORE_PROFILE": "TRUE"}, "oauth-dev"),
        ({"ALIBABACLOUD_IGNORE_PROFILE": "TRUE"}, "oauth-dev"),
        ({"ALIBABA_CLOUD_IGNORE_PROFILE": "true"}, "from-env"),  # the CLI compares with "TRUE" exactly
        ({"ALIBABA_CLOUD_IGNORE_PROFILE": "", "ALIBABACLOUD_IGNORE_PROFILE": "TRUE"}, "oauth-dev"),
        ({"ALIBABA_CLOUD_IGNORE_PROFILE": "no", "ALIBABACLOUD_IGNORE_PROFILE": "TRUE"}, "from-env"),
    ],
)
def test_ignore_profile_makes_the_profile_variables_ignored(cli_config: Path, ignore: dict, selected: str) -> None:
    doc = ConfigStore(cli_config).read()
    env = {"ALIBABA_CLOUD_PROFILE": "from-env", **ignore}
    assert P.select_profile_name(doc, None, env) == selected
    assert P.select_profile_name(doc, "explicit", env) == "explicit"


@pytest.mark.parametrize(
    ("overrides", "dead", "state", "reason"),
    [
        ({"sts_expiration": NOW - 1, "oauth_access_token_expire": NOW - 1}, True, "signInRequired", "refreshTokenRefused"),
        (
            {"sts_expiration": NOW - 1, "oauth_access_token_expire": NOW - 1, "oauth_refresh_token_expire": NOW - 1},
            None,
            "refreshable",
            "refreshTokenMayHaveExpired",
        ),
        (
            {"sts_expiration": NOW - 1, "oauth_access_token_expire": NOW - 1, "oauth_refresh_token_expire": NOW - 1},
            "refreshTokenExpired",
            "signInRequired",
            "refreshTokenExpired",
        ),
        # signed in without a refresh token: usable while the access token lives, then a sign-in
        ({"sts_expiration": NOW - 1, "oauth_refresh_token": None}, None, "refreshable", None),
        ({"sts_expiration": NOW - 1, "oauth_access_token_expire": NOW - 1, "oauth_refresh_token": None}, None, "signInRequired", "noRefreshToken"),
        ({"sts_expiration": NOW - 1, "oauth_access_token_expire": NOW - 1, "oauth_refresh_token": ""}, None, "signInRequired", "noRefreshToken"),
        ({"sts_expiration": NOW - 1}, "clientNotAuthorized", "signInRequired", "clientNotAuthorized"),
        ({"oauth_site_type": "MARS"}, None, "signInRequired", "unknownSite"),
        ({"oauth_site_type": "intl"}, None, "valid", None),
        ({}, True, "valid", None),
    ],
)
def test_state_reasons(overrides: dict, dead: object, state: str, reason: str | None) -> None:
    profile = {k: v for k, v in oauth_profile(**overrides).items() if v is not None}
    summary = P.summarize({"current": "p", "profiles": [profile]}, profile, NOW, dead)  # type: ignore[arg-type]
    assert (summary.state, summary.state_reason) == (state, reason)
    entry = wire.to_json(summary)
    assert entry.get("stateReason") == reason
    assert entry["hasRefreshToken"] is bool(profile.get("oauth_refresh_token"))


def test_delete_of_a_duplicated_name_deletes_the_first_only(config_path: Path) -> None:
    store = ConfigStore(config_path)
    store.update(
        lambda doc: doc.update(
            current="dup",
            profiles=[{"name": "dup", "mode": "AK", "n": 1}, {"name": "other"}, {"name": "dup", "mode": "AK", "n": 2}],
        )
    )
    store.update(lambda doc: P.delete_profile(doc, "dup"))
    doc = load_json(config_path)
    assert [(p["name"], p.get("n")) for p in doc["profiles"]] == [("other", None), ("dup", 2)]
    assert doc["current"] == "dup"  # the remaining one of that name is now the one the CLI uses


CHAIN = {
    "current": "role",
    "profiles": [
        {"name": "role", "mode": "ChainableRamRoleArn", "source_profile": "middle", "ram_role_arn": "acs:ram::1:role/r"},
        {"name": "middle", "mode": "ChainableRamRoleArn", "source_profile": "sso"},
        {"name": "sso", "mode": "OAuth", "oauth_site_type": "CN"},
        {"name": "loop-a", "mode": "ChainableRamRoleArn", "source_profile": "loop-b"},
        {"name": "loop-b", "mode": "ChainableRamRoleArn", "source_profile": "loop-a"},
        {"name": "broken", "mode": "ChainableRamRoleArn", "source_profile": "gone"},
        {"name": "ak", "mode": "AK"},
    ],
}


def test_source_chains_are_followed_with_cycle_detection() -> None:
    assert P.source_chain(CHAIN, "role") == ["role", "middle", "sso"]
    assert P.oauth_source(CHAIN, "role") == "sso"
    assert P.oauth_source(CHAIN, "sso") == "sso"
    assert P.source_chain(CHAIN, "loop-a") == ["loop-a", "loop-b"]
    assert P.oauth_source(CHAIN, "loop-a") is None
    assert P.oauth_source(CHAIN, "broken") is None
    assert P.oauth_source(CHAIN, "ak") is None
    entries = {s.name: wire.to_json(s) for s in P.summarize_all(CHAIN, NOW)}
    assert entries["role"]["sourceProfile"] == "middle"
    assert "sourceProfile" not in entries["sso"]


def test_a_new_file_is_written_as_the_cli_writes_it(config_path: Path) -> None:
    """The CLI's ``NewConfiguration``: current ``default`` and a ``default`` profile, ``meta_path``."""
    store = ConfigStore(config_path)
    tokens = OAuthTokens("a", "r", NOW + 3600)
    sts = StsCredentials("STS.k", "s", "t", NOW + 3600)
    store.update(lambda doc: P.upsert_oauth_profile(doc, "dev", "CN", tokens, sts, "cn-hangzhou", "en", make_current=False))
    doc = load_json(config_path)
    assert doc["current"] == "default" and doc["meta_path"] == ""
    assert doc["profiles"][0] == {"name": "default", "mode": "", "output_format": "json", "language": "en"}
    assert [p["name"] for p in doc["profiles"]] == ["default", "dev"]


def test_tokens_without_a_refresh_token_leave_the_fields_out() -> None:
    profile = oauth_profile()
    P.apply_oauth_tokens(profile, OAuthTokens("new-access", "", NOW + 3600))
    assert profile["oauth_access_token"] == "new-access"
    assert "oauth_refresh_token" not in profile and "oauth_refresh_token_expire" not in profile
    tokens = P.read_oauth_tokens(profile)
    assert tokens is not None and tokens.refresh_token == "" and tokens.access_token == "new-access"
