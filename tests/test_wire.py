"""``sidecar/wire.py``: the domain's typed values as the contract's JSON, checked against the contract
source at unit level (the end-to-end harness checks the real answers too)."""

from __future__ import annotations

import jsonschema
import pytest

from contract import CONTRACT, schema_for
from sidecar import wire
from sidecar.config import profiles as P
from sidecar.credentials.identity import Identity
from sidecar.service import ProfileListing
from sidecar.tokens import StsCredentials

STS = StsCredentials("STS.id", "secret-value", "token-value", 1_800_000_000)
NOW = 1_700_000_000
PROFILE = {
    "name": "dev",
    "mode": "OAuth",
    "oauth_site_type": "CN",
    "region_id": "cn-hangzhou",
    "language": "en",
    "access_key_id": "STS.id",
    "access_key_secret": "secret-value",
    "sts_token": "token-value",
    "sts_expiration": NOW + 3600,
    "oauth_access_token": "access-value",
    "oauth_access_token_expire": NOW + 7200,
    "oauth_refresh_token": "refresh-value",
    "oauth_refresh_token_expire": NOW + 86400,
}
SUMMARY = P.summarize({"current": "dev", "profiles": [PROFILE]}, PROFILE, NOW)


def test_camel() -> None:
    assert wire.camel("access_token_expires_at") == "accessTokenExpiresAt"
    assert wire.camel("name") == "name"


def test_every_field_of_a_profile_summary_is_a_field_of_the_contracts_profile_entry() -> None:
    entry = wire.to_json(SUMMARY)
    assert set(entry) <= set(CONTRACT["$defs"]["ProfileEntry"]["properties"])
    assert entry["stsExpiresAt"] == NOW + 3600 and entry["isCurrent"] is True and entry["state"] == "valid"
    assert "value" not in str(entry)  # no token of the profile
    jsonschema.validate(entry, schema_for("result", "aliyun/refresh"))


def test_a_listing_is_the_contracts_profile_list() -> None:
    listing = wire.to_json(ProfileListing("dev", "/x/config.json", [SUMMARY]))
    assert listing["configPath"] == "/x/config.json" and listing["profiles"] == [wire.to_json(SUMMARY)]
    jsonschema.validate(listing, schema_for("result", "aliyun/listProfiles"))


def test_an_identity_is_the_contracts_identity() -> None:
    identity = Identity("1", "AssumedRoleUser", "acs:ram::1:assumed-role/R/s", "9:s", None, "9")
    answer = wire.identity_json("dev", identity)
    assert answer["profile"] == "dev" and answer["roleId"] == "9"
    jsonschema.validate(answer, schema_for("result", "aliyun/whoAmI"))


def test_the_three_credentials_shapes_carry_the_same_credentials_and_instant() -> None:
    ours = wire.credentials_json("dev", STS)
    jsonschema.validate(ours, schema_for("result", "aliyun/getCredentials"))
    external = wire.external_json(STS)
    uri = wire.uri_payload(STS)
    assert (ours["accessKeyId"], external["access_key_id"], uri["AccessKeyId"]) == ("STS.id",) * 3
    assert ours["securityToken"] == external["sts_token"] == uri["SecurityToken"] == "token-value"
    assert ours["expiration"] == external["expiration"] == uri["Expiration"] == "2027-01-15T08:00:00Z"
    assert external["mode"] == "StsToken" and uri["Code"] == "Success"


def test_credentials_never_go_through_the_generic_rule() -> None:
    with pytest.raises(TypeError):
        wire.to_json(STS)
