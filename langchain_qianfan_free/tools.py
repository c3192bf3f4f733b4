"""Tools as ChatQianfan binds them: one format, and ``tool_choice`` normalised.

Every LangChain tool form (``BaseTool``, function, pydantic model, TypedDict, JSON
schema dict, OpenAI tool dict) becomes an OpenAI-format function through
langchain-core's ``convert_to_openai_tool``. ``tool_choice`` accepts what LangChain
users pass (``"auto"``, ``"none"``, ``"any"``/``"required"``, ``True`` with one tool,
a tool name, or an OpenAI-style dict) and becomes one :data:`ToolChoice` that each
calling mode (native v2, native v1, prompt) can express.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_qianfan_free.errors import QianfanInvalidRequestError

__all__ = ["ToolChoice", "format_tools", "normalize_tool_choice"]

ToolChoice = str
"""``"auto"``, ``"none"``, ``"required"``, or the name of the one tool that must be called."""

_KEYWORDS = {"auto": "auto", "none": "none", "any": "required", "required": "required"}


def format_tools(tools: Sequence[Any]) -> list[dict[str, Any]]:
    """OpenAI-format functions (``{"name", "description", "parameters"}``) for ``tools``.

    Raises:
        QianfanInvalidRequestError: For two tools with the same name.
    """
    functions = [convert_to_openai_tool(tool)["function"] for tool in tools]
    names = [function["name"] for function in functions]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise QianfanInvalidRequestError(
            f"Two tools are named {', '.join(duplicates)}; tool names must be unique."
        )
    return functions


def normalize_tool_choice(choice: Any, tool_names: Sequence[str]) -> ToolChoice | None:
    """One normalised ``tool_choice``.

    Args:
        choice: What the user passed to ``bind_tools``.
        tool_names: Names of the bound tools.

    Returns:
        ``None`` (the mode's default, which is ``auto``), ``"auto"``, ``"none"``,
        ``"required"`` or a tool name.

    Raises:
        QianfanInvalidRequestError: For a name that is not bound, ``True`` with several
            tools, or a value of another shape, naming what is accepted.
    """
    if choice is None or choice is False:
        return None
    if choice is True:
        if len(tool_names) != 1:
            raise QianfanInvalidRequestError(
                f"tool_choice=True needs exactly one bound tool (got {len(tool_names)}); "
                "pass the tool's name or 'any' instead."
            )
        return tool_names[0]
    if isinstance(choice, Mapping):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else choice.get("name")
        if choice.get("type") in ("any", "required"):
            return "required"
        choice = name if name else choice.get("type")
    if isinstance(choice, str):
        if choice in _KEYWORDS:
            return _KEYWORDS[choice]
        if choice in tool_names:
            return choice
        raise QianfanInvalidRequestError(
            f"tool_choice={choice!r} names no bound tool; use 'auto', 'none', 'any', "
            f"'required', True, or one of {', '.join(map(repr, tool_names)) or '(no tools)'}."
        )
    raise QianfanInvalidRequestError(
        f"tool_choice={choice!r} is not understood; use 'auto', 'none', 'any', 'required', "
        "True, a tool name, or {'type': 'function', 'function': {'name': ...}}."
    )
