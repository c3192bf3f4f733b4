"""Scripted behaviour for the next chat requests: faults and replies, in FIFO order.

Each ``queue_*`` call of :class:`~langchain_qianfan_free.emulator.QianfanEmulator`
appends one fault with a repeat count and an optional filter (``match=``, see
:class:`Match`). Every chat request that gets past routing and authentication takes
one use of the oldest queued fault whose filter accepts it; faults it does not match
stay queued, in order; a request that finds no fault for it is answered normally.
The test thread fills the queue while the server thread drains it, hence the lock.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal, TypeAlias

from langchain_qianfan_free.emulator._model.tooltypes import ToolCall
from langchain_qianfan_free.emulator._models import ModelRegistry
from langchain_qianfan_free.emulator.records import RecordedRequest

__all__ = [
    "DisconnectFault",
    "ErrorFault",
    "Fault",
    "HttpStatusFault",
    "MalformedJsonFault",
    "Match",
    "MatchSpec",
    "ReplyFault",
    "Scenario",
    "SlowFault",
    "StreamErrorFault",
    "ToolCallsFault",
    "describe",
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


@dataclass(frozen=True, repr=False)
class Match:
    """Which chat requests a queued fault is for: every field that is set must hold.

    ``match=`` on the ``queue_*`` methods takes a :class:`Match`, a string shorthand
    (:meth:`parse`) or a callable that gets the request's
    :class:`~langchain_qianfan_free.emulator.RecordedRequest` and returns whether the
    fault is for it.

    Attributes:
        protocol: ``"v1"`` or ``"v2"``.
        model: A model as either protocol or the catalogue names it (v1 endpoint
            ``ernie_speed``, v2 id ``ernie-speed-8k``, ``ERNIE-Speed-8K``, any case
            for catalogue names): the request must address that model, on either
            protocol (unless ``protocol`` is set too). A custom model is its own name.
        path: The exact request path without the query string, e.g.
            ``/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie_speed``.
    """

    protocol: Literal["v1", "v2"] | None = None
    model: str | None = None
    path: str | None = None

    def __post_init__(self) -> None:
        if self.protocol not in (None, "v1", "v2"):
            raise ValueError(f'Match.protocol must be "v1" or "v2", got {self.protocol!r}')
        if self.path is not None and not self.path.startswith("/"):
            raise ValueError(f"Match.path must start with '/', got {self.path!r}")

    def __repr__(self) -> str:
        shown = [
            f"{item.name}={getattr(self, item.name)!r}"
            for item in fields(self)
            if getattr(self, item.name) is not None
        ]
        return f"Match({', '.join(shown)})"

    @classmethod
    def parse(cls, text: str) -> Match:
        """The shorthand: ``"v1"``/``"v2"`` a protocol, ``"/…"`` a path, else a model."""
        if text == "v1":
            return cls(protocol="v1")
        if text == "v2":
            return cls(protocol="v2")
        if text.startswith("/"):
            return cls(path=text)
        return cls(model=text)


#: What ``match=`` accepts: ``None`` (every chat request), a :class:`Match`, its string
#: shorthand, or a callable deciding from the :class:`RecordedRequest`.
MatchSpec: TypeAlias = Match | str | Callable[[RecordedRequest], bool] | None


@dataclass(frozen=True)
class _Filter:
    """A compiled ``match=``: a :class:`Match` with its model resolved, or a callable."""

    match: Match = field(default_factory=Match)
    model: str | None = None  # the canonical name of ``match.model``
    test: Callable[[RecordedRequest], bool] | None = None

    def accepts(self, request: RecordedRequest, model: str | None) -> bool:
        if self.test is not None:
            return bool(self.test(request))
        match = self.match
        return (
            (match.protocol is None or request.protocol == match.protocol)
            and (match.path is None or request.path == match.path)
            and (self.model is None or model == self.model)
        )

    def __str__(self) -> str:
        if self.test is not None:
            return getattr(self.test, "__qualname__", type(self.test).__name__)
        return repr(self.match)


def _compile(match: MatchSpec, models: ModelRegistry) -> _Filter | None:
    if match is None:
        return None
    if isinstance(match, str):
        match = Match.parse(match)
    if isinstance(match, Match):
        model = None
        if match.model is not None:
            model = models.canonical(match.model)
            if model is None:
                raise ValueError(
                    f"match: {match.model!r} is not a model this emulator serves (a v1 "
                    'endpoint, v2 id or catalogue name); a string is "v1", "v2", a path '
                    "starting with '/', or a model"
                )
        return _Filter(match, model)
    if callable(match):
        return _Filter(test=match)
    raise TypeError(
        "match must be a Match, a string, a callable taking the RecordedRequest, or None; "
        f"got {type(match).__name__}"
    )


def _shown(name: str, value: Any, hide: Iterable[str] = ()) -> str:
    if isinstance(value, str):  # masked first: a cut must not leave half a secret
        value = _masked(value, hide)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if name == "headers":  # names only: values may be credentials
        return "[" + ", ".join(repr(header) for header, _ in value) + "]"
    if name == "calls":
        return "[" + ", ".join(repr(call.name) for call in value) + "]"
    if isinstance(value, str) and len(value) > 40:
        return repr(value[:40] + "…")
    return repr(value)


def _masked(text: str, hide: Iterable[str]) -> str:
    for secret in sorted((s for s in hide if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def describe(fault: Fault, hide: Iterable[str] = ()) -> str:
    """A one-line summary of ``fault`` for failure messages.

    Fields left at their defaults are omitted; bodies show their length, headers
    their names, tool calls their names, and long texts their first 40 characters
    (after the strings in ``hide`` are masked as ``***``).
    """
    hide = tuple(hide)
    parts = [
        f"{item.name}={_shown(item.name, getattr(fault, item.name), hide)}"
        for item in fields(fault)
        if item.default is MISSING or getattr(fault, item.name) != item.default
    ]
    return f"{type(fault).__name__}({', '.join(parts)})"


@dataclass(eq=False)
class _Entry:
    fault: Fault
    remaining: int = 1
    filter: _Filter | None = None

    def accepts(self, request: RecordedRequest | None, model: str | None) -> bool:
        if self.filter is None:
            return True
        return request is not None and self.filter.accepts(request, model)


def make_headers(headers: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    """Freeze a header mapping into the tuple form :class:`HttpStatusFault` stores."""
    return tuple((headers or {}).items())


class Scenario:
    """Thread-safe FIFO of faults with repeat counts and optional filters.

    Args:
        models: Resolves the model names of ``match=`` filters; default the catalogue's
            models (the emulator passes its own registry, custom models included).
    """

    def __init__(self, models: ModelRegistry | None = None) -> None:
        self._queue: deque[_Entry] = deque()
        # Re-entrant: a match callable runs under the lock and may read the emulator.
        self._lock = threading.RLock()
        self._models = models or ModelRegistry()

    def push(self, fault: Fault, times: int = 1, *, match: MatchSpec = None) -> None:
        """Queue ``fault`` for the next ``times`` matching chat requests (after what is queued).

        Args:
            fault: The behaviour.
            times: How many requests get it.
            match: Which requests may take it (:data:`MatchSpec`); ``None``: any.

        Raises:
            ValueError: ``times`` is below 1, or ``match`` names a model that is not served.
            TypeError: ``match`` is of an unsupported type.
        """
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times}")
        entry = _Entry(fault, times, _compile(match, self._models))
        with self._lock:
            self._queue.append(entry)

    def take(
        self, request: RecordedRequest | None = None, model: str | None = None
    ) -> Fault | None:
        """Use the oldest fault whose filter accepts this request once; ``None`` if none does.

        Args:
            request: The chat request; without one only unfiltered faults are taken.
            model: The canonical name of the model it addresses (``None`` if unknown).
        """
        with self._lock:
            for entry in list(self._queue):  # a copy: a match callable may queue more
                if entry.accepts(request, model):
                    entry.remaining -= 1
                    if entry.remaining == 0:
                        self._queue.remove(entry)
                    return entry.fault
            return None

    def pending(self) -> list[Fault]:
        """Faults still queued, one list item per remaining use."""
        with self._lock:
            return [entry.fault for entry in self._queue for _ in range(entry.remaining)]

    def assert_all_consumed(self, hide: Iterable[str] = ()) -> None:
        """Fail when something queued was never used.

        Args:
            hide: Strings masked as ``***`` in the message (the emulator's secrets).

        Raises:
            AssertionError: Listing each unused fault with its remaining uses and filter.
        """
        hide = tuple(hide)
        with self._lock:
            left = [(entry.fault, entry.remaining, entry.filter) for entry in self._queue]
        if not left:
            return
        lines = []
        for fault, remaining, rule in left:
            uses = f", {remaining} uses left" if remaining > 1 else ""
            where = f", match={rule}" if rule is not None else ""
            lines.append(f"  {describe(fault, hide)}{uses}{where}")
        total = sum(remaining for _, remaining, _ in left)
        noun = "use" if total == 1 else "uses"
        text = f"queued emulator behaviour was never used ({total} {noun} left):\n"
        text += "\n".join(lines)
        raise AssertionError(_masked(text, hide))

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._queue.clear()
