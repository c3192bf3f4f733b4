"""Tools on ChatQianfan: what is sent in each mode, what comes back, what is enforced.

The model's words are scripted with ``queue_reply`` (prompt mode) so these tests pin
the client, whatever the emulator's own tool model would have said.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, FunctionMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from langchain_qianfan_free.errors import QianfanInvalidRequestError

from .conftest import MODES, PROTOCOLS, call, make_model

pytestmark = pytest.mark.usefixtures("fresh_tokens")


@tool
def get_weather(city: str) -> str:
    """Get the weather of a city."""
    return f"{city}: 晴"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "北京"}}\n</tool_call>'


def chat_bodies(emu: Any) -> list[dict[str, Any]]:
    return [r.json for r in emu.requests if r.protocol in ("v1", "v2")]


def system_of(body: dict[str, Any]) -> str:
    if "system" in body:
        return str(body["system"])
    first = body["messages"][0]
    return str(first["content"]) if first["role"] == "system" else ""


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_prompt_mode_describes_tools_and_parses_the_call(qianfan_emulator, protocol, mode) -> None:
    qianfan_emulator.queue_reply("好的，我来查一下。\n" + CALL)
    model = make_model(qianfan_emulator, protocol).bind_tools([get_weather, add])
    message, chunks = call(model, mode, "北京天气怎么样？")
    assert message.tool_calls == [
        {
            "name": "get_weather",
            "args": {"city": "北京"},
            "id": message.tool_calls[0]["id"],
            "type": "tool_call",
        }
    ]
    assert message.tool_calls[0]["id"].startswith("call_")
    assert message.content == "好的，我来查一下。"
    assert message.response_metadata["finish_reason"] == "tool_calls"
    (body,) = chat_bodies(qianfan_emulator)
    assert "tools" not in body
    assert "functions" not in body
    system = system_of(body)
    assert '"name": "get_weather"' in system
    assert "<tool_call>" in system
    if chunks:
        assert all("<tool_call" not in c.text for c in chunks)  # never shown as text
        assert chunks[-1].tool_call_chunks
        assert chunks[-1].chunk_position == "last"


def test_prompt_mode_streams_prose_before_the_call_as_it_arrives(qianfan_emulator) -> None:
    prose = "好的，我先查询北京的天气，然后告诉你结果。"
    qianfan_emulator.queue_reply(prose + "\n" + CALL)
    model = make_model(qianfan_emulator, "v2").bind_tools([get_weather])
    chunks = list(model.stream("北京天气？"))
    texts = [c.text for c in chunks if c.text]
    assert len(texts) > 1  # the prose came in pieces, not held to the end
    assert "".join(texts) == prose
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert total.tool_calls[0]["args"] == {"city": "北京"}


@pytest.mark.parametrize(
    ("reply", "expected_calls", "expected_text"),
    [
        (
            '```json\n{"name": "get_weather", "arguments": {"city": "上海"}}\n```',
            [("get_weather", {"city": "上海"})],
            "",
        ),
        (
            '我需要调用工具：｛"name"："add"，"arguments"：｛"a"："3"，"b"：4｝｝',
            [("add", {"a": 3, "b": 4})],
            "我需要调用工具：",
        ),
        (
            '<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>'
            '<tool_call>{"name": "get_weather", "arguments": "{\\"city\\": \\"广州\\"}"}'
            "</tool_call>",
            [("add", {"a": 1, "b": 2}), ("get_weather", {"city": "广州"})],
            "",
        ),
        ('<tool_call>{"name": "send_email", "arguments": {}}</tool_call>', [], None),
        ('<tool_call>{"name": "add", "arguments": {"a": "three", "b": 4}}</tool_call>', [], None),
        ("北京今天晴，气温 20 度。", [], "北京今天晴，气温 20 度。"),
    ],
    ids=[
        "fenced",
        "full-width-chatty",
        "two-calls-string-args",
        "unknown-tool",
        "wrong-type",
        "plain-answer",
    ],
)
@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_what_small_models_write_becomes_calls_or_text(
    qianfan_emulator, reply, expected_calls, expected_text, mode
) -> None:
    qianfan_emulator.queue_reply(reply)
    model = make_model(qianfan_emulator, "v2").bind_tools([get_weather, add])
    message, _ = call(model, mode, "帮我算一下")
    assert [(c["name"], c["args"]) for c in message.tool_calls] == expected_calls
    if expected_text is None:  # a broken attempt: never invented, the reply stays text
        assert message.content == reply
        if mode == "invoke":
            assert message.invalid_tool_calls
        else:
            assert message.response_metadata["invalid_tool_calls"]
    else:
        assert message.content == expected_text


@pytest.mark.parametrize("mode", MODES)
def test_forced_choice_asks_again_once_and_counts_both_requests(qianfan_emulator, mode) -> None:
    qianfan_emulator.queue_reply("北京今天天气很好。")
    qianfan_emulator.queue_reply(CALL)
    model = make_model(qianfan_emulator, "v2").bind_tools([get_weather], tool_choice="any")
    message, _ = call(model, mode, "北京天气？")
    assert message.tool_calls[0]["name"] == "get_weather"
    first, second = chat_bodies(qianfan_emulator)
    assert "You must call at least one tool now" in system_of(first)
    assert "did not call" in second["messages"][-1]["content"]
    assert second["messages"][-2] == {"role": "assistant", "content": "北京今天天气很好。"}
    assert message.content == ""  # the refused text is not shown as the answer
    qianfan_emulator.queue_reply(CALL)
    single = model.invoke("北京天气？").usage_metadata  # one request, answered at once
    assert message.usage_metadata["input_tokens"] > single["input_tokens"]
    assert message.usage_metadata["output_tokens"] > single["output_tokens"]


@pytest.mark.parametrize("mode", MODES)
def test_forced_choice_raises_when_the_model_never_calls(qianfan_emulator, mode) -> None:
    qianfan_emulator.queue_reply("我不想调用工具。", times=2)
    model = make_model(qianfan_emulator, "v1").bind_tools([get_weather], tool_choice="get_weather")
    with pytest.raises(
        OutputParserException, match="tool_choice requires a call of get_weather"
    ) as info:
        call(model, mode, "北京天气？")
    assert info.value.message.content == "我不想调用工具。"  # type: ignore[attr-defined]
    assert len(chat_bodies(qianfan_emulator)) == 2


def test_named_choice_refuses_calls_to_other_tools(qianfan_emulator) -> None:
    qianfan_emulator.queue_reply(
        '<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>'
    )
    qianfan_emulator.queue_reply(CALL)
    model = make_model(qianfan_emulator, "v2").bind_tools(
        [get_weather, add], tool_choice="get_weather"
    )
    message = model.invoke("北京天气？")
    assert [c["name"] for c in message.tool_calls] == ["get_weather"]
    assert "You must call the tool get_weather now" in system_of(chat_bodies(qianfan_emulator)[0])


def test_parallel_false_keeps_the_first_call(qianfan_emulator) -> None:
    qianfan_emulator.queue_reply(CALL + "\n" + CALL.replace("北京", "上海"))
    model = make_model(qianfan_emulator, "v2").bind_tools([get_weather], parallel_tool_calls=False)
    message = model.invoke("北京和上海天气？")
    assert [c["args"] for c in message.tool_calls] == [{"city": "北京"}]
    assert "parallel_tool_calls=False" in message.invalid_tool_calls[0]["error"]
    assert "Call one tool at a time" in system_of(chat_bodies(qianfan_emulator)[0])


def test_tool_choice_none_sends_no_instruction_and_parses_nothing(qianfan_emulator) -> None:
    qianfan_emulator.queue_reply(CALL)
    model = make_model(qianfan_emulator, "v2").bind_tools([get_weather], tool_choice="none")
    message = model.invoke("北京天气？")
    assert message.tool_calls == []
    assert message.content == CALL
    assert "<tool_call>" not in system_of(chat_bodies(qianfan_emulator)[0])


HISTORY = [
    HumanMessage("北京和上海天气？再算 1+2"),
    AIMessage(
        [
            {"type": "text", "text": "我来查。"},
            {"type": "tool_use", "id": "c1", "name": "get_weather", "input": {}},
        ],
        tool_calls=[
            {"name": "get_weather", "args": {"city": "北京"}, "id": "c1"},
            {"name": "get_weather", "args": {"city": "上海"}, "id": "c2"},
            {"name": "add", "args": {"a": 1, "b": 2}, "id": "c3"},
        ],
    ),
    ToolMessage("北京: 晴", tool_call_id="c1"),  # no name: resolved from the call
    ToolMessage("上海: 雨", tool_call_id="c2", name="get_weather"),
    ToolMessage("boom", tool_call_id="c3", status="error"),
]


def test_prompt_mode_history_is_text_that_alternates(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v1").bind_tools([get_weather, add])
    model.invoke(HISTORY)
    messages = chat_bodies(qianfan_emulator)[0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"].startswith("我来查。\n<tool_call>")
    assert messages[1]["content"].count("<tool_call>") == 3
    results = messages[2]["content"]
    assert results.count("<tool_response>") == 3
    assert (
        '"name": "get_weather", "tool_call_id": "c1", "status": "success", "content": "北京: 晴"'
        in results
    )
    assert '"name": "add", "tool_call_id": "c3", "status": "error", "content": "boom"' in results


def test_native_v2_history_splits_several_calls_into_alternating_turns(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v2", model="ernie-4.0-8k").bind_tools([get_weather, add])
    model.invoke(HISTORY)
    body = chat_bodies(qianfan_emulator)[0]
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "add"]
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "assistant", "tool"]
    first_call = body["messages"][1]
    assert first_call["content"] == "我来查。"
    assert first_call["tool_calls"] == [
        {
            "id": "c1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "北京"}'},
        }
    ]
    assert body["messages"][2] == {
        "role": "tool",
        "tool_call_id": "c1",
        "content": "北京: 晴",
        "name": "get_weather",
    }
    assert body["messages"][6]["content"] == "Error: boom"


def test_native_v1_history_uses_function_call_and_function_role(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v1", model="ernie-4.0-8k").bind_tools([get_weather, add])
    model.invoke(HISTORY)
    body = chat_bodies(qianfan_emulator)[0]
    assert [f["name"] for f in body["functions"]] == ["get_weather", "add"]
    assert "tool_choice" not in body
    messages = body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "function"] * 1 + [
        "assistant",
        "function",
    ] * 2
    assert messages[1]["function_call"] == {"name": "get_weather", "arguments": '{"city": "北京"}'}
    assert messages[2] == {
        "role": "function",
        "name": "get_weather",
        "content": '{"result": "北京: 晴"}',
    }
    assert json.loads(messages[6]["content"]) == {"error": "boom"}


def test_a_follow_up_question_after_tool_results_keeps_alternation(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v2", model="ernie-4.0-8k").bind_tools([get_weather, add])
    model.invoke([*HISTORY, HumanMessage("那广州呢？")])
    messages = chat_bodies(qianfan_emulator)[0]["messages"]
    # results followed by a user turn cannot be native tool messages: shown as text
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[2]["content"].endswith("那广州呢？")


def test_function_message_answers_by_name(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v1", model="ernie-3.5-8k").bind_tools([get_weather])
    history = [
        HumanMessage("北京天气？"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "北京"}, "id": "x"}]),
        FunctionMessage(name="get_weather", content='{"weather": "晴"}'),
    ]
    model.invoke(history)
    messages = chat_bodies(qianfan_emulator)[0]["messages"]
    assert messages[2] == {
        "role": "function",
        "name": "get_weather",
        "content": '{"weather": "晴"}',
    }


@pytest.mark.parametrize(
    ("setting", "model_name", "native"),
    [
        ("auto", "ernie-speed-8k", False),
        ("auto", "ernie-4.0-8k", True),
        ("prompt", "ernie-4.0-8k", False),
        ("native", "ernie-speed-8k", True),
    ],
)
def test_tool_calling_mode_follows_the_catalogue_unless_set(
    qianfan_emulator, setting, model_name, native
) -> None:
    model = make_model(qianfan_emulator, "v2", model=model_name, tool_calling=setting)
    model.bind_tools([get_weather]).invoke("北京天气？")
    body = chat_bodies(qianfan_emulator)[0]
    assert ("tools" in body) is native
    assert ("<tool_call>" in system_of(body)) is not native


def test_bad_tool_settings_fail_before_any_request(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v2")
    with pytest.raises(QianfanInvalidRequestError, match="names no bound tool"):
        model.bind_tools([get_weather], tool_choice="search")
    with pytest.raises(QianfanInvalidRequestError, match="parallel_tool_calls"):
        model.bind_tools([get_weather], parallel_tool_calls="yes")  # type: ignore[arg-type]
    with pytest.raises(QianfanInvalidRequestError, match="no tools are bound"):
        model.invoke("hi", tool_choice="any")
    with pytest.raises(ValueError, match="tool_calling"):
        make_model(qianfan_emulator, "v2", tool_calling="magic")
    assert chat_bodies(qianfan_emulator) == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_native_calls_come_back_checked(qianfan_emulator, protocol, mode) -> None:
    model = make_model(qianfan_emulator, protocol, model="ernie-4.0-8k").bind_tools(
        [get_weather, add], tool_choice="add"
    )
    message, _ = call(model, mode, "用 add 算 3 + 4")
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [("add", {"a": 3, "b": 4})]
    assert message.response_metadata["finish_reason"] == "tool_calls"
    body = chat_bodies(qianfan_emulator)[0]
    choice = {"type": "function", "function": {"name": "add"}}
    assert body["tool_choice"] == choice
    assert "<tool_call>" not in system_of(body)
    qianfan_emulator.queue_tool_calls([{"name": "add", "arguments": '{"a": "x"}'}], times=2)
    with pytest.raises(OutputParserException):  # invalid twice: the forced call never came
        call(model, mode, "用 add 算")


@pytest.mark.parametrize("mode", ["invoke", "stream"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_call_cut_by_the_output_limit_is_not_made(qianfan_emulator, protocol, mode) -> None:
    city = "请查询北京市海淀区中关村的天气"
    qianfan_emulator.queue_reply(
        f'<tool_call>{{"name": "get_weather", "arguments": {{"city": "{city}"}}}}</tool_call>'
    )
    model = make_model(qianfan_emulator, protocol, max_tokens=12).bind_tools([get_weather])
    message, _ = call(model, mode, "天气？")
    assert message.tool_calls == []  # never a call with a cut-off city
    assert message.response_metadata["finish_reason"] == "length"
    assert message.response_metadata["is_truncated"] is True


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_a_stop_sequence_inside_the_arguments_does_not_make_a_cut_call(
    qianfan_emulator, mode
) -> None:
    qianfan_emulator.queue_reply(
        '<tool_call>{"name": "get_weather", "arguments": {"city": "北京。海淀"}}</tool_call>'
    )
    model = make_model(qianfan_emulator, "v2", stop=["。"]).bind_tools([get_weather])
    message, _ = call(model, mode, "天气？")
    assert message.tool_calls == []


@pytest.mark.parametrize("mode", ["stream", "astream"])
@pytest.mark.parametrize(
    "reply",
    [
        '好的。\n```json\n{"name": "get_weather", "arguments": {"city": "北京"}}\n```',
        '好的。\n< tool_call >{"name": "get_weather", "arguments": {"city": "北京"}}</tool_call>',
    ],
    ids=["fence", "spaced-tag"],
)
def test_one_character_pieces_never_leak_call_text(mode, reply) -> None:
    from langchain_qianfan_free.emulator import QianfanEmulator  # noqa: PLC0415

    with QianfanEmulator(stream_chunk_chars=1) as emu:
        emu.queue_reply(reply)
        model = make_model(emu, "v2").bind_tools([get_weather])
        message, chunks = call(model, mode, "北京天气？")
    assert "".join(c.text for c in chunks) == "好的。"
    assert message.tool_calls[0]["args"] == {"city": "北京"}


def test_data_with_a_name_key_streams_as_text(qianfan_emulator) -> None:
    answer = '例如：{"name": "张三", "age": 3}。' + "这是一个很长的回答。" * 5
    qianfan_emulator.queue_reply(answer)
    chunks = list(make_model(qianfan_emulator, "v2").bind_tools([get_weather]).stream("例子"))
    texts = [c.text for c in chunks if c.text]
    assert len(texts) > 5  # not held back to the end
    assert "".join(texts) == answer
    assert chunks[-1].response_metadata.get("invalid_tool_calls") is None


def test_broken_attempts_in_history_are_sent_back_as_text(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v2", model="ernie-4.0-8k").bind_tools([add])
    qianfan_emulator.queue_tool_calls([{"name": "add", "arguments": '{"a": 3, "b": '}])
    first = model.invoke("计算 3 加 4")
    assert first.invalid_tool_calls
    assert first.content == ""
    model.invoke([HumanMessage("计算 3 加 4"), first, HumanMessage("再试一次")])
    sent = chat_bodies(qianfan_emulator)[-1]["messages"][1]
    assert sent["role"] == "assistant"
    assert '{"name": "add", "arguments": {"a": 3, "b": }' in sent["content"]


def test_strict_reaches_v2_function_definitions_only(qianfan_emulator) -> None:
    for protocol in PROTOCOLS:
        model = make_model(qianfan_emulator, protocol, model="ernie-4.0-8k")
        model.bind_tools([add], strict=True).invoke("1+2")
    v1_body, v2_body = sorted(chat_bodies(qianfan_emulator), key=lambda b: "tools" in b)
    assert v2_body["tools"][0]["function"]["strict"] is True
    assert "strict" not in v1_body["functions"][0]
    assert "strict" not in v2_body  # not a body field


def test_v1_json_object_is_sent_in_v1_form(qianfan_emulator) -> None:
    qianfan_emulator.queue_reply('{"a": 1}')
    model = make_model(qianfan_emulator, "v1", model="ernie-4.0-8k")
    model.invoke("json", response_format={"type": "json_object"})
    assert chat_bodies(qianfan_emulator)[0]["response_format"] == "json_object"


def test_tool_settings_without_tools_are_refused(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v2")
    with pytest.raises(QianfanInvalidRequestError, match="parallel_tool_calls was given"):
        model.invoke("hi", parallel_tool_calls=False)
    with pytest.raises(QianfanInvalidRequestError, match="'foo'"):
        model.bind_tools([add], tool_choice={"foo": "bar"})


def test_values_that_cannot_be_sent_fail_before_any_request(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v2")
    with pytest.raises(QianfanInvalidRequestError, match="lone surrogate"):
        model.invoke([HumanMessage("hi", name="bad\udc80name")])
    history = [
        HumanMessage("q"),
        AIMessage("", tool_calls=[{"name": "add", "args": {"a": object()}, "id": "1"}]),
        ToolMessage("r", tool_call_id="1"),
    ]
    with pytest.raises(QianfanInvalidRequestError, match=r"Message 1 .*not JSON data"):
        model.bind_tools([add]).invoke(history)
    assert chat_bodies(qianfan_emulator) == []
