"""Tools as ChatQianfan binds them: one format, and ``tool_choice`` normalised.

Every LangChain tool form (``BaseTool``, function, pydantic model, TypedDict, JSON
schema dict, OpenAI tool dict) becomes an OpenAI-format function through
langchain-core's ``convert_to_openai_tool``. ``tool_choice`` accepts what LangChain
users pass (``"auto"``, ``"none"``, ``"any"``/``"required"``, ``True`` with one tool,
a tool name, or an OpenAI-style dict) and becomes one
:data:`~langchain_qianfan_free._tools.ToolChoice` that each calling mode (native v2,
native v1, prompt) can express.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_qianfan_free._catalogue import ModelSpec
from langchain_qianfan_free._tools import ToolCallingMode, ToolChoice, ToolSetup
from langchain_qianfan_free.errors import QianfanInvalidRequestError

if TYPE_CHECKING:
    from langchain_qianfan_free._protocols import ApiVersion

__all__ = ["format_tools", "normalize_tool_choice", "tool_setup"]

_KEYWORDS = {"auto": "auto", "none": "none", "any": "required", "required": "required"}


def format_tools(tools: Sequence[Any], strict: bool | None = None) -> list[dict[str, Any]]:
    """OpenAI-format functions (``{"name", "description", "parameters"}``) for ``tools``.

    The same tool given twice (say, a pydantic model and its JSON schema, which
    differ only in ``title`` keys) is kept once. ``strict`` is set on each function
    as langchain-core's ``convert_to_openai_tool`` does.

    Raises:
        QianfanInvalidRequestError: For two different tools with the same name.
    """
    functions: dict[str, dict[str, Any]] = {}
    for tool in tools:
        if isinstance(tool, dict) and tool.get("type") == "function":
            # Already converted (what bind_tools binds): convert_to_openai_tool would
            # return it unchanged, so each call skips that work.
            function = tool["function"]
        else:
            function = convert_to_openai_tool(tool, strict=strict)["function"]
        seen = functions.setdefault(function["name"], function)
        if seen is not function and _untitled(seen) != _untitled(function):
            raise QianfanInvalidRequestError(
                f"Two different tools are named {function['name']}; tool names must be "
                "unique. Rename one of them."
            )
    return list(functions.values())


def _untitled(value: Any) -> Any:
    """A schema without ``title`` keys (they do not change what a tool accepts)."""
    if isinstance(value, Mapping):
        return {k: _untitled(v) for k, v in value.items() if k != "title"}
    if isinstance(value, list):
        return [_untitled(v) for v in value]
    return value


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
    given = choice
    if isinstance(choice, Mapping):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else choice.get("name")
        if choice.get("type") in ("any", "required"):
            return "required"
        choice = name if name else choice.get("type")
        if not isinstance(choice, str):
            choice = given
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


def tool_setup(
    tools: Sequence[Any] | None,
    tool_choice: Any,
    parallel_tool_calls: Any,
    mode: ToolCallingMode,
    spec: ModelSpec | None,
    version: ApiVersion,
) -> ToolSetup | None:
    """The tool setup of a request, checked; ``None`` when no tools are bound.

    Args:
        tools: Tools in any LangChain form (``bind_tools`` passes OpenAI tools).
        tool_choice: As ``bind_tools`` accepts it.
        parallel_tool_calls: ``True``/``False``/``None``.
        mode: ``auto`` (native for models the catalogue marks as function-calling,
            prompt mode otherwise), ``native`` or ``prompt``.
        spec: The model's catalogue entry, if known.
        version: ``"v1"`` or ``"v2"``.

    Raises:
        QianfanInvalidRequestError: For bad tools, ``tool_choice`` or
            ``parallel_tool_calls``, or ``tool_choice`` without tools.
    """
    if not tools:
        if tool_choice not in (None, False, "auto", "none") or parallel_tool_calls is not None:
            setting = "tool_choice" if parallel_tool_calls is None else "parallel_tool_calls"
            raise QianfanInvalidRequestError(
                f"{setting} was given but no tools are bound; pass the tools with "
                f"bind_tools(tools, {setting}=...)."
            )
        return None
    if parallel_tool_calls is not None and not isinstance(parallel_tool_calls, bool):
        raise QianfanInvalidRequestError(
            f"parallel_tool_calls={parallel_tool_calls!r} must be True, False or None."
        )
    functions = format_tools(tools)
    choice = normalize_tool_choice(tool_choice, [f["name"] for f in functions])
    native = mode == "native" or (mode == "auto" and spec is not None and spec.tool_calling)
    if native and version == "v1" and choice == "none":
        native = False  # v1 cannot say "none": send no functions, show history as text
    return ToolSetup(tuple(functions), choice, parallel_tool_calls, native)
