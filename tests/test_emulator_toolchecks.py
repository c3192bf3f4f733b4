"""Validation of tool fields and tool messages, over raw HTTP on both protocols."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from langchain_qianfan_free.emulator import QianfanEmulator
from langchain_qianfan_free.emulator._model.tooltypes import ResponseFormat, ToolChoice, ToolSpec
from langchain_qianfan_free.emulator._toolchecks import ToolFields, v1_tool_fields, v2_tool_fields

USER = {"role": "user", "content": "What is the weather in 北京?"}
PARAMS = {"type": "object", "properties": {"city": {"type": "string"}}}
FUNCTION = {"name": "get_weather", "description": "Weather of a city", "parameters": PARAMS}
TOOL = {"type": "function", "function": FUNCTION}
NAMED = {"type": "function", "function": {"name": "get_weather"}}


def v1(emu: QianfanEmulator, body: dict[str, Any], endpoint: str = "completions") -> Any:
    response = requests.post(
        emu.v1_chat_url(endpoint),
        json={"messages": [USER], **body},
        timeout=10,
        params={"access_token": emu.issue_access_token()},
    )
    assert response.status_code == 200
    return response.json()


def v2(emu: QianfanEmulator, body: dict[str, Any], model: str = "ernie-3.5-8k") -> Any:
    return requests.post(
        emu.v2_chat_url,
        json={"model": model, "messages": [USER], **body},
        timeout=10,
        headers={"Authorization": f"Bearer {emu.api_key}"},
    )


def with_function(**changes: Any) -> dict[str, Any]:
    item = {**FUNCTION, **changes}
    return {key: value for key, value in item.items() if value is not None}


V1_BAD = [
    pytest.param({"functions": FUNCTION}, "functions must be a list", id="functions-not-list"),
    pytest.param({"functions": ["f"]}, "functions[0] must be an object", id="item-not-object"),
    pytest.param({"functions": [with_function(name=None)]}, "functions[0].name", id="no-name"),
    pytest.param({"functions": [with_function(name=" ")]}, "functions[0].name", id="blank-name"),
    pytest.param(
        {"functions": [with_function(description=None)]},
        "functions[0].description",
        id="no-description",
    ),
    pytest.param(
        {"functions": [with_function(description=3)]},
        "functions[0].description",
        id="description-type",
    ),
    pytest.param(
        {"functions": [with_function(parameters=None)]},
        "functions[0].parameters",
        id="no-parameters",
    ),
    pytest.param(
        {"functions": [with_function(parameters="{}")]},
        "functions[0].parameters",
        id="parameters-type",
    ),
    pytest.param(
        {"functions": [with_function(responses=[])]}, "functions[0].responses", id="responses"
    ),
    pytest.param(
        {"functions": [with_function(examples={})]}, "functions[0].examples", id="examples"
    ),
    pytest.param({"functions": [FUNCTION, FUNCTION]}, "two functions", id="duplicate"),
    pytest.param(
        {"functions": [FUNCTION], "tool_choice": "auto"}, "tool_choice must be", id="choice-string"
    ),
    pytest.param(
        {"functions": [FUNCTION], "tool_choice": {"type": "tool", "function": {"name": "x"}}},
        "tool_choice must be",
        id="choice-type",
    ),
    pytest.param(
        {"functions": [FUNCTION], "tool_choice": {"type": "function", "function": {"name": "x"}}},
        "not among the functions",
        id="choice-unknown-name",
    ),
    pytest.param({"tool_choice": NAMED}, "not among the functions", id="choice-without-functions"),
    pytest.param({"response_format": "json"}, "response_format", id="response-format-value"),
    pytest.param(
        {"response_format": {"type": "json_object"}}, "response_format", id="response-format-obj"
    ),
]


@pytest.mark.parametrize(("body", "text"), V1_BAD)
def test_v1_rejects_bad_tool_fields(
    qianfan_emulator: QianfanEmulator, body: dict[str, Any], text: str
) -> None:
    for endpoint in ("completions", "ernie_speed"):  # shapes are checked on every model
        answer = v1(qianfan_emulator, body, endpoint)
        assert answer["error_code"] == 336003, answer
        assert text in answer["error_msg"]


@pytest.mark.parametrize(
    ("call", "text"),
    [
        pytest.param("f", "function_call must be an object", id="not-object"),
        pytest.param({"arguments": "{}"}, "non-empty string name", id="no-name"),
        pytest.param({"name": "f", "arguments": {"a": 1}}, "JSON string", id="arguments-object"),
    ],
)
def test_v1_rejects_bad_function_calls(
    qianfan_emulator: QianfanEmulator, call: Any, text: str
) -> None:
    messages = [
        USER,
        {"role": "assistant", "content": "", "function_call": call},
        {"role": "function", "name": "f", "content": "{}"},
    ]
    answer = v1(qianfan_emulator, {"messages": messages})
    assert (answer["error_code"], text in answer["error_msg"]) == (336003, True), answer


def test_v1_accepts_full_function_definitions(qianfan_emulator: QianfanEmulator) -> None:
    rich = with_function(
        responses={"type": "object", "properties": {"temp": {"type": "number"}}},
        examples=[[USER, {"role": "assistant", "content": ""}]],
    )
    for body in (
        {"functions": [rich], "tool_choice": NAMED},
        {"functions": [], "response_format": "text"},
        {"functions": None, "tool_choice": None, "response_format": "json_object"},
    ):
        answer = v1(qianfan_emulator, body)
        assert "error_code" not in answer, (body, answer)


V2_BAD_ARGUMENTS = [
    pytest.param({"tools": TOOL}, "tools must be a list", id="tools-not-list"),
    pytest.param({"tools": [FUNCTION]}, "tools[0] must be", id="tool-without-type"),
    pytest.param(
        {"tools": [{"type": "retrieval", "function": FUNCTION}]}, "tools[0] must be", id="type"
    ),
    pytest.param({"tools": [{"type": "function"}]}, "tools[0].function must", id="no-function"),
    pytest.param(
        {"tools": [{"type": "function", "function": with_function(name="")}]},
        "tools[0].function.name",
        id="blank-name",
    ),
    pytest.param(
        {"tools": [{"type": "function", "function": with_function(description=[])}]},
        "tools[0].function.description",
        id="description-type",
    ),
    pytest.param(
        {"tools": [{"type": "function", "function": with_function(parameters=None)}]},
        "tools[0].function.parameters",
        id="no-parameters",
    ),
    pytest.param({"tools": [TOOL, TOOL]}, "two functions named", id="duplicate"),
    pytest.param({"tools": [TOOL], "tool_choice": "any"}, "tool_choice must be", id="keyword"),
    pytest.param({"tools": [TOOL], "tool_choice": 1}, "tool_choice must be", id="choice-type"),
    pytest.param(
        {"tools": [TOOL], "tool_choice": {"type": "function"}},
        "tool_choice must be",
        id="choice-no-name",
    ),
    pytest.param(
        {"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
        "not among the tools",
        id="choice-unknown-name",
    ),
    pytest.param({"tool_choice": "required"}, "needs tools", id="required-without-tools"),
    pytest.param({"tool_choice": NAMED}, "not among the tools", id="named-without-tools"),
    pytest.param(
        {"tools": [TOOL], "parallel_tool_calls": "yes"}, "parallel_tool_calls", id="parallel"
    ),
    pytest.param({"response_format": "json_object"}, "response_format", id="format-string"),
    pytest.param({"response_format": {"type": "xml"}}, "response_format", id="format-type"),
    pytest.param(
        {"response_format": {"type": "json_schema"}},
        "json_schema.schema",
        id="json-schema-missing",
    ),
    pytest.param(
        {"response_format": {"type": "json_schema", "json_schema": {"schema": "{}"}}},
        "json_schema.schema",
        id="json-schema-type",
    ),
    pytest.param(
        {"response_format": {"type": "json_schema", "json_schema": {"name": 1, "schema": {}}}},
        "json_schema.name",
        id="json-schema-name",
    ),
]


@pytest.mark.parametrize(("body", "text"), V2_BAD_ARGUMENTS)
def test_v2_rejects_bad_tool_fields(
    qianfan_emulator: QianfanEmulator, body: dict[str, Any], text: str
) -> None:
    for model in ("ernie-3.5-8k", "ernie-speed-8k"):
        response = v2(qianfan_emulator, body, model)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_argument"
        assert text in error["message"]


def _calls(*items: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": list(items)}


GOOD_CALL = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
TOOL_RESULT = {"role": "tool", "tool_call_id": "c1", "content": "晴"}

V2_BAD_MESSAGES = [
    pytest.param(
        [USER, _calls(GOOD_CALL), {"role": "tool", "content": "晴"}], "tool_call_id", id="no-id"
    ),
    pytest.param(
        [USER, _calls(GOOD_CALL), {**TOOL_RESULT, "tool_call_id": "c2"}],
        "tool_call_id",
        id="id-mismatch",
    ),
    pytest.param(
        [USER, _calls(GOOD_CALL), {**TOOL_RESULT, "tool_call_id": 1}],
        "tool_call_id",
        id="id-type",
    ),
    pytest.param(
        [USER, {"role": "assistant", "content": "text"}, TOOL_RESULT],
        "tool_call_id",
        id="assistant-without-calls",
    ),
    pytest.param(
        [
            USER,
            _calls(GOOD_CALL),
            TOOL_RESULT,
            {"role": "assistant", "content": "ok"},
            TOOL_RESULT,
        ],
        "tool_call_id",
        id="id-from-an-older-turn",
    ),
    pytest.param(
        [USER, {"role": "assistant", "content": "x", "tool_calls": "c1"}, TOOL_RESULT],
        "tool_calls must be a list",
        id="calls-not-list",
    ),
    pytest.param(
        [USER, _calls({**GOOD_CALL, "id": ""}), TOOL_RESULT], "tool_calls[0].id", id="call-no-id"
    ),
    pytest.param(
        [USER, _calls({"id": "c1", "type": "function"}), TOOL_RESULT],
        "tool_calls[0] must be",
        id="call-no-function",
    ),
    pytest.param(
        [USER, _calls({**GOOD_CALL, "type": "code"}), TOOL_RESULT],
        "tool_calls[0].type",
        id="call-type",
    ),
    pytest.param(
        [USER, _calls({"id": "c1", "function": {"arguments": "{}"}}), TOOL_RESULT],
        "tool_calls[0].function.name",
        id="call-no-name",
    ),
    pytest.param(
        [USER, _calls({"id": "c1", "function": {"name": "f", "arguments": {}}}), TOOL_RESULT],
        "tool_calls[0].function.arguments",
        id="call-arguments-object",
    ),
]


@pytest.mark.parametrize(("messages", "text"), V2_BAD_MESSAGES)
def test_v2_rejects_bad_tool_messages(
    qianfan_emulator: QianfanEmulator, messages: list[Any], text: str
) -> None:
    response = v2(qianfan_emulator, {"messages": messages})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], text in error["message"]) == ("invalid_messages", True), error


def test_v2_accepts_good_tool_fields(qianfan_emulator: QianfanEmulator) -> None:
    minimal = {"type": "function", "function": {"name": "noop", "parameters": {}}}
    schema = {"type": "json_schema", "json_schema": {"name": "W", "schema": PARAMS}}
    for body in (
        {"tools": [TOOL, minimal], "tool_choice": NAMED, "parallel_tool_calls": False},
        {"tools": [TOOL], "tool_choice": "required"},
        {"tool_choice": "none"},
        {"tool_choice": "auto", "tools": []},
        {"tools": None, "tool_choice": None, "parallel_tool_calls": None, "response_format": None},
        {"response_format": {"type": "text"}},
        {"response_format": {"type": "json_object"}},
        {"response_format": schema},
        {"messages": [USER, _calls(GOOD_CALL, {**GOOD_CALL, "id": "c2"}), TOOL_RESULT]},
        {"messages": [USER, _calls({"id": "c1", "function": {"name": "f"}}), TOOL_RESULT]},
    ):
        response = v2(qianfan_emulator, body)
        assert response.status_code == 200, (body, response.text)


def test_tool_definitions_count_as_input(qianfan_emulator: QianfanEmulator) -> None:
    plain = v2(qianfan_emulator, {"tool_choice": "none"}).json()["usage"]["prompt_tokens"]
    with_tools = v2(qianfan_emulator, {"tools": [TOOL], "tool_choice": "none"}).json()
    assert with_tools["usage"]["prompt_tokens"] > plain


def test_the_pure_field_checks() -> None:
    assert v1_tool_fields({}) == ToolFields(parallel=False)
    assert v2_tool_fields({}) == ToolFields()
    fields = v2_tool_fields(
        {
            "tools": [TOOL],
            "tool_choice": NAMED,
            "parallel_tool_calls": False,
            "response_format": {"type": "json_schema", "json_schema": {"schema": PARAMS}},
        }
    )
    assert fields == ToolFields(
        (ToolSpec("get_weather", "Weather of a city", PARAMS),),
        ToolChoice("named", "get_weather"),
        False,
        ResponseFormat("json_schema", PARAMS),
    )
    assert json.loads(fields.tools[0].text if isinstance(fields, ToolFields) else "") == FUNCTION
