"""Qianfan v2 (OpenAI-shaped): request bodies and answer parsing.

``POST {base}/v2/chat/completions`` with ``Authorization: Bearer <API key>`` (added by
the transport) and an optional ``appid`` header; the system prompt leads the
``messages``; answers and stream deltas are OpenAI-shaped; streams end with
``data: [DONE]``; errors use HTTP statuses with ``{"error": {code, message, type}}``
(reference §7).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from langchain_qianfan_free._catalogue import ModelSpec
from langchain_qianfan_free._params import RequestParams
from langchain_qianfan_free._protocols.common import (
    REQUEST_ID_HEADER,
    ApiVersion,
    HttpRequest,
    RawCall,
    Reply,
    decode_json,
    finish_body,
    header,
    http_error,
    join_ids,
    stamp,
    unusable_answer,
    usage_of,
    v1_error,
    wire_messages,
)
from langchain_qianfan_free._turns import Conversation, Turn
from langchain_qianfan_free.errors import (
    QianfanInvalidRequestError,
    error_from_v2,
)

if TYPE_CHECKING:
    from langchain_qianfan_free._tools import ToolSetup

__all__ = [
    "CHAT_PATH",
    "DEFAULT_BASE_URL",
    "VERSION",
    "chat_request",
    "model_id_for",
    "parse_event",
    "parse_reply",
]

VERSION: ApiVersion = "v2"
DEFAULT_BASE_URL = "https://qianfan.baidubce.com"
CHAT_PATH = "/v2/chat/completions"

_WIRE_NAMES = {"user_id": "user"}
_FLAGS = ("flag", "ban_round")


def model_id_for(model: str, spec: ModelSpec | None) -> str:
    """The v2 ``model`` id: the catalogue's lower-case id, or the name unchanged.

    Raises:
        QianfanInvalidRequestError: For a known model that v2 does not offer.
    """
    if spec is None:
        return model.strip()
    if spec.v2_id is None:
        raise QianfanInvalidRequestError(
            f"{spec.display_name} is only offered on Qianfan v1 (endpoint "
            f"{spec.v1_endpoint!r}); use api_version='v1' with QIANFAN_AK/QIANFAN_SK, or "
            "pick a v2 model such as ernie-speed-8k."
        )
    return spec.v2_id


def chat_request(
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
    """Build a v2 chat request (without the ``Authorization`` header).

    Args:
        base_url: Host root, e.g. ``https://qianfan.baidubce.com``.
        model: The model name as the user gave it.
        spec: Its catalogue entry, if known.
        endpoint: Must be ``None``: custom endpoints are a v1 concept.
        conversation: Repaired messages.
        params: Checked parameters.
        stream: Ask for server-sent events (with usage in the final event).
        tools: Tools to offer natively (``tools``/``tool_choice``), if any.

    Returns:
        The request.
    """
    if endpoint:
        raise QianfanInvalidRequestError(
            f"endpoint={endpoint!r} is a v1 setting and v2 has no endpoints; on v2 name "
            "the service with model=..., or set api_version='v1'."
        )
    system = [{"role": "system", "content": conversation.system}] if conversation.system else []
    body: dict[str, Any] = {
        "model": model_id_for(model, spec),
        "messages": [*system, *wire_messages(conversation, _tool_turn)],
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    if tools is not None and tools.native:
        body.update(_tool_fields(tools))
    return HttpRequest(f"{base_url}{CHAT_PATH}", finish_body(body, params, _WIRE_NAMES))


def parse_reply(status: int, headers: Mapping[str, str], body: bytes) -> Reply:
    """Parse a whole v2 answer.

    Raises:
        QianfanError: The error the answer reports, or ``QianfanAPIError`` for a body
            that is not JSON or has no choices.
    """
    if status != 200:
        raise http_error(status, headers, body, _raise_if_error)
    request_id = header(headers, REQUEST_ID_HEADER)
    data = decode_json(body, "an answer", request_id)
    _raise_if_error(data, request_id, status)
    choice = _first_choice(data, request_id)
    if choice is None:
        raise unusable_answer("an answer without choices", join_ids(data.get("id"), request_id))
    message = choice.get("message") or {}
    reply = Reply(
        text=str(message.get("content") or ""),
        finish_reason=choice.get("finish_reason"),
        usage=usage_of(data.get("usage")),
        response_id=data.get("id"),
        model=data.get("model"),
        flags={k: choice[k] for k in _FLAGS if k in choice},
        done=True,
        tool_calls=_raw_calls(message.get("tool_calls")),
    )
    return stamp(reply, headers)


def parse_event(payload: str, request_id: str | None) -> Reply:
    """Parse one v2 stream event (``[DONE]`` ends the stream).

    Args:
        payload: The event's data.
        request_id: The stream's ``X-Baidu-Request-Id``, for errors.
    """
    if payload == "[DONE]" or payload.strip() == "[DONE]":
        return Reply(done=True)
    data = decode_json(payload, "a stream event", request_id)
    _raise_if_error(data, request_id, 200)
    choice = _first_choice(data, request_id)
    if choice is None:
        if not isinstance(data.get("choices"), list) and not data.get("usage"):
            # Not a chunk (a gateway's body, {}): retried like an answer without choices.
            raise unusable_answer(
                f"a stream event without choices: {payload[:200]}",
                join_ids(data.get("id"), request_id),
            )
        choice = {}
    delta = choice.get("delta") or {}
    content = delta.get("content")
    calls = delta.get("tool_calls")
    usage = data.get("usage")
    return Reply(
        text=content if type(content) is str else str(content or ""),
        finish_reason=choice.get("finish_reason") or None,
        usage=usage_of(usage) if usage else None,
        response_id=data.get("id"),
        model=data.get("model"),
        flags={k: choice[k] for k in _FLAGS if k in choice},
        tool_calls=_raw_calls(calls) if calls else [],
    )


def _tool_fields(tools: ToolSetup) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "tools": [{"type": "function", "function": dict(f)} for f in tools.functions]
    }
    if tools.choice in ("auto", "none", "required"):
        fields["tool_choice"] = tools.choice
    elif tools.choice is not None:
        fields["tool_choice"] = {"type": "function", "function": {"name": tools.choice}}
    if tools.parallel is not None:
        fields["parallel_tool_calls"] = tools.parallel
    return fields


def _tool_turn(turn: Turn) -> dict[str, Any]:
    """An assistant turn with its call, or a ``tool`` result message."""
    if turn.role == "tool":
        content = turn.content if turn.content.strip() else '""'
        if turn.status == "error" and not content.lower().startswith("error"):
            content = f"Error: {content}"
        message = {"role": "tool", "tool_call_id": turn.tool_call_id, "content": content}
        return {**message, "name": turn.name} if turn.name else message
    calls = [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in turn.tool_calls
    ]
    return {"role": "assistant", "content": turn.content, "tool_calls": calls}


def _raw_calls(raw: Any) -> list[RawCall]:
    """OpenAI-shaped ``tool_calls`` (whole, or stream pieces with ``index``)."""
    if not isinstance(raw, list):
        return []
    calls = []
    for position, item in enumerate(raw):
        if not isinstance(item, dict):
            continue
        function: dict[str, Any] = (
            item["function"] if isinstance(item.get("function"), dict) else {}
        )
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = "" if arguments is None else json.dumps(arguments, ensure_ascii=False)
        index = item.get("index")
        calls.append(
            RawCall(
                index if isinstance(index, int) else position,
                item.get("id") or None,
                function.get("name") or None,
                arguments,
            )
        )
    return calls


def _first_choice(data: Any, request_id: str | None) -> dict[str, Any] | None:
    if not isinstance(data, dict):
        raise unusable_answer(f"an unexpected answer: {str(data)[:200]}", request_id)
    choices = data.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    return None


def _raise_if_error(data: Any, request_id: str | None, status: int) -> None:
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error = data["error"]
        code = error.get("code")
        raise error_from_v2(
            status,
            str(code) if code is not None else None,
            str(error.get("message") or "unknown error"),
            request_id=join_ids(data.get("id"), request_id),
        )
    # Some gateways answer v2 calls in the v1 error format.
    v1_format = v1_error(data, request_id, status)
    if v1_format is not None:
        raise v1_format
