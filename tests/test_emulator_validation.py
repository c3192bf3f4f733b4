"""Request validation, shown over raw HTTP on both protocols (one table per rule family)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from langchain_qianfan_free.emulator import QianfanEmulator
from langchain_qianfan_free.emulator._models import ModelRegistry
from langchain_qianfan_free.emulator._validation import ChatRequest, validate_v1

USER = {"role": "user", "content": "你好"}
BOT = {"role": "assistant", "content": "你好！"}


def v1(emu: QianfanEmulator, body: Any, *, endpoint: str = "ernie_speed") -> dict[str, Any]:
    """POST a v1 chat body (dict → JSON, bytes as is); returns the JSON answer."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = requests.post(
        emu.v1_chat_url(endpoint),
        data=data,
        timeout=10,
        params={"access_token": emu.issue_access_token()},
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200  # v1 errors are HTTP 200 too
    assert response.headers["Content-Type"] == "application/json"
    return response.json()  # type: ignore[no-any-return]


def v2(emu: QianfanEmulator, body: Any) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(
        emu.v2_chat_url,
        data=data,
        timeout=10,
        headers={"Authorization": f"Bearer {emu.api_key}", "Content-Type": "application/json"},
    )


def v1_error(answer: dict[str, Any]) -> tuple[int, str]:
    assert answer["id"].startswith("as-")
    return answer["error_code"], answer["error_msg"]


def v2_error(response: requests.Response) -> tuple[int, str, str]:
    body = response.json()
    assert body["id"].startswith("as-")
    return response.status_code, body["error"]["code"], body["error"]["message"]


# -- v1 body and message rules -----------------------------------------------------------

V1_MESSAGE_CASES = [
    pytest.param(b"{not json", 336002, "Invalid JSON", id="body-not-json"),
    pytest.param(b"", 336002, "Invalid JSON", id="body-empty"),
    pytest.param([USER], 336001, "Invalid Argument", id="body-not-object"),
    pytest.param({}, 336001, "Invalid Argument", id="messages-missing"),
    pytest.param({"messages": "hi"}, 336001, "Invalid Argument", id="messages-not-list"),
    pytest.param({"messages": [USER, "x", USER]}, 336001, "JSON object", id="message-not-object"),
    pytest.param(
        {"messages": []},
        336006,
        "the length of messages must be an odd number",
        id="messages-empty",
    ),
    pytest.param(
        {"messages": [USER, BOT]},
        336006,
        "the length of messages must be an odd number",
        id="messages-even",
    ),
    pytest.param(
        {"messages": [BOT]},
        336006,
        "the role of message with even index in the messages must be user or function",
        id="first-not-user",
    ),
    pytest.param(
        {"messages": [USER, USER, USER]},
        336006,
        "the role of message with odd index in the messages must be assistant",
        id="not-alternating",
    ),
    pytest.param(
        {"messages": [{"role": "system", "content": "be nice"}, BOT, USER]},
        336006,
        "even index",
        id="system-role",
    ),
    pytest.param(
        {"messages": [USER, {"role": "system", "content": "x"}, USER]},
        336006,
        "odd index",
        id="system-role-later",
    ),
    pytest.param(
        {"messages": [{"role": "function", "name": "f", "content": "{}"}]},
        336006,
        "even index",
        id="function-first",
    ),
    pytest.param(
        {"messages": [USER, BOT, {"role": "function", "content": "{}"}]},
        336003,
        "name",
        id="function-without-name",
    ),
    pytest.param(
        {"messages": [{"role": "user", "content": ""}]},
        336003,
        "message content can not be empty",
        id="content-empty",
    ),
    pytest.param(
        {"messages": [{"role": "user", "content": " \n"}]},
        336003,
        "message content can not be empty",
        id="content-blank",
    ),
    pytest.param(
        {"messages": [{"role": "user"}]},
        336003,
        "message content can not be empty",
        id="content-missing",
    ),
    pytest.param(
        {"messages": [{"role": "user", "content": ["你好"]}]},
        336003,
        "message content can not be empty",
        id="content-not-string",
    ),
    pytest.param(
        {"messages": [USER, {"role": "assistant", "content": ""}, USER]},
        336003,
        "message content can not be empty",
        id="assistant-content-empty",
    ),
    pytest.param({"messages": [USER], "system": 42}, 336003, "system", id="system-not-string"),
    pytest.param({"messages": [USER], "user_id": 42}, 336003, "user_id", id="user-id-type"),
    pytest.param({"messages": [USER], "stream": "yes"}, 336003, "stream", id="stream-type"),
]


@pytest.mark.parametrize(("body", "code", "text"), V1_MESSAGE_CASES)
def test_v1_rejects_bad_bodies(
    qianfan_emulator: QianfanEmulator, body: Any, code: int, text: str
) -> None:
    error_code, message = v1_error(v1(qianfan_emulator, body))
    assert error_code == code
    assert text in message


def test_v1_accepts_a_conversation_with_system_and_function_turns(
    qianfan_emulator: QianfanEmulator,
) -> None:
    messages = [
        USER,
        {"role": "assistant", "content": "", "function_call": {"name": "f", "arguments": "{}"}},
        {"role": "function", "name": "f", "content": '{"ok": true}'},
    ]
    answer = v1(
        qianfan_emulator,
        {"messages": messages, "system": "你是助手", "unknown_key": {"ignored": True}},
    )
    assert "error_code" not in answer
    assert answer["result"].endswith('{"ok": true}')


# -- v2 body and message rules -----------------------------------------------------------


def _v2_body(messages: Any, **extra: Any) -> dict[str, Any]:
    return {"model": "ernie-speed-8k", "messages": messages, **extra}


V2_MESSAGE_CASES = [
    pytest.param(b"{not json", 400, "malformed_json", "Invalid Argument", id="body-not-json"),
    pytest.param([USER], 400, "malformed_json", "Invalid Argument", id="body-not-object"),
    pytest.param({"messages": [USER]}, 400, "invalid_model", "model is empty", id="model-missing"),
    pytest.param(
        {"model": "", "messages": [USER]}, 400, "invalid_model", "model is empty", id="model-empty"
    ),
    pytest.param(
        {"model": "gpt-4o", "messages": [USER]},
        401,
        "invalid_model",
        "The model does not exist or you do not have access to it.",
        id="model-unknown",
    ),
    pytest.param(
        {"model": "ernie_speed", "messages": [USER]},
        401,
        "invalid_model",
        "does not exist",
        id="model-is-a-v1-endpoint",
    ),
    pytest.param(
        {"model": "ernie-speed-8k"}, 400, "invalid_messages", "list", id="messages-missing"
    ),
    pytest.param(_v2_body([]), 400, "invalid_messages", "odd number", id="messages-empty"),
    pytest.param(
        _v2_body([{"role": "system", "content": "s"}]),
        400,
        "invalid_messages",
        "odd number",
        id="only-system",
    ),
    pytest.param(_v2_body([USER, BOT]), 400, "invalid_messages", "odd number", id="messages-even"),
    pytest.param(
        _v2_body([USER, {"role": "system", "content": "s"}, USER]),
        400,
        "invalid_messages",
        "first message",
        id="system-not-first",
    ),
    pytest.param(_v2_body([BOT]), 400, "invalid_messages", "even index", id="first-not-user"),
    pytest.param(
        _v2_body([USER, USER, USER]), 400, "invalid_messages", "odd index", id="not-alternating"
    ),
    pytest.param(
        _v2_body([{"role": "tool", "content": "{}"}]),
        400,
        "invalid_messages",
        "even index",
        id="tool-first",
    ),
    pytest.param(
        _v2_body([{"role": "user", "content": "  "}]),
        400,
        "invalid_messages",
        "message content can not be empty",
        id="content-blank",
    ),
    pytest.param(
        _v2_body([{"role": "user", "content": 7}]),
        400,
        "invalid_messages",
        "message content can not be empty",
        id="content-not-string",
    ),
    pytest.param(
        _v2_body([{"role": "user", "content": [{"type": "image_url"}]}]),
        400,
        "invalid_messages",
        "message content can not be empty",
        id="content-image",
    ),
    pytest.param(_v2_body([USER], user=7), 400, "invalid_argument", "user", id="user-type"),
    pytest.param(
        _v2_body([USER], stream="yes"), 400, "invalid_argument", "stream", id="stream-type"
    ),
    pytest.param(
        _v2_body([USER], stream_options="x"),
        400,
        "invalid_argument",
        "stream_options",
        id="stream-options-type",
    ),
    pytest.param(
        _v2_body([USER], stream_options={"include_usage": "yes"}),
        400,
        "invalid_argument",
        "include_usage",
        id="include-usage-type",
    ),
    pytest.param(_v2_body([USER], seed=0), 400, "invalid_argument", "seed", id="seed-zero"),
    pytest.param(
        _v2_body([USER], seed=2147483647), 400, "invalid_argument", "seed", id="seed-too-big"
    ),
    pytest.param(_v2_body([USER], seed="1"), 400, "invalid_argument", "seed", id="seed-type"),
]


@pytest.mark.parametrize(("body", "status", "code", "text"), V2_MESSAGE_CASES)
def test_v2_rejects_bad_bodies(
    qianfan_emulator: QianfanEmulator, body: Any, status: int, code: str, text: str
) -> None:
    got_status, got_code, message = v2_error(v2(qianfan_emulator, body))
    assert (got_status, got_code) == (status, code)
    assert text in message


def test_v2_accepts_system_text_parts_tool_turns_and_nulls(
    qianfan_emulator: QianfanEmulator,
) -> None:
    messages = [
        {"role": "system", "content": "你是助手"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "天气"}, {"type": "text", "text": "如何"}],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "晴"},
    ]
    response = v2(
        qianfan_emulator,
        _v2_body(messages, seed=1, user="u-1", stop=None, max_tokens=None, metadata={"x": 1}),
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"].endswith("晴")


# -- parameter ranges: the same rules on both protocols ----------------------------------

RANGES: list[tuple[str, Any, str]] = [
    ("temperature", 0, "temperature-zero"),
    ("temperature", 1.01, "temperature-high"),
    ("temperature", "0.5", "temperature-string"),
    ("temperature", True, "temperature-bool"),
    ("top_p", -0.1, "top-p-low"),
    ("top_p", 1.1, "top-p-high"),
    ("penalty_score", 0.99, "penalty-low"),
    ("penalty_score", 2.01, "penalty-high"),
    ("frequency_penalty", -2.5, "frequency-low"),
    ("frequency_penalty", 2.5, "frequency-high"),
    ("presence_penalty", -2.5, "presence-low"),
    ("presence_penalty", 2.5, "presence-high"),
    ("stop", "。", "stop-not-list"),
    ("stop", [1], "stop-not-strings"),
    ("stop", ["a", "b", "c", "d", "e"], "stop-too-many"),
    ("stop", ["x" * 21], "stop-too-long"),
    ("MAX", 1, "max-tokens-low"),
    ("MAX", 2049, "max-tokens-above-model-max"),
    ("MAX", 10.5, "max-tokens-float"),
    ("MAX", "100", "max-tokens-string"),
]


def _cases(max_fields: tuple[str, ...]) -> list[Any]:
    """The range table with the protocol's name(s) for the output-token limit."""
    return [
        pytest.param(name, value, id=f"{case_id}-{name}" if field == "MAX" else case_id)
        for field, value, case_id in RANGES
        for name in (max_fields if field == "MAX" else (field,))
    ]


VALID_EDGES = {
    "temperature": 1,
    "top_p": 0,
    "penalty_score": 2,
    "frequency_penalty": -2,
    "presence_penalty": 2,
    "stop": ["x" * 20, "b", "c", "d"],
}


@pytest.mark.parametrize(("field", "value"), _cases(("max_output_tokens",)))
def test_v1_rejects_out_of_range_parameters(
    qianfan_emulator: QianfanEmulator, field: str, value: Any
) -> None:
    code, message = v1_error(v1(qianfan_emulator, {"messages": [USER], field: value}))
    assert code == 336003
    assert field in message


@pytest.mark.parametrize(("field", "value"), _cases(("max_tokens", "max_completion_tokens")))
def test_v2_rejects_out_of_range_parameters(
    qianfan_emulator: QianfanEmulator, field: str, value: Any
) -> None:
    status, code, message = v2_error(v2(qianfan_emulator, _v2_body([USER], **{field: value})))
    assert (status, code) == (400, "invalid_argument")
    assert field in message


def test_boundary_values_are_accepted(qianfan_emulator: QianfanEmulator) -> None:
    for max_tokens in (2, 2048):
        answer = v1(
            qianfan_emulator, {"messages": [USER], "max_output_tokens": max_tokens, **VALID_EDGES}
        )
        assert "error_code" not in answer
        response = v2(qianfan_emulator, _v2_body([USER], max_tokens=max_tokens, **VALID_EDGES))
        assert response.status_code == 200, response.text


def test_model_maximum_differs_per_model(qianfan_emulator: QianfanEmulator) -> None:
    body = {"messages": [USER], "max_output_tokens": 4096}
    assert "error_code" not in v1(qianfan_emulator, body, endpoint="ernie-speed-128k")
    code, message = v1_error(v1(qianfan_emulator, body, endpoint="ernie_speed"))
    assert code == 336003
    assert "[2, 2048]" in message


# -- input limits ------------------------------------------------------------------------

LIMIT_CASES = [
    pytest.param(
        {"messages": [{"role": "user", "content": "a " * 12001}]},
        336007,
        "the max input characters is 24000",
        "characters_too_long",
        id="chars",
    ),
    pytest.param(
        {"messages": [{"role": "user", "content": "中" * 7000}]},
        336103,
        "Prompt tokens too long",
        "tokens_too_long",
        id="tokens",
    ),
    pytest.param(
        {"system": "中" * 6000, "messages": [{"role": "user", "content": "中" * 200}]},
        336103,
        "Prompt tokens too long",
        "tokens_too_long",
        id="system-counts",
    ),
]


@pytest.mark.parametrize(("body", "code", "text", "v2_code"), LIMIT_CASES)
def test_input_limits_on_both_protocols(
    qianfan_emulator: QianfanEmulator, body: dict[str, Any], code: int, text: str, v2_code: str
) -> None:
    assert v1_error(v1(qianfan_emulator, body)) == (code, text)
    messages = list(body["messages"])
    if "system" in body:
        messages.insert(0, {"role": "system", "content": body["system"]})
    assert v2_error(v2(qianfan_emulator, _v2_body(messages))) == (400, v2_code, text)


def test_input_limits_follow_the_model(qianfan_emulator: QianfanEmulator) -> None:
    body = {"messages": [{"role": "user", "content": "中" * 7000}]}
    assert "error_code" not in v1(qianfan_emulator, body, endpoint="ernie-speed-128k")


# -- the pure function -------------------------------------------------------------------


def test_validate_v1_returns_a_protocol_neutral_request() -> None:
    limits = ModelRegistry().v1_endpoint("ernie_speed")
    assert limits is not None
    body = json.dumps(
        {"messages": [USER], "system": "s", "stop": ["。"], "stream": True, "max_output_tokens": 10}
    ).encode()
    request = validate_v1(body, "ernie_speed", limits)
    assert isinstance(request, ChatRequest)
    assert (request.system, request.stream, request.stop, request.max_output_tokens) == (
        "s",
        True,
        ("。",),
        10,
    )
    assert request.texts == ("s", "你好")
