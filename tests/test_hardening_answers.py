"""Issue 15, against the emulator: answers that are neither a result nor an error (item 2),
HTTP 5xx retried whatever the body says (9), Retry-After obeyed and bounded (14), retry
decisions logged (15), v1 endpoints that cannot change the route (12), and redaction
that hides secrets, not words (13). Both protocols; invoke, ainvoke, stream and astream.

Backoff waits are recorded, not slept (``make_model`` / ``record_sleeps``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import time
from email.utils import formatdate
from typing import Any

import pytest
from pydantic import SecretStr

from langchain_qianfan_free._auth.schemes import BearerAuth
from langchain_qianfan_free._params import resolve_params
from langchain_qianfan_free._protocols import v1 as protocol_v1
from langchain_qianfan_free._transport import retry
from langchain_qianfan_free._transport.aio import AsyncTransport
from langchain_qianfan_free._transport.call import Call
from langchain_qianfan_free._transport.sync import SyncTransport
from langchain_qianfan_free._turns import Conversation, Turn
from langchain_qianfan_free.errors import (
    QianfanAPIError,
    QianfanError,
    QianfanPermissionError,
    QianfanRateLimitError,
)

from .conftest import MODES, PROTOCOLS, call, make_model, record_sleeps

pytestmark = pytest.mark.usefixtures("fresh_tokens")

STREAMS = ["stream", "astream"]
LOGGER = "langchain_qianfan_free"


def chats(emu: Any, protocol: str) -> int:
    return sum(r.protocol == protocol for r in emu.requests)


def v1_error(code: int | str, message: str = "Internal error") -> str:
    return json.dumps({"error_code": code, "error_msg": message, "id": "as-e"})


def v2_error(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message, "type": "x"}, "id": "as-e"})


def rate_limit_body(protocol: str) -> str:
    if protocol == "v1":
        return v1_error(336501, "Rate limit reached for RPM")
    return v2_error("rpm_rate_limit_exceeded", "Rate limit reached for RPM")


# ------------------------------------------------- item 2: neither result nor error

NOT_ANSWERS = {
    "empty": "{}",
    "bce-gateway": '{"requestId":"9f2c-1","code":"ServiceUnavailable","message":"busy"}',
    "status": '{"status":"error"}',
    "openai-shaped": json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
        }
    ),
}


def not_answers(protocol: str) -> list[str]:
    # An OpenAI-shaped body is v2's own answer format, not an unusable one there.
    return [name for name in NOT_ANSWERS if protocol == "v1" or name != "openai-shaped"]


CASES = [(p, name) for p in PROTOCOLS for name in not_answers(p)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("protocol", "body"), CASES)
def test_a_200_body_that_is_no_answer_is_retried(qianfan_emulator, protocol, body, mode) -> None:
    qianfan_emulator.queue_http_status(200, NOT_ANSWERS[body])
    model = make_model(qianfan_emulator, protocol)
    message, _ = call(model, mode, "hi")
    assert message.content  # the retry's real answer, not an empty success
    assert chats(qianfan_emulator, protocol) == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("protocol", "body"), CASES)
def test_a_200_body_that_is_never_an_answer_is_an_api_error(
    qianfan_emulator, protocol, body, mode
) -> None:
    qianfan_emulator.queue_http_status(200, NOT_ANSWERS[body], times=3)
    model = make_model(qianfan_emulator, protocol, max_retries=2)
    with pytest.raises(QianfanAPIError) as info:
        call(model, mode, "hi")
    assert info.value.is_retryable
    assert chats(qianfan_emulator, protocol) == 3


@pytest.mark.parametrize("mode", STREAMS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("body", ["{}", NOT_ANSWERS["bce-gateway"], NOT_ANSWERS["status"]])
def test_a_stream_event_that_is_no_event_is_retried(qianfan_emulator, protocol, body, mode):
    end = "data: [DONE]\n\n" if protocol == "v2" else ""
    qianfan_emulator.queue_http_status(
        200, f"data: {body}\n\n{end}", headers={"Content-Type": "text/event-stream"}
    )
    model = make_model(qianfan_emulator, protocol)
    message, _ = call(model, mode, "hi")
    assert message.content
    assert chats(qianfan_emulator, protocol) == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_string_v1_code_is_read_alike_on_both_protocols(qianfan_emulator, protocol, mode):
    # {"error_code": "18"}: a QPS limit on v1 and v2 alike (v2 gateways answer in v1 form).
    qianfan_emulator.queue_http_status(200, v1_error("18", "Open api qps request limit reached"))
    model = make_model(qianfan_emulator, protocol)
    message, _ = call(model, mode, "hi")
    assert message.content
    assert chats(qianfan_emulator, protocol) == 2
    qianfan_emulator.queue_http_status(200, v1_error("18", "qps"), times=3)
    with pytest.raises(QianfanRateLimitError) as info:
        call(model, mode, "hi")
    assert info.value.code == 18


# --------------------------------------------- item 9: any 5xx is retried

FINAL_CODES = [(500, 336000), (502, 1), (503, 424242)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("status", "code"), FINAL_CODES)
def test_a_5xx_with_a_final_v1_code_is_retried(qianfan_emulator, protocol, status, code, mode):
    qianfan_emulator.queue_http_status(status, v1_error(code))
    model = make_model(qianfan_emulator, protocol)
    message, _ = call(model, mode, "hi")
    assert message.content
    assert chats(qianfan_emulator, protocol) == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_5xx_that_persists_keeps_qianfans_code(qianfan_emulator, protocol, mode) -> None:
    qianfan_emulator.queue_http_status(500, v1_error(336000), times=3)
    model = make_model(qianfan_emulator, protocol, max_retries=2)
    with pytest.raises(QianfanAPIError) as info:
        call(model, mode, "hi")
    assert chats(qianfan_emulator, protocol) == 3
    assert (info.value.code, info.value.status) == (336000, 500)
    assert "Qianfan error 336000: Internal error | HTTP 500" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_a_v2_5xx_with_a_final_v2_code_is_retried(qianfan_emulator, mode) -> None:
    qianfan_emulator.queue_http_status(500, v2_error("invalid_model", "model offline for now"))
    model = make_model(qianfan_emulator, "v2")
    message, _ = call(model, mode, "hi")
    assert message.content
    assert chats(qianfan_emulator, "v2") == 2


# --------------------------------------------- item 14: Retry-After


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_retry_after_in_seconds_is_waited_in_full(qianfan_emulator, protocol, mode) -> None:
    qianfan_emulator.queue_http_status(503, "Service Unavailable", headers={"Retry-After": "30"})
    model = make_model(qianfan_emulator, protocol)
    waits = record_sleeps(model)
    message, _ = call(model, mode, "hi")
    assert message.content
    assert waits == [30.0]  # not cut to the 8 s backoff cap


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_retry_after_as_an_http_date_is_waited_until(qianfan_emulator, protocol, mode) -> None:
    asked = 40
    date = formatdate(time.time() + asked, usegmt=True)
    qianfan_emulator.queue_http_status(
        429, rate_limit_body(protocol), headers={"Retry-After": date}
    )
    model = make_model(qianfan_emulator, protocol)
    waits = record_sleeps(model)
    message, _ = call(model, mode, "hi")
    assert message.content
    assert len(waits) == 1
    # The wait runs until the date (whole seconds), not the 0.5 s backoff.
    assert asked - 2 < waits[0] <= asked


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("header", "seconds"), [("3600", 3600.0), ("date", 7200.0)])
def test_a_wait_longer_than_the_bound_is_raised_at_once(
    qianfan_emulator, protocol, header, seconds, mode
) -> None:
    value = formatdate(time.time() + seconds, usegmt=True) if header == "date" else header
    qianfan_emulator.queue_http_status(
        429, rate_limit_body(protocol), headers={"Retry-After": value}
    )
    model = make_model(qianfan_emulator, protocol, max_retries=3)
    waits = record_sleeps(model)
    with pytest.raises(QianfanRateLimitError) as info:
        call(model, mode, "hi")
    assert chats(qianfan_emulator, protocol) == 1
    assert waits == []
    assert info.value.retry_after is not None
    assert seconds - 2 < info.value.retry_after <= seconds
    assert info.value.retry_after > retry.MAX_RETRY_AFTER
    assert "Retry-After" in str(info.value)
    assert pickle.loads(pickle.dumps(info.value)).retry_after == info.value.retry_after


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_last_error_carries_the_servers_wait(qianfan_emulator, protocol, mode) -> None:
    qianfan_emulator.queue_http_status(
        503, "Service Unavailable", headers={"Retry-After": "2"}, times=2
    )
    model = make_model(qianfan_emulator, protocol, max_retries=1)
    waits = record_sleeps(model)
    with pytest.raises(QianfanAPIError) as info:
        call(model, mode, "hi")
    assert waits == [2.0]
    assert info.value.retry_after == 2.0


# --------------------------------------------- item 15: retry decisions are logged


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_retry_decisions_are_logged_without_secrets(
    qianfan_emulator, caplog, protocol, mode
) -> None:
    qianfan_emulator.queue_http_status(503, v1_error(336000), headers={"Retry-After": "1"})
    qianfan_emulator.queue_error(336501, times=2)
    model = make_model(qianfan_emulator, protocol, max_retries=2)
    with caplog.at_level(logging.INFO, logger=LOGGER), pytest.raises(QianfanRateLimitError):
        call(model, mode, "hi")
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    retries = [line for line in lines if line.startswith("retry")]
    assert retries[0] == "retry 1/2 in 1.00 s (Retry-After): QianfanAPIError 336000 (HTTP 503)"
    assert retries[1].startswith("retry 2/2 in ")
    assert "QianfanRateLimitError" in retries[1]
    assert retries[2].startswith("retry: giving up after 2 retries: QianfanRateLimitError")
    for secret in (qianfan_emulator.api_key, qianfan_emulator.ak, qianfan_emulator.sk):
        assert secret not in caplog.text


# --------------------------------------------- item 12: the v1 route cannot be changed

ESCAPED = ["a/..", "../../oauth/2.0/token", "%2e%2e", "..%2F..", ".%2e", "a?b=1#c", "x y", "中文"]


def v1_call(emu: Any, endpoint: str) -> Call:
    conversation = Conversation(None, (Turn("user", "hi"),))
    params = resolve_params({}, {}, None)
    request = protocol_v1.chat_request(
        emu.url, "custom", None, endpoint, conversation, params, stream=False
    )
    return Call(protocol_v1, request, BearerAuth(SecretStr("k")), 5.0, 0)


@pytest.mark.parametrize("endpoint", ESCAPED)
def test_an_escaped_endpoint_keeps_its_route_through_both_http_libraries(
    qianfan_emulator, endpoint
) -> None:
    # The emulator decodes the path once: seeing exactly the value under /chat/ proves
    # one segment, escaped once, with no dot segment resolved by requests or yarl.
    call_ = v1_call(qianfan_emulator, endpoint)
    sync = SyncTransport()
    with pytest.raises(QianfanError):
        sync.complete(call_)
    sync.close()
    assert qianfan_emulator.requests[-1].path == protocol_v1.CHAT_PATH + endpoint

    async def send() -> None:
        transport = AsyncTransport()
        try:
            await transport.complete(call_)
        finally:
            await transport.aclose()

    with pytest.raises(QianfanError):
        asyncio.run(send())
    assert qianfan_emulator.requests[-1].path == protocol_v1.CHAT_PATH + endpoint
    assert len(qianfan_emulator.requests) == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("endpoint", ["..", ".", "/../"])
def test_a_dots_only_endpoint_is_refused_before_sending(qianfan_emulator, endpoint, mode):
    with pytest.raises(ValueError, match="endpoint"):
        call(make_model(qianfan_emulator, "v1", endpoint=endpoint), mode, "hi")
    assert chats(qianfan_emulator, "v1") == 0


@pytest.mark.parametrize("mode", MODES)
def test_a_dots_only_model_per_call_is_refused_before_sending(qianfan_emulator, mode) -> None:
    model = make_model(qianfan_emulator, "v1")
    with pytest.raises(ValueError, match="model"):
        call(model.bind(model=".."), mode, "hi")  # type: ignore[arg-type]
    assert chats(qianfan_emulator, "v1") == 0


# --------------------------------------------- item 13: secrets hidden, words kept


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_server_text_about_bearer_tokens_reaches_the_user(qianfan_emulator, protocol, mode):
    text = "Invalid API key or bearer token"
    body = v1_error(6, text) if protocol == "v1" else v2_error("no_parameter_permission", text)
    qianfan_emulator.queue_http_status(200 if protocol == "v1" else 403, body)
    model = make_model(qianfan_emulator, protocol)
    with pytest.raises(QianfanPermissionError) as info:
        call(model, mode, "hi")
    assert text in str(info.value)
    assert "***" not in str(info.value)
    for secret in (qianfan_emulator.api_key, qianfan_emulator.ak, qianfan_emulator.sk):
        assert secret not in str(info.value)
