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

The result is protocol-neutral; ``protocol_v1`` and ``protocol_v2`` put it on the wire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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

from langchain_qianfan_free.errors import QianfanInvalidRequestError

__all__ = ["Conversation", "Turn", "to_conversation"]

Role = Literal["user", "assistant"]

_CHAT_ROLES: dict[str, Role | Literal["system"]] = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "system": "system",
}
_JOIN = "\n\n"


@dataclass(frozen=True)
class Turn:
    """One message on the wire: a role, its text and an optional speaker name."""

    role: Role
    content: str
    name: str | None = None


@dataclass(frozen=True)
class Conversation:
    """A conversation in ERNIE's shape: system text + alternating turns, user first and last."""

    system: str | None
    turns: tuple[Turn, ...]


def to_conversation(messages: Sequence[BaseMessage]) -> Conversation:
    """Convert and repair LangChain messages.

    Args:
        messages: The messages as LangChain passes them to the model.

    Returns:
        The conversation, ready for either protocol.

    Raises:
        QianfanInvalidRequestError: (a ``ValueError``) for empty content, non-text
            content, unsupported message types or roles, no user message, or a
            conversation ending with the assistant's turn.
    """
    system: list[str] = []
    turns: list[Turn] = []
    for index, message in enumerate(messages):
        role = _role_of(message, index)
        text = _text_of(message, index)
        if role == "system":
            system.append(text)
            continue
        name = message.name if isinstance(message, HumanMessage | ChatMessage) else None
        turn = Turn(role, text, name or None)
        if turns and turns[-1].role == role:
            turns[-1] = _merge(turns[-1], turn)
        else:
            turns.append(turn)

    while turns and turns[0].role == "assistant":
        system.append(turns.pop(0).content)
    if not turns:
        raise QianfanInvalidRequestError(
            "The conversation has no user message: ERNIE answers a user's turn. "
            "Add a HumanMessage (or pass a string to invoke())."
        )
    if turns[-1].role != "user":
        raise QianfanInvalidRequestError(
            "The conversation ends with an AI message: ERNIE only answers a user's turn. "
            "End the messages with a HumanMessage, or drop the trailing AIMessage."
        )
    return Conversation(_JOIN.join(system) if system else None, tuple(turns))


def _role_of(message: BaseMessage, index: int) -> Role | Literal["system"]:
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, HumanMessage):
        return "user"
    if isinstance(message, AIMessage):
        if message.tool_calls or message.invalid_tool_calls:
            raise QianfanInvalidRequestError(
                f"Message {index} is an AIMessage with tool calls; ChatQianfan does not "
                "send tool calls yet. Remove them from the history."
            )
        return "assistant"
    if isinstance(message, ChatMessage):
        role = _CHAT_ROLES.get(message.role.strip().lower())
        if role is None:
            raise QianfanInvalidRequestError(
                f"Message {index} is a ChatMessage with role {message.role!r}; Qianfan "
                "accepts the roles 'user', 'assistant' and 'system' (also 'human', 'ai')."
            )
        return role
    if isinstance(message, ToolMessage | FunctionMessage):
        raise QianfanInvalidRequestError(
            f"Message {index} is a {type(message).__name__}; ChatQianfan does not send "
            "tool results yet. Remove it from the history."
        )
    raise QianfanInvalidRequestError(
        f"Message {index} has unsupported type {type(message).__name__}; use "
        "SystemMessage, HumanMessage, AIMessage or ChatMessage."
    )


def _text_of(message: BaseMessage, index: int) -> str:
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
            else:
                kind = block.get("type") if isinstance(block, dict) else type(block).__name__
                raise QianfanInvalidRequestError(
                    f"Message {index} ({type(message).__name__}) has a {kind!r} content "
                    "block; the ERNIE chat models accept text only. Send text blocks or "
                    "a string."
                )
        text = "".join(parts)
    if not text.strip():
        raise QianfanInvalidRequestError(
            f"Message {index} ({type(message).__name__}) has empty content; Qianfan "
            "rejects empty messages (error 336003). Give it text or leave it out."
        )
    return text


def _merge(first: Turn, second: Turn) -> Turn:
    """Merge two same-role turns; keep speaker names readable if they differ."""
    if first.name == second.name:
        return Turn(first.role, first.content + _JOIN + second.content, first.name)
    return Turn(first.role, _labelled(first) + _JOIN + _labelled(second), None)


def _labelled(turn: Turn) -> str:
    return f"{turn.name}: {turn.content}" if turn.name else turn.content
