"""The emulated MCP server's tools: a few of the Core edition's ``AlibabaCloud___*`` tools (mcp.md §8.2),
answering as the token's identity, and the policy check every call goes through.

Each tool has a *subject* (what the safety policy matches, see ``safety.py``) and a RAM action (what a
boundary policy matches). ``AlibabaCloud___CallCLI`` takes ``{"command": "aliyun <product> <Api> ..."}``:
its subject is ``<product>:<api-kebab>``, its RAM action ``<product>:<ApiPascal>``, and it reads for
``Describe*``/``List*``/``Get*`` APIs and writes otherwise. The other tools have fixed subjects
(``alibabacloud:list-products``...). No tool does anything: answers are small fixed documents that
carry the caller (account id and ARN) so that a test can see whose token was used.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .identity import Identity
from .mcp_state import McpToken
from .safety import kebab, pascal
from .state import new_request_id

PREFIX = "AlibabaCloud___"
READ_PREFIXES = ("describe-", "list-", "get-")
#: What the Core edition refuses in a CLI command (mcp.md §8.2).
FORBIDDEN = re.compile(r"[|;&<>`]|\$\(|\$\{|\$[A-Za-z_]|file://|fileb://")


class ToolInputError(ValueError):
    """Arguments the tool cannot run with (a tool result with ``isError``, not a policy denial)."""


@dataclass(frozen=True)
class Call:
    """What one tool call would do: its policy subject, RAM action and whether it writes."""

    subject: str
    ram_action: str
    writes: bool
    product: str = ""
    api: str = ""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    properties: dict[str, Any]
    required: tuple[str, ...]
    read_only: bool | None  # None: depends on the arguments (CallCLI)
    plan: Callable[[dict[str, Any]], Call]

    def listing(self) -> dict[str, Any]:
        annotations: dict[str, Any] = {"title": self.name[len(PREFIX) :]}
        if self.read_only is not None:
            annotations["readOnlyHint"] = self.read_only
            annotations["destructiveHint"] = not self.read_only
        return {
            "name": self.name,
            "description": self.description,
            "inputSchema": {"type": "object", "properties": self.properties, "required": list(self.required)},
            "annotations": annotations,
        }

    def check(self, arguments: dict[str, Any]) -> None:
        for name in self.required:
            if name not in arguments:
                raise ToolInputError(f"Input validation error: '{name}' is a required property")
        for name, value in arguments.items():
            spec = self.properties.get(name)
            if spec is not None and spec.get("type") == "string" and not isinstance(value, str):
                raise ToolInputError(f"Input validation error: '{name}' must be a string")


def _cli_call(arguments: dict[str, Any]) -> Call:
    command = str(arguments.get("command", ""))
    if FORBIDDEN.search(command):
        raise ToolInputError("The command may not contain pipes, redirects, variables, substitutions or file:// values.")
    try:
        words = shlex.split(command)
    except ValueError:
        raise ToolInputError("The command could not be parsed.") from None
    if len(words) < 3 or words[0] != "aliyun" or words[1].startswith("-") or words[2].startswith("-"):
        raise ToolInputError("The command must be 'aliyun <product> <Api> [--Parameter value ...]'.")
    product, api = words[1].lower(), words[2]
    operation = kebab(api)
    return Call(f"{product}:{operation}", f"{product}:{pascal(api)}", not operation.startswith(READ_PREFIXES), product, pascal(api))


def _fixed(subject: str, ram_action: str, writes: bool) -> Callable[[dict[str, Any]], Call]:
    return lambda arguments: Call(subject, ram_action, writes)


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool(
            PREFIX + "CallCLI",
            "Run one Alibaba Cloud CLI command (aliyun <product> <Api> ...) as the signed-in identity.",
            {"command": {"type": "string", "description": "e.g. aliyun ecs DescribeRegions --region cn-hangzhou"}},
            ("command",),
            None,
            _cli_call,
        ),
        Tool(
            PREFIX + "ListProducts",
            "List the cloud products that have OpenAPIs.",
            {"filter": {"type": "string"}},
            (),
            True,
            _fixed("alibabacloud:list-products", "openapiexplorer:ListProducts", False),
        ),
        Tool(
            PREFIX + "GetTask",
            "Get the state of a task started by RunScript or RunIaC.",
            {"processID": {"type": "string"}, "waitTimeoutSeconds": {"type": "integer"}},
            ("processID",),
            True,
            _fixed("alibabacloud:get-task", "openapiexplorer:GetTask", False),
        ),
        Tool(
            PREFIX + "RunScript",
            "Run a script of CLI commands as the signed-in identity (asynchronous).",
            {"script": {"type": "string"}},
            ("script",),
            False,
            _fixed("alibabacloud:run-script", "openapiexplorer:RunScript", True),
        ),
        Tool(
            PREFIX + "RunIaC",
            "Plan, apply or destroy Terraform code as the signed-in identity.",
            {"action": {"type": "string", "enum": ["plan", "apply", "destroy"]}, "code": {"type": "string"}},
            ("code",),
            False,
            _fixed("alibabacloud:run-iac", "openapiexplorer:RunIaC", True),
        ),
    )
}


def denial(token: McpToken, tool: Tool, call: Call) -> str:
    """Why the token's bound policies refuse this call, or "" when they allow it."""
    if token.allowed_tools is not None and tool.name not in token.allowed_tools:
        return f"Denied by the tool policy bound to this token: {tool.name} is not in allowedTools."
    if token.safe_policy is not None:
        allowed, rule = token.safe_policy.decide(call.subject)
        if not allowed:
            return f"Denied by the safety policy bound to this token: '{call.subject}' matches the rule '{rule}'."
    hit = token.boundary.denies(call.ram_action)
    if hit:
        return f"Denied by the boundary policy of this token: {call.ram_action} is denied ({hit})."
    return ""


def _caller(identity: Identity) -> dict[str, str]:
    return {"AccountId": identity.account_id, "Arn": identity.arn, "IdentityType": identity.identity_type}


def run(tool: Tool, call: Call, arguments: dict[str, Any], identity: Identity) -> dict[str, Any]:
    """The tool's answer document (a plain JSON object) as ``identity``."""
    answer: dict[str, Any] = {"RequestId": new_request_id(), "Caller": _caller(identity)}
    if tool.name == PREFIX + "CallCLI":
        answer.update({"Product": call.product, "Api": call.api})
        if (call.product, call.api) == ("sts", "GetCallerIdentity"):
            answer.update({"AccountId": identity.account_id, "Arn": identity.arn})
        elif (call.product, call.api) == ("ecs", "DescribeRegions"):
            answer["Regions"] = {"Region": [{"RegionId": r} for r in ("cn-hangzhou", "cn-shanghai", "ap-southeast-1")]}
        elif call.writes:
            answer["Accepted"] = True
        else:
            answer.update({"TotalCount": 0, "Items": []})
    elif tool.name == PREFIX + "ListProducts":
        products = ["Ecs", "Vpc", "Rds", "Oss", "Sts"]
        wanted = str(arguments.get("filter", "")).lower()
        answer["Products"] = [p for p in products if wanted in p.lower()]
    elif tool.name == PREFIX + "GetTask":
        answer.update({"processID": arguments.get("processID"), "status": "Succeeded", "nextAction": "None"})
    else:
        answer.update({"processID": secrets.token_hex(8), "status": "Received", "nextAction": "CallGetTask"})
    return answer


def text_result(document: dict[str, Any] | str, is_error: bool = False) -> dict[str, Any]:
    text = document if isinstance(document, str) else json.dumps(document)
    return {"content": [{"type": "text", "text": text}], "isError": is_error}


__all__ = ["PREFIX", "TOOLS", "Call", "Tool", "ToolInputError", "denial", "run", "text_result"]
