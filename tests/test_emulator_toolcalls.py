"""Tool calling and JSON output end to end: raw HTTP against the running emulator."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from langchain_qianfan_free.emulator import QianfanEmulator, ToolCallsFault
from langchain_qianfan_free.emulator._model.promptmode import FORCE_ANY, JSON_SCHEMA
from langchain_qianfan_free.emulator._model.replies import REPLY_PREFIX

CALL_ID = re.compile(r"call_[0-9a-f]{24}")
ADDER_PARAMS = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
}
WEATHER_PARAMS = {
    "type": "object",
    "properties": {"location": {"type": "string"}},
    "required": ["location"],
}
ADDER = {"name": "my_adder_tool", "description": "Adds a and b.", "parameters": ADDER_PARAMS}
WEATHER = {"name": "get_weather", "description": "Weather.", "parameters": WEATHER_PARAMS}
QUESTION = "What is 3 + 4? Use my_adder_tool."


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def tools(*functions: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": function} for function in functions]


def v2(emu: QianfanEmulator, model: str = "ernie-3.5-8k", **body: Any) -> requests.Response:
    body.setdefault("messages", [user(QUESTION)])
    response = requests.post(
        emu.v2_chat_url,
        json={"model": model, **body},
        timeout=10,
        headers={"Authorization": f"Bearer {emu.api_key}"},
    )
    assert response.status_code == 200, response.text
    return response


def v1(emu: QianfanEmulator, endpoint: str = "completions", **body: Any) -> requests.Response:
    body.setdefault("messages", [user(QUESTION)])
    response = requests.post(
        emu.v1_chat_url(endpoint),
        json=body,
        timeout=10,
        params={"access_token": emu.issue_access_token()},
    )
    assert response.status_code == 200
    assert "error_code" not in response.text[:20], response.text
    return response


def sse(raw: bytes) -> list[Any]:
    """The ``data:`` payloads of a stream (``[DONE]`` kept as a string)."""
    blocks = raw.decode("utf-8").split("\n\n")
    assert blocks[-1] == ""
    payloads = []
    for block in blocks[:-1]:
        assert block.startswith("data: ")
        data = block[len("data: ") :]
        payloads.append(data if data == "[DONE]" else json.loads(data))
    return payloads


def reassemble(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge streamed ``tool_calls`` deltas by index, the way OpenAI-style clients do."""
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            for delta in choice["delta"].get("tool_calls", []):
                call = calls.setdefault(delta["index"], {"function": {"name": "", "arguments": ""}})
                for key in ("id", "type"):
                    if key in delta:
                        call[key] = delta[key]
                function = delta.get("function", {})
                call["function"]["name"] += function.get("name", "")
                call["function"]["arguments"] += function.get("arguments", "")
    return [calls[index] for index in sorted(calls)]


# -- v2 native ---------------------------------------------------------------------------


def test_v2_native_call(qianfan_emulator: QianfanEmulator) -> None:
    body = v2(qianfan_emulator, tools=tools(ADDER, WEATHER)).json()
    (choice,) = body["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["flag"] == 0
    message = choice["message"]
    assert (message["role"], message["content"]) == ("assistant", "")
    (call,) = message["tool_calls"]
    assert CALL_ID.fullmatch(call["id"])
    assert call["type"] == "function"
    assert call["function"]["name"] == "my_adder_tool"
    assert json.loads(call["function"]["arguments"]) == {"a": 3, "b": 4}
    assert body["usage"]["completion_tokens"] > 0


def test_v2_native_stream_reassembles_to_the_calls() -> None:
    with QianfanEmulator(stream_chunk_chars=4, seed=7) as emu:
        question = "Use get_weather in Paris and my_adder_tool for 3 + 4."
        request = {"tools": tools(ADDER, WEATHER), "messages": [user(question)]}
        sync = v2(emu, **request).json()["choices"][0]["message"]["tool_calls"]
        response = v2(emu, stream=True, stream_options={"include_usage": True}, **request)
        assert response.headers["Content-Type"] == "text/event-stream"
        *chunks, usage, done = sse(response.content)
    assert done == "[DONE]"
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] > 0
    first = chunks[0]["choices"][0]["delta"]
    assert (first["role"], first["content"]) == ("assistant", "")
    assert first["tool_calls"][0]["index"] == 0
    assert first["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": ""}
    pieces = [
        delta["function"]["arguments"]
        for chunk in chunks
        for delta in chunk["choices"][0]["delta"].get("tool_calls", [])
        if "id" not in delta
    ]
    assert pieces
    assert all(0 < len(piece) <= 4 for piece in pieces)
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks] == [None] * (
        len(chunks) - 1
    ) + ["tool_calls"]
    calls = reassemble(chunks)
    assert [call["function"] for call in calls] == [call["function"] for call in sync]
    assert [json.loads(call["function"]["arguments"]) for call in calls] == [
        {"location": "Paris"},
        {"a": 3, "b": 4},
    ]
    assert all(CALL_ID.fullmatch(call["id"]) and call["type"] == "function" for call in calls)


def test_v2_parallel_tool_calls_false_gives_one_call(qianfan_emulator: QianfanEmulator) -> None:
    question = user("Use get_weather in Paris and my_adder_tool for 3 + 4.")
    message = v2(
        qianfan_emulator,
        tools=tools(ADDER, WEATHER),
        messages=[question],
        parallel_tool_calls=False,
    ).json()["choices"][0]["message"]
    assert [call["function"]["name"] for call in message["tool_calls"]] == ["get_weather"]


def test_v2_agent_loop(qianfan_emulator: QianfanEmulator) -> None:
    """Question → call → result → answer, as an agent executor drives it."""
    emu = qianfan_emulator
    messages: list[dict[str, Any]] = [{"role": "system", "content": "你是助手"}, user(QUESTION)]
    call = v2(emu, tools=tools(ADDER), messages=messages).json()["choices"][0]["message"]
    messages.append(call)
    (tool_call,) = call["tool_calls"]
    args = json.loads(tool_call["function"]["arguments"])
    messages.append(
        {"role": "tool", "tool_call_id": tool_call["id"], "content": str(args["a"] + args["b"])}
    )
    answer = v2(emu, tools=tools(ADDER), messages=messages).json()["choices"][0]
    assert answer["finish_reason"] == "stop"
    assert answer["message"]["content"] == (
        f"{REPLY_PREFIX}ernie-3.5-8k 根据工具结果回答：my_adder_tool: 7"
    )
    assert "tool_calls" not in answer["message"]


def test_v2_forced_choice_calls_again_after_a_result(qianfan_emulator: QianfanEmulator) -> None:
    emu = qianfan_emulator
    first = v2(emu, tools=tools(ADDER)).json()["choices"][0]["message"]
    call_id = first["tool_calls"][0]["id"]
    messages = [user(QUESTION), first, {"role": "tool", "tool_call_id": call_id, "content": "7"}]
    again = v2(emu, tools=tools(ADDER), messages=messages, tool_choice="required").json()
    assert again["choices"][0]["finish_reason"] == "tool_calls"
    assert again["choices"][0]["message"]["tool_calls"][0]["id"] != call_id


def test_call_ids_are_deterministic_per_seed() -> None:
    def ids(seed: int) -> list[str]:
        with QianfanEmulator(seed=seed) as emu:
            return [
                v2(emu, tools=tools(ADDER)).json()["choices"][0]["message"]["tool_calls"][0]["id"]
                for _ in range(3)
            ]

    assert ids(5) == ids(5)
    assert ids(5) != ids(6)
    assert len(set(ids(5))) == 3


# -- v1 native ---------------------------------------------------------------------------


def test_v1_native_call(qianfan_emulator: QianfanEmulator) -> None:
    body = v1(qianfan_emulator, functions=[WEATHER, ADDER]).json()
    assert (body["result"], body["finish_reason"], body["is_truncated"]) == (
        "",
        "function_call",
        False,
    )
    call = body["function_call"]
    assert set(call) == {"name", "arguments", "thoughts"}
    assert call["name"] == "my_adder_tool"
    assert json.loads(call["arguments"]) == {"a": 3, "b": 4}
    assert re.search(r"[\u4e00-\u9fff]", call["thoughts"])
    assert body["usage"]["total_tokens"] == (
        body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )


def test_v1_native_stream_is_one_final_event(qianfan_emulator: QianfanEmulator) -> None:
    emu = qianfan_emulator
    sync = v1(emu, functions=[ADDER]).json()
    response = v1(emu, functions=[ADDER], stream=True)
    assert response.headers["Content-Type"] == "text/event-stream"
    (event,) = sse(response.content)
    assert (event["sentence_id"], event["is_end"], event["result"]) == (0, True, "")
    assert event["finish_reason"] == "function_call"
    assert event["function_call"] == sync["function_call"]
    assert event["usage"] == sync["usage"]
    assert event["usage"]["completion_tokens"] > 0


def test_v1_agent_loop(qianfan_emulator: QianfanEmulator) -> None:
    emu = qianfan_emulator
    call = v1(emu, functions=[WEATHER], messages=[user("北京天气？")]).json()["function_call"]
    messages = [
        user("北京天气？"),
        {"role": "assistant", "content": "", "function_call": call},
        {"role": "function", "name": call["name"], "content": '{"weather": "晴"}'},
    ]
    answer = v1(emu, functions=[WEATHER], messages=messages).json()
    assert answer["finish_reason"] == "normal"
    assert answer["result"] == (
        f'{REPLY_PREFIX}completions 根据工具结果回答：get_weather: {{"weather": "晴"}}'
    )


# -- non-FC models and prompt mode -------------------------------------------------------


def test_non_fc_models_ignore_native_tools(qianfan_emulator: QianfanEmulator) -> None:
    echo = f"{REPLY_PREFIX}ernie-speed-8k 收到：{QUESTION}"
    body = v2(qianfan_emulator, "ernie-speed-8k", tools=tools(ADDER), tool_choice="required")
    message = body.json()["choices"][0]["message"]
    assert message == {"role": "assistant", "content": echo}
    answer = v1(qianfan_emulator, "ernie_speed", functions=[ADDER]).json()
    assert answer["result"] == f"{REPLY_PREFIX}ernie_speed 收到：{QUESTION}"
    assert "function_call" not in answer


def prompt_system(*functions: dict[str, Any], extra: str = "") -> str:
    lines = [json.dumps(function, ensure_ascii=False) for function in functions]
    return "\n".join(["You have these tools:", *lines, extra])


EXPECTED_PROMPT_CALL = (
    '<tool_call>\n{"name": "my_adder_tool", "arguments": {"a": 3, "b": 4}}\n</tool_call>'
)


@pytest.mark.parametrize("stream", [False, True])
def test_prompt_mode_on_ernie_speed_v2(qianfan_emulator: QianfanEmulator, stream: bool) -> None:
    messages = [{"role": "system", "content": prompt_system(ADDER, WEATHER)}, user(QUESTION)]
    response = v2(qianfan_emulator, "ernie-speed-8k", messages=messages, stream=stream)
    if not stream:
        (choice,) = response.json()["choices"]
        assert (choice["message"]["content"], choice["finish_reason"]) == (
            EXPECTED_PROMPT_CALL,
            "stop",
        )
        return
    *chunks, done = sse(response.content)
    assert done == "[DONE]"
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks)
    assert text == EXPECTED_PROMPT_CALL
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert not any("tool_calls" in chunk["choices"][0]["delta"] for chunk in chunks)


@pytest.mark.parametrize("stream", [False, True])
def test_prompt_mode_on_ernie_speed_v1(qianfan_emulator: QianfanEmulator, stream: bool) -> None:
    response = v1(qianfan_emulator, "ernie_speed", system=prompt_system(ADDER), stream=stream)
    if not stream:
        body = response.json()
        assert (body["result"], body["finish_reason"]) == (EXPECTED_PROMPT_CALL, "normal")
        assert "function_call" not in body
        return
    events = sse(response.content)
    assert "".join(event["result"] for event in events) == EXPECTED_PROMPT_CALL
    assert events[-1]["finish_reason"] == "normal"


def test_prompt_mode_loop_with_tool_responses(qianfan_emulator: QianfanEmulator) -> None:
    emu = qianfan_emulator
    system = prompt_system(ADDER)
    first = v1(emu, "ernie-lite-8k", system=system).json()["result"]
    response_block = (
        "<tool_response>\n"
        + json.dumps(
            {"name": "my_adder_tool", "tool_call_id": "call_1", "status": "success", "content": 7}
        )
        + "\n</tool_response>"
    )
    messages = [
        user(QUESTION),
        {"role": "assistant", "content": first},
        user(response_block + "\n请回答。"),
    ]
    answer = v1(emu, "ernie-lite-8k", system=system, messages=messages).json()["result"]
    assert answer == f"{REPLY_PREFIX}ernie-lite-8k 根据工具结果回答：my_adder_tool: 7"
    forced = v1(
        emu, "ernie-lite-8k", system=prompt_system(ADDER, extra=FORCE_ANY), messages=messages
    )
    assert forced.json()["result"].startswith("<tool_call>\n")


# -- scripted calls and replies ----------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_queue_tool_calls_on_v2(qianfan_emulator: QianfanEmulator, stream: bool) -> None:
    emu = qianfan_emulator
    emu.queue_tool_calls(
        [
            {"name": "lookup", "arguments": {"城市": "北京"}},
            {"name": "broken", "arguments": '{"a": '},
        ]
    )
    assert isinstance(emu.pending_faults[0], ToolCallsFault)
    response = v2(emu, "ernie-speed-8k", stream=stream)  # scripted calls ignore the FC flag
    if stream:
        *chunks, done = sse(response.content)
        assert done == "[DONE]"
        calls = reassemble(chunks)
        assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    else:
        choice = response.json()["choices"][0]
        calls = choice["message"]["tool_calls"]
        assert choice["finish_reason"] == "tool_calls"
    assert [call["function"] for call in calls] == [
        {"name": "lookup", "arguments": '{"城市": "北京"}'},
        {"name": "broken", "arguments": '{"a": '},
    ]
    assert all(CALL_ID.fullmatch(call["id"]) for call in calls)
    assert emu.pending_faults == []


@pytest.mark.parametrize("stream", [False, True])
def test_queue_tool_calls_on_v1_sends_the_first(
    qianfan_emulator: QianfanEmulator, stream: bool
) -> None:
    emu = qianfan_emulator
    emu.queue_tool_calls(
        [{"name": "first", "arguments": "not json"}, {"name": "second"}], thoughts="我想想", times=2
    )
    response = v1(emu, "ernie_speed", stream=stream)
    body = sse(response.content)[-1] if stream else response.json()
    assert body["function_call"] == {"name": "first", "arguments": "not json", "thoughts": "我想想"}
    assert body["finish_reason"] == "function_call"
    default = v1(emu, "ernie_speed", functions=[ADDER]).json()["function_call"]
    assert default["name"] == "first"  # the second use of the same script
    assert v1(emu, "ernie_speed").json()["result"].startswith(REPLY_PREFIX)


def test_queue_reply_is_verbatim_with_tools_on(qianfan_emulator: QianfanEmulator) -> None:
    emu = qianfan_emulator
    broken = '```json\n<tool_call>\n{"name": "my_adder_tool", "arguments": {"a": 3,\n```'
    emu.queue_reply(broken, times=2)
    prompt = [{"role": "system", "content": prompt_system(ADDER, extra=FORCE_ANY)}, user(QUESTION)]
    assert v2(emu, "ernie-speed-8k", messages=prompt).json()["choices"][0]["message"] == {
        "role": "assistant",
        "content": broken,
    }
    native = v2(emu, tools=tools(ADDER), tool_choice="required").json()["choices"][0]
    assert (native["message"]["content"], native["finish_reason"]) == (broken, "stop")


def test_tool_call_streams_take_stream_faults(qianfan_emulator: QianfanEmulator) -> None:
    emu = qianfan_emulator
    emu.queue_stream_error(336100, after_events=1)
    response = v2(emu, tools=tools(ADDER), stream=True)
    first, error = sse(response.content)
    assert "tool_calls" in first["choices"][0]["delta"]
    assert error["error"]["code"] == "internal_error"


def test_bad_queue_tool_calls_arguments_are_refused(qianfan_emulator: QianfanEmulator) -> None:
    emu = qianfan_emulator
    with pytest.raises(ValueError, match="at least one call"):
        emu.queue_tool_calls([])
    with pytest.raises(ValueError, match="name"):
        emu.queue_tool_calls([{"arguments": {}}])
    with pytest.raises(TypeError, match="arguments"):
        emu.queue_tool_calls([{"name": "f", "arguments": 3}])
    with pytest.raises(ValueError, match="times"):
        emu.queue_tool_calls([{"name": "f"}], times=0)
    assert emu.pending_faults == []


# -- JSON output -------------------------------------------------------------------------

JOKE = {
    "type": "object",
    "properties": {
        "setup": {"type": "string"},
        "punchline": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
    },
    "required": ["setup"],
}


def test_response_format_json_schema_on_fc_models(qianfan_emulator: QianfanEmulator) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "Joke", "schema": JOKE}}
    message = v2(
        qianfan_emulator, messages=[user("Tell me a joke about cats")], response_format=fmt
    )
    joke = json.loads(message.json()["choices"][0]["message"]["content"])
    assert set(joke) == {"setup", "punchline"}
    assert all(isinstance(value, str) and value for value in joke.values())
    free = v2(qianfan_emulator, messages=[user("你好")], response_format={"type": "json_object"})
    assert json.loads(free.json()["choices"][0]["message"]["content"]) == {"answer": "你好"}


def test_response_format_is_ignored_on_non_fc_models(qianfan_emulator: QianfanEmulator) -> None:
    body = v2(qianfan_emulator, "ernie-speed-8k", response_format={"type": "json_object"}).json()
    assert body["choices"][0]["message"]["content"].startswith(REPLY_PREFIX)


@pytest.mark.parametrize("protocol", ["v1", "v2"])
def test_prompt_json_schema_line_on_free_models(
    qianfan_emulator: QianfanEmulator, protocol: str
) -> None:
    system = "讲个笑话。" + JSON_SCHEMA + " " + json.dumps(JOKE, separators=(",", ":"))
    messages = [user("Tell me a joke about 'cats'")]
    if protocol == "v1":
        text = v1(qianfan_emulator, "ernie_speed", system=system, messages=messages).json()[
            "result"
        ]
    else:
        messages.insert(0, {"role": "system", "content": system})
        body = v2(qianfan_emulator, "ernie-speed-8k", messages=messages).json()
        text = body["choices"][0]["message"]["content"]
    assert json.loads(text) == {"setup": "cats", "punchline": "Tell me a joke about 'cats'"}


def test_the_tool_calling_example_in_the_docs_runs() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs" / "emulator.md"
    section = docs.read_text(encoding="utf-8").split("## Tool calling and structured output")[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(snippet, str(docs), "exec"), {})  # noqa: S102 - our own documentation
