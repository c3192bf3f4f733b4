"""v2 wire format: request bodies and parsing of answers, events and errors."""

from __future__ import annotations

import json

import pytest

from langchain_qianfan_free._catalogue import lookup
from langchain_qianfan_free._messages import Conversation, Turn
from langchain_qianfan_free._params import resolve_params
from langchain_qianfan_free._protocols import v2 as protocol_v2
from langchain_qianfan_free.errors import (
    QianfanAPIError,
    QianfanAuthenticationError,
    QianfanError,
    QianfanInvalidRequestError,
    QianfanRateLimitError,
)

CONV = Conversation("sys", (Turn("user", "q"), Turn("assistant", "a"), Turn("user", "q2")))


def build(model="ERNIE-Speed-8K", settings=None, stream=False, endpoint=None):
    params = resolve_params(settings or {}, {}, lookup(model))
    return protocol_v2.chat_request(
        "http://h", model, lookup(model), endpoint, CONV, params, stream=stream
    )


def test_body_is_openai_shaped_with_v2_names() -> None:
    request = build(settings={"max_tokens": 10, "user_id": "u", "temperature": 0.5}, stream=True)
    body = json.loads(request.body)
    assert request.url == "http://h/v2/chat/completions"
    assert body["model"] == "ernie-speed-8k"
    assert body["messages"][0] == {"role": "system", "content": "sys"}
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert (body["max_tokens"], body["user"], body["temperature"]) == (10, "u", 0.5)
    assert body["stream_options"] == {"include_usage": True}
    assert "Authorization" not in request.headers


@pytest.mark.parametrize(
    ("model", "wire"),
    [
        ("ERNIE-Speed-8K", "ernie-speed-8k"),
        ("ernie_speed", "ernie-speed-8k"),
        ("ERNIE-Lite-8K", "ernie-lite-8k"),
        ("ernie-tiny-8k", "ernie-tiny-8k"),
        ("ERNIE-Speed-128K", "ernie-speed-128k"),
        ("some-new-model", "some-new-model"),
    ],
)
def test_model_names_map_to_v2_ids(model, wire) -> None:
    assert json.loads(build(model=model).body)["model"] == wire


def test_v1_only_model_and_endpoint_are_rejected_before_sending() -> None:
    with pytest.raises(QianfanInvalidRequestError, match="only offered on Qianfan v1"):
        build(model="ERNIE-Speed-AppBuilder")
    with pytest.raises(QianfanInvalidRequestError, match="endpoint='svc' is a v1 setting"):
        build(endpoint="svc")


def test_parse_answer() -> None:
    body = json.dumps(
        {
            "id": "as-2",
            "model": "ernie-speed-8k",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "好"},
                    "finish_reason": "stop",
                    "flag": 0,
                }
            ],
            "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3},
        }
    ).encode()
    reply = protocol_v2.parse_reply(200, {}, body)
    assert (reply.text, reply.finish_reason, reply.model, reply.flags) == (
        "好",
        "stop",
        "ernie-speed-8k",
        {"flag": 0},
    )


def test_http_errors() -> None:
    body = (
        b'{"error":{"code":"rpm_rate_limit_exceeded","message":"Rate limit reached for '
        b'RPM","type":"rate_limit_exceeded"},"id":"as-wbx"}'
    )
    with pytest.raises(QianfanRateLimitError, match="rpm_rate_limit_exceeded") as info:
        protocol_v2.parse_reply(429, {}, body)
    assert info.value.request_id == "as-wbx"
    with pytest.raises(QianfanAuthenticationError):
        protocol_v2.parse_reply(
            401, {}, b'{"error":{"code":"invalid_iam_token","message":"IAM Certification failed"}}'
        )


def test_events() -> None:
    delta = protocol_v2.parse_event(
        '{"id":"as-3","choices":[{"index":0,"delta":{"role":"assistant","content":"你"}}],'
        '"usage":null}',
        None,
    )
    usage = protocol_v2.parse_event(
        '{"id":"as-3","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,'
        '"total_tokens":3}}',
        None,
    )
    assert (delta.text, delta.usage, delta.done) == ("你", None, False)
    assert usage.usage == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    assert protocol_v2.parse_event("[DONE]", None).done


def test_a_v1_format_error_on_v2_reads_a_string_code_as_v1_does() -> None:
    body = b'{"error_code":"18","error_msg":"Open api qps request limit reached"}'
    with pytest.raises(QianfanRateLimitError) as info:
        protocol_v2.parse_reply(200, {}, body)
    assert (info.value.code, info.value.is_retryable) == (18, True)


@pytest.mark.parametrize("status", [500, 502, 503])
@pytest.mark.parametrize(
    "body",
    [
        b'{"error_code":336000,"error_msg":"Internal error"}',
        b'{"error_code":1,"error_msg":"Unknown error"}',
        b'{"error":{"code":"invalid_model","message":"m","type":"x"}}',
    ],
)
def test_a_5xx_is_retryable_whatever_its_body_says(status, body) -> None:
    with pytest.raises(QianfanError) as info:
        protocol_v2.parse_reply(status, {}, body)
    assert info.value.is_retryable
    assert info.value.status == status
    assert info.value.code in (336000, 1, "invalid_model")


@pytest.mark.parametrize(
    "body",
    [b"{}", b'{"requestId":"r","code":"NotFound","message":"m"}', b'{"status":"error"}'],
)
def test_an_answer_without_choices_is_unusable(body) -> None:
    with pytest.raises(QianfanAPIError, match="without choices") as info:
        protocol_v2.parse_reply(200, {}, body)
    assert info.value.is_retryable
