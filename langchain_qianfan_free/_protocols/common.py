"""What the two protocol modules share: the request and reply shapes, and helpers.

``protocol_v1`` (``wenxinworkshop``) and ``protocol_v2`` (OpenAI-shaped) each turn a
:class:`~langchain_qianfan_free._messages.Conversation` plus checked parameters into an
:class:`HttpRequest`, and each answer (a whole body or one stream event) into a
:class:`Reply`, raising the matching ``QianfanError`` for error answers. Both are pure:
no I/O happens here.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from langchain_qianfan_free._catalogue import ModelSpec
from langchain_qianfan_free._params import RequestParams
from langchain_qianfan_free._protocols.sse import SSEDecoder
from langchain_qianfan_free._turns import Conversation, Turn
from langchain_qianfan_free.errors import (
    QianfanAPIError,
    QianfanError,
    QianfanInvalidRequestError,
    error_from_http,
    error_from_v1,
    redact,
)

if TYPE_CHECKING:
    from langchain_qianfan_free._tools import ToolSetup

__all__ = [
    "REQUEST_ID_HEADER",
    "ApiVersion",
    "ChatProtocol",
    "EventReader",
    "HttpRequest",
    "RawCall",
    "Reply",
    "ReplyParser",
    "VersionSetting",
    "decode_json",
    "finish_body",
    "header",
    "http_error",
    "join_ids",
    "merge_extra",
    "rate_limit_headers",
    "request_id_of",
    "stamp",
    "unusable_answer",
    "usage_of",
    "v1_error",
    "wire_messages",
]

ApiVersion = Literal["v1", "v2"]
"""A Qianfan chat protocol: ``v1`` (wenxinworkshop) or ``v2`` (OpenAI-shaped)."""

VersionSetting = Literal["auto", "v1", "v2"]
"""The ``api_version`` setting: a protocol, or ``auto`` (chosen by the credentials)."""

REQUEST_ID_HEADER = "X-Baidu-Request-Id"
# One encoder for every request body (json.dumps with options builds a new one per call).
_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
JSON_HEADERS: Mapping[str, str] = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request to send (its URL may carry the v1 access token once authorized)."""

    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=lambda: dict(JSON_HEADERS))
    method: str = "POST"

    def __repr__(self) -> str:
        # Debuggers and error trackers show locals: never the token, key or body.
        return f"HttpRequest({self.method} {redact(self.url)}, {len(self.body)} bytes)"


@dataclass(frozen=True)
class RawCall:
    """A tool call as the server sent it (for a stream event: one piece of it).

    Attributes:
        index: Position among the reply's calls (stream pieces share it).
        id: The call id, if the server gave one.
        name: The tool's name (in a stream, usually only in the first piece).
        arguments: The JSON arguments text (in a stream: this piece of it).
    """

    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(slots=True)
class Reply:
    """A whole answer, or one stream event, in protocol-neutral form.

    Attributes:
        text: Generated text (for an event: this event's increment).
        finish_reason: Qianfan's raw finish reason, when the answer says it.
        usage: ``prompt_tokens``/``completion_tokens``/``total_tokens`` when final.
        response_id: The ``id`` (``as-…``) of the answer.
        model: The model the answer names (v2), if any.
        flags: Moderation and truncation facts (``is_truncated``,
            ``need_clear_history``, ``ban_round``, ``flag``) when present.
        done: For stream events: this event ends the stream.
        tool_calls: Native tool calls (for an event: pieces of them).
        request_id: The HTTP answer's ``X-Baidu-Request-Id``, read once per answer.
        rate_limit: The HTTP answer's ``X-Ratelimit-*`` headers, read once per answer.
    """

    text: str = ""
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    response_id: str | None = None
    model: str | None = None
    flags: dict[str, Any] = field(default_factory=dict)
    done: bool = False
    tool_calls: list[RawCall] = field(default_factory=list)
    request_id: str | None = None
    rate_limit: dict[str, int | str] | None = None


class ReplyParser(Protocol):
    """Reading answers: what the transports need of a protocol module."""

    def parse_reply(self, status: int, headers: Mapping[str, str], body: bytes) -> Reply:
        """Parse a whole answer; raise its error if it is one."""

    def parse_event(self, payload: str, request_id: str | None) -> Reply:
        """Parse one stream event; raise its error (naming ``request_id``) if it is one."""


class ChatProtocol(ReplyParser, Protocol):
    """The interface both protocol modules implement (as module-level functions)."""

    VERSION: ApiVersion
    DEFAULT_BASE_URL: str

    def chat_request(
        self,
        base_url: str,
        model: str,
        spec: ModelSpec | None,
        endpoint: str | None,
        conversation: Conversation,
        params: RequestParams,
        *,
        stream: bool,
        tools: ToolSetup | None = None,
    ) -> HttpRequest:
        """Build the chat request."""


class EventReader:
    """Bytes of an event stream in, parsed replies out (both transports use it).

    The HTTP answer's headers are read once, here: each reply carries its request id
    and rate limits. Events are parsed one at a time as they are consumed, so the
    replies before an error event are delivered before the error is raised.
    """

    def __init__(self, protocol: ReplyParser, headers: Mapping[str, str]) -> None:
        self._parse = protocol.parse_event
        self._request_id = header(headers, REQUEST_ID_HEADER)
        self._rate_limit = rate_limit_headers(headers) or None
        self._decoder = SSEDecoder()

    def feed(self, raw: bytes) -> Iterable[Reply]:
        """Replies completed by ``raw``; raises the error an event reports."""
        payloads = self._decoder.feed(raw)
        if len(payloads) > 1:
            return self._replies(payloads)
        # One event (the usual read) or none: parsing it now delivers nothing later
        # than lazily would, and saves a generator per read.
        return (self._reply(payloads[0]),) if payloads else ()

    def close(self) -> Iterable[Reply]:
        """Replies left at the end of the body."""
        return self._replies(self._decoder.close())

    def _replies(self, payloads: list[str]) -> Iterator[Reply]:
        for payload in payloads:
            yield self._reply(payload)

    def _reply(self, payload: str) -> Reply:
        reply = self._parse(payload, self._request_id)
        reply.request_id = self._request_id
        reply.rate_limit = self._rate_limit
        return reply


def stamp(reply: Reply, headers: Mapping[str, str]) -> Reply:
    """``reply`` with the request id and rate limits of the HTTP answer it came in."""
    reply.request_id = header(headers, REQUEST_ID_HEADER)
    reply.rate_limit = rate_limit_headers(headers) or None
    return reply


def decode_json(body: bytes | str, what: str, request_id: str | None) -> Any:
    """Parse JSON from Qianfan, raising a clear ``QianfanAPIError`` if it is not JSON.

    Args:
        body: The answer or event.
        what: What it is, for the error (``"an answer"``, ``"a stream event"``).
        request_id: The answer's ``X-Baidu-Request-Id``, for the error.
    """
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        snippet = " ".join(text.split())[:200] or "(empty)"
        failure = unusable_answer(f"{what} that is not valid JSON: {snippet}", request_id)
    raise failure


def http_error(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    raise_if_error: Callable[[Any, str | None, int], None],
) -> QianfanError:
    """The error for a non-200 answer.

    The protocol's own error body when there is one (``raise_if_error`` raises it),
    else a gateway error decided by the HTTP status.
    """
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    request_id = header(headers, REQUEST_ID_HEADER)
    try:
        raise_if_error(data, request_id, status)
    except QianfanError as error:
        return error
    return error_from_http(status, text, request_id=request_id)


def v1_error(data: Any, request_id: str | None, status: int) -> QianfanError | None:
    """The error a v1-format body (``{"error_code", "error_msg", "id"?}``) reports.

    Both protocols read it here (v2 gateways answer in it too), so they agree on the
    code: an ``int``, or a string of digits (``"18"``) read as that number; anything
    else is ``-1`` (an unknown code).

    Returns:
        The exception, not raised; ``None`` when ``data`` is not such a body.
    """
    if not isinstance(data, dict) or _no_code(data.get("error_code")):
        return None
    return error_from_v1(
        _v1_code(data["error_code"]),
        str(data.get("error_msg") or "unknown error"),
        request_id=join_ids(data.get("id"), request_id),
        status=status,
    )


def _no_code(raw: object) -> bool:
    """An ``error_code`` that says no error: absent, ``null``, zero, ``""`` or a bool.

    (Such a body is then read as an answer, and is an unusable one, retried, when it
    holds no ``result`` either.)
    """
    if raw is None or isinstance(raw, bool) or raw == "":
        return True
    return raw == 0 or (isinstance(raw, str) and _v1_code(raw) == 0)  # 0, 0.0, "00", " 0"


def _v1_code(raw: object) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().isdecimal() and raw.strip().isascii():
        return int(raw.strip())
    return -1


def unusable_answer(what: str, request_id: str | None) -> QianfanAPIError:
    """The error for an answer that cannot be used (not JSON, wrong shape).

    Such answers come from gateways and cut connections more often than from the
    model, so they are retried like other server trouble.
    """
    return QianfanAPIError(
        f"Qianfan sent {what}",
        request_id=request_id,
        retryable=True,
        hint="ChatQianfan retries these; if it persists, check that base_url points at Qianfan.",
    )


def request_id_of(headers: Mapping[str, str], body_id: object = None) -> str | None:
    """Combine the answer's ``id`` and the ``X-Baidu-Request-Id`` header."""
    return join_ids(body_id, header(headers, REQUEST_ID_HEADER))


def join_ids(body_id: object, header_id: str | None) -> str | None:
    """The answer's ``id`` and its ``X-Baidu-Request-Id`` (given once, or both)."""
    ids = [str(i) for i in (body_id, header_id) if i]
    if len(ids) == 2 and ids[0] != ids[1]:
        return f"{ids[0]} ({REQUEST_ID_HEADER}: {ids[1]})"
    return ids[0] if ids else None


def rate_limit_headers(headers: Mapping[str, str]) -> dict[str, int | str]:
    """The ``X-Ratelimit-*`` headers of an answer (canonical case, numbers as ``int``)."""
    found: dict[str, int | str] = {}
    for name, value in headers.items():
        if name[:12].lower() == "x-ratelimit-":
            found[_canonical_header(name)] = int(value) if value.strip().isdigit() else value
    return found


@functools.lru_cache(maxsize=64)
def _canonical_header(name: str) -> str:
    """``x-ratelimit-limit-requests`` → ``X-Ratelimit-Limit-Requests`` (a handful of names)."""
    return "-".join(part.capitalize() for part in name.split("-"))


def wire_messages(
    conversation: Conversation, encode_tool_turn: Callable[[Turn], dict[str, Any]]
) -> list[dict[str, Any]]:
    """The conversation's turns as wire messages.

    Text turns become ``{"role", "content", "name"?}``; assistant turns with a call
    and tool results are encoded by the protocol's ``encode_tool_turn``.
    """
    return [
        encode_tool_turn(t)
        if t.role == "tool" or t.tool_calls
        else {"role": t.role, "content": t.content, **({"name": t.name} if t.name else {})}
        for t in conversation.turns
    ]


def finish_body(
    body: dict[str, Any], params: RequestParams, wire_names: Mapping[str, str]
) -> bytes:
    """Add the parameters (renamed for the protocol) and extra fields; encode the body."""
    for name, value in params.values.items():
        if value is not None:
            body[wire_names.get(name, name)] = value
    if params.api_stop:
        body["stop"] = params.api_stop
    merge_extra(body, params.extra)
    try:
        return _ENCODE(body).encode()
    except UnicodeEncodeError:
        raise QianfanInvalidRequestError(
            "The request holds a lone surrogate character (in a name, a tool argument or a "
            "setting), which is not text and cannot be sent as UTF-8. Decode the source "
            "properly, or clean it with text.encode('utf-8', 'replace').decode()."
        ) from None
    except (TypeError, ValueError, RecursionError) as error:
        # not JSON data, NaN/Infinity, or a structure that contains itself
        raise QianfanInvalidRequestError(
            f"The request holds a value JSON cannot carry ({error}); tool-call arguments "
            "and model_kwargs must be finite JSON data (str, numbers, bool, None, lists, "
            "dicts), without cycles."
        ) from None


def merge_extra(body: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Add pass-through fields to a body; refuse to overwrite one ChatQianfan set."""
    clash = sorted(key for key in extra if key in body)
    if clash:
        raise QianfanInvalidRequestError(
            f"{', '.join(clash)} is set both by ChatQianfan and in model_kwargs/call "
            "kwargs; set it in one place only (use the ChatQianfan parameter)."
        )
    body.update(extra)
    return body


def usage_of(raw: object) -> dict[str, int] | None:
    """Qianfan's ``usage`` object as ints, or ``None`` when absent."""
    if not isinstance(raw, dict):
        return None
    usage = {
        k: int(v)
        for k, v in raw.items()
        if k in ("prompt_tokens", "completion_tokens", "total_tokens")
        and isinstance(v, (int, float))
    }
    return usage or None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, looked up without regard to case."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value
