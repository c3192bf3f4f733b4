"""A stream ends at its final event (v2 ``[DONE]``, v1 ``is_end``), whatever follows it.

Proxies send heartbeats after the end, and some bodies stay open: the last chunk (usage,
``finish_reason``) must still come when the final event arrives, and the connection
must be released when the body ends there, or closed when it does not.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free.emulator import QianfanEmulator
from langchain_qianfan_free.errors import QianfanConnectionError

from .conftest import PROTOCOLS, make_model, record_sleeps
from .tail_server import TailServer

pytestmark = pytest.mark.usefixtures("fresh_tokens")

STREAMS = ["stream", "astream"]


def _model(server: TailServer, protocol: str) -> ChatQianfan:
    creds: dict[str, Any] = (
        {"qianfan_ak": "tail-ak", "qianfan_sk": "tail-sk"}
        if protocol == "v1"
        else {"api_key": "bce-v3/ALTAK-tail"}
    )
    model = ChatQianfan(base_url=server.url, api_version=protocol, timeout=60, **creds)
    record_sleeps(model)
    return model


def _stream(model: ChatQianfan, mode: str, question: str) -> AIMessageChunk:
    if mode == "stream":
        return _sum(list(model.stream(question)))
    return asyncio.run(_aggregate(model.astream(question)))


async def _aggregate(stream: Any) -> AIMessageChunk:
    return _sum([chunk async for chunk in stream])


def _sum(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def _finished(message: AIMessageChunk, question: str) -> None:
    assert message.content == f"答：{question}"
    assert message.usage_metadata is not None
    assert message.usage_metadata["total_tokens"] == 5
    assert message.response_metadata["finish_reason"] == "stop"


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("mode", STREAMS)
def test_a_body_left_open_after_the_final_event_does_not_hold_the_stream(
    protocol: str, mode: str
) -> None:
    with TailServer("idle") as server:
        model = _model(server, protocol)
        message = _stream(model, mode, "开着")
        # The stream ended while the server still held the body open ...
        assert not server.release.is_set()
        assert not any(c.gave_up for c in server.connections)
        _finished(message, "开着")
        server.release.set()
        # ... and the client closed that connection rather than leave it half read.
        chat = server.connections[-1]
        assert chat.client_closed.wait(10)
        _finished(_stream(model, mode, "再来"), "再来")  # on a new connection


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("mode", STREAMS)
@pytest.mark.parametrize("tail", ["heartbeats", "slow heartbeats"])
def test_heartbeats_after_the_final_event_end_with_the_stream(
    protocol: str, mode: str, tail: str
) -> None:
    with TailServer(tail) as server:
        model = _model(server, protocol)
        _finished(_stream(model, mode, "心跳"), "心跳")
        assert not any(c.gave_up for c in server.connections)  # it ended before they did
        assert server.connections[-1].client_closed.wait(10)
        _finished(_stream(model, mode, "又一次"), "又一次")


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("mode", STREAMS)
def test_a_body_that_ends_at_the_final_event_keeps_its_connection(protocol: str, mode: str) -> None:
    with TailServer("end") as server:
        model = _model(server, protocol)
        questions = ("一", "二", "三")
        if mode == "stream":
            messages = [_stream(model, mode, q) for q in questions]
        else:  # one event loop, so one session (asyncio.run per stream would open one each)

            async def collect() -> list[AIMessageChunk]:
                return [await _aggregate(model.astream(q)) for q in questions]

            messages = asyncio.run(collect())
        for message, question in zip(messages, questions, strict=True):
            _finished(message, question)
        chats = [c for c in server.connections if c.requests]
        # One connection served the three streams (v1: and the token request).
        assert len(chats) == 1
        assert chats[0].requests == (4 if protocol == "v1" else 3)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("mode", STREAMS)
def test_a_stream_that_fails_after_delivering_chunks_is_logged(
    qianfan_emulator: QianfanEmulator,
    caplog: pytest.LogCaptureFixture,
    protocol: str,
    mode: str,
) -> None:
    model = make_model(qianfan_emulator, protocol)
    qianfan_emulator.queue_disconnect(after_events=2)
    with (
        caplog.at_level(logging.INFO, logger="langchain_qianfan_free"),
        pytest.raises(QianfanConnectionError),
    ):
        _stream(model, mode, "这是一个会被中途切断的很长很长的问题")
    failed = [r for r in caplog.records if "failed after 2 events" in r.getMessage()]
    assert len(failed) == 1
    assert failed[0].name == "langchain_qianfan_free"
    text = caplog.text
    for secret in (qianfan_emulator.api_key, qianfan_emulator.sk, qianfan_emulator.ak):
        assert secret not in text


def _frames(error: BaseException) -> list[Any]:
    found, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        tb = error.__traceback__
        while tb is not None:
            found.append(tb.tb_frame)
            tb = tb.tb_next
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return found


@pytest.mark.usefixtures("fresh_tokens")
@pytest.mark.parametrize("mode", STREAMS)
def test_a_cut_v1_stream_leaves_no_access_token_in_frame_locals(
    qianfan_emulator: QianfanEmulator, mode: str
) -> None:
    """Error trackers record the locals of every frame of a traceback (Sentry's default)."""
    model = make_model(qianfan_emulator, "v1")
    model.invoke("warm")
    token = qianfan_emulator.requests[-1].query["access_token"]
    qianfan_emulator.queue_disconnect(after_events=2)
    with pytest.raises(QianfanConnectionError) as info:
        _stream(model, mode, "这是一个会被中途切断的很长很长的问题")
    holding = [
        (frame.f_code.co_name, name)
        for frame in _frames(info.value)
        if "langchain_qianfan_free" in frame.f_code.co_filename  # the package's frames
        for name, value in frame.f_locals.items()
        if token in repr(value)
    ]
    assert holding == []


@pytest.mark.skipif(not hasattr(asyncio, "timeout"), reason="asyncio.timeout: Python 3.11+")
@pytest.mark.parametrize("mode", ["ainvoke", "astream"])
def test_a_cancelled_v1_call_leaves_no_access_token_in_frame_locals(mode: str) -> None:
    """``asyncio.wait_for`` / ``asyncio.timeout`` around a call that the server stalls."""
    with TailServer("stall") as server:
        model = _model(server, "v1")

        async def run() -> None:
            if mode == "ainvoke":
                await model.ainvoke("卡住")
            else:
                async for _ in model.astream("卡住"):
                    pass

        async def main() -> BaseException:
            try:
                # The caller's own task is cancelled (the CancelledError passes the
                # package's frames, and the TimeoutError chains it).
                async with asyncio.timeout(0.3):  # type: ignore[attr-defined]
                    await run()
            except TimeoutError as error:
                return error
            raise AssertionError("the stalled call ended")

        error = asyncio.run(main())
        server.release.set()
    holding = [
        (frame.f_code.co_filename, frame.f_code.co_name, name)
        for frame in _frames(error)
        if frame.f_code.co_filename != __file__  # the package's and its libraries' frames
        for name, value in frame.f_locals.items()
        if "24.tail-token" in repr(value)
    ]
    assert holding == []
