"""Conversation repair: what ERNIE receives for what LangChain sends."""

from __future__ import annotations

import pytest
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_qianfan_free._messages import Conversation, Turn, to_conversation
from langchain_qianfan_free.errors import QianfanInvalidRequestError

H, A, S = HumanMessage, AIMessage, SystemMessage


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        pytest.param([H("hi")], Conversation(None, (Turn("user", "hi"),)), id="single"),
        pytest.param(
            [S("be brief"), H("hi")],
            Conversation("be brief", (Turn("user", "hi"),)),
            id="system-hoisted",
        ),
        pytest.param(
            [S("a"), S("b"), H("q1"), H("q2"), A("r1"), A("r2"), H("q3")],
            Conversation(
                "a\n\nb",
                (Turn("user", "q1\n\nq2"), Turn("assistant", "r1\n\nr2"), Turn("user", "q3")),
            ),
            id="double-messages-merged",
        ),
        pytest.param(
            [A("您好，有什么可以帮您？"), H("介绍一下你自己")],
            Conversation("您好，有什么可以帮您？", (Turn("user", "介绍一下你自己"),)),
            id="leading-assistant-moved-to-system",
        ),
        pytest.param(
            [H("q1"), S("late rule"), H("q2")],
            Conversation("late rule", (Turn("user", "q1\n\nq2"),)),
            id="mid-system-hoisted-and-users-merged",
        ),
        pytest.param(
            [H([{"type": "text", "text": "a"}, "b", {"type": "text", "text": "c"}])],
            Conversation(None, (Turn("user", "abc"),)),
            id="text-blocks-joined",
        ),
        pytest.param(
            [H("hi", name="alice")],
            Conversation(None, (Turn("user", "hi", "alice"),)),
            id="human-name-kept",
        ),
        pytest.param(
            [H("hi", name="alice"), H("yo", name="bob")],
            Conversation(None, (Turn("user", "alice: hi\n\nbob: yo"),)),
            id="different-names-labelled-on-merge",
        ),
        pytest.param(
            [
                ChatMessage(role="system", content="s"),
                ChatMessage(role="human", content="q"),
                ChatMessage(role="ai", content="r"),
                ChatMessage(role="user", content="q2"),
            ],
            Conversation("s", (Turn("user", "q"), Turn("assistant", "r"), Turn("user", "q2"))),
            id="chat-message-roles",
        ),
    ],
)
def test_conversations_are_repaired(messages, expected) -> None:
    conversation = to_conversation(messages)
    assert conversation == expected
    assert len(conversation.turns) % 2 == 1
    assert [t.role for t in conversation.turns][::2] == ["user"] * (
        (len(conversation.turns) + 1) // 2
    )


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        pytest.param([], "no user message", id="empty"),
        pytest.param([S("only a system prompt")], "no user message", id="system-only"),
        pytest.param([A("only the assistant")], "no user message", id="assistant-only"),
        pytest.param([H("q"), A("a")], "ends with an AI message", id="ends-with-assistant"),
        pytest.param([H("")], "Message 0 .*empty content", id="empty-content"),
        pytest.param([H("q"), A("   "), H("q2")], "Message 1 .*empty content", id="blank-ai"),
        pytest.param(
            [H([{"type": "image_url", "image_url": {"url": "http://x/y.png"}}])],
            "'image_url' content block; the ERNIE chat models accept text only",
            id="image-block",
        ),
        pytest.param([ChatMessage(role="critic", content="x")], "role 'critic'", id="bad-role"),
    ],
)
def test_bad_conversations_raise_clear_value_errors(messages, match) -> None:
    with pytest.raises(ValueError, match=match) as info:
        to_conversation(messages)
    assert isinstance(info.value, QianfanInvalidRequestError)


def test_tool_turns_keep_calls_and_resolve_result_names() -> None:
    messages = [
        H("q"),
        A(
            [{"type": "text", "text": "let me see"}, {"type": "tool_use", "id": "1", "input": {}}],
            tool_calls=[{"name": "f", "args": {"x": 1}, "id": "1"}],
        ),
        ToolMessage([{"type": "text", "text": "42"}], tool_call_id="1"),
    ]
    turns = to_conversation(messages, native_tools=True).turns
    assert turns[1].content == "let me see"  # the tool_use block is the call, not text
    assert turns[1].tool_calls[0].arguments == '{"x": 1}'
    assert (turns[2].role, turns[2].name, turns[2].content) == ("tool", "f", "42")
    legacy = to_conversation([H("q"), FunctionMessage(name="f", content="1")]).turns
    assert "<tool_response>" in legacy[0].content  # a result without its call, as text
