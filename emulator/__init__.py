"""A local emulator of the Alibaba Cloud OAuth sign-in service (sign-in page, token and exchange API).

It shares nothing with the sidecar but the wire protocol, so
tests of the sidecar exercise real HTTP against a service with the real rules: PKCE, single-use codes,
rotating refresh tokens, expiring access tokens and STS credentials, plus faults on demand.

    from emulator import Emulator
    with Emulator(auto_approve=True) as emu:
        ...  # point sign-in base and OAuth API base at emu.url

It also plays the services an MCP proxy talks to (issue 23; reference: ``mcp.md``). **Routing**, a
fixed contract with the sidecar's tests: everything is served on the one loopback port, by path and
query, so every base URL below is ``emu.url`` (the sidecar reads ``ALIYUN_SIDECAR_RAMOAUTH_ENDPOINT``,
``ALIYUN_SIDECAR_OPENAPI_MCP_ENDPOINT`` and ``ALIYUN_SIDECAR_SAFEPOLICY_ENDPOINT``):

* ``/oauth2/v1/auth`` (sign-in page), ``/v1/token``, ``/v1/exchange``: the OAuth sign-in service;
* ``POST /?Action=GenerateAccessToken&...`` (RPC, signature v1; also recognised by the header
  ``x-acs-action: GenerateAccessToken``): RamOAuth (``ramoauth.py``);
* ``/`` otherwise (``x-acs-action: GetCallerIdentity`` or ``Action=GetCallerIdentity``): STS (``sts.py``);
* ``GET /apimcpservercores``, ``GET /apimcpservers`` (ACS3-signed) and ``POST /safePolicy/set``
  (anonymous ROA): OpenAPI Explorer 2024-11-30 (``openapi_explorer.py``);
* ``/accounts/<uid>/custom/<name>/id/<id>/mcp`` and ``/accounts/<uid>/system/<product>/<name>/id/<id>/mcp``:
  the MCP Streamable-HTTP server (``mcp_server.py``); the Core's URL is ``emu.mcp_url()``;
* ``/__emulator/...``: the control surface for tests (``control.py``).
"""

from .faults import ENDPOINTS, FAULT_KINDS
from .identity import Identity
from .mcp_state import MCP_CLIENTS, McpConfig
from .safety import READ_ONLY_POLICY
from .server import Emulator
from .state import CLIENTS, AuthorizeError, OAuthError, StsRecord, s256

__all__ = [
    "CLIENTS",
    "ENDPOINTS",
    "FAULT_KINDS",
    "AuthorizeError",
    "Emulator",
    "Identity",
    "MCP_CLIENTS",
    "McpConfig",
    "READ_ONLY_POLICY",
    "OAuthError",
    "StsRecord",
    "s256",
]
