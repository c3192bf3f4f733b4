"""Offline token counts: no network, no tokenizer; the emulator and the client agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    trim_messages,
)
from langchain_core.tools import tool

from langchain_qianfan_free import ChatQianfan
from tests.conftest import PROTOCOLS, make_model


@tool
def get_weather(city: str) -> str:
    """查询城市的天气。"""
    return f"{city}：晴"


CONVERSATIONS: dict[str, list[BaseMessage]] = {
    "one question": [HumanMessage("1加1为什么等于2？ Explain briefly, please.")],
    "system and turns": [
        SystemMessage("你是一个乐于助人的助手。Answer in Chinese."),
        HumanMessage("你好"),
        AIMessage("你好！有什么可以帮你？"),
        HumanMessage("讲一个笑话"),
    ],
    "turns to repair": [  # two user turns in a row are merged, a leading AI turn dropped
        AIMessage("我先说"),
        HumanMessage("第一句"),
        HumanMessage("第二句 with English words"),
    ],
    "a tool call and its result": [
        HumanMessage("北京天气怎么样？"),
        AIMessage(
            "", tool_calls=[{"name": "get_weather", "args": {"city": "北京"}, "id": "call_1"}]
        ),
        ToolMessage("北京：晴，25度", tool_call_id="call_1"),
        HumanMessage("那上海呢？"),
    ],
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", list(CONVERSATIONS))
@pytest.mark.parametrize("with_tools", [False, True], ids=["plain", "tools"])
def test_the_count_is_what_the_emulator_reports(
    qianfan_emulator, protocol, name, with_tools
) -> None:
    messages = CONVERSATIONS[name]
    if not with_tools and any(isinstance(m, ToolMessage) for m in messages):
        pytest.skip("tool history needs the tools bound")
    model = make_model(qianfan_emulator, protocol)
    tools = [get_weather] if with_tools else None
    counted = model.get_num_tokens_from_messages(messages, tools=tools)
    runnable = model.bind_tools(tools) if tools else model
    reply = runnable.invoke(messages)
    assert reply.usage_metadata is not None
    assert counted == reply.usage_metadata["input_tokens"]
    assert counted > 0


def test_native_tool_definitions_count_like_the_emulator(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v2", model="ernie-4.0-8k")  # native function calling
    messages = CONVERSATIONS["a tool call and its result"]
    counted = model.get_num_tokens_from_messages(messages, tools=[get_weather])
    reply = model.bind_tools([get_weather]).invoke(messages)
    assert counted == reply.usage_metadata["input_tokens"]
    assert counted > model.get_num_tokens_from_messages(messages[:1])


def test_counting_needs_no_credentials_and_sends_nothing(monkeypatch) -> None:
    for variable in ("QIANFAN_API_KEY", "QIANFAN_BEARER_TOKEN", "QIANFAN_AK", "QIANFAN_SK"):
        monkeypatch.delenv(variable, raising=False)
    model = ChatQianfan(base_url="http://127.0.0.1:9")  # nothing listens there
    assert model.get_num_tokens("你好，世界") == 5
    assert model.get_num_tokens("hello world") == 3  # 2 words × 1.3, rounded up
    messages = CONVERSATIONS["system and turns"]
    assert model.get_num_tokens_from_messages(messages) == sum(
        model.get_num_tokens(m.text) for m in messages
    )


def test_a_long_input_is_counted_not_refused() -> None:
    model = ChatQianfan(api_key="k", model="ernie-lite-8k")
    text = "字" * 30000  # over the model's input limit
    assert model.get_num_tokens_from_messages([HumanMessage(text)]) == 30000


def test_prompt_mode_counts_the_tool_instruction() -> None:
    model = ChatQianfan(api_key="k")  # ernie-speed-8k: prompt mode
    messages = [HumanMessage("北京天气怎么样？")]
    plain = model.get_num_tokens_from_messages(messages)
    assert model.get_num_tokens_from_messages(messages, tools=[get_weather]) > plain + 20


def test_trim_messages_counts_with_the_model() -> None:
    model = ChatQianfan(api_key="k")
    history: list[BaseMessage] = [SystemMessage("简短回答。")]
    for i in range(30):
        history += [HumanMessage(f"第{i}个问题：天气如何？"), AIMessage(f"第{i}个回答：晴天。")]
    history.append(HumanMessage("最后一个问题"))
    trimmed = trim_messages(
        history,
        max_tokens=100,
        token_counter=model,
        strategy="last",
        include_system=True,
        start_on="human",
    )
    assert isinstance(trimmed[0], SystemMessage)
    assert trimmed[-1].text == "最后一个问题"
    assert model.get_num_tokens_from_messages(trimmed) <= 100
    assert len(trimmed) < len(history)


def test_a_piece_of_a_history_without_a_user_turn_is_counted() -> None:
    model = ChatQianfan(api_key="k")
    pieces = [SystemMessage("简短回答。"), AIMessage("好的 OK")]
    assert model.get_num_tokens_from_messages(pieces) == 5 + 2 + 2


def test_token_ids_say_what_to_use_instead() -> None:
    model = ChatQianfan(api_key="k")
    with pytest.raises(NotImplementedError, match="get_num_tokens"):
        model.get_token_ids("你好")
    custom = ChatQianfan(api_key="k", custom_get_token_ids=lambda text: [1] * len(text))
    assert custom.get_token_ids("你好") == [1, 1]
    assert custom.get_num_tokens("你好吗") == 3


def test_the_example_in_the_docs_runs(monkeypatch, capsys) -> None:
    for variable in ("QIANFAN_API_KEY", "QIANFAN_BEARER_TOKEN", "QIANFAN_AK", "QIANFAN_SK"):
        monkeypatch.delenv(variable, raising=False)
    doc = Path(__file__).resolve().parents[1] / "docs" / "context.md"
    blocks = doc.read_text(encoding="utf-8").split("```python\n")[1:]
    counting, profiles = [block.split("```", 1)[0] for block in blocks]
    exec(compile(counting, str(doc), "exec"), {"__name__": "context_example"})  # noqa: S102
    assert capsys.readouterr().out.splitlines()[:2] == ["5", "3"]
    exec(compile(profiles, str(doc), "exec"), {"__name__": "context_example"})  # noqa: S102
    assert capsys.readouterr().out.splitlines() == ["6144 2048", "False"]
