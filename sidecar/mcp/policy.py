"""The modes an agent's access can run in, and the safety policy that makes "read-only" true.

There is no read-only flag on the hosted server (mcp.md §8.3); what narrows a bearer token is the
safety policy bound to it with ``UpdateBearerTokenSafetyPolicy``: ``pattern=action`` rules over
``product:operation`` in the CLI plugins' kebab case, the first match winning. Read-only allows the
operations that only read (Describe, List, Get, Query, Search of any product) and denies every other.
The emulator enforces this very text (``emulator/safety.py`` imports it from here).
"""

from __future__ import annotations

READ_ONLY = "read-only"
FULL = "full"
READ_ONLY_POLICY = "*:describe-*=allow,*:list-*=allow,*:get-*=allow,*:query-*=allow,*:search-*=allow,*=deny"
#: mode -> the safety policy bound to every token (None: none is bound, the identity's RAM rights apply).
POLICIES: dict[str, str | None] = {READ_ONLY: READ_ONLY_POLICY, FULL: None}
#: For people: what the server's label says.
LABELS = {READ_ONLY: "read-only", FULL: "full access"}

__all__ = ["FULL", "LABELS", "POLICIES", "READ_ONLY", "READ_ONLY_POLICY"]
