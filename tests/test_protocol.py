"""What both protocols share: wire messages, body assembly, the event reader, headers."""

from __future__ import annotations

import json

import pytest

from langchain_qianfan_free._messages import Conversation, Turn
from langchain_qianfan_free._params import resolve_params
from langchain_qianfan_free._protocols import common as protocol
from langchain_qianfan_free._protocols import v1 as protocol_v1
from langchain_qianfan_free._protocols import v2 as protocol_v2
from langchain_qianfan_free._protocols.common import (
    EventReader,
    HttpRequest,
    finish_body,
    rate_limit_headers,
    request_id_of,
    wire_messages,
)
from langchain_qianfan_free.errors import QianfanAPIError, QianfanError, QianfanRateLimitError


def test_wire_messages_and_body() -> None:
    conversation = Conversation(
        None, (Turn("user", "q", "ann"), Turn("assistant", "a"), Turn("user", "q2"))
    )
    wire = wire_messages(conversation, lambda turn: {"tool": turn.role})
    assert wire[0] == {"role": "user", "content": "q", "name": "ann"}
    params = resolve_params({"max_tokens": 9, "stop": ["x"]}, {"seed": 1}, None)
    body = json.loads(finish_body({"a": 1}, params, {"max_tokens": "max_output_tokens"}))
    assert body == {"a": 1, "max_output_tokens": 9, "stop": ["x"], "seed": 1}


def test_event_reader_delivers_events_before_an_error() -> None:
    reader = EventReader(protocol_v1, {})
    raw = (
        b'data: {"result":"a","is_end":false}\n\n'
        b'{"error_code":336100,"error_msg":"try again later"}\n'
    )
    answers = reader.feed(raw)
    assert next(answers).text == "a"
    with pytest.raises(QianfanError, match="336100"):
        next(answers)


@pytest.mark.parametrize("parser", [protocol_v1, protocol_v2])
def test_headers_are_read_once_onto_each_reply(parser) -> None:
    """The request id and rate limits come with the reply, not beside it."""
    headers = {"x-baidu-request-id": "r9", "X-Ratelimit-Remaining-Requests": "7"}
    reader = EventReader(parser, headers)
    event = (
        b'data: {"result":"a","is_end":false}\n\n'
        if parser is protocol_v1
        else b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
    )
    (reply,) = reader.feed(event)
    assert (reply.text, reply.request_id) == ("a", "r9")
    assert reply.rate_limit == {"X-Ratelimit-Remaining-Requests": 7}
    body = (
        b'{"result":"b"}'
        if parser is protocol_v1
        else b'{"choices":[{"index":0,"message":{"content":"b"}}]}'
    )
    whole = parser.parse_reply(200, headers, body)
    assert (whole.text, whole.request_id, whole.rate_limit) == ("b", "r9", reply.rate_limit)


def test_request_repr_hides_credentials() -> None:
    request = HttpRequest(
        "http://h/chat?access_token=24.topsecret",
        b'{"secret":"body"}',
        {"Authorization": "Bearer bce-v3/k"},
    )
    assert "topsecret" not in repr(request)
    assert "bce-v3/k" not in repr(request)
    assert "body" not in repr(request)


def test_headers() -> None:
    assert request_id_of({"x-baidu-request-id": "r1"}, "as-1") == "as-1 (X-Baidu-Request-Id: r1)"
    assert rate_limit_headers({"x-ratelimit-remaining-tokens": "5", "Other": "1"}) == {
        "X-Ratelimit-Remaining-Tokens": 5
    }


@pytest.mark.parametrize("protocol", [protocol_v1, protocol_v2], ids=["v1", "v2"])
@pytest.mark.parametrize("code", [18, "18", " 18 "])
def test_both_protocols_read_a_v1_error_code_alike(protocol, code) -> None:
    body = json.dumps({"error_code": code, "error_msg": "Open api qps request limit reached"})
    with pytest.raises(QianfanRateLimitError) as info:
        protocol.parse_reply(200, {}, body.encode())
    assert (info.value.code, info.value.is_retryable) == (18, True)


@pytest.mark.parametrize("protocol", [protocol_v1, protocol_v2], ids=["v1", "v2"])
@pytest.mark.parametrize("code", ["x18", 1.5, "-3", "١٨"])
def test_a_v1_error_code_that_is_no_number_is_unknown(protocol, code) -> None:
    body = json.dumps({"error_code": code, "error_msg": "odd"}).encode()
    with pytest.raises(QianfanAPIError) as info:
        protocol.parse_reply(200, {}, body)
    assert info.value.code == -1


@pytest.mark.parametrize("protocol", [protocol_v1, protocol_v2], ids=["v1", "v2"])
@pytest.mark.parametrize("code", [None, 0, "0", "00", " 0", "", True, False])
def test_an_error_code_that_says_no_error_is_no_error(protocol, code) -> None:
    """``null``, ``0`` or a bool is no error: the body is read as an answer."""
    body = json.dumps({"error_code": code, "error_msg": "odd"}).encode()
    with pytest.raises(QianfanAPIError) as info:  # ... an unusable one here: retried
        protocol.parse_reply(200, {}, body)
    assert info.value.is_retryable
    assert info.value.code is None


@pytest.mark.parametrize("code", [None, 0, False])
def test_a_v1_answer_with_an_empty_error_code_is_an_answer(code) -> None:
    body = json.dumps({"id": "as-1", "result": "好的", "error_code": code}).encode()
    assert protocol_v1.parse_reply(200, {}, body).text == "好的"


def test_v1_error_is_only_for_v1_error_bodies() -> None:
    assert protocol.v1_error({"result": "hi"}, None, 200) is None
    assert protocol.v1_error([{"error_code": 1}], None, 200) is None
    error = protocol.v1_error({"error_code": 336100, "id": "as-1"}, "r", 200)
    assert error is not None
    assert (error.code, error.request_id, error.message) == (
        336100,
        "as-1 (X-Baidu-Request-Id: r)",
        "unknown error",
    )
