"""Checks for the tool-calling and JSON-output fields of both protocols (pure functions).

v1 (reference §2.1, §2.3): ``functions`` items need ``name``, ``description`` and
``parameters`` (``responses``/``examples`` optional); ``tool_choice`` is only the object
``{"type": "function", "function": {"name": X}}`` with ``X`` among the functions;
``response_format`` is the string ``text`` or ``json_object``; an assistant
``function_call`` is ``{name, arguments}``. v2 (§7.2): ``tools`` items are
``{"type": "function", "function": {name, description?, parameters}}``; ``tool_choice``
is ``none``/``auto``/``required`` or the object form; ``parallel_tool_calls`` a boolean;
``response_format`` an object whose ``type`` is ``text``, ``json_object`` or
``json_schema`` (then ``json_schema.schema`` is an object); assistant ``tool_calls``
items are ``{id, type?, function: {name, arguments}}``.

Field errors raise :class:`~langchain_qianfan_free.emulator._errors.EmulatedError`
with v1 code 336003 (v2 ``400 invalid_argument``); message-shape errors are returned
as texts for the caller to wrap in its protocol's message error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from langchain_qianfan_free.emulator._errors import EmulatedError, qianfan_error
from langchain_qianfan_free.emulator._model.tooltypes import (
    AUTO,
    ResponseFormat,
    ToolChoice,
    ToolSpec,
)

__all__ = [
    "ToolFields",
    "v1_function_call_error",
    "v1_functions",
    "v1_response_format",
    "v1_tool_choice",
    "v1_tool_fields",
    "v2_parallel_tool_calls",
    "v2_response_format",
    "v2_tool_call_ids",
    "v2_tool_choice",
    "v2_tool_fields",
    "v2_tool_message_name",
    "v2_tools",
]

_CHOICE_SHAPE = '{"type": "function", "function": {"name": ...}}'


@dataclass(frozen=True)
class ToolFields:
    """The checked tool and JSON-output fields of one request.

    Attributes:
        tools: Native tools as sent.
        choice: ``tool_choice``.
        parallel: Several calls per answer allowed (always ``False`` on v1).
        response_format: A JSON-output request, or ``None``.
    """

    tools: tuple[ToolSpec, ...] = ()
    choice: ToolChoice = AUTO
    parallel: bool = True
    response_format: ResponseFormat | None = None


def _invalid(message: str) -> EmulatedError:
    """The 336003 error to raise for a bad field."""
    return qianfan_error(336003, message)


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _spec(where: str, item: Any, *, need_description: bool) -> ToolSpec:
    if not isinstance(item, dict):
        raise _invalid(f"{where} must be an object")
    name = _name(item.get("name"))
    if name is None:
        raise _invalid(f"{where}.name must be a non-empty string")
    description = item.get("description", None if need_description else "")
    if not isinstance(description, str):
        raise _invalid(f"{where}.description must be a string (what the function does)")
    parameters = item.get("parameters")
    if not isinstance(parameters, dict):
        raise _invalid(f"{where}.parameters must be a JSON Schema object")
    return ToolSpec(name, description, parameters)


def _unique(specs: list[ToolSpec], field: str) -> tuple[ToolSpec, ...]:
    names = [spec.name for spec in specs]
    for name in names:
        if names.count(name) > 1:
            raise _invalid(f"{field} has two functions named {name!r}")
    return tuple(specs)


def v1_functions(data: dict[str, Any]) -> tuple[ToolSpec, ...]:
    """The v1 ``functions`` (empty when absent or ``[]``)."""
    raw = data.get("functions", [])
    if not isinstance(raw, list):
        raise _invalid("functions must be a list of function objects")
    specs = []
    for index, item in enumerate(raw):
        where = f"functions[{index}]"
        spec = _spec(where, item, need_description=True)
        if "responses" in item and not isinstance(item["responses"], dict):
            raise _invalid(f"{where}.responses must be a JSON Schema object")
        if "examples" in item and not isinstance(item["examples"], list):
            raise _invalid(f"{where}.examples must be a list of message lists")
        specs.append(spec)
    return _unique(specs, "functions")


def _named_choice(value: dict[str, Any], tools: tuple[ToolSpec, ...], listed: str) -> ToolChoice:
    function = value.get("function")
    name = _name(function.get("name")) if isinstance(function, dict) else None
    if value.get("type") != "function" or name is None:
        raise _invalid(f"tool_choice must be {_CHOICE_SHAPE}, got {json.dumps(value)}")
    if name not in {tool.name for tool in tools}:
        raise _invalid(f"tool_choice names {name!r}, which is not among the {listed} sent")
    return ToolChoice("named", name)


def v1_tool_choice(data: dict[str, Any], tools: tuple[ToolSpec, ...]) -> ToolChoice:
    """The v1 ``tool_choice``: absent (auto) or the object naming one of ``functions``."""
    if "tool_choice" not in data:
        return AUTO
    value = data["tool_choice"]
    if not isinstance(value, dict):
        raise _invalid(f"tool_choice must be {_CHOICE_SHAPE}, got {json.dumps(value)}")
    return _named_choice(value, tools, "functions")


def v1_response_format(data: dict[str, Any]) -> ResponseFormat | None:
    """The v1 ``response_format`` string: ``text`` (→ ``None``) or ``json_object``."""
    value = data.get("response_format", "text")
    if value == "text":
        return None
    if value == "json_object":
        return ResponseFormat("json_object")
    raise _invalid(f'response_format must be "text" or "json_object", got {json.dumps(value)}')


def v1_function_call_error(message: dict[str, Any]) -> str | None:
    """What is wrong with an assistant message's ``function_call``, or ``None``."""
    call = message["function_call"]
    if not isinstance(call, dict) or _name(call.get("name")) is None:
        return "function_call must be an object with a non-empty string name"
    if not isinstance(call.get("arguments", ""), str):
        return "function_call.arguments must be a JSON string"
    return None


def v2_tools(data: dict[str, Any]) -> tuple[ToolSpec, ...]:
    """The v2 ``tools`` (empty when absent or ``[]``)."""
    raw = data.get("tools", [])
    if not isinstance(raw, list):
        raise _invalid("tools must be a list of tool objects")
    specs = []
    for index, item in enumerate(raw):
        where = f"tools[{index}]"
        if not isinstance(item, dict) or item.get("type") != "function":
            raise _invalid(f'{where} must be {{"type": "function", "function": {{...}}}}')
        spec = _spec(f"{where}.function", item.get("function"), need_description=False)
        specs.append(spec)
    return _unique(specs, "tools")


def v2_tool_choice(data: dict[str, Any], tools: tuple[ToolSpec, ...]) -> ToolChoice:
    """The v2 ``tool_choice``: a keyword or the object naming one of ``tools``."""
    if "tool_choice" not in data:
        return AUTO
    value = data["tool_choice"]
    if value in ("none", "auto"):
        return ToolChoice(value)
    if value == "required":
        if not tools:
            raise _invalid('tool_choice "required" needs tools')
        return ToolChoice("required")
    if isinstance(value, dict):
        return _named_choice(value, tools, "tools")
    keywords = '"none", "auto", "required"'
    raise _invalid(f"tool_choice must be {keywords} or {_CHOICE_SHAPE}, got {json.dumps(value)}")


def v2_parallel_tool_calls(data: dict[str, Any]) -> bool:
    """``parallel_tool_calls`` (default ``True``)."""
    value = data.get("parallel_tool_calls", True)
    if not isinstance(value, bool):
        raise _invalid(f"parallel_tool_calls must be a boolean, got {json.dumps(value)}")
    return value


def v2_response_format(data: dict[str, Any]) -> ResponseFormat | None:
    """The v2 ``response_format`` object (``text`` → ``None``)."""
    if "response_format" not in data:
        return None
    value = data["response_format"]
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return ResponseFormat("json_object")
    if kind == "json_schema":
        spec = value.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise _invalid("response_format.json_schema.schema must be a JSON Schema object")
        if not isinstance(spec.get("name", ""), str):
            raise _invalid("response_format.json_schema.name must be a string")
        return ResponseFormat("json_schema", schema)
    raise _invalid(
        'response_format must be {"type": "text" | "json_object" | "json_schema", ...}, '
        f"got {json.dumps(value)}"
    )


def v2_tool_call_ids(message: dict[str, Any]) -> dict[str, str] | str:
    """An assistant message's ``tool_calls`` as id → name, or what is wrong with them."""
    raw = message.get("tool_calls")
    if raw is None:
        return {}
    if not isinstance(raw, list):
        return "tool_calls must be a list"
    calls: dict[str, str] = {}
    for index, item in enumerate(raw):
        where = f"tool_calls[{index}]"
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict):
            return f"{where} must be {{id, type: function, function: {{name, arguments}}}}"
        call_id = _name(item.get("id"))
        if call_id is None:
            return f"{where}.id must be a non-empty string"
        if item.get("type", "function") != "function":
            return f'{where}.type must be "function"'
        name = _name(function.get("name"))
        if name is None:
            return f"{where}.function.name must be a non-empty string"
        if not isinstance(function.get("arguments", ""), str):
            return f"{where}.function.arguments must be a JSON string"
        calls[call_id] = name
    return calls


def v2_tool_message_name(message: dict[str, Any], calls: dict[str, str]) -> str | None:
    """The function a tool message answers, or ``None`` when its ``tool_call_id`` is bad.

    Args:
        message: The ``tool`` message.
        calls: The preceding assistant message's tool call ids → names.
    """
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or call_id not in calls:
        return None
    name = message.get("name")
    return name if isinstance(name, str) and name else calls[call_id]


def v1_tool_fields(data: dict[str, Any]) -> ToolFields:
    """``functions``, ``tool_choice`` and ``response_format`` of a v1 body, checked.

    Raises:
        EmulatedError: 336003 naming the first bad field.
    """
    tools = v1_functions(data)
    return ToolFields(tools, v1_tool_choice(data, tools), False, v1_response_format(data))


def v2_tool_fields(data: dict[str, Any]) -> ToolFields:
    """``tools``, ``tool_choice``, ``parallel_tool_calls`` and ``response_format``, checked.

    Raises:
        EmulatedError: 336003 naming the first bad field.
    """
    tools = v2_tools(data)
    choice = v2_tool_choice(data, tools)
    return ToolFields(tools, choice, v2_parallel_tool_calls(data), v2_response_format(data))
