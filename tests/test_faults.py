"""The fault matrix: every fault Qianfan and the network produce, on both protocols, sync
and async, invoke and stream; and no secret in anything a fault leaves behind.

Backoff waits are recorded, not slept (``record_sleeps``), so the tests also check them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import gzip
import json
import logging
import socket
import threading
import traceback
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.load import dumps

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free.errors import (
    QianfanAPIError,
    QianfanAuthenticationError,
    QianfanConnectionError,
    QianfanContextOverflowError,
    QianfanError,
    QianfanInvalidRequestError,
    QianfanQuotaExceededError,
    QianfanRateLimitError,
    QianfanTimeoutError,
)

from .conftest import MODES, PROTOCOLS, call, make_model, record_sleeps

pytestmark = pytest.mark.usefixtures("fresh_tokens")


def chats(emu: Any, protocol: str) -> int:
    return sum(r.protocol == protocol for r in emu.requests)


def secrets_of(emu: Any) -> list[str]:
    """Everything secret the emulator knows: keys and every access token it issued."""
    found = [emu.api_key, emu.ak, emu.sk, emu.iam_sk]
    for request in emu.requests:
        token = request.query.get("access_token")
        if token:
            found.append(token)
    return found


def assert_nothing_leaks(emu: Any, model: ChatQianfan, error: BaseException, logs: str) -> None:
    text = "\n".join(
        [
            str(error),
            repr(error),
            "".join(traceback.format_exception(error)),
            logs,
            repr(model),
            str(model),
            dumps(model),
            json.dumps(model._get_ls_params(), default=str),
        ]
    )
    for secret in secrets_of(emu):
        assert secret not in text


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG):
        yield caplog


def v2_error(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message, "type": "x"}, "id": "as-1"})


# ------------------------------------------------------------------ rate limits


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("protocol", "code"), [("v1", 18), ("v1", 336501), ("v1", 336502), ("v2", 336501)]
)
def test_rate_limits_back_off_with_jitter_then_succeed(qianfan_emulator, protocol, code, mode):
    qianfan_emulator.queue_error(code, times=3)
    model = make_model(qianfan_emulator, protocol, max_retries=3)
    waits = record_sleeps(model)
    message, _ = call(model, mode, "hi")
    assert message.content
    assert chats(qianfan_emulator, protocol) == 4
    assert len(waits) == 3
    steps = [0.5, 1.0, 2.0]  # INITIAL_DELAY doubling, each with 50-100 % jitter
    assert all(step / 2 <= wait <= step for wait, step in zip(waits, steps, strict=True))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("retry_after", ["3", None])
def test_v2_429_honours_retry_after(qianfan_emulator, retry_after, mode) -> None:
    headers = {"Retry-After": retry_after} if retry_after else {}
    body = v2_error("rpm_rate_limit_exceeded", "Rate limit reached for RPM")
    qianfan_emulator.queue_http_status(429, body, headers=headers)
    model = make_model(qianfan_emulator, "v2")
    waits = record_sleeps(model)
    message, _ = call(model, mode, "hi")
    assert message.content
    assert len(waits) == 1
    if retry_after:
        assert waits == [3.0]
    else:
        assert 0.25 <= waits[0] <= 0.5


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_rate_limit_that_persists_is_a_typed_error(qianfan_emulator, protocol, mode) -> None:
    qianfan_emulator.queue_error(336501, times=10)
    model = make_model(qianfan_emulator, protocol, max_retries=2)
    with pytest.raises(QianfanRateLimitError) as info:
        call(model, mode, "hi")
    assert chats(qianfan_emulator, protocol) == 3
    assert info.value.code in (336501, "rpm_rate_limit_exceeded")
    assert info.value.request_id
    assert info.value.hint


def test_a_retry_after_over_the_bound_is_raised_at_once(qianfan_emulator) -> None:
    body = v2_error("rpm_rate_limit_exceeded", "Rate limit reached for RPM")
    qianfan_emulator.queue_http_status(429, body, headers={"Retry-After": "3600"})
    model = make_model(qianfan_emulator, "v2")
    waits = record_sleeps(model)
    with pytest.raises(QianfanRateLimitError) as info:
        model.invoke("hi")
    assert waits == []
    assert info.value.retry_after == 3600.0


# ----------------------------------------------------------- errors never retried


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("protocol", "fault", "error_type", "code"),
    [
        ("v1", 17, QianfanQuotaExceededError, 17),
        ("v1", 336003, QianfanInvalidRequestError, 336003),
        ("v1", 336006, QianfanInvalidRequestError, 336006),
        ("v2", 336003, QianfanInvalidRequestError, "invalid_argument"),
        ("v1", 336007, QianfanContextOverflowError, 336007),
        ("v2", 336103, QianfanContextOverflowError, "tokens_too_long"),
    ],
)
def test_request_and_quota_errors_are_not_retried(
    qianfan_emulator, protocol, fault, error_type, code, mode
) -> None:
    qianfan_emulator.queue_error(fault)
    model = make_model(qianfan_emulator, protocol, max_retries=3)
    waits = record_sleeps(model)
    with pytest.raises(error_type) as info:
        call(model, mode, "hi")
    assert waits == []
    assert chats(qianfan_emulator, protocol) == 1
    error = info.value
    assert error.code == code
    assert error.message
    assert error.request_id
    assert error.hint
    assert str(error.code) in str(error)


@pytest.mark.parametrize("mode", MODES)
def test_v2_400_is_not_retried(qianfan_emulator, mode) -> None:
    qianfan_emulator.queue_http_status(400, v2_error("invalid_argument", "bad temperature"))
    model = make_model(qianfan_emulator, "v2", max_retries=3)
    with pytest.raises(QianfanInvalidRequestError, match="bad temperature"):
        call(model, mode, "hi")
    assert chats(qianfan_emulator, "v2") == 1


# ------------------------------------------------------------ server trouble


GATEWAY_PAGE = "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 5000


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "fault",
    ["v1-2", "v1-336100", "v2-336100", "500", "502-html", "503"],
)
def test_server_trouble_is_retried_then_succeeds(qianfan_emulator, fault, mode) -> None:
    protocol = "v1" if fault.startswith("v1") else "v2"
    for _ in range(2):
        if fault.startswith(("v1-", "v2-")):
            qianfan_emulator.queue_error(int(fault.split("-")[1]))
        elif fault == "502-html":
            qianfan_emulator.queue_http_status(502, GATEWAY_PAGE)
        else:
            qianfan_emulator.queue_http_status(int(fault), "Service Unavailable")
    model = make_model(qianfan_emulator, protocol, max_retries=2)
    message, _ = call(model, mode, "hi")
    assert message.content
    assert chats(qianfan_emulator, protocol) == 3


@pytest.mark.parametrize("mode", MODES)
def test_server_trouble_that_persists_is_an_api_error_with_a_short_snippet(
    qianfan_emulator, mode
) -> None:
    qianfan_emulator.queue_http_status(502, GATEWAY_PAGE, times=5)
    model = make_model(qianfan_emulator, "v2", max_retries=2)
    with pytest.raises(QianfanAPIError) as info:
        call(model, mode, "hi")
    assert info.value.status == 502
    assert "502 Bad Gateway" in str(info.value)
    assert len(str(info.value)) < 800  # a snippet, not the whole page
    assert chats(qianfan_emulator, "v2") == 3


# ------------------------------------------------------------------ the network


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("mode", MODES)
def test_connection_refused_is_retried_then_a_connection_error(mode) -> None:
    model = ChatQianfan(base_url=f"http://127.0.0.1:{closed_port()}", api_key="k", max_retries=2)
    waits = record_sleeps(model)
    with pytest.raises(QianfanConnectionError, match="Could not talk to Qianfan"):
        call(model, mode, "hi")
    assert len(waits) == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_connection_reset_before_the_answer_is_retried(qianfan_emulator, protocol, mode) -> None:
    qianfan_emulator.queue_disconnect(times=2)
    message, _ = call(make_model(qianfan_emulator, protocol, max_retries=2), mode, "hi")
    assert message.content


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose connection queue is full: a new connection is never accepted."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for sock in (*fillers, server):
        sock.close()


@pytest.mark.parametrize("mode", MODES)
def test_connect_timeout_is_retried_then_a_timeout_error(unanswered_port, mode) -> None:
    model = ChatQianfan(
        base_url=f"http://127.0.0.1:{unanswered_port}", api_key="k", timeout=0.2, max_retries=1
    )
    waits = record_sleeps(model)
    with pytest.raises(QianfanTimeoutError, match=r"within 0\.2 s"):
        call(model, mode, "hi")
    assert len(waits) == 1


@pytest.mark.parametrize("mode", MODES)
def test_read_timeout_is_a_timeout_error_and_retried(qianfan_emulator, mode) -> None:
    qianfan_emulator.queue_slow(1.0)
    model = make_model(qianfan_emulator, "v2", timeout=0.2, max_retries=1)
    message, _ = call(model, mode, "hi")
    assert message.content  # the second attempt was not slow
    qianfan_emulator.queue_slow(1.0, times=2)
    with pytest.raises(QianfanTimeoutError, match=r"0\.2 s"):
        call(model, mode, "hi")


class TrickleServer:
    """A v2 endpoint that streams ``events`` answers, one every ``gap`` seconds."""

    def __init__(
        self,
        events: int,
        gap: float,
        *,
        broken_at: int | None = None,
        hold_after_first: threading.Event | None = None,
        gzipped: bool = False,
    ) -> None:
        self.events, self.gap, self.broken_at = events, gap, broken_at
        self.gzipped = gzipped
        self.hold = hold_after_first
        self.released: bool | None = None
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):  # the client may hang up first
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":")[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
        )
        while len(body) < length:
            body += conn.recv(65536)
        if self.gzipped:
            self._answer_gzipped(conn)
            return
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
        )
        for index in range(self.events):
            if index == self.broken_at:
                conn.sendall(b"data: {not json\n\n")
                return
            event = {"id": "as-t", "choices": [{"index": 0, "delta": {"content": f"{index},"}}]}
            conn.sendall(b"data: " + json.dumps(event).encode() + b"\n\n")
            if self.hold is not None and index == 0:
                # Go on only once the client has shown the first event to its caller.
                self.released = self.hold.wait(10)
            self.done.wait(self.gap)
        final = {"id": "as-t", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        conn.sendall(b"data: " + json.dumps(final).encode() + b"\n\ndata: [DONE]\n\n")

    def _answer_gzipped(self, conn: socket.socket) -> None:
        events = [
            {"id": "as-t", "choices": [{"index": 0, "delta": {"content": f"{i},"}}]}
            for i in range(self.events)
        ]
        events.append({"id": "as-t", "choices": [{"index": 0, "finish_reason": "stop"}]})
        body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Content-Encoding: gzip\r\nConnection: close\r\n\r\n"
            + gzip.compress(body + b"data: [DONE]\n\n")
        )

    def close(self) -> None:
        self.done.set()
        if self.hold is not None:
            self.hold.set()
        self.sock.close()


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_a_long_healthy_stream_is_never_cut_by_the_timeout(mode) -> None:
    server = TrickleServer(events=8, gap=0.1)  # 0.8 s in all, 0.1 s between bytes
    try:
        model = ChatQianfan(base_url=server.url, api_key="k", timeout=0.4, max_retries=0)
        message, chunks = call(model, mode, "hi")
    finally:
        server.close()
    assert message.content == "".join(f"{i}," for i in range(8))
    assert len(chunks) > 8


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_a_stream_without_chunked_encoding_still_arrives_event_by_event(mode) -> None:
    first_seen = threading.Event()
    server = TrickleServer(events=3, gap=0.0, hold_after_first=first_seen)
    texts: list[str] = []
    try:
        model = ChatQianfan(base_url=server.url, api_key="k", max_retries=0)

        async def collect() -> None:
            async for chunk in model.astream("hi"):
                texts.append(chunk.text)
                first_seen.set()

        if mode == "stream":
            for chunk in model.stream("hi"):
                texts.append(chunk.text)
                first_seen.set()
        else:
            asyncio.run(collect())
    finally:
        server.close()
    assert server.released is True  # the caller had the first event while the body went on
    assert "".join(texts) == "0,1,2,"


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_malformed_sse_midway_raises_without_repeating_chunks(mode) -> None:
    server = TrickleServer(events=5, gap=0.0, broken_at=3)
    seen: list[str] = []
    try:
        model = ChatQianfan(base_url=server.url, api_key="k", max_retries=3)
        record_sleeps(model)

        def consume() -> None:
            if mode == "stream":
                seen.extend(chunk.text for chunk in model.stream("hi"))
                return

            async def collect() -> None:
                async for chunk in model.astream("hi"):
                    seen.append(chunk.text)

            asyncio.run(collect())

        with pytest.raises(QianfanAPIError, match="not valid JSON"):
            consume()
    finally:
        server.close()
    assert "".join(seen) == "0,1,2,"  # delivered once, never repeated by a retry


# ------------------------------------------------------------------ v1 tokens


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", [110, 111])
def test_a_token_minutes_old_is_refreshed_when_rejected(qianfan_emulator, code, mode) -> None:
    model = make_model(qianfan_emulator, "v1")
    model.invoke("first")  # fetches a token: seconds old
    qianfan_emulator.queue_error(code)  # the server now rejects it anyway
    message, _ = call(model, mode, "second")
    assert message.content
    assert sum(r.protocol == "token" for r in qianfan_emulator.requests) == 2


@pytest.mark.parametrize("mode", MODES)
def test_a_refresh_that_does_not_help_is_a_clear_authentication_error(
    qianfan_emulator, mode
) -> None:
    qianfan_emulator.queue_error(110, times=2)
    model = make_model(qianfan_emulator, "v1", max_retries=3)
    with pytest.raises(QianfanAuthenticationError, match="110") as info:
        call(model, mode, "hi")
    assert info.value.hint
    assert chats(qianfan_emulator, "v1") == 2  # one refresh, one re-send, then stop


# -------------------------------------------------------- secrets, across faults


FAULTS = {
    "rate-limit": lambda emu: emu.queue_error(336501, times=9),
    "token-expired": lambda emu: emu.queue_error(111, times=9),
    "invalid": lambda emu: emu.queue_error(336003),
    "gateway": lambda emu: emu.queue_http_status(502, GATEWAY_PAGE, times=9),
    "disconnect": lambda emu: emu.queue_disconnect(times=9),
    "stream-cut": lambda emu: emu.queue_disconnect(after_events=1, times=9),
    "malformed": lambda emu: emu.queue_malformed_json(times=9),
    "stream-error": lambda emu: emu.queue_stream_error(336100, times=9),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_no_secret_survives_any_fault(qianfan_emulator, debug_logs, fault, protocol, mode) -> None:
    model = make_model(qianfan_emulator, protocol, max_retries=1)
    model.invoke("warm up")  # a token is issued and cached (v1)
    FAULTS[fault](qianfan_emulator)
    with pytest.raises(QianfanError) as info:
        call(model, mode, "hi")
    assert_nothing_leaks(qianfan_emulator, model, info.value, debug_logs.text)


def test_the_cli_never_prints_a_secret(qianfan_emulator, capsys) -> None:
    from langchain_qianfan_free.cli import main  # noqa: PLC0415

    qianfan_emulator.queue_error(336003, times=2)
    env = {"QIANFAN_AK": qianfan_emulator.ak, "QIANFAN_SK": qianfan_emulator.sk}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.setenv("QIANFAN_BASE_URL", qianfan_emulator.url)
        code = main(["hi"])
    out = capsys.readouterr()
    assert code != 0
    for secret in secrets_of(qianfan_emulator):
        assert secret not in out.out + out.err


# ------------------------------------------------------------- TLS and http


def test_tls_verification_is_on() -> None:
    model = ChatQianfan(api_key="k")
    assert model._sync.session.verify is not False


@pytest.mark.parametrize(
    ("url", "warns"),
    [
        ("http://127.0.0.1:8000", False),
        ("http://localhost:8000", False),
        ("http://[::1]:8000", False),
        ("https://qianfan.baidubce.com", False),
        ("http://qianfan.example.com", True),
        ("http://10.0.0.5:8080", True),
    ],
)
def test_plain_http_warns_unless_loopback(url, warns) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ChatQianfan(api_key="k", base_url=url)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert any("unencrypted" in m for m in messages) is warns


# ----------------------------------------------------------- oversized input


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_input_over_the_documented_limit_fails_before_sending(qianfan_emulator, protocol) -> None:
    model = make_model(qianfan_emulator, protocol)
    with pytest.raises(QianfanContextOverflowError, match="at most 24000") as info:
        model.invoke("长" * 24_001)
    assert "ernie-speed-128k" in (info.value.hint or "")
    assert chats(qianfan_emulator, protocol) == 0
    big = make_model(qianfan_emulator, protocol, model="ernie-speed-128k")
    assert big.invoke("长" * 24_001).content  # the 128K model takes it


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_a_compressed_stream_without_chunked_encoding_is_decoded(mode) -> None:
    server = TrickleServer(events=4, gap=0.0, gzipped=True)
    try:
        model = ChatQianfan(base_url=server.url, api_key="k", max_retries=0)
        message, _ = call(model, mode, "hi")
    finally:
        server.close()
    assert message.content == "0,1,2,3,"


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_a_stream_that_goes_silent_midway_is_a_timeout(mode) -> None:
    never = threading.Event()
    server = TrickleServer(events=3, gap=0.0, hold_after_first=never)
    try:
        model = ChatQianfan(base_url=server.url, api_key="k", timeout=0.3, max_retries=2)
        with pytest.raises(QianfanTimeoutError, match=r"0\.3 s"):
            call(model, mode, "hi")
    finally:
        server.close()


def test_a_model_used_across_many_loops_keeps_none_of_them(qianfan_emulator) -> None:
    def live_loops() -> int:
        gc.collect()
        return sum(isinstance(o, asyncio.AbstractEventLoop) for o in gc.get_objects())

    model = make_model(qianfan_emulator, "v2")
    asyncio.run(model.ainvoke("warm up"))
    before = live_loops()
    for _ in range(30):
        asyncio.run(model.ainvoke("hi"))
    assert live_loops() - before <= 1


def test_retry_after_that_is_not_a_number_falls_back_to_backoff(qianfan_emulator) -> None:
    body = v2_error("rpm_rate_limit_exceeded", "Rate limit reached for RPM")
    qianfan_emulator.queue_http_status(429, body, headers={"Retry-After": "nan"})
    model = make_model(qianfan_emulator, "v2")
    waits = record_sleeps(model)
    assert model.invoke("hi").content
    assert 0.25 <= waits[0] <= 0.5


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_values_json_cannot_carry_fail_before_sending(qianfan_emulator, bad) -> None:
    model = make_model(qianfan_emulator, "v2", model_kwargs={"seed": bad})
    with pytest.raises(QianfanInvalidRequestError, match="JSON cannot carry"):
        model.invoke("hi")
    assert chats(qianfan_emulator, "v2") == 0


def test_the_http_warning_knows_loopback_names_and_urls_hold_no_credentials() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ChatQianfan(api_key="k", base_url="http://example.com:8080")
        for url in ("http://localhost.:1", "http://api.localhost:1", "http://[::ffff:127.0.0.1]:1"):
            ChatQianfan(api_key="k", base_url=url)
    texts = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert len(texts) == 1
    assert "example.com:8080" in texts[0]
    for url in ("http://user:pa55word@example.com", "https://h.com?x=1", "https://h.com:99999"):
        with pytest.raises(ValueError, match="host root") as info:
            ChatQianfan(api_key="k", base_url=url)
        assert "pa55word" not in str(info.value)
