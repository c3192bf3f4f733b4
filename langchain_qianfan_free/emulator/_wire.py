"""The interface each protocol's wire format implements, and JSON/SSE framing helpers.

:mod:`~langchain_qianfan_free.emulator._v1` and :mod:`~langchain_qianfan_free.emulator._v2`
turn protocol-neutral answers (a :class:`~langchain_qianfan_free.emulator._model.replies.Reply`,
an :class:`~langchain_qianfan_free.emulator._errors.EmulatedError`) into status codes,
headers and bytes. They do no I/O; the handlers write what they return.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_qianfan_free.emulator._errors import EmulatedError
from langchain_qianfan_free.emulator._model.replies import Reply
from langchain_qianfan_free.emulator._ratelimit import RateStatus
from langchain_qianfan_free.emulator.records import ProtocolName

__all__ = ["AnswerMeta", "Wire", "dumps", "sse_event"]


@dataclass(frozen=True)
class AnswerMeta:
    """What every answer body repeats.

    Attributes:
        answer_id: The ``id`` field (``as-…``).
        created: Unix time in seconds.
        model: The model as the caller named it.
        include_usage: v2 ``stream_options.include_usage``.
    """

    answer_id: str
    created: int
    model: str
    include_usage: bool = False


def dumps(data: Any) -> bytes:
    """Compact UTF-8 JSON with non-ASCII left unescaped, as Qianfan sends it."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sse_event(data: Any) -> bytes:
    """One ``data: {json}`` event followed by a blank line."""
    return b"data: " + dumps(data) + b"\n\n"


class Wire(Protocol):
    """One protocol's answer formats."""

    name: ProtocolName

    def error(self, error: EmulatedError, answer_id: str) -> tuple[int, dict[str, Any]]:
        """HTTP status and JSON body of an error answer."""
        ...

    def sync_body(self, reply: Reply, meta: AnswerMeta) -> dict[str, Any]:
        """The JSON body of a non-stream answer."""
        ...

    def stream_events(self, reply: Reply, meta: AnswerMeta, chunk_chars: int) -> list[bytes]:
        """The events of a stream answer, without the terminator."""
        ...

    def stream_end(self) -> bytes:
        """What closes a complete stream (v2 ``data: [DONE]``; nothing on v1)."""
        ...

    def stream_error(self, error: EmulatedError, answer_id: str) -> bytes:
        """An error in the middle of a stream."""
        ...

    def rate_headers(self, status: RateStatus) -> dict[str, str]:
        """The ``X-Ratelimit-*`` headers."""
        ...
