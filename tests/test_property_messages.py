"""Property: any LangChain conversation is either sent in a shape ERNIE accepts, or refused.

Refused means a ``QianfanInvalidRequestError`` (a ``ValueError``) raised before any
chat request leaves the client, whose text points at the offending message (or at
the conversation as a whole) and says what to do. Sent means the emulator, which
validates messages the way Qianfan does (336006 order, 336003 empty content and tool
message shapes, v2 ``invalid_messages``), answered it. Checked end to end for both
protocols and the three tool set-ups: no tools, prompt-mode tools (ernie-speed-8k)
and native tools (ernie-4.0-8k).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.tool import invalid_tool_call, tool_call
from langchain_core.tools import tool

from langchain_qianfan_free._auth.token_cache import TOKEN_CACHE
from langchain_qianfan_free.emulator import QianfanEmulator
from langchain_qianfan_free.errors import QianfanInvalidRequestError

from .conftest import PROTOCOLS, make_model


@tool
def get_weather(city: str) -> str:
    """Get the weather of a city."""
    return f"{city}: 晴"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


# -- strategies ---------------------------------------------------------------------------

BLANKS = ["", " ", "\n", "\t \r\n", "\u3000", "\u00a0"]
TEXTS = st.one_of(
    st.sampled_from(
        [
            *BLANKS,
            "你好",
            "北京天气怎么样？ get_weather",
            "add 1 and 2",
            "🙂 emoji ẞ",
            "a\u2028b\u0085c",
            '{"city": "北京"}',
            "null",
            "[1, 2]",
            "Error: boom",
            "<tool_call>\n{}\n</tool_call>",
            "bad \udc80 bytes",  # a lone surrogate, as surrogateescape or JSON "\\udc80" give
        ]
    ),
    st.text(max_size=12),
    st.text(st.characters(exclude_categories=[]), max_size=4),  # surrogates too
)
# Texts a careful caller would send: never blank.
WORDS = st.one_of(
    st.sampled_from(["你好", "北京天气怎么样？", "add 1 and 2", "🙂 ẞ", "get_weather 上海"]),
    st.text(min_size=1, max_size=12).filter(str.strip),
)
GOOD_NAMES = st.sampled_from(["get_weather", "add", "search", "工具"])
TOOL_NAMES = st.sampled_from(["get_weather", "add", "search", "工具", "", " "])
GOOD_IDS = st.sampled_from(["call_1", "call_2", "call_3", "调用-1"])
CALL_IDS = st.sampled_from(["call_1", "call_2", "call_3", "调用-1", " "])
ANY_CALL_IDS = st.one_of(CALL_IDS, st.sampled_from([None, ""]))  # the client makes one up
RESULT_IDS = st.one_of(CALL_IDS, st.just(""))
ARGS = st.dictionaries(
    st.sampled_from(["city", "a", "b", "q"]),
    st.one_of(st.integers(-3, 3), st.text(max_size=4), st.none(), st.booleans()),
    max_size=2,
)


def text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def contents(texts: st.SearchStrategy[str] = TEXTS) -> st.SearchStrategy[Any]:
    """A string, or a list of text blocks (and bare strings)."""
    return st.one_of(texts, st.lists(st.one_of(texts.map(text_block), texts), max_size=3))


HUMAN_CONTENT = st.one_of(
    contents(),
    st.just([{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]),
)
OPTIONAL_NAME = st.one_of(st.none(), st.sampled_from(["", "张三", "bob", " "]))


def tool_calls(
    min_size: int = 0,
    names: st.SearchStrategy[str] = TOOL_NAMES,
    ids: st.SearchStrategy[str | None] = ANY_CALL_IDS,
) -> st.SearchStrategy[list[Any]]:
    call = st.builds(tool_call, name=names, args=ARGS, id=ids)
    return st.lists(call, min_size=min_size, max_size=3)


INVALID_CALLS = st.lists(
    st.builds(
        invalid_tool_call,
        name=st.one_of(st.none(), TOOL_NAMES),
        args=st.one_of(st.none(), st.sampled_from(['{"city": "北', "not json", "{}", ""])),
        id=st.one_of(st.none(), CALL_IDS),
        error=st.one_of(st.none(), st.just("bad JSON")),
    ),
    max_size=2,
)
CHAT_ROLES = st.sampled_from(
    ["user", "human", "assistant", "ai", "system", "User", " AI ", "tool", "function", "", "bot"]
)


AI_MESSAGES = st.builds(
    AIMessage, content=contents(), tool_calls=tool_calls(), invalid_tool_calls=INVALID_CALLS
)


def tool_messages(
    texts: st.SearchStrategy[str] = TEXTS,
    ids: st.SearchStrategy[str] = RESULT_IDS,
) -> st.SearchStrategy[ToolMessage]:
    return st.builds(
        ToolMessage,
        content=st.one_of(texts, st.lists(texts.map(text_block), max_size=2)),
        tool_call_id=ids,
        name=st.one_of(st.none(), TOOL_NAMES),
        status=st.sampled_from(["success", "error"]),
    )


ANY_MESSAGE: st.SearchStrategy[BaseMessage] = st.one_of(
    st.builds(SystemMessage, content=contents()),
    st.builds(HumanMessage, content=HUMAN_CONTENT, name=OPTIONAL_NAME),
    AI_MESSAGES,
    tool_messages(),
    st.builds(FunctionMessage, content=TEXTS, name=TOOL_NAMES),
    st.builds(ChatMessage, content=contents(), role=CHAT_ROLES),
)


def likely(draw: st.DrawFn) -> bool:
    return draw(st.integers(0, 3)) > 0


@st.composite
def exchanges(draw: st.DrawFn) -> list[BaseMessage]:
    """An AI turn with tool calls and results for all (usually) or some of them."""
    careful = likely(draw)  # names and ids as a model gives them, or anything
    calls = draw(tool_calls(1, GOOD_NAMES, GOOD_IDS) if careful else tool_calls(1))
    ai = AIMessage(content=draw(contents(WORDS)), tool_calls=calls)
    some = st.lists(st.sampled_from(calls), unique_by=id)
    answered = calls if likely(draw) else draw(some)
    results: list[BaseMessage] = [
        draw(tool_messages(WORDS, st.just(call["id"] or "call_x")))
        if likely(draw)
        else FunctionMessage(content=draw(WORDS), name=call["name"])
        for call in answered
    ]
    stray = [] if likely(draw) else [draw(tool_messages(WORDS))]
    return [ai, *draw(st.permutations(results)), *stray]


@st.composite
def plausible_conversations(draw: st.DrawFn) -> list[BaseMessage]:
    """Mostly well-formed conversations, so the accepted paths are explored too."""
    said = st.one_of(WORDS, st.lists(WORDS.map(text_block), min_size=1, max_size=2))
    out: list[BaseMessage] = draw(st.lists(st.builds(SystemMessage, content=said), max_size=2))
    for _ in range(draw(st.integers(1, 3))):
        out.append(HumanMessage(content=draw(said), name=draw(OPTIONAL_NAME)))
        exchange = draw(exchanges()) if likely(draw) else []
        out.extend(exchange)
        if likely(draw) if exchange else draw(st.booleans()):
            out.append(AIMessage(content=draw(said)))
    if isinstance(out[-1], AIMessage) and likely(draw):
        out.append(HumanMessage(content=draw(said)))
    return out


# Half anything at all, half conversations an application would plausibly send.
CONVERSATIONS = st.one_of(st.lists(ANY_MESSAGE, max_size=6), plausible_conversations())

# -- the property -------------------------------------------------------------------------

TOOL_SETUPS = {
    "plain": ("ernie-speed-8k", False),
    "prompt": ("ernie-speed-8k", True),
    "native": ("ernie-4.0-8k", True),
}
# What a good error tells the caller to do about it.
ADVICE = re.compile(r"\b(add|give|send|use|end|drop|leave|remove|set|pass|rename)\b", re.I)
NAMED_MESSAGE = re.compile(r"\bMessage (\d+)(?: \((\w+)\)| is a| has)")


@pytest.fixture(scope="module")
def emu() -> Iterator[QianfanEmulator]:
    # Own emulator: limits high enough for hundreds of requests, and one server for
    # every example (hypothesis runs all examples inside one test call).
    TOKEN_CACHE.clear()
    with QianfanEmulator(rpm=1_000_000, tpm=10**9, seed=4) as emulator:
        yield emulator
    TOKEN_CACHE.clear()


def chat_requests(emu: QianfanEmulator) -> list[Any]:
    return [r for r in emu.requests if r.protocol in ("v1", "v2")]


def assert_clear(error: QianfanInvalidRequestError, messages: list[BaseMessage]) -> None:
    """The error is ours, names the message (or the conversation's shape) and advises."""
    text = str(error)
    assert error.code is None, text  # ours, not Qianfan's
    assert error.status is None, text
    assert text.strip()
    assert ADVICE.search(text), f"no advice in {text!r}"
    named = NAMED_MESSAGE.search(text)
    if named:
        index = int(named.group(1))
        assert index < len(messages), text
        if named.group(2):
            assert named.group(2) == type(messages[index]).__name__, text
    else:
        assert "HumanMessage" in text or "AIMessage" in text, text


def check(emu: QianfanEmulator, protocol: str, setup: str, messages: list[BaseMessage]) -> str:
    """Invoke; return what happened ("accepted…" or "refused: …") once it is checked."""
    emu.reset()
    model_name, with_tools = TOOL_SETUPS[setup]
    model: Any = make_model(emu, protocol, model=model_name, max_retries=0)
    if with_tools:
        model = model.bind_tools([get_weather, add])
    refused: QianfanInvalidRequestError | None = None
    try:
        answer = model.invoke(messages)
    except QianfanInvalidRequestError as error:
        refused = error
    if refused is not None:
        sent = chat_requests(emu)
        assert not sent, f"the emulator rejected what the client sent: {refused}"
        assert_clear(refused, messages)
        return f"refused: {re.sub(r'[0-9]+', 'N', str(refused))[:60]}"
    assert isinstance(answer, AIMessage)
    (request,) = chat_requests(emu)
    roles = {m["role"] for m in request.json["messages"]}
    return "accepted" + (" (native tool messages)" if roles & {"tool", "function"} else "")


@pytest.mark.parametrize("setup", list(TOOL_SETUPS))
@pytest.mark.parametrize("protocol", PROTOCOLS)
@settings(
    max_examples=100,
    deadline=None,
    database=None,  # write nothing into the tree; a failure prints its minimal example
    # conftest's autouse fixture is function-scoped; it only clears environment
    # variables, which no example changes.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(messages=CONVERSATIONS)
# What this property found (fixed in messages.py and tool_history.py):
@example(messages=[HumanMessage("bad \udc80 bytes")])  # was UnicodeEncodeError
@example(messages=[ChatMessage(content="", role="tool")])  # named the roles but gave no advice
@example(  # v1 native: 336003, function_call without a name
    messages=[
        HumanMessage("你好"),
        AIMessage("你好", tool_calls=[tool_call(name="", args={}, id="call_1")]),
        FunctionMessage(content="你好", name=""),
    ]
)
@example(  # v2 native: 400 invalid_messages, tool_calls[0].id blank
    messages=[
        HumanMessage("你好"),
        AIMessage("你好", tool_calls=[tool_call(name="get_weather", args={}, id=" ")]),
        FunctionMessage(content="你好", name="get_weather"),
    ]
)
def test_messages_are_sent_acceptably_or_refused_clearly(
    emu: QianfanEmulator, protocol: str, setup: str, messages: list[BaseMessage]
) -> None:
    event(check(emu, protocol, setup, messages))


def system_text(body: dict[str, Any]) -> str:
    if "system" in body:
        return str(body["system"])
    first = body["messages"][0]
    return str(first["content"]) if first["role"] == "system" else ""


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("setup", list(TOOL_SETUPS))
def test_each_tool_setup_is_the_calling_mode_it_is_named_after(
    emu: QianfanEmulator, protocol: str, setup: str
) -> None:
    assert check(emu, protocol, setup, [HumanMessage("北京天气怎么样？get_weather")]) == "accepted"
    (request,) = chat_requests(emu)
    assert bool({"functions", "tools"} & set(request.json)) == (setup == "native")
    assert ("get_weather" in system_text(request.json)) == (setup == "prompt")
