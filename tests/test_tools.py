"""Binding tools: every LangChain tool form, and every tool_choice spelling."""

from __future__ import annotations

import pytest
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_qianfan_free._tools.setup import format_tools, normalize_tool_choice
from langchain_qianfan_free.errors import QianfanInvalidRequestError


@tool
def magic_function(input: int) -> int:
    """Apply a magic function to an input."""
    return input + 2


def get_weather(city: str) -> str:
    """Get the weather of a city."""
    return "晴"


class Search(BaseModel):
    """Search the web."""

    query: str = Field(description="what to look for")


class Alarm(TypedDict):
    """Set an alarm."""

    time: str


JSON_TOOL = {
    "name": "no_args",
    "description": "Takes nothing.",
    "parameters": {"type": "object", "properties": {}},
}


def test_every_tool_form_becomes_one_function_format() -> None:
    functions = format_tools([magic_function, get_weather, Search, Alarm, JSON_TOOL])
    assert [f["name"] for f in functions] == [
        "magic_function",
        "get_weather",
        "Search",
        "Alarm",
        "no_args",
    ]
    assert functions[0]["parameters"]["properties"]["input"]["type"] == "integer"
    assert functions[2]["parameters"]["required"] == ["query"]
    assert all(f["description"] for f in functions)


def test_the_same_tool_twice_is_kept_once_but_different_namesakes_are_refused() -> None:
    schema = convert_to_openai_tool(get_weather)["function"]
    titled = {**schema, "parameters": {**schema["parameters"], "title": "GetWeather"}}
    assert format_tools([get_weather, titled]) == [schema]
    other = {**schema, "parameters": {"type": "object", "properties": {}}}
    with pytest.raises(QianfanInvalidRequestError, match="different tools are named get_weather"):
        format_tools([get_weather, other])


@pytest.mark.parametrize("strict", [None, True])
def test_bound_tools_give_the_same_functions_as_langchain_converts_them(strict) -> None:
    # bind_tools binds OpenAI tools; each call reads their functions back without
    # converting again, and must get what convert_to_openai_tool gives.
    tools = [magic_function, get_weather, Search, Alarm, JSON_TOOL]
    bound = [{"type": "function", "function": f} for f in format_tools(tools, strict)]
    converted = [convert_to_openai_tool(t)["function"] for t in bound]
    assert format_tools(bound) == converted == format_tools(tools, strict)
    assert format_tools(bound, strict) == converted


def test_openai_tools_with_the_same_name_are_still_refused() -> None:
    schema = convert_to_openai_tool(get_weather)["function"]
    other = {**schema, "parameters": {"type": "object", "properties": {}}}
    same = [{"type": "function", "function": schema}, {"type": "function", "function": schema}]
    assert format_tools(same) == [schema]
    with pytest.raises(QianfanInvalidRequestError, match="different tools are named get_weather"):
        format_tools([same[0], {"type": "function", "function": other}])


NAMES = ["magic_function", "get_weather"]


@pytest.mark.parametrize(
    ("choice", "names", "expected"),
    [
        (None, NAMES, None),
        (False, NAMES, None),
        ("auto", NAMES, "auto"),
        ("none", NAMES, "none"),
        ("any", NAMES, "required"),
        ("required", NAMES, "required"),
        ("get_weather", NAMES, "get_weather"),
        (True, ["get_weather"], "get_weather"),
        ({"type": "function", "function": {"name": "magic_function"}}, NAMES, "magic_function"),
        ({"name": "get_weather"}, NAMES, "get_weather"),
        ({"type": "any"}, NAMES, "required"),
        ({"type": "auto"}, NAMES, "auto"),
    ],
)
def test_tool_choice_spellings(choice, names, expected) -> None:
    assert normalize_tool_choice(choice, names) == expected


@pytest.mark.parametrize(
    ("choice", "match"),
    [
        ("book_flight", "names no bound tool"),
        (True, "exactly one bound tool"),
        (3, "not understood"),
        ({"type": "function", "function": {"name": "nope"}}, "'nope'"),
    ],
)
def test_bad_tool_choice_is_explained(choice, match) -> None:
    with pytest.raises(QianfanInvalidRequestError, match=match):
        normalize_tool_choice(choice, NAMES)
