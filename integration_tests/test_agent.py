"""A LangGraph ReAct agent with two tools, on ernie-speed-8k (prompt-mode tool calling)
and on ernie-4.0-8k (native function calling; on v1 one call per reply, so the agent
takes a step per tool).

Runs sync and async, with and without token streaming. The agent example in
``docs/tools.md`` is this file's ``build_agent``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.prebuilt import create_react_agent

from langchain_qianfan_free import ChatQianfan

from .conftest import live, model_params

# langgraph points to langchain.agents.create_agent; the `langchain` package is not
# among this project's test dependencies, and create_react_agent works the same.
pytestmark = pytest.mark.filterwarnings("ignore:create_react_agent has been moved")

TASK = "请用 get_weather 查一下“北京”的天气，再用 add 计算 3 加 4，最后一起告诉我。"


# --- example: start (docs/tools.md)
@tool
def get_weather(city: str) -> str:
    """查询城市的天气。 Get the weather of a city."""
    return f"{city}：晴，25°C"


@tool
def add(a: int, b: int) -> int:
    """两个整数相加。 Add two integers."""
    return a + b


def build_agent(model: str = "ernie-speed-8k", **settings: Any) -> Any:
    """A ReAct agent: the model calls tools until it can answer."""
    llm = ChatQianfan(model=model, temperature=0.1, **settings)
    return create_react_agent(llm, [get_weather, add])


# --- example: end


def run(agent: Any, how: str) -> tuple[list[BaseMessage], list[AIMessageChunk]]:
    """The final messages, and the model tokens streamed on the way (stream modes)."""
    inputs = {"messages": [("user", TASK)]}
    if how == "invoke":
        return agent.invoke(inputs)["messages"], []
    if how == "ainvoke":
        return asyncio.run(agent.ainvoke(inputs))["messages"], []
    tokens: list[AIMessageChunk] = []
    final: dict[str, Any] = {}

    def take(mode: str, data: Any) -> None:
        if mode == "messages" and isinstance(data[0], AIMessageChunk):
            tokens.append(data[0])
        elif mode == "values":
            final.update(data)

    modes = ["messages", "values"]
    if how == "stream":
        for mode, data in agent.stream(inputs, stream_mode=modes):
            take(mode, data)
    else:

        async def consume() -> None:
            async for mode, data in agent.astream(inputs, stream_mode=modes):
                take(mode, data)

        asyncio.run(consume())
    return final["messages"], tokens


@pytest.mark.parametrize("how", ["invoke", "ainvoke", "stream", "astream"])
@pytest.mark.parametrize("protocol", ["v2", "v1"])
@pytest.mark.parametrize("model", ["ernie-speed-8k", "ernie-4.0-8k"])
def test_react_agent_uses_both_tools_and_answers(model: str, protocol: str, how: str) -> None:
    agent = build_agent(model, **model_params(protocol))
    messages, tokens = run(agent, how)
    steps = [m for m in messages if isinstance(m, AIMessage) and m.tool_calls]
    results = {m.name: m.content for m in messages if isinstance(m, ToolMessage)}
    final = messages[-1]
    assert isinstance(final, AIMessage)
    assert not final.tool_calls
    assert final.text
    assert results, "the agent called no tool"
    assert all(m.status != "error" for m in messages if isinstance(m, ToolMessage))
    if not live(protocol):  # the emulator's model is deterministic
        assert results == {"get_weather": "北京：晴，25°C", "add": "7"}
        assert "7" in final.text
        assert "北京：晴" in final.text
        # v1 functions allow one call per reply: one agent step per tool
        assert len(steps) == (2 if (model, protocol) == ("ernie-4.0-8k", "v1") else 1)
    if how in ("stream", "astream"):
        assert tokens, "no model tokens were streamed"
        assert any(chunk.tool_call_chunks for chunk in tokens)
