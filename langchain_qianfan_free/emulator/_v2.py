"""The v2 (OpenAI-compatible) answer formats: reference §7.3-§7.5.

Errors use the HTTP status and ``{"error": {"code", "message", "type"}, "id"}``. A
stream is ``chat.completion.chunk`` events: the first delta carries the role, the
last content chunk the ``finish_reason``; with ``stream_options.include_usage`` a
final chunk with ``"choices": []`` carries ``usage`` (``usage`` is ``null``
elsewhere); then ``data: [DONE]``. Moderation: ``flag`` 2 and ``ban_round`` -1 on
unsafe input, else ``flag`` 0.

A tool-call answer has ``message.content: ""``, ``message.tool_calls`` and
``finish_reason: "tool_calls"``. Streamed, each call opens with a delta carrying its
``index``, ``id``, ``type`` and ``name`` (``arguments: ""``; the very first delta also
``role`` and ``content: ""``), followed by deltas with pieces of its ``arguments``;
the last chunk carries the finish reason.
"""

from __future__ import annotations

from typing import Any

from langchain_qianfan_free.emulator._errors import EmulatedError
from langchain_qianfan_free.emulator._model.replies import Reply, chunk_text
from langchain_qianfan_free.emulator._model.tooltypes import ToolCall
from langchain_qianfan_free.emulator._ratelimit import RateStatus
from langchain_qianfan_free.emulator._wire import AnswerMeta, sse_event
from langchain_qianfan_free.emulator.records import ProtocolName

__all__ = ["V2Wire"]


def _moderation(reply: Reply) -> dict[str, Any]:
    return {"flag": 2, "ban_round": -1} if reply.input_flagged else {"flag": 0}


def _finish(reply: Reply) -> str:
    return "tool_calls" if reply.tool_calls else reply.finish_reason or "stop"


def _text_deltas(reply: Reply, chunk_chars: int) -> list[dict[str, Any]]:
    pieces = chunk_text(reply.text, chunk_chars) or [""]
    return [{"content": piece} for piece in pieces]


def _call_deltas(calls: tuple[ToolCall, ...], chunk_chars: int) -> list[dict[str, Any]]:
    deltas: list[dict[str, Any]] = []
    for index, call in enumerate(calls):
        head = {"index": index, **call.wire()}
        head["function"] = {"name": call.name, "arguments": ""}
        deltas.append({"tool_calls": [head]})
        deltas.extend(
            {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
            for piece in chunk_text(call.arguments, chunk_chars)
        )
    deltas[0] = {"content": "", **deltas[0]}
    return deltas


class V2Wire:
    """v2 answer formats (see module docstring)."""

    name: ProtocolName = "v2"

    def error(self, error: EmulatedError, answer_id: str) -> tuple[int, dict[str, Any]]:
        """The documented HTTP status with the ``error`` object and ``id``."""
        v2 = error.v2
        return v2.status, {
            "error": {"code": v2.code, "message": v2.message, "type": v2.type},
            "id": answer_id,
        }

    @staticmethod
    def _base(meta: AnswerMeta, obj: str) -> dict[str, Any]:
        return {"id": meta.answer_id, "object": obj, "created": meta.created, "model": meta.model}

    def sync_body(self, reply: Reply, meta: AnswerMeta) -> dict[str, Any]:
        """The §7.3 body."""
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.tool_calls:
            message["tool_calls"] = [call.wire() for call in reply.tool_calls]
        choice = {
            "index": 0,
            "message": message,
            "finish_reason": _finish(reply),
            **_moderation(reply),
        }
        return {**self._base(meta, "chat.completion"), "choices": [choice], "usage": reply.usage()}

    def stream_events(self, reply: Reply, meta: AnswerMeta, chunk_chars: int) -> list[bytes]:
        """The §7.4 chunks (without ``[DONE]``)."""
        if reply.tool_calls:
            deltas = _call_deltas(reply.tool_calls, chunk_chars)
        else:
            deltas = _text_deltas(reply, chunk_chars)
        deltas[0] = {"role": "assistant", **deltas[0]}
        events = []
        for index, delta in enumerate(deltas):
            last = index == len(deltas) - 1
            choice = {
                "index": 0,
                "delta": delta,
                "finish_reason": _finish(reply) if last else None,
                **_moderation(reply),
            }
            events.append(
                sse_event(
                    {
                        **self._base(meta, "chat.completion.chunk"),
                        "choices": [choice],
                        "usage": None,
                    }
                )
            )
        if meta.include_usage:
            events.append(
                sse_event(
                    {
                        **self._base(meta, "chat.completion.chunk"),
                        "choices": [],
                        "usage": reply.usage(),
                    }
                )
            )
        return events

    def stream_end(self) -> bytes:
        """``data: [DONE]``."""
        return b"data: [DONE]\n\n"

    def stream_error(self, error: EmulatedError, answer_id: str) -> bytes:
        """A ``data:`` event holding the error object."""
        return sse_event(self.error(error, answer_id)[1])

    def rate_headers(self, status: RateStatus) -> dict[str, str]:
        """v2 headers: one token budget shared by input and output (see docs)."""
        return {
            "X-Ratelimit-Limit-Requests": str(status.limit_requests),
            "X-Ratelimit-Limit-Input-Tokens": str(status.limit_tokens),
            "X-Ratelimit-Limit-Output-Tokens": str(status.limit_tokens),
            "X-Ratelimit-Remaining-Requests": str(status.remaining_requests),
            "X-Ratelimit-Remaining-Input-Tokens": str(status.remaining_tokens),
            "X-Ratelimit-Remaining-Output-Tokens": str(status.remaining_tokens),
        }
