"""What the emulated model answers: echo, scripted text, stop, length and moderation."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from langchain_qianfan_free.emulator import QianfanEmulator
from langchain_qianfan_free.emulator._model.replies import REFUSAL_TEXT

PROTOCOLS = ["v1", "v2"]


def chat(
    emu: QianfanEmulator,
    protocol: str,
    content: str = "你好",
    *,
    system: str = "",
    max_tokens: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One non-stream request; returns a protocol-neutral view of the answer."""
    messages = [{"role": "user", "content": content}]
    if protocol == "v1":
        body: dict[str, Any] = {"messages": messages, **extra}
        if system:
            body["system"] = system
        if max_tokens is not None:
            body["max_output_tokens"] = max_tokens
        answer = requests.post(
            emu.v1_chat_url(),
            json=body,
            timeout=10,
            params={"access_token": emu.issue_access_token()},
        ).json()
        assert "error_code" not in answer, answer
        return {
            "text": answer["result"],
            "finish": answer["finish_reason"],
            "usage": answer["usage"],
            "raw": answer,
        }
    if system:
        messages.insert(0, {"role": "system", "content": system})
    body = {"model": "ernie-speed-8k", "messages": messages, **extra}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    response = requests.post(
        emu.v2_chat_url, json=body, timeout=10, headers={"Authorization": f"Bearer {emu.api_key}"}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    choice = answer["choices"][0]
    return {
        "text": choice["message"]["content"],
        "finish": choice["finish_reason"],
        "usage": answer["usage"],
        "raw": answer,
    }


@pytest.mark.parametrize(("protocol", "model"), [("v1", "ernie_speed"), ("v2", "ernie-speed-8k")])
def test_default_reply_echoes_the_last_message(
    qianfan_emulator: QianfanEmulator, protocol: str, model: str
) -> None:
    answer = chat(qianfan_emulator, protocol, "你好", system="你是助手")
    assert answer["text"] == f"【千帆模拟器】{model} 收到：你好"
    assert answer["finish"] == ("normal" if protocol == "v1" else "stop")
    assert answer["usage"]["prompt_tokens"] == 6  # system (4) + message (2)
    usage = answer["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_long_messages_are_shortened_in_the_echo(qianfan_emulator: QianfanEmulator) -> None:
    answer = chat(qianfan_emulator, "v1", "长" * 100)
    assert answer["text"].endswith("长" * 40 + "…")


def test_replies_are_deterministic(qianfan_emulator: QianfanEmulator) -> None:
    assert chat(qianfan_emulator, "v2")["text"] == chat(qianfan_emulator, "v2")["text"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_scripted_reply(qianfan_emulator: QianfanEmulator, protocol: str) -> None:
    qianfan_emulator.queue_reply("今天天气晴。", times=2)
    assert chat(qianfan_emulator, protocol)["text"] == "今天天气晴。"
    assert chat(qianfan_emulator, protocol)["text"] == "今天天气晴。"
    assert chat(qianfan_emulator, protocol)["text"].startswith("【千帆模拟器】")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_scripted_finish_reason(qianfan_emulator: QianfanEmulator, protocol: str) -> None:
    qianfan_emulator.queue_reply("好的", finish_reason="content_filter")
    assert chat(qianfan_emulator, protocol)["finish"] == "content_filter"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stop_cuts_before_the_first_stop_string(
    qianfan_emulator: QianfanEmulator, protocol: str
) -> None:
    qianfan_emulator.queue_reply("第一句。第二句！第三句")
    answer = chat(qianfan_emulator, protocol, stop=["！", "。"])
    assert (answer["text"], answer["finish"]) == ("第一句", "stop")
    assert answer["usage"]["completion_tokens"] == 3


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_max_tokens_truncates(qianfan_emulator: QianfanEmulator, protocol: str) -> None:
    qianfan_emulator.queue_reply("一二三四五六七八九十")
    answer = chat(qianfan_emulator, protocol, max_tokens=4)
    assert (answer["text"], answer["finish"]) == ("一二三四", "length")
    assert answer["usage"]["completion_tokens"] == 4
    if protocol == "v1":
        assert answer["raw"]["is_truncated"] is True


def test_replies_fit_the_model_default_output_budget(qianfan_emulator: QianfanEmulator) -> None:
    qianfan_emulator.queue_reply("字" * 3000)
    answer = chat(qianfan_emulator, "v1")
    assert (len(answer["text"]), answer["finish"]) == (1024, "length")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unsafe_input_gets_the_refusal_and_moderation_flags(
    qianfan_emulator: QianfanEmulator, protocol: str
) -> None:
    answer = chat(qianfan_emulator, protocol, "告诉我 EMULATOR_UNSAFE_INPUT")
    assert answer["text"] == REFUSAL_TEXT
    if protocol == "v1":
        assert answer["raw"]["need_clear_history"] is True
        assert answer["raw"]["ban_round"] == -1
    else:
        choice = answer["raw"]["choices"][0]
        assert (choice["flag"], choice["ban_round"]) == (2, -1)


def test_unsafe_system_text_is_moderated_too(qianfan_emulator: QianfanEmulator) -> None:
    assert chat(qianfan_emulator, "v1", system="EMULATOR_UNSAFE_INPUT")["text"] == REFUSAL_TEXT


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_safe_answers_carry_safe_flags(qianfan_emulator: QianfanEmulator, protocol: str) -> None:
    raw = chat(qianfan_emulator, protocol)["raw"]
    if protocol == "v1":
        assert raw["need_clear_history"] is False
        assert "ban_round" not in raw
    else:
        assert raw["choices"][0]["flag"] == 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unsafe_output_is_cut_with_content_filter(
    qianfan_emulator: QianfanEmulator, protocol: str
) -> None:
    qianfan_emulator.queue_reply("前半句EMULATOR_UNSAFE_OUTPUT后半句")
    answer = chat(qianfan_emulator, protocol)
    assert (answer["text"], answer["finish"]) == ("前半句", "content_filter")


def test_custom_moderation_words() -> None:
    with QianfanEmulator(unsafe_input_words=["坏词"], unsafe_output_words=["秘密"]) as emu:
        assert chat(emu, "v1", "一个坏词")["text"] == REFUSAL_TEXT
        echoed = chat(emu, "v1", "说出秘密")
        assert (echoed["text"], echoed["finish"]) == (
            "【千帆模拟器】ernie_speed 收到：说出",
            "content_filter",
        )
        assert chat(emu, "v1", "EMULATOR_UNSAFE_INPUT")["text"] != REFUSAL_TEXT


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stream_reassembles_to_the_same_reply(
    qianfan_emulator: QianfanEmulator, protocol: str
) -> None:
    qianfan_emulator.queue_reply("流式回答：一二三四五六七八九十。", times=2)
    whole = chat(qianfan_emulator, protocol, stop=["。"])["text"]
    texts = []
    if protocol == "v1":
        response = requests.post(
            qianfan_emulator.v1_chat_url(),
            timeout=10,
            params={"access_token": qianfan_emulator.issue_access_token()},
            json={"messages": [{"role": "user", "content": "hi"}], "stream": True, "stop": ["。"]},
        )
        for line in response.iter_lines():
            if line:
                texts.append(json.loads(line.decode().removeprefix("data: "))["result"])
    else:
        response = requests.post(
            qianfan_emulator.v2_chat_url,
            timeout=10,
            headers={"Authorization": f"Bearer {qianfan_emulator.api_key}"},
            json={
                "model": "ernie-speed-8k",
                "messages": [{"role": "user", "content": "hi"}],
                "stream": True,
                "stop": ["。"],
            },
        )
        for line in response.iter_lines():
            if line and line != b"data: [DONE]":
                event = json.loads(line.decode().removeprefix("data: "))
                texts.append(event["choices"][0]["delta"]["content"])
    assert "".join(texts) == whole == "流式回答：一二三四五六七八九十"
