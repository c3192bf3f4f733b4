"""Qianfan v1 (``wenxinworkshop``): request bodies and answer parsing.

``POST {base}/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/{endpoint}?access_token=…``
with the system prompt in a top-level ``system`` field, ``max_output_tokens`` and
``user_id``. Answers carry the text in ``result``; errors arrive with HTTP 200 and
``error_code``/``error_msg``; streams end with an event whose ``is_end`` is true and
report usage only reliably on that last event (reference §2, §3, §4).
The access token is added to the URL by the transport, never here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

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
from langchain_qianfan_free.errors import QianfanError, QianfanInvalidRequestError

if TYPE_CHECKING:
    from langchain_qianfan_free._tools import ToolSetup

__all__ = [
    "CHAT_PATH",
    "DEFAULT_BASE_URL",
    "VERSION",
    "chat_request",
    "endpoint_for",
    "parse_event",
    "parse_reply",
]

VERSION: ApiVersion = "v1"
DEFAULT_BASE_URL = "https://aip.baidubce.com"
CHAT_PATH = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/"

_WIRE_NAMES = {"max_tokens": "max_output_tokens"}
_FLAGS = ("is_truncated", "need_clear_history", "ban_round", "flag")


def endpoint_for(model: str, spec: ModelSpec | None, endpoint: str | None) -> str:
    """The chat route's last path segment: ``endpoint`` if set, else the model's."""
    if endpoint:
        return endpoint.strip().strip("/")
    if spec is not None and spec.v1_endpoint:
        return spec.v1_endpoint
    return model.strip()


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
    """Build a v1 chat request (without the access token).

    Args:
        base_url: Host root, e.g. ``https://aip.baidubce.com``.
        model: The model name as the user gave it.
        spec: Its catalogue entry, if known.
        endpoint: A custom endpoint that overrides the model's.
        conversation: Repaired messages.
        params: Checked parameters.
        stream: Ask for server-sent events.
        tools: Tools to offer natively (``functions``/``tool_choice``), if any.

    Returns:
        The request.
    """
    body: dict[str, Any] = {"messages": wire_messages(conversation, _tool_turn), "stream": stream}
    if conversation.system:
        body["system"] = conversation.system
    if tools is not None and tools.native:
        body.update(_tool_fields(tools))
    path = _path_segment(endpoint_for(model, spec, endpoint), model, endpoint)
    return HttpRequest(f"{base_url}{CHAT_PATH}{path}", finish_body(body, params, _WIRE_NAMES))


def _path_segment(segment: str, model: str, endpoint: str | None) -> str:
    """The endpoint as one escaped path segment that cannot change the route.

    Every character but letters, digits and ``-._~`` is percent-encoded (``/``, ``?``,
    ``#``, ``%`` included), so the value stays one segment through requests/urllib3 and
    yarl/aiohttp. Those libraries resolve ``.`` and ``..`` segments into another route,
    and an empty segment posts to ``…/chat/``: such values are refused.

    Raises:
        QianfanInvalidRequestError: For an empty or dots-only segment.
    """
    if segment.strip("."):
        return quote(segment, safe="")
    if endpoint:
        raise QianfanInvalidRequestError(
            f"endpoint={endpoint!r} is not a v1 service name (the last segment of the "
            "chat URL cannot be empty or only dots). Set endpoint to the service's path "
            "segment from the Qianfan console (e.g. 'ernie_speed'), or leave it unset."
        )
    raise QianfanInvalidRequestError(
        f"model={model!r} names no v1 endpoint (the last segment of the chat URL cannot "
        "be empty or only dots). Set model to a model name such as 'ernie-speed-8k', or "
        "endpoint to a custom service's path segment."
    )


def parse_reply(status: int, headers: Mapping[str, str], body: bytes) -> Reply:
    """Parse a whole v1 answer.

    Raises:
        QianfanError: The error the answer reports (HTTP 200 + ``error_code``), or a
            gateway/HTTP error, or ``QianfanAPIError`` for a body that is not JSON.
    """
    if status != 200:
        raise http_error(status, headers, body, _raise_if_error)
    request_id = header(headers, REQUEST_ID_HEADER)
    data = decode_json(body, "an answer", request_id)
    if not isinstance(data, dict):
        raise unusable_answer(f"an unexpected answer: {str(data)[:200]}", request_id)
    _raise_if_error(data, request_id, status)
    if not _has_text(data) and not _function_call(data):
        raise _neither(data, "an answer with neither result nor error_code", request_id)
    return stamp(_reply(data, final=True), headers)


def parse_event(payload: str, request_id: str | None) -> Reply:
    """Parse one v1 stream event (a ``data:`` payload or a bare error line).

    Args:
        payload: The event's data.
        request_id: The stream's ``X-Baidu-Request-Id``, for errors.
    """
    data = decode_json(payload, "a stream event", request_id)
    if not isinstance(data, dict):
        raise unusable_answer(f"an unexpected stream event: {payload[:200]}", request_id)
    _raise_if_error(data, request_id, 200)
    if "is_end" not in data and not _has_text(data) and not _function_call(data):
        raise _neither(
            data, "a stream event with neither result, is_end nor error_code", request_id
        )
    done = bool(data.get("is_end"))
    return _reply(data, final=done)


def _has_text(data: dict[str, Any]) -> bool:
    # "" is a legitimate result (a function call, a last event); None or a missing
    # field means the body is not a v1 answer (a gateway's, an OpenAI-shaped one).
    return isinstance(data.get("result"), str)


def _neither(data: dict[str, Any], what: str, request_id: str | None) -> QianfanError:
    """An HTTP 200 body that is neither an answer nor a v1 error: retried as unusable."""
    snippet = json.dumps(data, ensure_ascii=False, default=str)[:200]
    body_id = data.get("id") or data.get("requestId")  # BCE gateways: requestId
    return unusable_answer(f"{what}: {snippet}", join_ids(body_id, request_id))


def _tool_fields(tools: ToolSetup) -> dict[str, Any]:
    # v1 requires a description; it has no "auto"/"none"/"required" keywords, so a
    # call is forced only by naming the function (ChatQianfan enforces "required").
    functions = [
        {
            **{k: v for k, v in f.items() if k != "strict"},  # v1 functions have no strict
            "description": f.get("description") or f["name"],
        }
        for f in tools.functions
    ]
    fields: dict[str, Any] = {"functions": functions}
    forced = tools.forced
    if forced is True and len(functions) == 1:
        forced = functions[0]["name"]
    if isinstance(forced, str):
        fields["tool_choice"] = {"type": "function", "function": {"name": forced}}
    return fields


def _tool_turn(turn: Turn) -> dict[str, Any]:
    """An assistant turn with its ``function_call``, or a ``function`` result message."""
    if turn.role == "tool":
        return {"role": "function", "name": turn.name, "content": _result_json(turn)}
    call = turn.tool_calls[0]  # tool_history gives v1 one call per assistant turn
    return {
        "role": "assistant",
        "content": turn.content,
        "function_call": {"name": call.name, "arguments": call.arguments},
    }


def _result_json(turn: Turn) -> str:
    """v1 wants the function's result as a JSON object."""
    try:
        value = json.loads(turn.content)
    except ValueError:
        value = None
    if isinstance(value, dict) and turn.status != "error":
        return turn.content
    key = "error" if turn.status == "error" else "result"
    return json.dumps({key: value if value is not None else turn.content}, ensure_ascii=False)


def _function_call(data: dict[str, Any]) -> list[RawCall]:
    call = data.get("function_call")
    if not isinstance(call, dict) or not call.get("name"):
        return []
    arguments = call.get("arguments")
    if not isinstance(arguments, str):
        arguments = "" if arguments is None else json.dumps(arguments, ensure_ascii=False)
    return [RawCall(0, None, str(call["name"]), arguments)]


def _reply(data: dict[str, Any], *, final: bool) -> Reply:
    flags = {k: data[k] for k in _FLAGS if k in data} if final else {}
    call = data.get("function_call")
    if isinstance(call, dict) and call.get("thoughts"):
        flags["function_call_thoughts"] = str(call["thoughts"])
    return Reply(
        text=str(data.get("result") or ""),
        finish_reason=data.get("finish_reason") if final else None,
        # Only the final event's usage counts (earlier ones repeat the prompt tokens).
        usage=usage_of(data.get("usage")) if final else None,
        response_id=data.get("id"),
        flags=flags,
        done=final,
        tool_calls=_function_call(data),
    )


def _raise_if_error(data: Any, request_id: str | None, status: int) -> None:
    error = v1_error(data, request_id, status)
    if error is not None:
        raise error
