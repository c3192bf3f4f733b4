"""The prompt-mode tool contract: tools described in the system text, calls as text (pure).

Models without native function calling get tools through the prompt. The contract:

* **Tools**: every line of the system text that is a JSON object with a string
  ``"name"`` and an object ``"parameters"`` (and usually ``"description"``) is a tool.
* **Forcing**: a line containing ``You must call the tool <NAME> now`` forces that tool
  (an unknown name forces some tool); ``You must call at least one tool now`` forces
  some tool. Otherwise the choice is ``auto``.
* **Calls** are answered as text, one block per call joined by newlines, each
  ``<tool_call>``, newline, ``{"name": ..., "arguments": {...}}``, newline, ``</tool_call>``.
* **Results** come back in a user message as blocks ``<tool_response>``, newline,
  ``{"name", "tool_call_id", "status", "content"}``, newline, ``</tool_response>``.
* **JSON output**: a line containing ``It must match this JSON Schema: {...}`` asks for a
  JSON object filled from that schema; a line containing ``Reply with one JSON object
  only`` (without a schema) asks for ``{"answer": ...}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_qianfan_free.emulator._model.tooltypes import AUTO, ToolChoice, ToolResult, ToolSpec

__all__ = [
    "FORCE_ANY",
    "FORCE_TOOL",
    "JSON_ONLY",
    "JSON_SCHEMA",
    "PromptSetup",
    "read_system",
    "render_calls",
    "strip_tool_responses",
    "tool_results",
]

#: ``FORCE_TOOL.format(name=...)`` is the line that forces one tool.
FORCE_TOOL = "You must call the tool {name} now"
#: The line that forces some tool.
FORCE_ANY = "You must call at least one tool now"
#: Followed by a compact JSON schema to the end of the line.
JSON_SCHEMA = "It must match this JSON Schema:"
#: Asks for a JSON object without a schema.
JSON_ONLY = "Reply with one JSON object only"

_FORCED = re.compile(r"You must call the tool\s+(.+?)\s+now")
_RESPONSE = re.compile(r"<tool_response>\s*(.*?)\s*</tool_response>", re.DOTALL)
_QUOTES = "`'\"“”‘’「」"


@dataclass(frozen=True)
class PromptSetup:
    """What the system text asks for.

    Attributes:
        tools: Tools listed one JSON object per line.
        choice: ``auto``, ``required`` or ``named`` (from the forcing lines).
        json_output: A JSON answer is asked for.
        json_schema: The schema of that answer, if one was given.
    """

    tools: tuple[ToolSpec, ...] = ()
    choice: ToolChoice = AUTO
    json_output: bool = False
    json_schema: dict[str, Any] | None = field(default=None, hash=False)


def _tool(line: str) -> ToolSpec | None:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    name, parameters = data.get("name"), data.get("parameters")
    if not isinstance(name, str) or not name or not isinstance(parameters, dict):
        return None
    description = data.get("description")
    return ToolSpec(name, description if isinstance(description, str) else "", parameters)


def _schema(line: str) -> dict[str, Any] | None:
    rest = line[line.index(JSON_SCHEMA) + len(JSON_SCHEMA) :].strip()
    try:
        value, _ = json.JSONDecoder().raw_decode(rest)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def read_system(system: str) -> PromptSetup:
    """Read the prompt-mode tools, forcing and JSON-output request from the system text."""
    tools: list[ToolSpec] = []
    choice = AUTO
    json_output, schema = False, None
    for line in system.splitlines():
        tool = _tool(line)
        if tool is not None:
            tools.append(tool)
            continue
        forced = _FORCED.search(line)
        if forced:
            choice = ToolChoice("named", forced.group(1).strip(_QUOTES))
        elif FORCE_ANY in line and choice.mode != "named":
            choice = ToolChoice("required")
        if JSON_SCHEMA in line:
            json_output, schema = True, _schema(line) or schema
        elif JSON_ONLY in line:
            json_output = True
    if choice.mode == "named" and choice.name not in {tool.name for tool in tools}:
        choice = ToolChoice("required")
    return PromptSetup(tuple(tools), choice, json_output, schema)


def _result(block: str) -> ToolResult:
    try:
        data = json.loads(block)
    except ValueError:
        return ToolResult("tool", block)
    if not isinstance(data, dict):
        return ToolResult("tool", block)
    name = data.get("name")
    content = data.get("content")
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return ToolResult(
        name if isinstance(name, str) and name else "tool", text, data.get("status") == "error"
    )


def tool_results(text: str) -> tuple[ToolResult, ...]:
    """The ``<tool_response>`` blocks of a user message, in order."""
    return tuple(_result(match.group(1)) for match in _RESPONSE.finditer(text))


def strip_tool_responses(text: str) -> str:
    """A user message without its ``<tool_response>`` blocks."""
    return _RESPONSE.sub("", text).strip()


def render_calls(calls: Sequence[tuple[str, Any]]) -> str:
    """The reply text of prompt-mode calls: one ``<tool_call>`` block per (name, arguments)."""
    return "\n".join(
        "<tool_call>\n"
        + json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
        + "\n</tool_call>"
        for name, arguments in calls
    )
