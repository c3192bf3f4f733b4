"""The prompt-mode contract: reading the system text, tool results, rendering calls."""

from __future__ import annotations

import json

from langchain_qianfan_free.emulator._model.promptmode import (
    FORCE_ANY,
    FORCE_TOOL,
    JSON_ONLY,
    JSON_SCHEMA,
    read_system,
    render_calls,
    strip_tool_responses,
    tool_results,
)
from langchain_qianfan_free.emulator._model.tooltypes import ToolChoice, ToolResult, ToolSpec

WEATHER = {
    "name": "get_weather",
    "description": "Get the weather",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
}
ADDER = {"name": "add", "parameters": {"type": "object", "properties": {}}}


def system(*lines: str) -> str:
    return "\n".join(lines)


def test_tool_lines_are_read_and_other_lines_ignored() -> None:
    setup = read_system(
        system(
            "You are a helpful assistant. You can call these tools:",
            json.dumps(WEATHER, ensure_ascii=False),
            "  " + json.dumps(ADDER) + "  ",
            '{"name": "no_parameters"}',
            '{"name": 7, "parameters": {}}',
            '{"name": "p", "parameters": []}',
            "[1, 2]",
            "{broken json",
        )
    )
    assert setup.tools == (
        ToolSpec("get_weather", "Get the weather", WEATHER["parameters"]),
        ToolSpec("add", "", {"type": "object", "properties": {}}),
    )
    assert setup.choice == ToolChoice("auto")
    assert (setup.json_output, setup.json_schema) == (False, None)


def test_no_tools_without_tool_lines() -> None:
    assert read_system("你是一个助手").tools == ()
    assert read_system("").tools == ()


def test_forcing_lines() -> None:
    tools = json.dumps(WEATHER)
    named = read_system(system(tools, "Rules. " + FORCE_TOOL.format(name="get_weather") + "."))
    assert named.choice == ToolChoice("named", "get_weather")
    quoted = read_system(system(tools, "You must call the tool `get_weather` now"))
    assert quoted.choice == ToolChoice("named", "get_weather")
    assert read_system(system(tools, FORCE_ANY)).choice == ToolChoice("required")
    unknown = read_system(system(tools, FORCE_TOOL.format(name="nope")))
    assert unknown.choice == ToolChoice("required")


def test_json_output_lines() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    with_schema = read_system(
        "Answer in JSON. " + JSON_SCHEMA + " " + json.dumps(schema, separators=(",", ":"))
    )
    assert (with_schema.json_output, with_schema.json_schema) == (True, schema)
    free = read_system("Be brief.\n" + JSON_ONLY + ", no prose.")
    assert (free.json_output, free.json_schema) == (True, None)
    broken = read_system(JSON_SCHEMA + " {oops")
    assert (broken.json_output, broken.json_schema) == (True, None)


def test_tool_results_and_stripping() -> None:
    text = (
        "<tool_response>\n"
        + json.dumps(
            {"name": "get_weather", "tool_call_id": "c1", "status": "success", "content": "晴"},
            ensure_ascii=False,
        )
        + "\n</tool_response>\n<tool_response>\n"
        + json.dumps({"name": "add", "status": "error", "content": {"error": "boom"}})
        + "\n</tool_response>\n<tool_response>not json</tool_response>\n"
        + "Now answer, please."
    )
    assert tool_results(text) == (
        ToolResult("get_weather", "晴"),
        ToolResult("add", '{"error": "boom"}', failed=True),
        ToolResult("tool", "not json"),
    )
    assert strip_tool_responses(text) == "Now answer, please."
    assert tool_results("no blocks") == ()


def test_render_calls_matches_the_contract() -> None:
    rendered = render_calls([("get_weather", {"location": "北京"}), ("noop", {})])
    assert rendered == (
        '<tool_call>\n{"name": "get_weather", "arguments": {"location": "北京"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "noop", "arguments": {}}\n</tool_call>'
    )
