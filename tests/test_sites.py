"""Sites as data (``sidecar/sites.py``): one table from which the CLI's choices, profile
validation, the endpoint overrides and ``initialize``'s site list all derive, so that a new site is
one table entry; and the emulator's registry of client ids agrees with it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from emulator import CLIENTS
from sidecar import __version__, wire
from sidecar.__main__ import _parser
from sidecar.config import profiles as P
from sidecar.errors import InvalidParams
from sidecar import sites
from sidecar.rpc.options import options_from
from sidecar.service import Settings

from .contract_schema import check_initialize
from .rpc_harness import Sidecar

FAKE = sites.Site("XX", "Test site (example.test)", "https://signin.example.test", "https://oauth.example.test", "42")


@pytest.fixture
def third_site(monkeypatch: pytest.MonkeyPatch) -> sites.Site:
    """The table with a third site: the only change a new site needs in the code."""
    monkeypatch.setattr(sites, "PRODUCTION_SITES", {**sites.PRODUCTION_SITES, FAKE.name: FAKE})
    return FAKE


def test_the_table_holds_the_official_sites_with_the_default_first() -> None:
    assert sites.site_names() == ("CN", "INTL")
    for site in sites.PRODUCTION_SITES.values():
        assert site.label and site.client_id.isdigit()
        assert site.signin_base.startswith("https://signin.") and site.oauth_base.startswith("https://oauth.")


def test_the_emulator_registers_the_client_id_of_every_site_for_that_site() -> None:
    """The emulator keeps its own registry (it stands for the service, whose facts these are): a typo
    in either the table or the emulator fails here instead of passing silently."""
    assert {site.client_id: site.name for site in sites.PRODUCTION_SITES.values()} == CLIENTS


def test_a_third_site_reaches_the_cli_choices(third_site: sites.Site) -> None:
    args = _parser().parse_args(["signin", "--profile", "p", "--site", "xx"])
    assert args.site == "XX"
    with pytest.raises(SystemExit):
        _parser().parse_args(["signin", "--profile", "p", "--site", "YY"])


def test_a_third_site_passes_validation_and_an_unknown_one_names_every_site(third_site: sites.Site) -> None:
    assert P.validate_site("xx") == "XX"
    with pytest.raises(InvalidParams) as info:
        P.validate_site("YY")
    assert all(name in info.value.message for name in ("CN", "INTL", "XX"))


def test_a_third_site_is_in_the_initialize_result_with_its_overridden_endpoints(
    third_site: sites.Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIYUN_SIDECAR_XX_SIGNIN_BASE", "http://127.0.0.1:9/signin")
    settings = options_from({"endpoints": {"XX": {"oauthBase": "http://127.0.0.1:9/oauth"}}}, Settings()).settings
    capabilities = wire.aliyun_capabilities(settings.endpoints, __version__)
    check_initialize({"capabilities": {"experimental": {"aliyun": capabilities}}})
    assert [s["name"] for s in capabilities["sites"]] == ["CN", "INTL", "XX"]
    assert capabilities["sites"][2] == {
        "name": "XX",
        "label": FAKE.label,
        "signinBase": "http://127.0.0.1:9/signin",
        "oauthBase": "http://127.0.0.1:9/oauth",
    }
    assert settings.endpoints.site("XX") == dataclasses.replace(
        FAKE, signin_base="http://127.0.0.1:9/signin", oauth_base="http://127.0.0.1:9/oauth"
    )


async def test_initialize_sends_the_site_table_with_the_endpoints_in_effect(isolated_home: Path, config_path: Path) -> None:
    side = Sidecar(isolated_home, {})
    await side.start(initialize=False)
    result = await side.initialize(
        {"configPath": str(config_path), "keepFresh": False, "endpoints": {"INTL": {"signinBase": "http://127.0.0.1:9"}}}
    )
    aliyun = result.capabilities.experimental["aliyun"]
    assert aliyun["version"] == __version__
    assert aliyun["sites"] == [
        {"name": "CN", "label": "China site (aliyun.com)", "signinBase": "https://signin.aliyun.com", "oauthBase": "https://oauth.aliyun.com"},
        {
            "name": "INTL",
            "label": "International site (alibabacloud.com)",
            "signinBase": "http://127.0.0.1:9",
            "oauthBase": "https://oauth.alibabacloud.com",
        },
    ]
    assert await side.stop() == 0


def test_the_mcp_services_have_a_base_per_site_and_overrides_like_the_others() -> None:
    endpoints = sites.Endpoints()
    assert endpoints.site("CN").ramoauth_base == "https://ramoauth.aliyuncs.com"
    assert endpoints.site("INTL").openapi_mcp_base == "https://openapi-mcp.ap-southeast-1.aliyuncs.com"
    assert endpoints.safe_policy_endpoint == "https://openapi-mcp.cn-hangzhou.aliyuncs.com"  # one for every site
    for site in endpoints.sites.values():
        assert site.ramoauth_base and site.mcp_client_id and site.openapi_mcp_base
    changed = endpoints.with_overrides(
        {"ramoauthEndpoint": "http://127.0.0.1:1", "INTL": {"openapiMcpEndpoint": "http://127.0.0.1:2"}, "safePolicyEndpoint": "http://127.0.0.1:3"}
    )
    assert {s.ramoauth_base for s in changed.sites.values()} == {"http://127.0.0.1:1"}
    assert changed.site("INTL").openapi_mcp_base == "http://127.0.0.1:2"
    assert changed.site("CN").openapi_mcp_base == endpoints.site("CN").openapi_mcp_base
    assert changed.safe_policy_endpoint == "http://127.0.0.1:3"
    env = sites.Endpoints.from_environment({"ALIYUN_SIDECAR_RAMOAUTH_ENDPOINT": "http://127.0.0.1:4", "ALIYUN_SIDECAR_CN_OPENAPI_MCP_ENDPOINT": "http://127.0.0.1:5"})
    assert env.site("INTL").ramoauth_base == "http://127.0.0.1:4" and env.site("CN").openapi_mcp_base == "http://127.0.0.1:5"
    with pytest.raises(InvalidParams):
        endpoints.with_overrides({"safePolicyEndpoint": "ftp://x"})
