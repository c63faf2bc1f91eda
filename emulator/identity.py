"""Who a sign-in is for.

Every token family (one browser sign-in and all its refreshes) and every STS credential issued from it
remember the identity that was configured when the user pressed Authorize, so that a later
GetCallerIdentity can answer for the credential it is shown even after the configuration changed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

IdentityKind = Literal["user", "role"]


@dataclass(frozen=True)
class Identity:
    """A RAM user, or a RAM role assumed under a session name (what the STS credential stands for)."""

    account_id: str = "1234567890123456"
    kind: IdentityKind = "user"
    #: The RAM user name, or the role name when ``kind == "role"``.
    name: str = "dev"
    #: The user id, or the role id (numeric strings, as the real service gives them).
    principal_id: str = "203456789012345678"
    #: Only for roles: the session name of the assumed role.
    session_name: str = "dev"

    def __post_init__(self) -> None:
        if self.kind not in ("user", "role"):
            raise ValueError("identity kind must be 'user' or 'role'")
        if not self.account_id.isdigit():
            raise ValueError("identity account_id must be digits")
        if not self.name:
            raise ValueError("identity name must not be empty")

    @classmethod
    def user(cls, name: str = "dev", account_id: str = "1234567890123456", user_id: str = "203456789012345678") -> Identity:
        return cls(account_id=account_id, kind="user", name=name, principal_id=user_id)

    @classmethod
    def role(
        cls,
        name: str,
        account_id: str = "1234567890123456",
        session_name: str = "dev",
        role_id: str = "300123456789012345",
    ) -> Identity:
        return cls(account_id=account_id, kind="role", name=name, principal_id=role_id, session_name=session_name)

    @property
    def identity_type(self) -> str:
        """The ``IdentityType`` of STS GetCallerIdentity."""
        return "RAMUser" if self.kind == "user" else "AssumedRoleUser"

    @property
    def arn(self) -> str:
        if self.kind == "user":
            return f"acs:ram::{self.account_id}:user/{self.name}"
        return f"acs:ram::{self.account_id}:assumed-role/{self.name}/{self.session_name}"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "arn": self.arn, "identity_type": self.identity_type}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Identity:
        """Build from a control request; unknown keys are refused so that typos do not pass silently."""
        allowed = {"account_id", "kind", "name", "principal_id", "session_name"}
        unknown = set(data) - allowed - {"arn", "identity_type"}
        if unknown:
            raise ValueError(f"unknown identity fields: {sorted(unknown)}")
        values = {k: str(v) for k, v in data.items() if k in allowed}
        return cls(**values)  # type: ignore[arg-type]
