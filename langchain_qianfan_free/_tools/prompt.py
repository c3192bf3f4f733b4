"""Prompt-mode tool calling: tools described in the prompt, calls parsed from the reply.

The free ERNIE models have no native function calling, so in prompt mode the request
carries an instruction (Chinese and English) that lists the tools and asks for calls in
one strict format::

    <tool_call>
    {"name": "get_weather", "arguments": {"city": "北京"}}
    </tool_call>

Small models follow it loosely. :func:`find_tool_calls` therefore also finds calls in
code fences or bare JSON, repairs full-width punctuation, trailing commas and truncation
(:mod:`~langchain_qianfan_free._tools.lenient_json`), accepts several calls and
arguments given as a JSON string, and checks every call against the tool's schema
(:mod:`~langchain_qianfan_free._tools.args`). It never invents a call: when no valid
call can be made, the reply is an ordinary answer (and what looked like broken calls is
reported as ``invalid_tool_calls``).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import InvalidToolCall, ToolCall
from langchain_core.messages.tool import invalid_tool_call, tool_call
from typing_extensions import TypeIs

from langchain_qianfan_free._tools import CALL_CLOSE, CALL_OPEN
from langchain_qianfan_free._tools.args import ArgumentError, coerce_arguments
from langchain_qianfan_free._tools.lenient_json import (
    FENCED,
    fold_full_width,
    load,
    load_all,
    segments,
)

__all__ = [
    "RESPONSE_CLOSE",
    "RESPONSE_OPEN",
    "ParsedReply",
    "ToolResult",
    "find_tool_calls",
    "is_tool_call",
    "looks_like_call",
    "new_call_id",
    "render_calls",
    "render_instruction",
    "render_results",
]

RESPONSE_OPEN = "<tool_response>"
RESPONSE_CLOSE = "</tool_response>"

_TAGGED = re.compile(
    r"[<＜]\s*tool[_\- ]?call\s*[>＞](.*?)"
    r"(?:([<＜]\s*/\s*tool[_\- ]?call\s*[>＞])|(?=[<＜]\s*tool[_\- ]?call\s*[>＞])|\Z)",
    re.IGNORECASE | re.DOTALL,
)
_NAME_KEYS = ("name", "tool", "tool_name", "function_name")
_ARG_KEYS = ("arguments", "args", "parameters", "input", "params")


@dataclass(frozen=True)
class ParsedReply:
    """What a prompt-mode reply says.

    Attributes:
        text: The prose to show (the reply without its tool-call blocks, or the whole
            reply when it holds no valid call).
        tool_calls: Valid calls, with fresh ids.
        invalid_tool_calls: Attempts that could not be made valid, with the reason.
    """

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    invalid_tool_calls: list[InvalidToolCall] = field(default_factory=list)


def render_instruction(
    tools: Sequence[Mapping[str, Any]],
    *,
    required: bool | str = False,
    parallel: bool = True,
) -> str:
    """The instruction that teaches a model without function calling to call tools.

    Args:
        tools: OpenAI-format functions (``{"name", "description", "parameters"}``), as
            ``convert_to_openai_tool(t)["function"]`` gives them.
        required: ``True`` to demand at least one call; a tool name to demand that one.
        parallel: Whether several calls in one reply are allowed.

    Returns:
        Text to add to the system prompt.
    """
    listing = "\n".join(
        json.dumps(
            {
                "name": t["name"],
                "description": t.get("description", ""),
                "parameters": t.get("parameters", {}),
            },
            ensure_ascii=False,
        )
        for t in tools
    )
    if isinstance(required, str):
        rule = (
            f"本次回复必须调用工具 {required}，不要直接回答。"
            f" You must call the tool {required} now; do not answer directly."
        )
    elif required:
        rule = (
            "本次回复必须调用至少一个工具，不要直接回答。"
            " You must call at least one tool now; do not answer directly."
        )
    else:
        rule = (
            "只有在需要时才调用工具；不需要时直接用自然语言回答。"
            " Call a tool only when it is needed; otherwise answer normally."
        )
    many = (
        "可以连续输出多个 <tool_call> 块。 You may output several <tool_call> blocks."
        if parallel
        else "一次只调用一个工具。 Call one tool at a time."
    )
    return (
        "你可以使用以下工具（每行一个 JSON）。 You can use these tools (one JSON per line):\n"
        f"{listing}\n\n"
        "调用工具时，只输出下面的格式，arguments 必须是符合 parameters 的 JSON 对象，"
        "不要输出其他内容。 To call a tool, reply with exactly this format and nothing else; "
        "arguments must be a JSON object matching the tool's parameters:\n"
        f'{CALL_OPEN}\n{{"name": "<tool name>", "arguments": {{...}}}}\n{CALL_CLOSE}\n'
        f"{many}\n{rule}\n"
        f"工具的结果会以 {RESPONSE_OPEN} 块的形式在用户消息中返回给你；收到结果后，"
        "根据结果回答用户，或在需要时继续调用工具。 Tool results come back to you in a user "
        f"message as {RESPONSE_OPEN} blocks; then answer the user from them, or call "
        "another tool if you still need one."
    )


@dataclass(frozen=True)
class ToolResult:
    """One tool result as prompt mode shows it to the model.

    Attributes:
        name: The tool's name (``None`` when no call or message names it).
        call_id: The ``tool_call_id`` it answers.
        content: The tool's output as text.
        status: ``"success"`` or ``"error"``.
    """

    name: str | None
    call_id: str | None
    content: str
    status: str = "success"


def render_calls(calls: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """An assistant's tool calls in the format the instruction asks for.

    Args:
        calls: ``(name, arguments)`` pairs.
    """
    return "\n".join(
        f"{CALL_OPEN}\n"
        + json.dumps({"name": name, "arguments": dict(args)}, ensure_ascii=False)
        + f"\n{CALL_CLOSE}"
        for name, args in calls
    )


def render_results(results: Sequence[ToolResult]) -> str:
    """Tool results as one user message: a ``<tool_response>`` block per result."""
    blocks = []
    for result in results:
        try:
            content: Any = json.loads(result.content)
        except ValueError:
            content = result.content
        shown = {
            "name": result.name,
            "tool_call_id": result.call_id,
            "status": result.status,
            "content": content,
        }
        blocks.append(f"{RESPONSE_OPEN}\n{json.dumps(shown, ensure_ascii=False)}\n{RESPONSE_CLOSE}")
    return "\n".join(blocks)


def find_tool_calls(
    text: str, tools: Mapping[str, Mapping[str, Any]], *, complete: bool = True
) -> ParsedReply:
    """Find the tool calls in a prompt-mode reply.

    Args:
        text: The model's reply.
        tools: Tool name → its ``parameters`` JSON schema.
        complete: ``False`` when the reply was cut (output limit or a stop sequence):
            then JSON is never completed by guessing, so a cut call is invalid
            rather than a call with a cut-off value.

    Returns:
        Valid calls and the remaining prose; or, when no valid call can be made, the
        whole reply as text (with any broken attempts in ``invalid_tool_calls``).
    """
    names = tuple(tools)
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    spans: list[tuple[int, int]] = []
    tagged = bool(_TAGGED.search(text))  # a tag declares a call, even a broken one
    for start, end, raw in _candidates(text, names):
        found = False
        for value in load_all(raw, partial=complete):
            for obj in _call_objects(value):
                found = True
                made = _make_call(obj, tools, complete=complete)
                if is_tool_call(made):
                    calls.append(made)
                else:
                    invalid.append(made)
        if found:
            spans.append((start, end))
        elif tagged or looks_like_call(raw, names):
            reason = "the tool call is not valid JSON"
            if not complete:
                reason = "the reply was cut off inside the tool call"
            invalid.append(
                invalid_tool_call(name=None, args=raw.strip(), id=new_call_id(), error=reason)
            )
            spans.append((start, end))
    if not calls:
        return ParsedReply(text.strip(), [], invalid)
    prose = text
    for start, end in reversed(spans):
        prose = prose[:start] + prose[end:]
    return ParsedReply(prose.strip(), calls, invalid)


def _candidates(text: str, names: Sequence[str]) -> Iterator[tuple[int, int, str]]:
    """Spans that may hold calls: tagged blocks, else fences, else bare JSON."""
    tagged = list(_TAGGED.finditer(text))
    if tagged:
        for match in tagged:
            inner, end = match.group(1), match.end()
            if match.group(2) is None:  # no close tag: the block ends with its JSON
                found = list(segments(inner))
                if found and found[-1][1] < len(inner.rstrip()):
                    inner = inner[: found[-1][1]]
                    end = match.start(1) + len(inner)
            yield match.start(), end, _unfence(inner)
        return
    fenced = list(FENCED.finditer(text))
    if fenced:
        for match in fenced:
            yield match.start(), match.end(), match.group(1)
        return
    for start, end in segments(text):
        segment = text[start:end]
        if looks_like_call(segment, names):
            yield start, end, segment


def _unfence(raw: str) -> str:
    match = FENCED.search(raw)
    return match.group(1) if match else raw


_NAME_VALUE = re.compile(r'"(?:name|tool|tool_name|function_name)"\s*:\s*"([^"]*)"')
_ARG_KEY = re.compile(r'"(?:arguments|args|parameters|input|params)"\s*:')


def looks_like_call(raw: str, names: Sequence[str] = ()) -> bool:
    """Whether ``raw`` is written the way a call is.

    That is: a name key together with an arguments key, or a name key whose value
    is one of ``names``. (``{"name": "张三", "age": 3}`` is data, not a call.)
    """
    folded = fold_full_width(raw)
    named = _NAME_VALUE.findall(folded)
    if not named and not any(f'"{key}"' in folded for key in _NAME_KEYS):
        return False
    if _ARG_KEY.search(folded) or '"tool_calls"' in folded:
        return True
    wanted = {name.casefold() for name in names}
    return any(value.strip().casefold() in wanted for value in named)


def _call_objects(data: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _call_objects(item)
    elif isinstance(data, Mapping):
        if isinstance(data.get("tool_calls"), list):
            yield from _call_objects(data["tool_calls"])
        elif isinstance(data.get("function"), Mapping):
            yield data["function"]
        elif any(key in data for key in _NAME_KEYS):
            yield data


def _make_call(
    obj: Mapping[str, Any], tools: Mapping[str, Mapping[str, Any]], *, complete: bool = True
) -> ToolCall | InvalidToolCall:
    raw_name = next((obj[k] for k in _NAME_KEYS if isinstance(obj.get(k), str)), None)
    raw_args: Any = next((obj[k] for k in _ARG_KEYS if k in obj), {})
    shown_args = raw_args if isinstance(raw_args, str) else json.dumps(raw_args, ensure_ascii=False)
    name = _resolve_name(raw_name, tools)
    if name is None:
        return invalid_tool_call(
            name=raw_name,
            args=shown_args,
            id=new_call_id(),
            error=f"there is no tool named {raw_name!r}",
        )
    if isinstance(raw_args, str):
        loaded = load(raw_args, partial=complete) if raw_args.strip() else {}
        raw_args = loaded if loaded is not None else raw_args
    try:
        args = coerce_arguments(raw_args, tools[name])
    except ArgumentError as error:
        return invalid_tool_call(name=name, args=shown_args, id=new_call_id(), error=str(error))
    return tool_call(name=name, args=args, id=new_call_id())


def _resolve_name(name: str | None, tools: Mapping[str, Any]) -> str | None:
    if not name:
        return None
    name = name.strip()
    if name in tools:
        return name
    folded = [tool for tool in tools if tool.casefold() == name.casefold()]
    return folded[0] if len(folded) == 1 else None


def is_tool_call(made: ToolCall | InvalidToolCall) -> TypeIs[ToolCall]:
    """Whether a call made from a reply is valid (else it is an ``InvalidToolCall``)."""
    return made.get("type") == "tool_call"


def new_call_id() -> str:
    """A fresh tool-call id (``call_`` + 24 hex digits)."""
    return f"call_{uuid.uuid4().hex[:24]}"
