"""The scenario API: every queued fault kind, seen over raw HTTP on both protocols."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import pytest
import requests

from langchain_qianfan_free.emulator import (
    ErrorFault,
    QianfanEmulator,
    ReplyFault,
    SlowFault,
)
from langchain_qianfan_free.emulator.scenario import HttpStatusFault, Scenario

USER = {"role": "user", "content": "你好"}
PROTOCOLS = ["v1", "v2"]


def post(
    emu: QianfanEmulator, protocol: str, *, stream: bool = False, timeout: float = 10
) -> requests.Response:
    """One chat request (streamed responses are left unread)."""
    if protocol == "v1":
        return requests.post(
            emu.v1_chat_url(),
            json={"messages": [USER], "stream": stream},
            params={"access_token": emu.issue_access_token()},
            stream=stream,
            timeout=timeout,
        )
    body: dict[str, Any] = {"model": "ernie-speed-8k", "messages": [USER], "stream": stream}
    return requests.post(
        emu.v2_chat_url,
        json=body,
        stream=stream,
        timeout=timeout,
        headers={"Authorization": f"Bearer {emu.api_key}"},
    )


def ok(response: requests.Response) -> bool:
    """Whether a non-stream answer is a success."""
    return (
        response.status_code == 200
        and "error_code" not in response.json()
        and ("error" not in response.json())
    )


def read_lines(response: requests.Response) -> tuple[list[str], Exception | None]:
    """Non-empty lines of a stream, and the error that ended it early (if any)."""
    lines: list[str] = []
    try:
        for line in response.iter_lines():
            if line:
                lines.append(line.decode("utf-8"))
    except requests.exceptions.ChunkedEncodingError as error:
        return lines, error
    return lines, None


@pytest.fixture(autouse=True)
def _no_server_errors(caplog: pytest.LogCaptureFixture) -> Any:
    """Faults are deliberate: the server must not log errors while producing them."""
    with caplog.at_level(logging.WARNING):
        yield
    assert [record.getMessage() for record in caplog.records] == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_error_n_times_then_success(qianfan_emulator: QianfanEmulator, protocol: str) -> None:
    qianfan_emulator.queue_error(336100, times=2)
    answers = [post(qianfan_emulator, protocol) for _ in range(3)]
    assert [ok(answer) for answer in answers] == [False, False, True]
    if protocol == "v1":
        assert answers[0].json()["error_code"] == 336100
    else:
        assert answers[0].status_code == 500
    assert qianfan_emulator.pending_faults == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_error_with_custom_message(qianfan_emulator: QianfanEmulator, protocol: str) -> None:
    qianfan_emulator.queue_error(336003, "the max length of current question is 2000")
    body = post(qianfan_emulator, protocol).json()
    message = body["error_msg"] if protocol == "v1" else body["error"]["message"]
    assert message == "the max length of current question is 2000"


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("stream", [False, True])
def test_http_status(qianfan_emulator: QianfanEmulator, protocol: str, stream: bool) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    qianfan_emulator.queue_http_status(502, page, headers={"Retry-After": "3"})
    response = post(qianfan_emulator, protocol, stream=stream)
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Retry-After"] == "3"
    assert response.text == page
    assert ok(post(qianfan_emulator, protocol))


def test_http_status_content_type_is_guessed_or_given(qianfan_emulator: QianfanEmulator) -> None:
    qianfan_emulator.queue_http_status(503, b'{"message": "busy"}')
    qianfan_emulator.queue_http_status(504, "gateway timeout")
    qianfan_emulator.queue_http_status(500, "x", headers={"Content-Type": "text/x-custom"})
    types = [post(qianfan_emulator, "v1").headers["Content-Type"] for _ in range(3)]
    assert types == ["application/json", "text/plain; charset=utf-8", "text/x-custom"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_slow_answer_times_out_a_short_client_timeout(
    qianfan_emulator: QianfanEmulator, protocol: str
) -> None:
    qianfan_emulator.queue_slow(30)
    with pytest.raises(requests.exceptions.ReadTimeout):
        post(qianfan_emulator, protocol, timeout=0.3)
    assert ok(post(qianfan_emulator, protocol, timeout=5))


def test_slow_answer_arrives_late_but_complete(qianfan_emulator: QianfanEmulator) -> None:
    qianfan_emulator.queue_slow(0.3)
    started = time.monotonic()
    response = post(qianfan_emulator, "v2")
    assert time.monotonic() - started >= 0.3
    assert ok(response)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("stream", [False, True])
def test_disconnect_without_answer(
    qianfan_emulator: QianfanEmulator, protocol: str, stream: bool
) -> None:
    qianfan_emulator.queue_disconnect()
    with pytest.raises(requests.exceptions.ConnectionError):
        post(qianfan_emulator, protocol, stream=stream)
    assert ok(post(qianfan_emulator, protocol))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_disconnect_mid_stream(qianfan_emulator: QianfanEmulator, protocol: str) -> None:
    qianfan_emulator.queue_disconnect(after_events=2)
    response = post(qianfan_emulator, protocol, stream=True)
    assert response.status_code == 200
    lines, error = read_lines(response)
    assert error is not None  # the connection dropped: no clean end of the body
    assert len(lines) == 2
    assert all(line.startswith("data: {") for line in lines)
    assert not any('"is_end":true' in line for line in lines)


def test_disconnect_after_events_drops_a_non_stream_request(
    qianfan_emulator: QianfanEmulator,
) -> None:
    qianfan_emulator.queue_disconnect(after_events=2)
    with pytest.raises(requests.exceptions.ConnectionError):
        post(qianfan_emulator, "v1")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_malformed_json(qianfan_emulator: QianfanEmulator, protocol: str) -> None:
    qianfan_emulator.queue_malformed_json()
    response = post(qianfan_emulator, protocol)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_malformed_stream_event(qianfan_emulator: QianfanEmulator, protocol: str) -> None:
    qianfan_emulator.queue_malformed_json()
    response = post(qianfan_emulator, protocol, stream=True)
    assert response.headers["Content-Type"] == "text/event-stream"
    lines, _ = read_lines(response)
    first = lines[0]
    assert first.startswith("data: ")
    with pytest.raises(json.JSONDecodeError):
        json.loads(first.removeprefix("data: "))


def test_v1_stream_error_is_a_bare_json_line(qianfan_emulator: QianfanEmulator) -> None:
    qianfan_emulator.queue_stream_error(336100, after_events=1)
    response = post(qianfan_emulator, "v1", stream=True)
    lines, error = read_lines(response)
    assert error is None
    assert len(lines) == 2
    assert lines[0].startswith("data: ")
    bare = json.loads(lines[1])  # no "data: " prefix, as documented
    assert (bare["error_code"], bare["error_msg"]) == (336100, "try again later")
    assert bare["id"].startswith("as-")


def test_v2_stream_error_is_a_data_event_without_done(qianfan_emulator: QianfanEmulator) -> None:
    qianfan_emulator.queue_stream_error(336501, after_events=2, message="slow down")
    response = post(qianfan_emulator, "v2", stream=True)
    lines, error = read_lines(response)
    assert error is None
    assert len(lines) == 3
    event = json.loads(lines[2].removeprefix("data: "))
    assert event["error"] == {
        "code": "rpm_rate_limit_exceeded",
        "message": "slow down",
        "type": "rate_limit_exceeded",
    }
    assert "data: [DONE]" not in lines


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stream_error_on_a_non_stream_request_is_a_plain_error(
    qianfan_emulator: QianfanEmulator, protocol: str
) -> None:
    qianfan_emulator.queue_stream_error(2)
    response = post(qianfan_emulator, protocol)
    assert not ok(response)
    assert response.status_code == (200 if protocol == "v1" else 500)


def test_faults_are_used_in_order(qianfan_emulator: QianfanEmulator) -> None:
    emu = qianfan_emulator
    emu.queue_error(2)
    emu.queue_reply("第二个")
    emu.queue_http_status(503)
    assert emu.pending_faults == [ErrorFault(2), ReplyFault("第二个"), HttpStatusFault(503)]
    first, second, third, fourth = (post(emu, "v1") for _ in range(4))
    assert first.json()["error_code"] == 2
    assert second.json()["result"] == "第二个"
    assert third.status_code == 503
    assert fourth.json()["result"].startswith("【千帆模拟器】")


def test_token_requests_do_not_use_faults(qianfan_emulator: QianfanEmulator) -> None:
    qianfan_emulator.queue_error(2)
    response = requests.post(
        qianfan_emulator.token_url,
        timeout=10,
        params={
            "grant_type": "client_credentials",
            "client_id": qianfan_emulator.ak,
            "client_secret": qianfan_emulator.sk,
        },
    )
    assert response.status_code == 200
    assert qianfan_emulator.pending_faults == [ErrorFault(2)]


def test_reset_clears_faults(qianfan_emulator: QianfanEmulator) -> None:
    qianfan_emulator.queue_error(2, times=5)
    qianfan_emulator.reset()
    assert qianfan_emulator.pending_faults == []
    assert ok(post(qianfan_emulator, "v1"))


# -- the queue itself ---------------------------------------------------------------------


def test_scenario_counts_uses() -> None:
    scenario = Scenario()
    scenario.push(ErrorFault(2), times=2)
    scenario.push(SlowFault(1.0))
    assert scenario.pending() == [ErrorFault(2), ErrorFault(2), SlowFault(1.0)]
    assert [scenario.take() for _ in range(4)] == [
        ErrorFault(2),
        ErrorFault(2),
        SlowFault(1.0),
        None,
    ]


def test_scenario_is_thread_safe() -> None:
    scenario = Scenario()
    scenario.push(ErrorFault(2), times=1000)
    taken: list[object] = []

    def drain() -> None:
        for _ in range(300):
            taken.append(scenario.take())

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert taken.count(ErrorFault(2)) == 1000
    assert taken.count(None) == 200


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda emu: emu.queue_error(2, times=0), id="times-zero"),
        pytest.param(lambda emu: emu.queue_http_status(99), id="status-low"),
        pytest.param(lambda emu: emu.queue_http_status(600), id="status-high"),
        pytest.param(lambda emu: emu.queue_slow(-1), id="negative-delay"),
        pytest.param(lambda emu: emu.queue_disconnect(after_events=-1), id="negative-events"),
        pytest.param(lambda emu: emu.queue_stream_error(2, after_events=-1), id="stream-events"),
    ],
)
def test_bad_scenario_arguments_are_refused(qianfan_emulator: QianfanEmulator, call: Any) -> None:
    with pytest.raises(ValueError):
        call(qianfan_emulator)
    assert qianfan_emulator.pending_faults == []
