"""The v1 wire format (reference §3, §4.1, §5.1): bodies, stream framing, headers, routing."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
import requests

from langchain_qianfan_free.emulator import QianfanEmulator

USER = {"role": "user", "content": "介绍一下你自己"}
ANSWER_ID = re.compile(r"as-[a-z0-9]{10}")
RATE_HEADERS = (
    "X-Ratelimit-Limit-Requests",
    "X-Ratelimit-Limit-Tokens",
    "X-Ratelimit-Remaining-Requests",
    "X-Ratelimit-Remaining-Tokens",
)


def post(
    emu: QianfanEmulator, body: dict[str, Any], endpoint: str = "ernie_speed", method: str = "POST"
) -> requests.Response:
    return requests.request(
        method,
        emu.v1_chat_url(endpoint),
        json=body,
        timeout=10,
        params={"access_token": emu.issue_access_token()},
    )


def events(raw: bytes) -> list[dict[str, Any]]:
    """Split a v1 stream body into events, checking the framing of each."""
    assert raw.endswith(b"\n\n")
    parsed = []
    for block in raw.split(b"\n\n")[:-1]:
        assert block.startswith(b"data: ")
        assert b"\n" not in block
        parsed.append(json.loads(block[len(b"data: ") :]))
    return parsed


def test_sync_body(qianfan_emulator: QianfanEmulator) -> None:
    response = post(qianfan_emulator, {"messages": [USER]})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {
        "id",
        "object",
        "created",
        "result",
        "is_truncated",
        "need_clear_history",
        "finish_reason",
        "usage",
    }
    assert ANSWER_ID.fullmatch(body["id"])
    assert body["object"] == "chat.completion"
    assert abs(body["created"] - time.time()) < 60
    assert (body["is_truncated"], body["need_clear_history"], body["finish_reason"]) == (
        False,
        False,
        "normal",
    )
    assert set(body["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}


def test_answers_carry_request_id_and_rate_limit_headers(qianfan_emulator: QianfanEmulator) -> None:
    bodies: list[dict[str, Any]] = [
        {"messages": [USER]},
        {"messages": []},
        {"messages": [USER], "stream": True},
    ]
    for body in bodies:
        response = post(qianfan_emulator, body)
        assert response.headers["X-Baidu-Request-Id"]
        for header in RATE_HEADERS:
            assert int(response.headers[header]) >= 0


def test_stream_framing_and_usage(qianfan_emulator: QianfanEmulator) -> None:
    sync_text = post(qianfan_emulator, {"messages": [USER]}).json()["result"]
    response = post(qianfan_emulator, {"messages": [USER], "stream": True})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert b"[DONE]" not in response.content
    chunks = events(response.content)
    assert len(chunks) >= 3
    assert [chunk["sentence_id"] for chunk in chunks] == list(range(len(chunks)))
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert all(chunk["object"] == "chat.completion" for chunk in chunks)
    *middle, last = chunks
    prompt = last["usage"]["prompt_tokens"]
    for chunk in middle:
        assert chunk["is_end"] is False
        assert 0 < len(chunk["result"]) <= 6
        assert chunk["usage"] == {
            "prompt_tokens": prompt,
            "completion_tokens": 0,
            "total_tokens": prompt,
        }
        assert chunk["finish_reason"] == "normal"
    assert last["is_end"] is True
    assert last["result"] == ""
    assert last["usage"]["completion_tokens"] > 0
    assert "".join(chunk["result"] for chunk in chunks) == sync_text


def test_stream_final_event_reports_truncation(qianfan_emulator: QianfanEmulator) -> None:
    qianfan_emulator.queue_reply("一二三四五六七八九十")
    chunks = events(
        post(qianfan_emulator, {"messages": [USER], "stream": True, "max_output_tokens": 5}).content
    )
    assert (chunks[-1]["is_truncated"], chunks[-1]["finish_reason"]) == (True, "length")
    assert chunks[-1]["usage"]["completion_tokens"] == 5
    assert not any(chunk["is_truncated"] for chunk in chunks[:-1])


def test_stream_chunk_size_is_configurable() -> None:
    with QianfanEmulator(stream_chunk_chars=2) as emu:
        emu.queue_reply("一二三四五")
        chunks = events(post(emu, {"messages": [USER], "stream": True}).content)
        assert [chunk["result"] for chunk in chunks] == ["一二", "三四", "五", ""]


def test_errors_before_a_stream_are_plain_json(qianfan_emulator: QianfanEmulator) -> None:
    response = post(qianfan_emulator, {"messages": [USER, USER], "stream": True})
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error_code"] == 336006


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_only_post_is_accepted(qianfan_emulator: QianfanEmulator, method: str) -> None:
    response = post(qianfan_emulator, {"messages": [USER]}, method=method)
    assert response.status_code == 200
    assert (response.json()["error_code"], response.json()["error_msg"]) == (
        336101,
        "Invalid HTTP Method",
    )


@pytest.mark.parametrize(
    "path",
    [
        "chat/gpt-4o",
        "chat/",
        "chat/ernie_speed/extra",
        "completions/ernie_speed",
        "embeddings/embedding-v1",
    ],
)
def test_unknown_routes_answer_3(qianfan_emulator: QianfanEmulator, path: str) -> None:
    url = f"{qianfan_emulator.url}/rpc/2.0/ai_custom/v1/wenxinworkshop/{path}"
    answer = requests.post(
        url,
        json={"messages": [USER]},
        timeout=10,
        params={"access_token": qianfan_emulator.issue_access_token()},
    ).json()
    assert (answer["error_code"], answer["error_msg"]) == (3, "Unsupported openapi method")


@pytest.mark.parametrize(
    "endpoint",
    [
        "ernie_speed",
        "ernie-speed-128k",
        "ernie-lite-8k",
        "ernie-tiny-8k",
        "ai_apaas",
        "eb-instant",
        "completions",
    ],
)
def test_catalogue_endpoints_are_served(qianfan_emulator: QianfanEmulator, endpoint: str) -> None:
    answer = post(qianfan_emulator, {"messages": [USER]}, endpoint=endpoint).json()
    assert endpoint in answer["result"]


def test_unknown_routing_errors_come_before_authentication(
    qianfan_emulator: QianfanEmulator,
) -> None:
    answer = requests.post(
        qianfan_emulator.v1_chat_url("nope"), json={"messages": [USER]}, timeout=10
    ).json()
    assert answer["error_code"] == 3
