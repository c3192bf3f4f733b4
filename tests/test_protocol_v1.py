"""v1 wire format: request bodies and parsing of answers, events and errors."""

from __future__ import annotations

import json

import pytest

from langchain_qianfan_free._catalogue import lookup
from langchain_qianfan_free._messages import Conversation, Turn
from langchain_qianfan_free._params import resolve_params
from langchain_qianfan_free._protocols import v1 as protocol_v1
from langchain_qianfan_free.errors import (
    QianfanAPIError,
    QianfanInvalidRequestError,
    QianfanRateLimitError,
)

CONV = Conversation("be brief", (Turn("user", "hi", "ann"),))
HEADERS = {"X-Baidu-Request-Id": "rid-1"}


def build(model="ERNIE-Speed-8K", endpoint=None, settings=None, extra=None, stream=False):
    params = resolve_params(settings or {}, extra or {}, lookup(model))
    return protocol_v1.chat_request(
        "http://h", model, lookup(model), endpoint, CONV, params, stream=stream
    )


def test_body_uses_v1_names_and_route() -> None:
    request = build(
        settings={"temperature": 0, "max_tokens": 50, "user_id": "u1", "stop": ["x"], "top_p": 0.5}
    )
    body = json.loads(request.body)
    assert request.url == "http://h/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie_speed"
    assert body == {
        "messages": [{"role": "user", "content": "hi", "name": "ann"}],
        "system": "be brief",
        "stream": False,
        "temperature": 0.01,
        "top_p": 0.5,
        "max_output_tokens": 50,
        "user_id": "u1",
        "stop": ["x"],
    }
    assert "access_token" not in request.url


@pytest.mark.parametrize(
    ("model", "endpoint", "path"),
    [
        ("ernie-speed-8k", None, "ernie_speed"),
        ("ernie_speed", None, "ernie_speed"),
        ("ERNIE-Speed-128K", None, "ernie-speed-128k"),
        ("ERNIE-Lite-8K", None, "ernie-lite-8k"),
        ("ernie-tiny-8k", None, "ernie-tiny-8k"),
        ("my-custom-svc", None, "my-custom-svc"),
        ("ernie-speed-8k", "my-svc", "my-svc"),
    ],
)
def test_model_names_map_to_endpoints(model, endpoint, path) -> None:
    assert build(model=model, endpoint=endpoint).url.endswith(f"/chat/{path}")


def test_extra_fields_pass_through_but_cannot_clash() -> None:
    assert json.loads(build(extra={"min_output_tokens": 5}).body)["min_output_tokens"] == 5
    with pytest.raises(QianfanInvalidRequestError, match="max_output_tokens"):
        build(settings={"max_tokens": 10}, extra={"max_output_tokens": 20})


def test_parse_answer() -> None:
    body = json.dumps(
        {
            "id": "as-1",
            "result": "你好",
            "is_truncated": False,
            "need_clear_history": False,
            "finish_reason": "normal",
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        }
    ).encode()
    reply = protocol_v1.parse_reply(200, HEADERS, body)
    assert (reply.text, reply.finish_reason, reply.response_id) == ("你好", "normal", "as-1")
    assert reply.usage == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    assert reply.flags == {"is_truncated": False, "need_clear_history": False}


def test_error_in_200_body_raises() -> None:
    body = b'{"error_code":336501,"error_msg":"Rate limit reached for RPM","id":"as-9"}'
    with pytest.raises(QianfanRateLimitError, match="336501") as info:
        protocol_v1.parse_reply(200, HEADERS, body)
    assert info.value.request_id == "as-9 (X-Baidu-Request-Id: rid-1)"


def test_non_json_and_gateway_answers() -> None:
    with pytest.raises(QianfanAPIError, match="not valid JSON"):
        protocol_v1.parse_reply(200, {}, b"<html>oops")
    with pytest.raises(QianfanAPIError, match="HTTP 502") as info:
        protocol_v1.parse_reply(502, {}, b"<html>Bad Gateway</html>")
    assert info.value.is_retryable


def test_events_only_final_usage_counts() -> None:
    first = protocol_v1.parse_event(
        '{"id":"as-1","is_end":false,"result":"a","usage":{"prompt_tokens":5,'
        '"completion_tokens":0,"total_tokens":5}}',
        None,
    )
    last = protocol_v1.parse_event(
        '{"id":"as-1","is_end":true,"result":"","finish_reason":"normal",'
        '"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}',
        None,
    )
    assert (first.text, first.usage, first.done) == ("a", None, False)
    assert (last.usage, last.done, last.finish_reason) == (
        {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
        True,
        "normal",
    )


def test_bare_error_event_raises() -> None:
    with pytest.raises(QianfanInvalidRequestError, match="336003"):
        protocol_v1.parse_event('{"error_code":336003,"error_msg":"too long"}', None)


NOT_ANSWERS = [
    {},
    {"requestId": "req-1", "code": "ServiceUnavailable", "message": "gateway busy"},
    {"status": "error"},
    {"id": "chatcmpl-1", "choices": [{"message": {"role": "assistant", "content": "hi"}}]},
    {"id": "as-1", "result": None},
    {"id": "as-1", "result": {"text": "hi"}},
]


@pytest.mark.parametrize("data", NOT_ANSWERS)
def test_an_answer_with_neither_result_nor_error_is_unusable(data) -> None:
    with pytest.raises(QianfanAPIError, match="neither result nor error_code") as info:
        protocol_v1.parse_reply(200, HEADERS, json.dumps(data).encode())
    assert info.value.is_retryable
    assert "rid-1" in (info.value.request_id or "")


def test_a_gateway_body_keeps_its_request_id_and_text() -> None:
    body = b'{"requestId":"req-1","code":"ServiceUnavailable","message":"gateway busy"}'
    with pytest.raises(QianfanAPIError, match="gateway busy") as info:
        protocol_v1.parse_reply(200, {}, body)
    assert info.value.request_id == "req-1"


@pytest.mark.parametrize("data", NOT_ANSWERS)
def test_an_event_with_neither_result_is_end_nor_error_is_unusable(data) -> None:
    with pytest.raises(QianfanAPIError, match="neither result, is_end nor error_code") as info:
        protocol_v1.parse_event(json.dumps(data), "rid-1")
    assert info.value.is_retryable


@pytest.mark.parametrize(
    "data",
    [
        {"id": "as-1", "result": ""},  # an empty answer is still an answer
        {"id": "as-1", "result": "", "function_call": {"name": "f", "arguments": "{}"}},
        {"id": "as-1", "function_call": {"name": "f", "arguments": "{}"}},
    ],
)
def test_empty_text_and_function_call_answers_stay_answers(data) -> None:
    reply = protocol_v1.parse_reply(200, {}, json.dumps(data).encode())
    assert reply.text == ""
    assert [c.name for c in reply.tool_calls] == (["f"] if "function_call" in data else [])


@pytest.mark.parametrize(
    ("payload", "done"),
    [
        ('{"id":"as-1","is_end":true,"result":"","finish_reason":"normal"}', True),
        ('{"id":"as-1","is_end":true}', True),
        ('{"id":"as-1","is_end":false,"sentence_id":3}', False),
        ('{"id":"as-1","result":"x"}', False),
        ('{"is_end":true,"result":"","function_call":{"name":"f","arguments":"{}"}}', True),
    ],
)
def test_final_empty_and_function_call_events_stay_events(payload, done) -> None:
    assert protocol_v1.parse_event(payload, None).done is done


@pytest.mark.parametrize("status", [500, 502, 503])
@pytest.mark.parametrize("code", [1, 336000, 424242])
def test_a_5xx_in_the_v1_error_format_is_retryable_and_keeps_its_code(status, code) -> None:
    body = json.dumps({"error_code": code, "error_msg": "Internal error", "id": "as-5"})
    with pytest.raises(QianfanAPIError) as info:
        protocol_v1.parse_reply(status, {}, body.encode())
    assert info.value.is_retryable
    assert (info.value.code, info.value.status, info.value.request_id) == (code, status, "as-5")


@pytest.mark.parametrize(
    ("model", "endpoint", "setting"),
    [
        ("ernie-speed-8k", "..", "endpoint"),
        ("ernie-speed-8k", ".", "endpoint"),
        ("ernie-speed-8k", " ../ ", "endpoint"),
        ("ernie-speed-8k", "/", "endpoint"),
        ("..", None, "model"),
        ("...", None, "model"),
        ("   ", None, "model"),
        ("", None, "model"),
    ],
)
def test_a_segment_that_would_change_the_route_is_refused(model, endpoint, setting) -> None:
    with pytest.raises(QianfanInvalidRequestError, match=f"^{setting}=") as info:
        build(model=model, endpoint=endpoint)
    assert "Set " in str(info.value)


@pytest.mark.parametrize(
    ("endpoint", "segment"),
    [
        ("a/..", "a%2F.."),
        ("../oauth/2.0/token", "..%2Foauth%2F2.0%2Ftoken"),
        ("%2e%2e", "%252e%252e"),
        ("svc?x=1#f", "svc%3Fx%3D1%23f"),
        ("..a", "..a"),
    ],
)
def test_every_other_segment_is_escaped_into_one_segment(endpoint, segment) -> None:
    assert build(endpoint=endpoint).url == f"http://h{protocol_v1.CHAT_PATH}{segment}"
