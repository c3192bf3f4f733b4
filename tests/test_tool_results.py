"""Tool calls from replies (both modes), tool_choice enforcement, and the stream gate."""

from __future__ import annotations

import pytest

from langchain_qianfan_free._protocols.common import RawCall
from langchain_qianfan_free._tools import ToolSetup
from langchain_qianfan_free._tools.results import TextGate, merge_raw_calls, resolve_calls

ADD = {
    "name": "add",
    "parameters": {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
}
WEATHER = {
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
NATIVE = ToolSetup((ADD, WEATHER), native=True)


def test_native_calls_are_checked_like_prompt_calls() -> None:
    outcome = resolve_calls(
        "",
        [
            RawCall(0, "c1", "add", '{"a": "1", "b": 2}'),
            RawCall(1, "c2", "add", '{"a": 1'),
            RawCall(2, None, "nope", "{}"),
            RawCall(3, None, "get_weather", ""),
        ],
        NATIVE,
    )
    assert [(c["id"], c["args"]) for c in outcome.tool_calls[:1]] == [("c1", {"a": 1, "b": 2})]
    assert outcome.tool_calls[1]["name"] == "get_weather"
    assert outcome.tool_calls[1]["args"] == {}
    assert outcome.tool_calls[1]["id"].startswith("call_")
    errors = [c["error"] for c in outcome.invalid_tool_calls]
    assert errors == ["the arguments are not valid JSON", "there is no tool named 'nope'"]


def test_stream_pieces_join_by_index() -> None:
    pieces = [
        RawCall(0, "c1", "add", ""),
        RawCall(1, "c2", "get_weather", '{"ci'),
        RawCall(0, None, None, '{"a": 1, '),
        RawCall(0, None, None, '"b": 2}'),
        RawCall(1, None, None, 'ty": "北京"}'),
    ]
    assert merge_raw_calls(pieces) == [
        RawCall(0, "c1", "add", '{"a": 1, "b": 2}'),
        RawCall(1, "c2", "get_weather", '{"city": "北京"}'),
    ]


@pytest.mark.parametrize(
    ("choice", "names", "violated"),
    [
        (None, ["add"], False),
        ("required", ["add"], False),
        ("get_weather", [], True),  # the call to add is refused
        ("none", [], False),  # nothing is parsed at all
    ],
)
def test_forced_choices(choice, names, violated) -> None:
    setup = ToolSetup((ADD, WEATHER), choice=choice)
    reply = '<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>'
    outcome = resolve_calls(reply, [], setup)
    assert [c["name"] for c in outcome.tool_calls] == names
    assert outcome.violated is violated


def gate(pieces: list[str], *, hold_all: bool = False) -> list[str]:
    g = TextGate(("add", "get_weather"), hold_all=hold_all)
    return [g.feed(piece) for piece in pieces]


@pytest.mark.parametrize(
    ("pieces", "shown"),
    [
        (["你好", "，世界"], ["你好", "，世界"]),
        (['看 [1] 和 {"a": 1}', " 完"], ['看 [1] 和 {"a": 1}', " 完"]),  # settled: not calls
        (["好的。\n<to", 'ol_call>{"name": "add"}'], ["好的。", ""]),  # a tag prefix is held
        (["a <b>x</b>", " c"], ["a <b>x</b>", " c"]),  # other tags are text
        (['结果 {"name": ', '"add"} 后面'], ["结果", ""]),  # JSON naming a tool is held
        (["```py\nx = 1\n``` 好"], ["```py\nx = 1\n``` 好"]),
        (["  前导空格", "  "], ["前导空格", ""]),  # trailing blanks wait for what follows
        (["好", "`", '``json\n{"name": "add", '], ["好", "", ""]),  # a fence, split
        (["a `b` c"], ["a `b` c"]),  # inline code is text
        (["好的 < tool_call >", "{}"], ["好的", ""]),  # the parser's tag spellings
        (['示例：{"name": "张三", "age": 3}', " 完"], ['示例：{"name": "张三", "age": 3}', " 完"]),
    ],
)
def test_gate_holds_back_only_what_may_be_a_call(pieces, shown) -> None:
    assert gate(pieces) == shown


def test_gate_holds_everything_when_a_call_is_required() -> None:
    assert gate(["我来", "调用"], hold_all=True) == ["", ""]


def test_gate_remainder_completes_the_final_text() -> None:
    g = TextGate(("add",))
    shown = g.feed("好的。\n") + g.feed("<tool_call>{}</tool_call> 然后")
    assert shown + g.remainder("好的。\n然后") == "好的。\n然后"
