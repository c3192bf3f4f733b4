"""Convert LangChain messages into a conversation ERNIE accepts.

ERNIE is strict about conversations (reference §2.2): no ``system`` role in v1 (the
text goes in a top-level ``system`` field), roles alternate ``user``/``assistant``,
the first and the last message are the user's, so the count is odd, and no content
may be empty. LangChain apps routinely send other shapes (two system prompts, two
human messages in a row, a greeting from the assistant before the user spoke), and
Qianfan answers those with error 336006. This module repairs a conversation wherever
that keeps its meaning and otherwise raises a clear error before any request:

* every ``SystemMessage`` joins the system prompt (in order, separated by a blank line);
* consecutive messages of the same role are merged into one (joined by a blank line);
* assistant messages before the first user message are moved into the system prompt,
  so the model still sees what it said;
* a conversation with no user message, or one that ends with the assistant's turn,
  is rejected (ERNIE only answers a user turn, and no repair keeps the meaning).

Tool turns (an ``AIMessage`` with ``tool_calls``, ``ToolMessage``/``FunctionMessage``
results) are kept with their names resolved from ``tool_call_id``;
:mod:`~langchain_qianfan_free._tools.history` lays them out for the calling mode
(native tool messages, or text for prompt mode) before the repair rules run.

The result is protocol-neutral; ``protocol_v1`` and ``protocol_v2`` put it on the wire.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_qianfan_free._tools import CALL_CLOSE, CALL_OPEN
from langchain_qianfan_free._turns import Conversation, Turn, WireCall
from langchain_qianfan_free.errors import QianfanInvalidRequestError

__all__ = ["Conversation", "Turn", "WireCall", "to_conversation"]

_CHAT_ROLES: dict[str, Literal["user", "assistant", "system"]] = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "system": "system",
}
_JOIN = "\n\n"
# Lone surrogates (from surrogateescape decoding, or JSON "\\udc80") cannot be UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Content blocks that repeat what ``AIMessage.tool_calls`` already says.
_TOOL_BLOCKS = frozenset({"tool_use", "tool_call", "tool_call_chunk", "invalid_tool_call"})


def to_conversation(messages: Sequence[BaseMessage], *, native_tools: bool = False) -> Conversation:
    """Convert and repair LangChain messages.

    Args:
        messages: The messages as LangChain passes them to the model.
        native_tools: Send tool exchanges as the protocol's tool messages where the
            conversation allows it; otherwise they are written out as text.

    Returns:
        The conversation, ready for either protocol.

    Raises:
        QianfanInvalidRequestError: (a ``ValueError``) for empty content, non-text
            content, unsupported message types or roles, no user message, or a
            conversation ending with the assistant's turn.
    """
    system: list[str] = []
    turns: list[Turn] = []
    names: dict[str, str] = {}
    for index, message in enumerate(messages):
        converted = _convert(message, index, names)
        if isinstance(converted, str):
            system.append(converted)
        else:
            turns.append(converted)

    merged: list[Turn] = []
    if any(turn.role == "tool" or turn.tool_calls for turn in turns):
        from langchain_qianfan_free._tools.history import layout  # noqa: PLC0415 (only with tools)

        turns = layout(turns, native=native_tools)
    for turn in turns:
        if merged and merged[-1].role == turn.role and turn.role != "tool":
            merged[-1] = _merge(merged[-1], turn)
        else:
            merged.append(turn)

    while merged and merged[0].role == "assistant" and not merged[0].tool_calls:
        system.append(merged.pop(0).content)
    if not any(turn.role == "user" for turn in merged):
        raise QianfanInvalidRequestError(
            "The conversation has no user message: ERNIE answers a user's turn. "
            "Add a HumanMessage (or pass a string to invoke())."
        )
    if merged[-1].role == "assistant":
        raise QianfanInvalidRequestError(
            "The conversation ends with an AI message: ERNIE only answers a user's turn. "
            "End the messages with a HumanMessage, or drop the trailing AIMessage."
        )
    return Conversation(_JOIN.join(system) if system else None, tuple(merged))


def _convert(message: BaseMessage, index: int, names: dict[str, str]) -> Turn | str:
    """One message as a turn (or, for system text, as a string)."""
    if isinstance(message, SystemMessage):
        return _text_of(message, index)
    if isinstance(message, HumanMessage):
        return Turn("user", _text_of(message, index), message.name or None)
    if isinstance(message, AIMessage):
        calls = tuple(
            WireCall(call["id"] or f"call_{index}_{n}", call["name"], call["args"])
            for n, call in enumerate(message.tool_calls)
        )
        for call in calls:
            names[call.id] = call.name
            try:
                call.arguments  # noqa: B018 (JSON-encodable?)
            except (TypeError, ValueError):
                raise QianfanInvalidRequestError(
                    f"Message {index} (AIMessage) has a tool call to {call.name!r} whose "
                    "args are not JSON data; use str, numbers, bool, None, lists and dicts."
                ) from None
        attempts = bool(calls or message.invalid_tool_calls)
        text = _text_of(message, index, allow_empty=attempts)
        if message.invalid_tool_calls:  # the model's broken attempts stay visible to it
            text = "\n".join(filter(None, [text.strip(), _broken_calls(message, text)]))
        return Turn("assistant", text, None, calls)
    if isinstance(message, ToolMessage):
        name = names.get(message.tool_call_id) or message.name or None
        status = "error" if message.status == "error" else "success"
        text = _text_of(message, index, allow_empty=True)
        return Turn("tool", text, name, tool_call_id=message.tool_call_id, status=status)
    if isinstance(message, FunctionMessage):
        return Turn("tool", _text_of(message, index, allow_empty=True), message.name)
    if isinstance(message, ChatMessage):
        role = _CHAT_ROLES.get(message.role.strip().lower())
        if role is None:
            raise QianfanInvalidRequestError(
                f"Message {index} is a ChatMessage with role {message.role!r}; Qianfan "
                "accepts the roles 'user', 'assistant' and 'system' (also 'human', 'ai'). "
                "Use one of those, or a ToolMessage for a tool's result."
            )
        text = _text_of(message, index)
        return text if role == "system" else Turn(role, text, message.name or None)
    raise QianfanInvalidRequestError(
        f"Message {index} has unsupported type {type(message).__name__}; use "
        "SystemMessage, HumanMessage, AIMessage, ToolMessage or ChatMessage."
    )


def _broken_calls(message: AIMessage, text: str) -> str:
    """Invalid tool calls as the model wrote them (unless the text still shows them)."""
    return "\n".join(
        f"{CALL_OPEN}\n"
        f'{{"name": {json.dumps(call.get("name"), ensure_ascii=False)}, '
        f'"arguments": {call.get("args") or "{}"}}}\n{CALL_CLOSE}'
        for call in message.invalid_tool_calls
        if not ((args := call.get("args")) and args in text)
    )


def _text_of(message: BaseMessage, index: int, *, allow_empty: bool = False) -> str:
    content = message.content
    if isinstance(content, str):
        text = content
    else:
        parts: list[str] = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
            elif isinstance(block, dict) and block.get("type") in _TOOL_BLOCKS:
                continue  # the same call is in message.tool_calls
            else:
                kind = block.get("type") if isinstance(block, dict) else type(block).__name__
                raise QianfanInvalidRequestError(
                    f"Message {index} ({type(message).__name__}) has a {kind!r} content "
                    "block; the ERNIE chat models accept text only. Send text blocks or "
                    "a string."
                )
        text = "".join(parts)
    if bad := _SURROGATE.search(text):
        raise QianfanInvalidRequestError(
            f"Message {index} ({type(message).__name__}) contains a lone surrogate "
            f"({bad.group()!r}), which is not text and cannot be sent as UTF-8. Decode "
            "the source properly, or pass text.encode('utf-8', 'replace').decode()."
        )
    if not text.strip() and not allow_empty:
        raise QianfanInvalidRequestError(
            f"Message {index} ({type(message).__name__}) has empty content; Qianfan "
            "rejects empty messages (error 336003). Give it text or leave it out."
        )
    return text


def _merge(first: Turn, second: Turn) -> Turn:
    """Merge two same-role turns; keep speaker names readable if they differ."""
    calls = first.tool_calls + second.tool_calls
    if first.name == second.name:
        content = _JOIN.join(t for t in (first.content, second.content) if t)
        return replace(first, content=content, tool_calls=calls)
    content = _labelled(first) + _JOIN + _labelled(second)
    return replace(first, content=content, name=None, tool_calls=calls)


def _labelled(turn: Turn) -> str:
    return f"{turn.name}: {turn.content}" if turn.name else turn.content
