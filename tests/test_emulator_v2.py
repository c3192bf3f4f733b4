"""The v2 wire format (reference §7.3-§7.5): bodies, stream chunks, errors, headers."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests

from langchain_qianfan_free.emulator import QianfanEmulator

USER = {"role": "user", "content": "介绍一下你自己"}
RATE_HEADERS = (
    "X-Ratelimit-Limit-Requests",
    "X-Ratelimit-Limit-Input-Tokens",
    "X-Ratelimit-Limit-Output-Tokens",
    "X-Ratelimit-Remaining-Requests",
    "X-Ratelimit-Remaining-Input-Tokens",
    "X-Ratelimit-Remaining-Output-Tokens",
)


def post(emu: QianfanEmulator, method: str = "POST", **body: Any) -> requests.Response:
    payload = {"model": "ernie-speed-8k", "messages": [USER], **body}
    return requests.request(
        method,
        emu.v2_chat_url,
        json=payload,
        timeout=10,
        headers={"Authorization": f"Bearer {emu.api_key}"},
    )


def chunks(raw: bytes) -> list[dict[str, Any]]:
    """Split a v2 stream into chunks, checking the framing and the final ``[DONE]``."""
    blocks = raw.split(b"\n\n")
    assert blocks[-2:] == [b"data: [DONE]", b""]
    parsed = []
    for block in blocks[:-2]:
        assert block.startswith(b"data: ")
        parsed.append(json.loads(block[len(b"data: ") :]))
    return parsed


def test_sync_body(qianfan_emulator: QianfanEmulator) -> None:
    response = post(qianfan_emulator)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"id", "object", "created", "model", "choices", "usage"}
    assert re.fullmatch(r"as-[a-z0-9]{10}", body["id"])
    assert (body["object"], body["model"]) == ("chat.completion", "ernie-speed-8k")
    assert body["choices"] == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "【千帆模拟器】ernie-speed-8k 收到：介绍一下你自己",
            },
            "finish_reason": "stop",
            "flag": 0,
        }
    ]
    assert body["usage"]["total_tokens"] == (
        body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )


def test_headers(qianfan_emulator: QianfanEmulator) -> None:
    for response in (
        post(qianfan_emulator),
        post(qianfan_emulator, messages=[]),
        post(qianfan_emulator, stream=True),
    ):
        assert response.headers["X-Baidu-Request-Id"]
        for header in RATE_HEADERS:
            assert int(response.headers[header]) >= 0


def test_stream_without_usage(qianfan_emulator: QianfanEmulator) -> None:
    text = post(qianfan_emulator).json()["choices"][0]["message"]["content"]
    response = post(qianfan_emulator, stream=True)
    assert response.headers["Content-Type"] == "text/event-stream"
    parsed = chunks(response.content)
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in parsed)
    assert all(chunk["usage"] is None for chunk in parsed)
    assert len({chunk["id"] for chunk in parsed}) == 1
    deltas = [chunk["choices"][0]["delta"] for chunk in parsed]
    assert deltas[0]["role"] == "assistant"
    assert all("role" not in delta for delta in deltas[1:])
    assert "".join(delta["content"] for delta in deltas) == text
    reasons = [chunk["choices"][0]["finish_reason"] for chunk in parsed]
    assert reasons == [None] * (len(parsed) - 1) + ["stop"]


def test_stream_with_usage(qianfan_emulator: QianfanEmulator) -> None:
    usage = post(qianfan_emulator).json()["usage"]
    parsed = chunks(
        post(qianfan_emulator, stream=True, stream_options={"include_usage": True}).content
    )
    *content, last = parsed
    assert last["choices"] == []
    assert last["usage"] == usage
    assert all(chunk["usage"] is None for chunk in content)
    assert content[-1]["choices"][0]["finish_reason"] == "stop"


def test_stream_of_an_empty_reply_still_has_role_and_finish(
    qianfan_emulator: QianfanEmulator,
) -> None:
    qianfan_emulator.queue_reply("。后面")
    parsed = chunks(post(qianfan_emulator, stream=True, stop=["。"]).content)
    assert [chunk["choices"][0] for chunk in parsed] == [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": ""},
            "finish_reason": "stop",
            "flag": 0,
        }
    ]


def test_stream_flags_unsafe_input(qianfan_emulator: QianfanEmulator) -> None:
    parsed = chunks(
        post(
            qianfan_emulator,
            stream=True,
            messages=[{"role": "user", "content": "EMULATOR_UNSAFE_INPUT"}],
        ).content
    )
    assert all(chunk["choices"][0]["flag"] == 2 for chunk in parsed)


def test_errors_before_a_stream_are_plain_json(qianfan_emulator: QianfanEmulator) -> None:
    response = post(qianfan_emulator, stream=True, temperature=0)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "invalid_argument"


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_only_post_is_accepted(qianfan_emulator: QianfanEmulator, method: str) -> None:
    response = post(qianfan_emulator, method=method)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_supported"
    assert response.json()["error"]["message"] == "Only POST requests are accepted"


@pytest.mark.parametrize(
    "model",
    ["ernie-speed-8k", "ernie-speed-128k", "ernie-lite-8k", "ernie-tiny-8k", "ernie-3.5-8k"],
)
def test_catalogue_models_are_served(qianfan_emulator: QianfanEmulator, model: str) -> None:
    response = post(qianfan_emulator, model=model)
    assert response.json()["model"] == model


def test_other_paths_are_404(qianfan_emulator: QianfanEmulator) -> None:
    response = requests.get(qianfan_emulator.v2_base_url + "/models", timeout=10)
    assert response.status_code == 404
    assert qianfan_emulator.requests[-1].protocol == "other"
