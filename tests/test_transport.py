"""Transport behaviour through ChatQianfan: retries, tokens, broken streams, timeouts, secrets."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import traceback
from typing import Any

import pytest

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free.errors import (
    QianfanAPIError,
    QianfanAuthenticationError,
    QianfanConnectionError,
    QianfanError,
    QianfanInvalidRequestError,
    QianfanRateLimitError,
    QianfanTimeoutError,
)

from .conftest import MODES, PROTOCOLS, call, make_model

pytestmark = pytest.mark.usefixtures("fresh_tokens")
STREAMS = ["stream", "astream"]


def count(emu: Any, protocol: str) -> int:
    return sum(r.protocol == protocol for r in emu.requests)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("code", "protocol"),
    [(336501, "v1"), (18, "v1"), (2, "v1"), (336100, "v1"), (336501, "v2"), (336100, "v2")],
)
def test_transient_errors_are_retried(qianfan_emulator, code, protocol, mode) -> None:
    qianfan_emulator.queue_error(code, times=2)
    message, _ = call(make_model(qianfan_emulator, protocol, max_retries=2), mode, "hi")
    assert message.content
    assert count(qianfan_emulator, protocol) == 3


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_retries_give_up_after_max_retries(qianfan_emulator, protocol) -> None:
    qianfan_emulator.queue_error(336501, times=5)
    with pytest.raises(QianfanRateLimitError) as info:
        make_model(qianfan_emulator, protocol, max_retries=1).invoke("hi")
    assert count(qianfan_emulator, protocol) == 2
    assert info.value.request_id


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_request_errors_are_not_retried(qianfan_emulator, protocol) -> None:
    qianfan_emulator.queue_error(336003, "the max length of current question is 2000")
    with pytest.raises(QianfanInvalidRequestError, match="current question"):
        make_model(qianfan_emulator, protocol).invoke("hi")
    assert count(qianfan_emulator, protocol) == 1


@pytest.mark.parametrize("mode", MODES)
def test_gateway_5xx_is_retried(qianfan_emulator, mode) -> None:
    qianfan_emulator.queue_http_status(502, "<html>502 Bad Gateway</html>")
    message, _ = call(make_model(qianfan_emulator, "v2"), mode, "hi")
    assert message.content
    assert count(qianfan_emulator, "v2") == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_connection_closed_before_the_answer_is_retried(qianfan_emulator, protocol, mode) -> None:
    qianfan_emulator.queue_disconnect()
    message, _ = call(make_model(qianfan_emulator, protocol), mode, "hi")
    assert message.content
    assert count(qianfan_emulator, protocol) == 2


@pytest.mark.parametrize("mode", STREAMS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stream_cut_midway_raises_after_what_arrived(qianfan_emulator, protocol, mode) -> None:
    qianfan_emulator.queue_disconnect(after_events=2)
    received: list[str] = []
    with pytest.raises(QianfanConnectionError):
        consume(make_model(qianfan_emulator, protocol), mode, received)
    assert "".join(received)  # what arrived was delivered ...
    assert count(qianfan_emulator, protocol) == 1  # ... and the stream was not re-sent


def consume(model: ChatQianfan, mode: str, received: list[str]) -> None:
    """Stream into ``received`` chunk by chunk, so a test sees what arrived before a failure."""

    async def consume_async() -> None:
        async for chunk in model.astream("讲一个很长的故事"):
            received.append(chunk.text)

    if mode == "astream":
        asyncio.run(consume_async())
        return
    for chunk in model.stream("讲一个很长的故事"):
        received.append(chunk.text)


@pytest.mark.parametrize("mode", STREAMS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stream_error_event_midway_raises(qianfan_emulator, protocol, mode) -> None:
    qianfan_emulator.queue_stream_error(336100, after_events=2)
    received: list[str] = []
    with pytest.raises(QianfanAPIError, match=r"336100|internal"):
        consume(make_model(qianfan_emulator, protocol), mode, received)
    assert "".join(received)  # the events before the error were delivered
    assert count(qianfan_emulator, protocol) == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stream_error_before_any_event_is_retried(qianfan_emulator, protocol) -> None:
    qianfan_emulator.queue_stream_error(336100, after_events=0)
    message, _ = call(make_model(qianfan_emulator, protocol), "stream", "hi")
    assert message.content
    assert count(qianfan_emulator, protocol) == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_malformed_json_is_retried_then_a_clear_error(qianfan_emulator, protocol, mode) -> None:
    qianfan_emulator.queue_malformed_json()
    message, _ = call(make_model(qianfan_emulator, protocol), mode, "hi")
    assert message.content
    assert count(qianfan_emulator, protocol) == 2
    qianfan_emulator.queue_malformed_json()
    with pytest.raises(QianfanAPIError, match="not valid JSON"):
        call(make_model(qianfan_emulator, protocol, max_retries=0), mode, "hi")


@pytest.mark.parametrize("mode", MODES)
def test_slow_answer_times_out(qianfan_emulator, mode) -> None:
    qianfan_emulator.queue_slow(2.0)
    with pytest.raises(QianfanTimeoutError, match=r"within 0\.2 s"):
        call(make_model(qianfan_emulator, "v2", timeout=0.2, max_retries=0), mode, "hi")


# --------------------------------------------------------------- v1 access tokens


@pytest.mark.parametrize("mode", MODES)
def test_token_is_fetched_once_and_reused_across_instances(qianfan_emulator, mode) -> None:
    for _ in range(3):
        call(make_model(qianfan_emulator, "v1"), mode, "hi")
    assert count(qianfan_emulator, "token") == 1
    assert count(qianfan_emulator, "v1") == 3


def test_concurrent_threads_fetch_one_token(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v1")
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            model.invoke("hi")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(qianfan_emulator, "token") == 1
    assert count(qianfan_emulator, "v1") == 8


def test_concurrent_tasks_fetch_one_token(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v1")

    async def many() -> list[Any]:
        return await asyncio.gather(*(model.ainvoke(f"q{i}") for i in range(8)))

    assert len(asyncio.run(many())) == 8
    assert count(qianfan_emulator, "token") == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("how", ["expire_tokens", "revoke_tokens"])
def test_expired_or_revoked_token_is_refreshed_and_the_request_resent(
    qianfan_emulator, how, mode
) -> None:
    model = make_model(qianfan_emulator, "v1", max_retries=0)
    model.invoke("warm up")
    getattr(qianfan_emulator, how)()
    message, _ = call(model, mode, "hi")
    assert message.content
    assert count(qianfan_emulator, "token") == 2
    assert count(qianfan_emulator, "v1") == 3


def test_missing_token_error_100_is_refreshed_too(qianfan_emulator) -> None:
    qianfan_emulator.queue_error(100, "Invalid parameter")
    assert make_model(qianfan_emulator, "v1", max_retries=0).invoke("hi").content
    assert count(qianfan_emulator, "token") == 2


def test_token_refresh_happens_only_once_per_request(qianfan_emulator) -> None:
    qianfan_emulator.queue_error(111, times=3)
    with pytest.raises(QianfanAuthenticationError, match="111"):
        make_model(qianfan_emulator, "v1").invoke("hi")
    assert count(qianfan_emulator, "v1") == 2
    assert count(qianfan_emulator, "token") == 2


@pytest.mark.parametrize(
    ("ak", "sk", "setting"),
    [("wrong-ak", None, "QIANFAN_AK"), (None, "wrong-sk", "QIANFAN_SK")],
)
def test_wrong_v1_keys_name_the_setting(qianfan_emulator, ak, sk, setting) -> None:
    model = ChatQianfan(
        qianfan_ak=ak or qianfan_emulator.ak,
        qianfan_sk=sk or qianfan_emulator.sk,
        base_url=qianfan_emulator.url,
    )
    with pytest.raises(QianfanAuthenticationError, match=setting) as info:
        model.invoke("hi")
    assert "wrong-" not in str(info.value)
    assert count(qianfan_emulator, "token") == 1


@pytest.mark.parametrize("mode", MODES)
def test_wrong_v2_key_is_not_retried(qianfan_emulator, mode) -> None:
    model = ChatQianfan(api_key="bce-v3/ALTAK-wrong/key", base_url=qianfan_emulator.url)
    with pytest.raises(QianfanAuthenticationError, match="QIANFAN_API_KEY") as info:
        call(model, mode, "hi")
    assert "ALTAK-wrong" not in str(info.value)
    assert count(qianfan_emulator, "v2") == 1


# ---------------------------------------------------------------------- secrets


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def full_text(error: BaseException) -> str:
    """Everything an error tracker could show: traceback, reprs, the whole chain."""
    texts = ["".join(traceback.format_exception(error))]
    seen: BaseException | None = error
    while seen is not None:
        texts += [repr(seen), str(seen)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(texts)


@pytest.mark.parametrize("mode", MODES)
def test_network_errors_never_show_credentials(mode) -> None:
    model = ChatQianfan(
        qianfan_ak="ak-topsecret",
        qianfan_sk="sk-topsecret",
        max_retries=0,
        base_url=f"http://127.0.0.1:{closed_port()}",
    )
    with pytest.raises(QianfanConnectionError) as info:
        call(model, mode, "hi")
    text = full_text(info.value)
    assert "/oauth/2.0/token" in text
    assert "topsecret" not in text


@pytest.mark.parametrize("mode", MODES)
def test_v1_access_token_is_redacted_from_errors(qianfan_emulator, mode) -> None:
    token = qianfan_emulator.issue_access_token()
    model = make_model(qianfan_emulator, "v1", max_retries=0)
    model.invoke("warm up")  # caches a token
    qianfan_emulator.queue_disconnect()
    with pytest.raises(QianfanError) as info:
        call(model, mode, "hi")
    text = full_text(info.value)
    assert "access_token=***" in text
    used = [r.query["access_token"] for r in qianfan_emulator.requests if r.protocol == "v1"]
    for secret in (*used, token, qianfan_emulator.ak, qianfan_emulator.sk):
        assert secret not in text


# ------------------------------------------------------------------ connections


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_calls_share_one_pooled_connection(qianfan_emulator, protocol, mode) -> None:
    model = make_model(qianfan_emulator, protocol)

    async def several() -> None:
        for _ in range(4):
            if mode == "ainvoke":
                await model.ainvoke("hi")
            else:
                async for _chunk in model.astream("hi"):
                    pass

    if mode in ("ainvoke", "astream"):
        asyncio.run(several())
    else:
        for _ in range(4):
            call(model, mode, "hi")
    clients = {r.client for r in qianfan_emulator.requests}
    assert len([r for r in qianfan_emulator.requests if r.protocol == protocol]) == 4
    assert len(clients) == 1, clients


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream"])
def test_events_are_read_whatever_the_stream_is_labelled(qianfan_emulator, content_type) -> None:
    events = (
        'data: {"id":"as-1","choices":[{"index":0,"delta":{"content":"你好"}}]}\n\n'
        'data: {"id":"as-1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
        'data: {"id":"as-1","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,'
        '"total_tokens":3}}\n\ndata: [DONE]\n\n'
    )
    qianfan_emulator.queue_http_status(200, events, headers={"Content-Type": content_type})
    message, _ = call(make_model(qianfan_emulator, "v2"), "stream", "hi")
    assert message.content == "你好"
    assert message.usage_metadata["total_tokens"] == 3


@pytest.mark.parametrize("mode", MODES)
def test_library_debug_logs_never_show_credentials(qianfan_emulator, caplog, mode) -> None:
    caplog.set_level(logging.DEBUG)
    call(make_model(qianfan_emulator, "v1"), mode, "hi")
    tokens = [r.query["access_token"] for r in qianfan_emulator.requests if r.protocol == "v1"]
    if mode in ("invoke", "stream"):
        assert "access_token=***" in caplog.text  # urllib3 logged the URL, redacted
    for secret in (*tokens, qianfan_emulator.ak, qianfan_emulator.sk):
        assert secret not in caplog.text


@pytest.mark.parametrize("mode", MODES)
def test_environment_proxies_are_honoured(qianfan_emulator, monkeypatch, mode) -> None:
    # A proxy that is down: calls fail through it unless NO_PROXY exempts the host.
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{closed_port()}")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(QianfanConnectionError):
        call(make_model(qianfan_emulator, "v2", max_retries=0), mode, "hi")
    assert qianfan_emulator.requests == []
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1")
    message, _ = call(make_model(qianfan_emulator, "v2"), mode, "hi")
    assert message.content
