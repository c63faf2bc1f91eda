"""A local emulator of the Alibaba Cloud OAuth sign-in service (sign-in page, token and exchange API).

It shares nothing with the sidecar but the wire protocol, so
tests of the sidecar exercise real HTTP against a service with the real rules: PKCE, single-use codes,
rotating refresh tokens, expiring access tokens and STS credentials, plus faults on demand.

    from emulator import Emulator
    with Emulator(auto_approve=True) as emu:
        ...  # point sign-in base and OAuth API base at emu.url
"""

from .faults import ENDPOINTS, FAULT_KINDS
from .identity import Identity
from .server import Emulator
from .state import CLIENTS, AuthorizeError, OAuthError, StsRecord, s256

__all__ = [
    "CLIENTS",
    "ENDPOINTS",
    "FAULT_KINDS",
    "AuthorizeError",
    "Emulator",
    "Identity",
    "OAuthError",
    "StsRecord",
    "s256",
]
