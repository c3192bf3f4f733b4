"""Scripted behaviour for the next chat requests: faults and replies, in FIFO order.

Each ``queue_*`` call of :class:`~langchain_qianfan_free.emulator.QianfanEmulator`
appends one fault with a repeat count. Every chat request that gets past routing
and authentication takes the fault at the head of the queue (one use of it); a
request that finds the queue empty is answered normally. The test thread fills the
queue while the server thread drains it, hence the lock.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from langchain_qianfan_free.emulator.tooltypes import ToolCall

__all__ = [
    "DisconnectFault",
    "ErrorFault",
    "Fault",
    "HttpStatusFault",
    "MalformedJsonFault",
    "ReplyFault",
    "Scenario",
    "SlowFault",
    "StreamErrorFault",
    "ToolCallsFault",
]


@dataclass(frozen=True)
class ErrorFault:
    """Answer with a Qianfan error (v1: HTTP 200 body; v2: translated status and body).

    Attributes:
        code: v1 ``error_code``, e.g. ``336501``.
        message: ``error_msg``; ``None`` for the documented text.
    """

    code: int
    message: str | None = None


@dataclass(frozen=True)
class HttpStatusFault:
    """Answer with a raw HTTP status and body, as a gateway would.

    Attributes:
        status: HTTP status code (200-599).
        body: Response body.
        headers: Extra response headers as ``(name, value)`` pairs.
    """

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not 200 <= self.status <= 599:
            raise ValueError(f"HTTP status must be in 200..599, got {self.status}")


@dataclass(frozen=True)
class SlowFault:
    """Wait before the first byte of the (otherwise normal) answer.

    Attributes:
        seconds: Delay in seconds.
    """

    seconds: float

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {self.seconds}")


@dataclass(frozen=True)
class DisconnectFault:
    """Drop the connection.

    Attributes:
        after_events: ``None``: close without any answer. ``N``: for a stream request,
            send the first ``N`` events of the normal answer, then drop the connection
            without a terminator (a non-stream request is dropped without answer).
    """

    after_events: int | None = None

    def __post_init__(self) -> None:
        if self.after_events is not None and self.after_events < 0:
            raise ValueError(f"after_events must be >= 0, got {self.after_events}")


@dataclass(frozen=True)
class MalformedJsonFault:
    """Answer HTTP 200 with a body that is not JSON (stream: one event that is not JSON)."""


@dataclass(frozen=True)
class StreamErrorFault:
    """Fail in the middle of a stream (a non-stream request gets the error as a plain answer).

    Attributes:
        code: v1 ``error_code`` (translated for v2).
        after_events: Normal events sent before the error.
        message: ``error_msg``; ``None`` for the documented text.
    """

    code: int
    after_events: int = 1
    message: str | None = None

    def __post_init__(self) -> None:
        if self.after_events < 0:
            raise ValueError(f"after_events must be >= 0, got {self.after_events}")


@dataclass(frozen=True)
class ReplyFault:
    """Reply with this text instead of the default echo (stop/max tokens still apply).

    Attributes:
        text: The reply text.
        finish_reason: Reported finish reason when the text is not cut; ``None`` for the
            protocol's natural one (v1 ``normal``, v2 ``stop``).
    """

    text: str
    finish_reason: str | None = None


@dataclass(frozen=True)
class ToolCallsFault:
    """Answer with these native tool calls, whatever the model and the request's tools.

    v2 answers ``tool_calls`` (``finish_reason: "tool_calls"``); v1 answers the first
    call as ``function_call`` (``finish_reason: "function_call"``). Input moderation
    still answers with the refusal.

    Attributes:
        calls: The calls; their ``call_…`` ids are issued when answering.
        thoughts: v1 ``function_call.thoughts``; ``None`` for the default text.
    """

    calls: tuple[ToolCall, ...]
    thoughts: str | None = None

    def __post_init__(self) -> None:
        if not self.calls:
            raise ValueError("calls must hold at least one call")

    @classmethod
    def build(
        cls, calls: Iterable[Mapping[str, Any]], thoughts: str | None = None
    ) -> ToolCallsFault:
        """From ``[{"name": str, "arguments": dict | str}, ...]``.

        A ``dict`` is sent as JSON (non-ASCII unescaped); a ``str`` is sent as is, so
        a test can script arguments that are not valid JSON. Missing arguments are ``{}``.

        Raises:
            ValueError: A call has no name.
            TypeError: A call's arguments are neither a dict nor a str.
        """
        built = []
        for index, call in enumerate(calls):
            name = call.get("name")
            if not isinstance(name, str) or not name:
                raise ValueError(f"calls[{index}]: 'name' must be a non-empty string")
            arguments = call.get("arguments", {})
            if isinstance(arguments, Mapping):
                arguments = json.dumps(dict(arguments), ensure_ascii=False)
            if not isinstance(arguments, str):
                raise TypeError(f"calls[{index}]: 'arguments' must be a dict or a str")
            built.append(ToolCall(name, arguments))
        return cls(tuple(built), thoughts)


#: Any queued behaviour.
Fault: TypeAlias = (
    ErrorFault
    | HttpStatusFault
    | SlowFault
    | DisconnectFault
    | MalformedJsonFault
    | StreamErrorFault
    | ReplyFault
    | ToolCallsFault
)


@dataclass
class _Entry:
    fault: Fault
    remaining: int = field(default=1)


def make_headers(headers: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    """Freeze a header mapping into the tuple form :class:`HttpStatusFault` stores."""
    return tuple((headers or {}).items())


class Scenario:
    """Thread-safe FIFO of faults with repeat counts."""

    def __init__(self) -> None:
        self._queue: deque[_Entry] = deque()
        self._lock = threading.Lock()

    def push(self, fault: Fault, times: int = 1) -> None:
        """Queue ``fault`` for the next ``times`` chat requests (after what is queued).

        Raises:
            ValueError: ``times`` is below 1.
        """
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times}")
        with self._lock:
            self._queue.append(_Entry(fault, times))

    def take(self) -> Fault | None:
        """Use the head fault once; ``None`` when nothing is queued."""
        with self._lock:
            if not self._queue:
                return None
            head = self._queue[0]
            head.remaining -= 1
            if head.remaining == 0:
                self._queue.popleft()
            return head.fault

    def pending(self) -> list[Fault]:
        """Faults still queued, one list item per remaining use."""
        with self._lock:
            return [entry.fault for entry in self._queue for _ in range(entry.remaining)]

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._queue.clear()
