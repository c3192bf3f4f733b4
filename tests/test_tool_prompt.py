"""Prompt-mode tool calls: what small models actually write, and what we make of it."""

from __future__ import annotations

import json

import pytest

from langchain_qianfan_free._tools.prompt import find_tool_calls, render_instruction

TOOLS = {
    "get_weather": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
    "magic_function": {
        "type": "object",
        "properties": {"input": {"type": "integer"}},
        "required": ["input"],
    },
    "search": {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "top_k": {"type": "integer"},
            "filters": {"type": "object", "properties": {"lang": {"type": "string"}}},
        },
        "required": ["query"],
    },
    "no_args": {"type": "object", "properties": {}},
    "set_alarm": {
        "type": "object",
        "properties": {"time": {"type": "string"}, "repeat": {"type": "boolean"}},
        "required": ["time"],
    },
}
W = ("get_weather", {"city": "北京"})
SAME = object()  # the reply text is returned unchanged

CASES = [
    # --- well-formed
    (
        "tagged",
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "北京"}}\n</tool_call>',
        [W],
        "",
        0,
    ),
    (
        "tagged-two",
        '<tool_call>{"name": "get_weather", "arguments": {"city": "北京"}}</tool_call>\n'
        '<tool_call>{"name": "magic_function", "arguments": {"input": 3}}</tool_call>',
        [W, ("magic_function", {"input": 3})],
        "",
        0,
    ),
    (
        "tagged-with-prose",
        '好的，我来查一下。\n<tool_call>{"name": "get_weather", "arguments": {"city": "北京"}}'
        "</tool_call>",
        [W],
        "好的，我来查一下。",
        0,
    ),
    (
        "tagged-fenced-inside",
        '<tool_call>\n```json\n{"name": "get_weather", "arguments": {"city": "北京"}}\n```\n'
        "</tool_call>",
        [W],
        "",
        0,
    ),
    (
        "no-arg-tool",
        '<tool_call>{"name": "no_args", "arguments": {}}</tool_call>',
        [("no_args", {})],
        "",
        0,
    ),
    (
        "no-arg-tool-without-arguments",
        '<tool_call>{"name": "no_args"}</tool_call>',
        [("no_args", {})],
        "",
        0,
    ),
    (
        "arguments-null",
        '<tool_call>{"name": "no_args", "arguments": null}</tool_call>',
        [("no_args", {})],
        "",
        0,
    ),
    # --- other wrappers
    (
        "fenced-json",
        '```json\n{"name": "get_weather", "arguments": {"city": "北京"}}\n```',
        [W],
        "",
        0,
    ),
    (
        "fenced-upper-no-newline",
        '```JSON{"name": "get_weather", "arguments": {"city": "北京"}}```',
        [W],
        "",
        0,
    ),
    ("bare-json", '{"name": "get_weather", "arguments": {"city": "北京"}}', [W], "", 0),
    (
        "bare-json-chatty",
        '我需要先查询天气：{"name": "get_weather", "arguments": {"city": "北京"}} 请稍等。',
        [W],
        "我需要先查询天气： 请稍等。",
        0,
    ),
    (
        "json-array",
        '[{"name": "get_weather", "arguments": {"city": "北京"}}, '
        '{"name": "search", "arguments": {"query": "故宫"}}]',
        [W, ("search", {"query": "故宫"})],
        "",
        0,
    ),
    (
        "openai-tool-calls",
        '{"tool_calls": [{"type": "function", "function": {"name": "get_weather", '
        '"arguments": "{\\"city\\": \\"北京\\"}"}}]}',
        [W],
        "",
        0,
    ),
    (
        "openai-function",
        '{"function": {"name": "magic_function", "arguments": {"input": 3}}}',
        [("magic_function", {"input": 3})],
        "",
        0,
    ),
    (
        "arguments-as-json-string",
        '<tool_call>{"name": "get_weather", "arguments": "{\\"city\\": \\"北京\\"}"}</tool_call>',
        [W],
        "",
        0,
    ),
    (
        "args-key",
        '<tool_call>{"name": "get_weather", "args": {"city": "北京"}}</tool_call>',
        [W],
        "",
        0,
    ),
    (
        "tool-key",
        '<tool_call>{"tool": "get_weather", "parameters": {"city": "北京"}}</tool_call>',
        [W],
        "",
        0,
    ),
    # --- sloppy syntax
    (
        "full-width-punctuation",
        "<tool_call>｛“name”：“get_weather”，“arguments”：｛“city”：“北京”｝｝</tool_call>",
        [W],
        "",
        0,
    ),
    (
        "full-width-tags",
        '＜tool_call＞{"name": "get_weather", "arguments": {"city": "北京"}}＜/tool_call＞',
        [W],
        "",
        0,
    ),
    (
        "tool-dash-call-tag",
        '<tool-call>{"name": "get_weather", "arguments": {"city": "北京"}}</tool-call>',
        [W],
        "",
        0,
    ),
    (
        "missing-close-tag",
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "北京"}}',
        [W],
        "",
        0,
    ),
    (
        "trailing-comma",
        '<tool_call>{"name": "get_weather", "arguments": {"city": "北京",},}</tool_call>',
        [W],
        "",
        0,
    ),
    (
        "single-quotes",
        "<tool_call>{'name': 'get_weather', 'arguments': {'city': '北京'}}</tool_call>",
        [W],
        "",
        0,
    ),
    ("truncated", '<tool_call>{"name": "get_weather", "arguments": {"city": "北京"', [W], "", 0),
    (
        "cut-inside-a-value",  # never completed by guessing: the value would be cut off
        '<tool_call>{"name": "get_weather", "arguments": {"city": "北京海',
        [],
        SAME,
        1,
    ),
    (
        "unclosed-then-another-tag",
        '<tool_call>{"name": "magic_function", "arguments": {"input": 1}}\n'
        '<tool_call>{"name": "get_weather", "arguments": {"city": "北京"}}</tool_call>',
        [("magic_function", {"input": 1}), W],
        "",
        0,
    ),
    (
        "two-objects-in-one-block",
        '<tool_call>\n{"name": "magic_function", "arguments": {"input": 1}}\n'
        '{"name": "get_weather", "arguments": {"city": "北京"}}\n</tool_call>',
        [("magic_function", {"input": 1}), W],
        "",
        0,
    ),
    (
        "unclosed-then-prose",
        '<tool_call>{"name": "magic_function", "arguments": {"input": 1}}\n我已经帮你算好了。',
        [("magic_function", {"input": 1})],
        "我已经帮你算好了。",
        0,
    ),
    (
        "data-with-a-name-key",  # not a call: no arguments, and 张三 is no tool
        '示例：{"name": "张三", "age": 3}。',
        [],
        SAME,
        0,
    ),
    (
        "case-insensitive-name",
        '<tool_call>{"name": "Get_Weather", "arguments": {"city": "北京"}}</tool_call>',
        [W],
        "",
        0,
    ),
    # --- argument types repaired
    (
        "int-as-string",
        '<tool_call>{"name": "magic_function", "arguments": {"input": "3"}}</tool_call>',
        [("magic_function", {"input": 3})],
        "",
        0,
    ),
    (
        "int-as-float",
        '<tool_call>{"name": "magic_function", "arguments": {"input": 3.0}}</tool_call>',
        [("magic_function", {"input": 3})],
        "",
        0,
    ),
    (
        "full-width-digit",
        '<tool_call>{"name": "magic_function", "arguments": {"input": "３"}}</tool_call>',
        [("magic_function", {"input": 3})],
        "",
        0,
    ),
    (
        "bool-as-string",
        '<tool_call>{"name": "set_alarm", "arguments": {"time": "07:00", "repeat": "true"}}</tool_call>',
        [("set_alarm", {"time": "07:00", "repeat": True})],
        "",
        0,
    ),
    (
        "enum-case",
        '<tool_call>{"name": "get_weather", "arguments": {"city": "北京", "unit": "Celsius"}}</tool_call>',
        [("get_weather", {"city": "北京", "unit": "celsius"})],
        "",
        0,
    ),
    (
        "nested-object-as-string",
        '<tool_call>{"name": "search", "arguments": {"query": "故宫", "filters": "{\\"lang\\": \\"zh\\"}"}}'
        "</tool_call>",
        [("search", {"query": "故宫", "filters": {"lang": "zh"}})],
        "",
        0,
    ),
    (
        "number-for-string",
        '<tool_call>{"name": "get_weather", "arguments": {"city": 110000}}</tool_call>',
        [("get_weather", {"city": "110000"})],
        "",
        0,
    ),
    # --- no valid call: the reply is an ordinary answer
    ("plain-answer", "北京今天晴，最高气温 25 度。", [], SAME, 0),
    ("unrelated-json", '配置示例：{"a": 1, "b": [1, 2]}，按需修改。', [], SAME, 0),
    (
        "unknown-tool",
        '<tool_call>{"name": "book_flight", "arguments": {"to": "上海"}}</tool_call>',
        [],
        SAME,
        1,
    ),
    (
        "wrong-type",
        '<tool_call>{"name": "magic_function", "arguments": {"input": "three"}}</tool_call>',
        [],
        SAME,
        1,
    ),
    (
        "missing-required",
        '<tool_call>{"name": "get_weather", "arguments": {"unit": "celsius"}}</tool_call>',
        [],
        SAME,
        1,
    ),
    (
        "enum-violation",
        '<tool_call>{"name": "get_weather", "arguments": {"city": "北京", "unit": "kelvin"}}</tool_call>',
        [],
        SAME,
        1,
    ),
    ("garbage-in-tags", '<tool_call>{"name": get weather(北京)}</tool_call>', [], SAME, 1),
    # --- mixed: valid calls kept, broken ones reported
    (
        "valid-and-unknown",
        '<tool_call>{"name": "get_weather", "arguments": {"city": "北京"}}</tool_call>'
        '<tool_call>{"name": "nope", "arguments": {}}</tool_call>',
        [W],
        "",
        1,
    ),
    (
        "valid-and-broken",
        '<tool_call>{"name": "get_weather", "arguments": {"city": "北京"}}</tool_call>'
        '<tool_call>{"name": oops</tool_call>',
        [W],
        "",
        1,
    ),
]


@pytest.mark.parametrize(
    ("reply", "calls", "text", "invalid"), [pytest.param(*case[1:], id=case[0]) for case in CASES]
)
def test_find_tool_calls(reply, calls, text, invalid) -> None:
    parsed = find_tool_calls(reply, TOOLS)
    assert [(c["name"], c["args"]) for c in parsed.tool_calls] == calls
    assert parsed.text == (reply.strip() if text is SAME else text)
    assert len(parsed.invalid_tool_calls) == invalid
    for bad in parsed.invalid_tool_calls:
        assert bad["error"]
    ids = [c["id"] for c in parsed.tool_calls + parsed.invalid_tool_calls]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("call_") for i in ids)


def test_at_least_thirty_realistic_replies() -> None:
    assert len(CASES) >= 30


def test_instruction_lists_tools_and_format() -> None:
    tools = [{"name": "get_weather", "description": "查询天气", "parameters": TOOLS["get_weather"]}]
    text = render_instruction(tools)
    listed = json.loads(text.splitlines()[1])
    assert listed["name"] == "get_weather"
    assert listed["parameters"]["required"] == ["city"]
    assert "<tool_call>" in text
    assert "</tool_call>" in text
    assert "only when it is needed" in text
    assert "must call the tool get_weather" in render_instruction(tools, required="get_weather")
    assert "at least one tool" in render_instruction(tools, required=True)
    assert "one tool at a time" in render_instruction(tools, parallel=False)


def test_instruction_round_trips_through_the_parser() -> None:
    # The format the instruction shows is exactly what the parser reads best.
    example = render_instruction([{"name": "no_args", "parameters": {}}])
    block = example[example.index("<tool_call>") : example.index("</tool_call>") + 12]
    block = block.replace("<tool name>", "no_args").replace("{...}", "{}")
    assert [c["name"] for c in find_tool_calls(block, TOOLS).tool_calls] == ["no_args"]
