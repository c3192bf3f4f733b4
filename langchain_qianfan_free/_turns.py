"""The protocol-neutral conversation: turns, tool calls and the system text.

:mod:`~langchain_qianfan_free._messages` builds it from LangChain messages,
:mod:`~langchain_qianfan_free._tools.history` lays its tool exchanges out, and the
protocol modules put it on the wire.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Conversation", "Role", "Turn", "WireCall"]

Role = Literal["user", "assistant", "tool"]


@dataclass(frozen=True)
class WireCall:
    """One tool call an assistant turn makes: id, tool name and arguments."""

    id: str
    name: str
    args: Mapping[str, Any]

    @property
    def arguments(self) -> str:
        """The arguments as the JSON string both protocols send."""
        return json.dumps(dict(self.args), ensure_ascii=False)


@dataclass(frozen=True)
class Turn:
    """One message on the wire.

    Attributes:
        role: ``user``, ``assistant`` or ``tool`` (a tool result).
        content: The text (for ``tool``: the tool's output).
        name: The speaker's name (``user``) or the tool's name (``tool``).
        tool_calls: Calls an ``assistant`` turn makes.
        tool_call_id: The call a ``tool`` turn answers.
        status: ``"success"`` or ``"error"`` for a ``tool`` turn.
    """

    role: Role
    content: str
    name: str | None = None
    tool_calls: tuple[WireCall, ...] = field(default=())
    tool_call_id: str | None = None
    status: str = "success"


@dataclass(frozen=True)
class Conversation:
    """A conversation in ERNIE's shape: system text + alternating turns."""

    system: str | None
    turns: tuple[Turn, ...]
