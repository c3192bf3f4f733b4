"""The scripted model: decides between a text answer, a JSON answer and tool calls (pure).

Tools come natively (v1 ``functions``, v2 ``tools``; only on models flagged
``tool_calling``, other models ignore them) or through the prompt-mode contract
(:mod:`~langchain_qianfan_free.emulator._model.promptmode`, every model). For a request:

1. native ``tool_choice: "none"`` → no call;
2. the conversation ends with tool results (v1 ``function`` / v2 ``tool`` messages after
   the last user message, or ``<tool_response>`` blocks in the last user message) and
   the choice is not forced → a call of the tools the user's message names that have
   no result yet (so a one-call-per-reply model works through them in turn), else a
   text answer naming each result;
3. otherwise, with tools → calls: the forced tool, else the tools named in the last
   user message (case-insensitive, ``_`` also read as a space, in order of appearance;
   all of them when parallel calls are allowed, else the first), else the first tool.
   Arguments come from :func:`~langchain_qianfan_free.emulator._model.schemafill.fill_schema`.

Without calls, a JSON-output request (v2 ``response_format`` / v1 ``"json_object"`` on
FC-capable models, or the prompt-mode JSON lines on any model) gets a JSON object;
else the answer is the text of step 2 or the default echo. Native calls are answered
natively; prompt-mode calls as ``<tool_call>`` text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_qianfan_free.emulator._model.promptmode import (
    PromptSetup,
    read_system,
    render_calls,
    strip_tool_responses,
    tool_results,
)
from langchain_qianfan_free.emulator._model.replies import (
    REPLY_PREFIX,
    Reply,
    compose_calls,
    compose_reply,
)
from langchain_qianfan_free.emulator._model.schemafill import FALLBACK_TEXT, fill_schema
from langchain_qianfan_free.emulator._model.tooltypes import (
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
)
from langchain_qianfan_free.emulator._validation import ChatMessage, ChatRequest
from langchain_qianfan_free.emulator.scenario import ReplyFault, ToolCallsFault

__all__ = [
    "Turn",
    "decide",
    "default_thoughts",
    "json_answer",
    "pick_tools",
    "respond",
    "result_text",
    "tool_results_of",
    "user_text",
]

_RESULT_CHARS = 80
_ANSWER_CHARS = 60
_RESULT_ROLES = ("tool", "function")


@dataclass(frozen=True)
class Turn:
    """What the model says to one request.

    Attributes:
        text: The reply text; ``None`` for the default echo (ignored when ``calls``).
        calls: Native tool calls (ids not assigned yet).
        thoughts: v1 ``function_call.thoughts`` for ``calls``.
    """

    text: str | None = None
    calls: tuple[ToolCall, ...] = ()
    thoughts: str = ""


def default_thoughts(name: str) -> str:
    """The v1 ``thoughts`` of a call to ``name``."""
    return f"用户的请求需要调用工具 {name} 来完成。"


def user_text(messages: Sequence[ChatMessage]) -> str:
    """The text the model reads arguments from.

    That is the last user message without its ``<tool_response>`` blocks, or the
    latest earlier user text when that is blank ('' when there is none).
    """
    for message in reversed(messages):
        if message.role == "user":
            text = strip_tool_responses(message.content)
            if text:
                return text
    return ""


def tool_results_of(messages: Sequence[ChatMessage]) -> tuple[ToolResult, ...]:
    """The tool results that end the conversation (none when it ends with a question)."""
    last = messages[-1]
    if last.role == "user":
        return tool_results(last.content)
    trailing: list[ChatMessage] = []
    for message in reversed(messages):
        if message.role == "user":
            break
        trailing.insert(0, message)
    return tuple(
        ToolResult(message.name or "tool", message.content)
        for message in trailing
        if message.role in _RESULT_ROLES
    )


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def result_text(model: str, results: Sequence[ToolResult]) -> str:
    """The answer after tool results: one line per result, after the emulator's prefix."""
    lines = [
        f"{result.name}{'（失败）' if result.failed else ''}: "
        f"{_shorten(result.content, _RESULT_CHARS)}"
        for result in results
    ]
    return f"{REPLY_PREFIX}{model} 根据工具结果回答：" + "\n".join(lines)


def _mentioned_at(name: str, text: str) -> int | None:
    """Where ``name`` (or ``name`` with ``_`` as spaces) first appears as a whole word."""
    found = []
    for form in {name, name.replace("_", " ")}:
        pattern = rf"(?<![A-Za-z0-9_]){re.escape(form)}(?![A-Za-z0-9_])"
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            found.append(match.start())
    return min(found) if found else None


def pick_tools(
    tools: Sequence[ToolSpec], choice: ToolChoice, text: str, *, parallel: bool
) -> list[ToolSpec]:
    """The tools to call (step 3 of the module docstring); never empty when ``tools`` is not."""
    if choice.mode == "named":
        return [tool for tool in tools if tool.name == choice.name][:1] or list(tools[:1])
    positions = [(_mentioned_at(tool.name, text), index) for index, tool in enumerate(tools)]
    named = sorted((at, index) for at, index in positions if at is not None)
    picked = [tools[index] for _, index in named] or list(tools[:1])
    return picked if parallel else picked[:1]


def _named_without_result(
    tools: Sequence[ToolSpec], text: str, results: Sequence[ToolResult]
) -> list[ToolSpec]:
    """Tools the user's message names, in order, that have not answered yet."""
    answered = {result.name for result in results}
    named = sorted(
        (at, index)
        for index, tool in enumerate(tools)
        if tool.name not in answered and (at := _mentioned_at(tool.name, text)) is not None
    )
    return [tools[index] for _, index in named]


def _json_schema_request(request: ChatRequest, prompt: PromptSetup) -> tuple[bool, Any]:
    """Whether a JSON answer is asked for, and the schema to fill (``None``: free form)."""
    native = request.response_format if request.limits.tool_calling else None
    if native is not None and native.type == "json_schema":
        return True, native.schema
    if prompt.json_output:
        return True, prompt.json_schema
    return native is not None, None


def json_answer(schema: dict[str, Any] | None, text: str) -> str:
    """A JSON object filled from ``schema``, or ``{"answer": <text>}`` without one."""
    if schema is None:
        echo = " ".join(text.split())[:_ANSWER_CHARS].strip() or FALLBACK_TEXT
        return json.dumps({"answer": echo}, ensure_ascii=False)
    return json.dumps(fill_schema(schema, text), ensure_ascii=False)


def decide(request: ChatRequest) -> Turn:
    """What the scripted model answers to ``request`` (see module docstring)."""
    prompt = read_system(request.system)
    native = request.tools if request.limits.tool_calling else ()
    if native:
        tools, choice, parallel = native, request.tool_choice, request.parallel_tool_calls
    else:
        tools, choice, parallel = prompt.tools, prompt.choice, True
    results = tool_results_of(request.messages)
    text = user_text(request.messages)
    pending = _named_without_result(tools, text, results) if results and tools else []
    if tools and choice.mode != "none" and (choice.forced or not results or pending):
        picked = (
            (pending if parallel else pending[:1])
            if pending and not choice.forced
            else (pick_tools(tools, choice, text, parallel=parallel))
        )
        filled = [(tool.name, fill_schema(tool.parameters, text)) for tool in picked]
        if not native:
            return Turn(render_calls(filled))
        calls = tuple(ToolCall(name, json.dumps(args, ensure_ascii=False)) for name, args in filled)
        return Turn(calls=calls, thoughts=default_thoughts(calls[0].name))
    wants_json, schema = _json_schema_request(request, prompt)
    if wants_json:
        return Turn(json_answer(schema, text))
    if results:
        return Turn(result_text(request.model, results))
    return Turn()


def respond(
    request: ChatRequest,
    scripted: ReplyFault | ToolCallsFault | None,
    *,
    unsafe_input_words: Sequence[str],
    unsafe_output_words: Sequence[str],
    new_call_id: Callable[[], str],
) -> Reply:
    """The composed answer: a scripted reply or calls, else the model's :func:`decide`.

    Args:
        request: The validated request.
        scripted: A queued reply (sent verbatim, even when tools are on) or queued calls.
        unsafe_input_words: Input moderation triggers.
        unsafe_output_words: Output moderation triggers (text answers only).
        new_call_id: Issues ``call_…`` ids.
    """
    if isinstance(scripted, ToolCallsFault):
        thoughts = scripted.thoughts
        if thoughts is None:
            thoughts = default_thoughts(scripted.calls[0].name)
        turn = Turn(calls=scripted.calls, thoughts=thoughts)
    elif scripted is not None:
        turn = Turn()
    else:
        turn = decide(request)
    if turn.calls:
        return compose_calls(
            request,
            turn.calls,
            thoughts=turn.thoughts,
            unsafe_input_words=unsafe_input_words,
            new_call_id=new_call_id,
        )
    return compose_reply(
        request,
        scripted=scripted if isinstance(scripted, ReplyFault) else None,
        unsafe_input_words=unsafe_input_words,
        unsafe_output_words=unsafe_output_words,
        text=turn.text,
    )
