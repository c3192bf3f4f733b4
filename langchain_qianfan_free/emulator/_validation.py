"""Request checks for both chat protocols: pure functions from body bytes to a request.

:func:`validate_v1` follows reference §2.1/§2.2 and checklist §9.2; :func:`validate_v2`
follows §7.2 and, for message order, the v1 rules (v2 alternation is unconfirmed in
the reference; the SDK's own mock enforces it, so we do too). Tool fields (v1
``functions``, v2 ``tools``, ``tool_choice``, ``response_format``, tool messages) are
checked by :mod:`~langchain_qianfan_free.emulator._toolchecks`. Shared parameter
checks (ranges, ``stop``, types) raise v1 code 336003, which translates to v2
``400 invalid_argument``; input limits raise 336007/336103 (v2
``characters_too_long``/``tokens_too_long``). Each function returns a
:class:`ChatRequest` or raises the
:class:`~langchain_qianfan_free.emulator._errors.EmulatedError` to answer (the first
failed check wins).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_qianfan_free._estimate import estimate_tokens
from langchain_qianfan_free.emulator._errors import EmulatedError, qianfan_error, v2_only_error
from langchain_qianfan_free.emulator._model.tooltypes import (
    AUTO,
    ResponseFormat,
    ToolChoice,
    ToolSpec,
)
from langchain_qianfan_free.emulator._models import ModelLimits
from langchain_qianfan_free.emulator._toolchecks import (
    ToolFields,
    v1_function_call_error,
    v1_tool_fields,
    v2_tool_call_ids,
    v2_tool_fields,
    v2_tool_message_name,
)

__all__ = ["ChatMessage", "ChatRequest", "parse_body", "validate_v1", "validate_v2"]

_MAX_STOP_ITEMS = 4
_MAX_STOP_CHARS = 20
_SEED_MAX = 2147483647


@dataclass(frozen=True)
class ChatMessage:
    """One conversation message with its text.

    Attributes:
        role: ``user``, ``assistant``, ``function`` (v1) or ``tool`` (v2).
        content: The text ('' for an assistant message that only calls tools).
        name: The function of a ``function``/``tool`` result ('' when unknown).
    """

    role: str
    content: str
    name: str = ""


@dataclass(frozen=True)
class ChatRequest:
    """A valid chat request, protocol-neutral.

    Attributes:
        model: The model as the caller named it (v1 endpoint or v2 id).
        limits: Limits of that model.
        system: System text ('' when none).
        messages: The conversation without the system text.
        stream: Whether the answer is streamed.
        include_usage: v2 ``stream_options.include_usage``.
        stop: Stop strings.
        max_output_tokens: Requested output limit, ``None`` for the model default.
        tools: Native tools (v1 ``functions``, v2 ``tools``), as sent.
        tool_choice: Native ``tool_choice`` (``auto`` when absent).
        parallel_tool_calls: Several calls per answer allowed (v2; always ``False`` on v1).
        response_format: A JSON-output request, ``None`` for text.
    """

    model: str
    limits: ModelLimits
    system: str
    messages: tuple[ChatMessage, ...]
    stream: bool = False
    include_usage: bool = False
    stop: tuple[str, ...] = ()
    max_output_tokens: int | None = None
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = AUTO
    parallel_tool_calls: bool = True
    response_format: ResponseFormat | None = None

    @property
    def texts(self) -> tuple[str, ...]:
        """System text, every message content and tool definition (what input limits count)."""
        return (
            self.system,
            *(message.content for message in self.messages),
            *(tool.text for tool in self.tools),
        )

    @property
    def prompt_tokens(self) -> int:
        """Estimated input tokens."""
        return sum(estimate_tokens(text) for text in self.texts)


def parse_body(body: bytes) -> Any:
    """The body as JSON, or ``None`` when it is empty or not JSON (UTF-8)."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


# -- shared field checks ------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _invalid(message: str) -> EmulatedError:
    """The 336003 error to raise for a bad parameter."""
    return qianfan_error(336003, message)


@dataclass(frozen=True)
class _Range:
    name: str
    low: float
    high: float
    low_open: bool = False

    def check(self, body: dict[str, Any]) -> None:
        if self.name not in body:
            return
        value = body[self.name]
        fits = _is_number(value) and (
            (value > self.low if self.low_open else value >= self.low) and value <= self.high
        )
        if not fits:
            interval = f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"
            raise _invalid(f"{self.name} must be a number in {interval}, got {json.dumps(value)}")


_RANGES = (
    _Range("temperature", 0, 1, low_open=True),
    _Range("top_p", 0, 1),
    _Range("penalty_score", 1, 2),
    _Range("frequency_penalty", -2, 2),
    _Range("presence_penalty", -2, 2),
)


def _check_type(body: dict[str, Any], name: str, kind: type, label: str) -> None:
    if name in body and not isinstance(body[name], kind):
        raise _invalid(f"{name} must be {label}, got {json.dumps(body[name])}")


def _check_ranges(body: dict[str, Any]) -> None:
    for rule in _RANGES:
        rule.check(body)


def _check_tokens(body: dict[str, Any], name: str, limits: ModelLimits) -> None:
    if name not in body:
        return
    value = body[name]
    if not (_is_int(value) and 2 <= value <= limits.max_output_tokens):
        raise _invalid(
            f"{name} must be an integer in [2, {limits.max_output_tokens}], got {json.dumps(value)}"
        )


def _check_stop(body: dict[str, Any]) -> None:
    if "stop" not in body:
        return
    stop = body["stop"]
    if not isinstance(stop, list) or not all(isinstance(item, str) for item in stop):
        raise _invalid("stop must be a list of strings")
    if len(stop) > _MAX_STOP_ITEMS:
        raise _invalid(f"stop must have at most {_MAX_STOP_ITEMS} elements, got {len(stop)}")
    for item in stop:
        if len(item) > _MAX_STOP_CHARS:
            raise _invalid(
                f"each stop string must have at most {_MAX_STOP_CHARS} characters, got {len(item)}"
            )


def _checked_limits(request: ChatRequest) -> ChatRequest:
    limits = request.limits
    if sum(len(text) for text in request.texts) > limits.max_input_chars:
        raise qianfan_error(336007, f"the max input characters is {limits.max_input_chars}")
    if request.prompt_tokens > limits.max_input_tokens:
        raise qianfan_error(336103)
    return request


def _drop_nulls(data: dict[str, Any]) -> dict[str, Any]:
    """Top-level ``null`` values count as absent (OpenAI-style clients send them)."""
    return {key: value for key, value in data.items() if value is not None}


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def _tool_kwargs(fields: ToolFields) -> dict[str, Any]:
    return {
        "tools": fields.tools,
        "tool_choice": fields.choice,
        "parallel_tool_calls": fields.parallel,
        "response_format": fields.response_format,
    }


# -- v1 -----------------------------------------------------------------------------------

_V1_EVEN = "the role of message with even index in the messages must be user or function"
_V1_ODD = "the role of message with odd index in the messages must be assistant"
_V1_EMPTY = "message content can not be empty"


def _v1_messages(raw: list[Any]) -> tuple[ChatMessage, ...]:
    if not raw or len(raw) % 2 == 0:
        raise qianfan_error(336006, "the length of messages must be an odd number")
    if not all(isinstance(message, dict) for message in raw):
        raise qianfan_error(336001, "each message must be a JSON object")
    for index, message in enumerate(raw):
        role = message.get("role")
        if index % 2 == 0 and not (role == "user" or (role == "function" and index > 0)):
            raise qianfan_error(336006, _V1_EVEN)
        if index % 2 == 1 and role != "assistant":
            raise qianfan_error(336006, _V1_ODD)
    messages = []
    for message in raw:
        calls = message["role"] == "assistant" and "function_call" in message
        problem = v1_function_call_error(message) if calls else None
        if problem is not None:
            raise _invalid(problem)
        content = message.get("content")
        if _blank(content):
            if not calls:
                raise _invalid(_V1_EMPTY)
            content = ""
        name = message.get("name") if message["role"] == "function" else ""
        if _blank(name) and message["role"] == "function":
            raise _invalid("the name of a function message can not be empty")
        messages.append(ChatMessage(message["role"], content, name))
    return tuple(messages)


def validate_v1(body: bytes, endpoint: str, limits: ModelLimits) -> ChatRequest:
    """Check a v1 chat body (reference §2, checklist §9.2); unknown keys are ignored.

    Args:
        body: Raw request body.
        endpoint: The ``/chat/{endpoint}`` path segment.
        limits: Limits of the model behind ``endpoint``.

    Raises:
        EmulatedError: The first failed check, as the v1 error to answer.
    """
    data = parse_body(body)
    if data is None:
        raise qianfan_error(336002)
    if isinstance(data, dict):
        data = _drop_nulls(data)
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise qianfan_error(336001)
    messages = _v1_messages(data["messages"])
    _check_type(data, "system", str, "a string")
    _check_type(data, "user_id", str, "a string")
    _check_type(data, "stream", bool, "a boolean")
    _check_ranges(data)
    _check_stop(data)
    _check_tokens(data, "max_output_tokens", limits)
    _check_tokens(data, "min_output_tokens", limits)
    tools = v1_tool_fields(data)
    return _checked_limits(
        ChatRequest(
            model=endpoint,
            limits=limits,
            system=data.get("system", ""),
            messages=messages,
            stream=data.get("stream", False),
            stop=tuple(data.get("stop", ())),
            max_output_tokens=data.get("max_output_tokens"),
            **_tool_kwargs(tools),
        )
    )


# -- v2 -----------------------------------------------------------------------------------


def _v2_invalid_messages(message: str) -> EmulatedError:
    """The v2 ``invalid_messages`` error to raise."""
    return v2_only_error(400, "invalid_messages", message, v1_code=336006)


def _v2_text(content: Any) -> str | None:
    """Text of a v2 content: a string or a list of ``{"type": "text", "text": ...}`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
        for part in content
    ):
        return "".join(part["text"] for part in content)
    return None


def _v2_messages(raw: Any) -> tuple[str, tuple[ChatMessage, ...]]:
    if not isinstance(raw, list) or not all(isinstance(message, dict) for message in raw):
        raise _v2_invalid_messages("messages must be a list of message objects")
    system = ""
    if raw and raw[0].get("role") == "system":
        text = _v2_text(raw[0].get("content"))
        if text is None:
            raise _v2_invalid_messages("system message content must be a string")
        system, raw = text, raw[1:]
    if any(message.get("role") == "system" for message in raw):
        raise _v2_invalid_messages("a system message is only allowed as the first message")
    if not raw or len(raw) % 2 == 0:
        raise _v2_invalid_messages(
            "the length of messages (after the optional system message) must be an odd number"
        )
    messages = []
    calls: dict[str, str] = {}  # the preceding assistant message's tool call ids → names
    for index, message in enumerate(raw):
        role = message.get("role")
        if index % 2 == 0 and not (role == "user" or (role == "tool" and index > 0)):
            raise _v2_invalid_messages(
                "the role of message with even index in the messages must be user or tool"
            )
        if index % 2 == 1 and role != "assistant":
            raise _v2_invalid_messages(
                "the role of message with odd index in the messages must be assistant"
            )
        text = _v2_text(message.get("content"))
        if text is None or not text.strip():
            if not (role == "assistant" and message.get("tool_calls")):
                raise _v2_invalid_messages(_V1_EMPTY)
            text = ""
        if role == "assistant":
            found = v2_tool_call_ids(message)
            if isinstance(found, str):
                raise _v2_invalid_messages(found)
            calls = found
        name = v2_tool_message_name(message, calls) if role == "tool" else ""
        if name is None:
            raise _v2_invalid_messages(
                "a tool message needs a tool_call_id that matches a tool_calls id "
                "of the preceding assistant message"
            )
        messages.append(ChatMessage(role, text, name))
    return system, tuple(messages)


def _check_seed(data: dict[str, Any]) -> None:
    if "seed" not in data:
        return
    seed = data["seed"]
    if not (_is_int(seed) and 0 < seed < _SEED_MAX):
        raise _invalid(f"seed must be an integer in (0, {_SEED_MAX}), got {json.dumps(seed)}")


def _check_stream_options(data: dict[str, Any]) -> None:
    options = data.get("stream_options")
    if options is None:
        return
    if not isinstance(options, dict):
        raise _invalid("stream_options must be an object")
    _check_type(options, "include_usage", bool, "a boolean")


def validate_v2(body: bytes, resolve: Callable[[str], ModelLimits | None]) -> ChatRequest:
    """Check a v2 ``/chat/completions`` body (reference §7.2); unknown keys are ignored.

    Args:
        body: Raw request body.
        resolve: Looks a ``model`` id up; ``None`` for an unknown model.

    Raises:
        EmulatedError: The first failed check (its v2 form is what is answered).
    """
    data = parse_body(body)
    if not isinstance(data, dict):
        raise qianfan_error(336002)
    data = _drop_nulls(data)
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise v2_only_error(400, "invalid_model", "model is empty", v1_code=336001)
    limits = resolve(model)
    if limits is None:
        raise qianfan_error(3)  # translates to 401 invalid_model
    system, messages = _v2_messages(data.get("messages"))
    _check_type(data, "user", str, "a string")
    _check_type(data, "stream", bool, "a boolean")
    _check_stream_options(data)
    _check_ranges(data)
    _check_stop(data)
    _check_tokens(data, "max_tokens", limits)
    _check_tokens(data, "max_completion_tokens", limits)
    _check_seed(data)
    tools = v2_tool_fields(data)
    options = data.get("stream_options") or {}
    return _checked_limits(
        ChatRequest(
            model=model,
            limits=limits,
            system=system,
            messages=messages,
            stream=data.get("stream", False),
            include_usage=options.get("include_usage", False),
            stop=tuple(data.get("stop", ())),
            max_output_tokens=data.get("max_tokens", data.get("max_completion_tokens")),
            **_tool_kwargs(tools),
        )
    )
