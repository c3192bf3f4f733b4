"""The v1 (wenxinworkshop) answer formats: reference §3.1, §3.3 and §4.1, §5.1.

Errors are HTTP 200 bodies ``{"error_code", "error_msg", "id"}``. A stream is
``data: {json}`` events, each with ``sentence_id``, ``is_end`` and ``usage``
(non-final events report ``completion_tokens: 0``), ending with an ``is_end: true``
event whose ``result`` is empty; there is no ``[DONE]``. A mid-stream error is a bare
JSON line without ``data:``.

A tool-call answer (§2.3) carries ``result: ""``, ``function_call`` ``{name, arguments,
thoughts}`` (the first call only: v1 has one call per answer) and ``finish_reason:
"function_call"``; streamed, it is a single ``is_end: true`` event with full usage.
"""

from __future__ import annotations

from typing import Any

from langchain_qianfan_free.emulator._errors import EmulatedError
from langchain_qianfan_free.emulator._model.replies import Reply, chunk_text
from langchain_qianfan_free.emulator._ratelimit import RateStatus
from langchain_qianfan_free.emulator._wire import AnswerMeta, dumps, sse_event
from langchain_qianfan_free.emulator.records import ProtocolName

__all__ = ["V1Wire"]


class V1Wire:
    """v1 answer formats (see module docstring)."""

    name: ProtocolName = "v1"

    def error(self, error: EmulatedError, answer_id: str) -> tuple[int, dict[str, Any]]:
        """HTTP 200 with ``error_code``, ``error_msg`` and ``id``."""
        return 200, {"error_code": error.code, "error_msg": error.message, "id": answer_id}

    @staticmethod
    def _base(meta: AnswerMeta) -> dict[str, Any]:
        return {"id": meta.answer_id, "object": "chat.completion", "created": meta.created}

    @staticmethod
    def _moderation(reply: Reply) -> dict[str, Any]:
        if reply.input_flagged:
            return {"need_clear_history": True, "ban_round": -1}
        return {"need_clear_history": False}

    @staticmethod
    def _function_call(reply: Reply) -> dict[str, Any]:
        """The fields of a tool-call answer (v1 sends the first call only)."""
        call = reply.tool_calls[0]
        return {
            "result": "",
            "is_truncated": False,
            "need_clear_history": False,
            "function_call": {
                "name": call.name,
                "arguments": call.arguments,
                "thoughts": reply.thoughts,
            },
            "finish_reason": "function_call",
            "usage": reply.usage(),
        }

    def sync_body(self, reply: Reply, meta: AnswerMeta) -> dict[str, Any]:
        """The §3.1 body (§2.3 for a tool call)."""
        if reply.tool_calls:
            return {**self._base(meta), **self._function_call(reply)}
        return {
            **self._base(meta),
            "result": reply.text,
            "is_truncated": reply.truncated,
            **self._moderation(reply),
            "finish_reason": reply.finish_reason or "normal",
            "usage": reply.usage(),
        }

    def stream_events(self, reply: Reply, meta: AnswerMeta, chunk_chars: int) -> list[bytes]:
        """The §3.3 events: one per text piece, then the ``is_end`` event."""
        if reply.tool_calls:
            first = {**self._base(meta), "sentence_id": 0, "is_end": True}
            return [sse_event({**first, **self._function_call(reply)})]
        partial_usage = {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": 0,
            "total_tokens": reply.prompt_tokens,
        }
        pieces = chunk_text(reply.text, chunk_chars)
        events = [
            sse_event(
                {
                    **self._base(meta),
                    "sentence_id": index,
                    "is_end": False,
                    "is_truncated": False,
                    "result": piece,
                    **self._moderation(reply),
                    "finish_reason": "normal",
                    "usage": partial_usage,
                }
            )
            for index, piece in enumerate(pieces)
        ]
        events.append(
            sse_event(
                {
                    **self._base(meta),
                    "sentence_id": len(pieces),
                    "is_end": True,
                    "is_truncated": reply.truncated,
                    "result": "",
                    **self._moderation(reply),
                    "finish_reason": reply.finish_reason or "normal",
                    "usage": reply.usage(),
                }
            )
        )
        return events

    def stream_end(self) -> bytes:
        """v1 streams end with the ``is_end`` event itself."""
        return b""

    def stream_error(self, error: EmulatedError, answer_id: str) -> bytes:
        """A bare JSON line, without ``data:``."""
        return dumps(self.error(error, answer_id)[1]) + b"\n"

    def rate_headers(self, status: RateStatus) -> dict[str, str]:
        """§5.1 headers."""
        return {
            "X-Ratelimit-Limit-Requests": str(status.limit_requests),
            "X-Ratelimit-Limit-Tokens": str(status.limit_tokens),
            "X-Ratelimit-Remaining-Requests": str(status.remaining_requests),
            "X-Ratelimit-Remaining-Tokens": str(status.remaining_tokens),
        }
