"""The three policies that narrow what an MCP bearer token may do, parsed and evaluated.

**Safety policy** (``UpdateBearerTokenSafetyPolicy`` ``safePolicy``; mcp.md §5.4, §8.3). The sources
give examples only (``ecs:describe-*=allow,*=deny``), so this is the grammar the emulator accepts, and
the one the sidecar's read-only mode must send:

* a comma-separated list of ``pattern=action`` rules; blanks around items are ignored;
* ``action`` is ``allow`` or ``deny`` (case-insensitive); anything else is a bad policy (400);
* ``pattern`` is matched, ignoring case, against the call's *subject* ``product:operation`` in
  CLI-plugin (kebab-case) style; ``*`` matches any run of characters (``:`` included), so ``*``
  alone matches everything and ``*:describe-*`` every product's Describe calls;
* the first matching rule wins; a call no rule matches is allowed (an empty policy allows all);
* the JSON form ``{"rules":[{"pattern":"ecs:describe-*","action":"allow"},...]}`` means the same
  list (``{"rules":[]}``, what the official proxy sends without a policy, allows everything).

Subjects: ``AlibabaCloud___CallCLI`` with ``aliyun ecs DescribeRegions`` (or ``describe-regions``)
is ``ecs:describe-regions``; every other tool has the subject ``alibabacloud:<operation>`` from the
tool table (``alibabacloud:list-products``, ``alibabacloud:run-script``...). A **read-only** policy is
therefore ``READ_ONLY_POLICY`` below: Describe/List/Get/Query/Search of any product, every other call
denied.

**Tool policy** (``toolPolicy``): JSON ``{"allowedTools":[names]}``; a call to another tool is refused.

**Boundary policy** (``Policy`` of ``GenerateAccessToken``, §4): a RAM policy of at most 512
characters with Deny statements only (``Action`` or ``NotAction``, plus ``Resource``), ``Version``
``"1"`` if given; a call whose RAM action (``ecs:DescribeRegions``) a statement denies is refused.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass

from sidecar.mcp.policy import READ_ONLY_POLICY  # the client's choice, declared once there

MAX_POLICY = 4096
MAX_BOUNDARY = 512
_PATTERN = re.compile(r"[A-Za-z0-9*_.:-]{1,128}")


class PolicyError(ValueError):
    """A policy the service refuses (the message says why; it never echoes the policy)."""


@dataclass(frozen=True)
class Rule:
    pattern: str
    allow: bool

    def matches(self, subject: str) -> bool:
        return fnmatch.fnmatchcase(subject.lower(), self.pattern.lower())

    @property
    def text(self) -> str:
        return f"{self.pattern}={'allow' if self.allow else 'deny'}"


@dataclass(frozen=True)
class SafetyPolicy:
    rules: tuple[Rule, ...] = ()
    source: str = ""

    def decide(self, subject: str) -> tuple[bool, str]:
        """(allowed, the rule that decided or "" when none matched)."""
        for rule in self.rules:
            if rule.matches(subject):
                return rule.allow, rule.text
        return True, ""


def _rule(pattern: str, action: str) -> Rule:
    pattern, action = pattern.strip(), action.strip().lower()
    if not _PATTERN.fullmatch(pattern):
        raise PolicyError("A safety policy pattern must be 'product:operation' with '*' wildcards.")
    if action not in ("allow", "deny"):
        raise PolicyError("A safety policy action must be 'allow' or 'deny'.")
    return Rule(pattern, action == "allow")


def parse_safety_policy(text: str) -> SafetyPolicy:
    if not isinstance(text, str):
        raise PolicyError("safePolicy must be a string.")
    if len(text) > MAX_POLICY:
        raise PolicyError("safePolicy is too long.")
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            raise PolicyError("safePolicy is not valid JSON.") from None
        rules = data.get("rules") if isinstance(data, dict) else None
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            raise PolicyError("safePolicy JSON must be {\"rules\":[{\"pattern\":...,\"action\":...}]}.")
        return SafetyPolicy(tuple(_rule(str(r.get("pattern", "")), str(r.get("action", ""))) for r in rules), text)
    if not stripped:
        return SafetyPolicy((), text)
    rules = []
    for item in stripped.split(","):
        pattern, sep, action = item.partition("=")
        if not sep:
            raise PolicyError("Each safety policy rule must be 'pattern=allow' or 'pattern=deny'.")
        rules.append(_rule(pattern, action))
    return SafetyPolicy(tuple(rules), text)


def parse_tool_policy(text: str | None) -> frozenset[str] | None:
    """The allowed tool names, or None (no tool policy)."""
    if text is None or text == "":
        return None
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise PolicyError("toolPolicy is not valid JSON.") from None
    tools = data.get("allowedTools") if isinstance(data, dict) else None
    if not isinstance(tools, list) or not all(isinstance(t, str) and t for t in tools):
        raise PolicyError("toolPolicy must be {\"allowedTools\":[tool names]}.")
    return frozenset(tools)


@dataclass(frozen=True)
class BoundaryPolicy:
    statements: tuple[tuple[tuple[str, ...], bool], ...] = ()  # (action patterns, is NotAction)

    def denies(self, ram_action: str) -> str:
        """The denying pattern, or "" when the action passes."""
        action = ram_action.lower()
        for patterns, negated in self.statements:
            hit = next((p for p in patterns if fnmatch.fnmatchcase(action, p.lower())), "")
            if negated and not hit:
                return f"NotAction {','.join(patterns)}"
            if not negated and hit:
                return hit
        return ""


def parse_boundary_policy(text: str | None) -> BoundaryPolicy:
    if not text:
        return BoundaryPolicy()
    if len(text) > MAX_BOUNDARY:
        raise PolicyError("The Policy parameter must be at most 512 characters.")
    try:
        data = json.loads(text)
    except ValueError:
        raise PolicyError("The Policy parameter is not valid JSON.") from None
    if not isinstance(data, dict) or not isinstance(data.get("Statement"), list):
        raise PolicyError("The Policy parameter must be a RAM policy with a Statement list.")
    if "Version" in data and data["Version"] != "1":
        raise PolicyError("The Policy Version must be \"1\".")
    statements = []
    for statement in data["Statement"]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            raise PolicyError("The Policy parameter may contain Deny statements only.")
        if ("Action" in statement) == ("NotAction" in statement):
            raise PolicyError("Each statement needs exactly one of Action and NotAction.")
        negated = "NotAction" in statement
        actions = statement["NotAction" if negated else "Action"]
        actions = [actions] if isinstance(actions, str) else actions
        if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            raise PolicyError("Action must be a string or a list of strings.")
        statements.append((tuple(actions), negated))
    return BoundaryPolicy(tuple(statements))


def kebab(name: str) -> str:
    """``DescribeRegions`` -> ``describe-regions``; kebab input stays as it is."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


def pascal(name: str) -> str:
    """``describe-regions`` -> ``DescribeRegions``; Pascal input stays as it is."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("-")) if "-" in name else name[:1].upper() + name[1:]


__all__ = [
    "READ_ONLY_POLICY",
    "BoundaryPolicy",
    "PolicyError",
    "SafetyPolicy",
    "kebab",
    "parse_boundary_policy",
    "parse_safety_policy",
    "parse_tool_policy",
    "pascal",
]
