"""The scripted model: when it calls which tools with which arguments, and what it says."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from langchain_qianfan_free.emulator._model.promptmode import (
    FORCE_ANY,
    FORCE_TOOL,
    JSON_ONLY,
    JSON_SCHEMA,
)
from langchain_qianfan_free.emulator._model.replies import REFUSAL_TEXT, REPLY_PREFIX
from langchain_qianfan_free.emulator._model.toolmodel import (
    Turn,
    decide,
    default_thoughts,
    pick_tools,
    respond,
    result_text,
)
from langchain_qianfan_free.emulator._model.tooltypes import (
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
)
from langchain_qianfan_free.emulator._models import ModelRegistry
from langchain_qianfan_free.emulator._validation import ChatRequest, validate_v1, validate_v2
from langchain_qianfan_free.emulator.scenario import ReplyFault, ToolCallsFault

REGISTRY = ModelRegistry({"fc-svc": "ERNIE-3.5-8K", "plain-svc": None})


def schema(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


MAGIC = ("magic_function", "Applies a magic function", schema(input={"type": "integer"}))
NO_ARGS = ("magic_function_no_args", "Calls magic function", schema())
ADDER = ("my_adder_tool", "Adds a and b", schema(a={"type": "integer"}, b={"type": "integer"}))
WEATHER = ("get_weather", "Weather", schema(location={"type": "string"}))
GREETING = ("greeting_generator", "Greets", schema(answer_style={"type": "string"}))
CUSTOMER = (
    "unicode_customer",
    "Create a customer",
    schema(customer_name={"type": "string"}, description={"type": "string"}),
)
JOKE = schema(setup={"type": "string"}, punchline={"type": "string"})


def v2_tools(*tools: tuple[str, str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"type": "function", "function": {"name": n, "description": d, "parameters": p}}
        for n, d, p in tools
    ]


def v1_functions(*tools: tuple[str, str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": n, "description": d, "parameters": p} for n, d, p in tools]


def prompt_system(*tools: tuple[str, str, dict[str, Any]], extra: str = "") -> str:
    lines = ["You can call tools. Tools:"]
    lines += [json.dumps({"name": n, "description": d, "parameters": p}) for n, d, p in tools]
    return "\n".join([*lines, extra])


def v2(model: str, messages: list[dict[str, Any]], **body: Any) -> ChatRequest:
    raw = json.dumps({"model": model, "messages": messages, **body}).encode()
    request = validate_v2(raw, REGISTRY.v2_model)
    assert isinstance(request, ChatRequest), request
    return request


def v1(endpoint: str, messages: list[dict[str, Any]], **body: Any) -> ChatRequest:
    limits = REGISTRY.v1_endpoint(endpoint)
    assert limits is not None
    request = validate_v1(json.dumps({"messages": messages, **body}).encode(), endpoint, limits)
    assert isinstance(request, ChatRequest), request
    return request


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def arguments(turn: Turn) -> list[tuple[str, Any]]:
    return [(call.name, json.loads(call.arguments)) for call in turn.calls]


def prompt_calls(turn: Turn) -> list[dict[str, Any]]:
    """The ``<tool_call>`` blocks of a prompt-mode answer."""
    assert turn.text is not None
    assert not turn.calls
    blocks = turn.text.split("\n</tool_call>")
    assert blocks[-1] == ""
    parsed = []
    for block in blocks[:-1]:
        head, _, body = block.strip("\n").partition("\n")
        assert head == "<tool_call>"
        parsed.append(json.loads(body))
    return parsed


# -- native tools ------------------------------------------------------------------------

LANGCHAIN_CASES = [
    pytest.param(MAGIC, "What is the value of magic_function(3)? Use the tool.", {"input": 3}),
    pytest.param(NO_ARGS, "What is the value of magic_function_no_args()? Use the tool.", {}),
    pytest.param(ADDER, "What is 3 + 4", {"a": 3, "b": 4}),
    pytest.param(
        CUSTOMER,
        "Create a customer named '你好啊集团' (Hello Group) - a Chinese technology company.",
        {"customer_name": "你好啊集团"},
    ),
]


@pytest.mark.parametrize(("tool", "question", "expected"), LANGCHAIN_CASES)
def test_native_calls_on_both_protocols(
    tool: tuple[str, str, dict[str, Any]], question: str, expected: dict[str, Any]
) -> None:
    for request in (
        v2("ernie-3.5-8k", [user(question)], tools=v2_tools(tool)),
        v1("completions", [user(question)], functions=v1_functions(tool)),
    ):
        turn = decide(request)
        ((name, args),) = arguments(turn)
        assert name == tool[0]
        assert {key: args[key] for key in expected} == expected
        assert set(args) == set(tool[2]["properties"])
        assert turn.thoughts == default_thoughts(tool[0])
        assert turn.calls[0].id == ""  # ids are issued when the reply is composed


@pytest.mark.parametrize(
    ("tool", "question"),
    [
        (GREETING, "Using the tool, generate a Pirate greeting."),
        (WEATHER, "What is the weather in San Francisco, CA?"),
    ],
)
def test_string_arguments_are_non_empty(
    tool: tuple[str, str, dict[str, Any]], question: str
) -> None:
    ((_, args),) = arguments(decide(v2("ernie-4.0-8k", [user(question)], tools=v2_tools(tool))))
    assert all(isinstance(value, str) and value for value in args.values())


def test_non_fc_models_ignore_native_tools() -> None:
    for request in (
        v2("ernie-speed-8k", [user("magic_function(3)")], tools=v2_tools(MAGIC)),
        v2("ernie-speed-8k", [user("x")], tools=v2_tools(MAGIC), tool_choice="required"),
        v2("plain-svc", [user("magic_function(3)")], tools=v2_tools(MAGIC)),
        v1("ernie_speed", [user("magic_function(3)")], functions=v1_functions(MAGIC)),
    ):
        assert decide(request) == Turn()
    assert decide(v2("fc-svc", [user("x")], tools=v2_tools(MAGIC))).calls


def test_tool_choice_none_answers_text() -> None:
    request = v2(
        "ernie-3.5-8k", [user("magic_function(3)")], tools=v2_tools(MAGIC), tool_choice="none"
    )
    assert decide(request) == Turn()


def test_named_choice_wins_over_mentions() -> None:
    tools = v2_tools(MAGIC, ADDER)
    choice = {"type": "function", "function": {"name": "my_adder_tool"}}
    turn = decide(v2("ernie-3.5-8k", [user("magic_function(3)")], tools=tools, tool_choice=choice))
    assert arguments(turn) == [("my_adder_tool", {"a": 3, "b": 1})]
    v1_turn = decide(
        v1(
            "completions",
            [user("magic_function(3)")],
            functions=v1_functions(MAGIC, ADDER),
            tool_choice=choice,
        )
    )
    assert [call.name for call in v1_turn.calls] == ["my_adder_tool"]


def test_picking_by_mention_order_and_parallel_flag() -> None:
    tools = v2_tools(WEATHER, MAGIC, ADDER)
    question = user("First my adder tool with 1 and 2, then magic_function(5).")
    both = decide(v2("ernie-3.5-8k", [question], tools=tools))
    assert arguments(both) == [
        ("my_adder_tool", {"a": 1, "b": 2}),
        ("magic_function", {"input": 1}),
    ]
    one = decide(v2("ernie-3.5-8k", [question], tools=tools, parallel_tool_calls=False))
    assert [call.name for call in one.calls] == ["my_adder_tool"]
    v1_turn = decide(v1("completions", [question], functions=v1_functions(WEATHER, MAGIC, ADDER)))
    assert [call.name for call in v1_turn.calls] == ["my_adder_tool"]  # v1: one call


def test_pick_tools_rules() -> None:
    magic, no_args, weather = (ToolSpec(n, d, p) for n, d, p in (MAGIC, NO_ARGS, WEATHER))
    auto = ToolChoice()
    assert pick_tools([magic, no_args], auto, "call MAGIC_FUNCTION_NO_ARGS", parallel=True) == [
        no_args
    ]
    assert pick_tools([weather, magic], auto, "nothing named", parallel=True) == [weather]
    assert pick_tools(
        [weather, magic], auto, "Get Weather, then magic_function", parallel=True
    ) == [
        weather,
        magic,
    ]
    assert pick_tools(
        [weather, magic], ToolChoice("named", "magic_function"), "", parallel=True
    ) == [magic]
    assert pick_tools([weather], ToolChoice("named", "gone"), "", parallel=True) == [weather]


def test_after_a_tool_result_the_model_answers_with_it() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    messages = [
        user("weather in 北京?"),
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "晴，25 度"},
    ]
    turn = decide(v2("ernie-3.5-8k", messages, tools=v2_tools(WEATHER)))
    assert turn == Turn(f"{REPLY_PREFIX}ernie-3.5-8k 根据工具结果回答：get_weather: 晴，25 度")
    forced = decide(v2("ernie-3.5-8k", messages, tools=v2_tools(WEATHER), tool_choice="required"))
    assert arguments(forced) == [("get_weather", {"location": "北京"})]
    v1_messages = [
        user("weather?"),
        {
            "role": "assistant",
            "content": "",
            "function_call": {"name": "get_weather", "arguments": "{}"},
        },
        {"role": "function", "name": "get_weather", "content": '{"temp": 25}'},
    ]
    v1_turn = decide(v1("completions", v1_messages, functions=v1_functions(WEATHER)))
    assert (
        v1_turn.text == f'{REPLY_PREFIX}completions 根据工具结果回答：get_weather: {{"temp": 25}}'
    )


def test_every_result_since_the_last_question_is_used() -> None:
    def call(call_id: str, name: str) -> dict[str, Any]:
        return {"id": call_id, "function": {"name": name, "arguments": "{}"}}

    messages = [
        user("old question"),
        {"role": "assistant", "content": "old answer"},
        user("add, then weather"),
        {"role": "assistant", "content": None, "tool_calls": [call("a", "my_adder_tool")]},
        {"role": "tool", "tool_call_id": "a", "content": "7"},
        {"role": "assistant", "content": None, "tool_calls": [call("w", "get_weather")]},
        {"role": "tool", "tool_call_id": "w", "name": "weather_alias", "content": "x" * 100},
    ]
    turn = decide(v2("ernie-speed-8k", messages))  # results are read on every model
    assert turn.text == (
        f"{REPLY_PREFIX}ernie-speed-8k 根据工具结果回答：my_adder_tool: 7\n"
        f"weather_alias: {'x' * 80}…"
    )


def test_result_text_marks_failures() -> None:
    text = result_text("m", [ToolResult("t", "boom", failed=True)])
    assert text == f"{REPLY_PREFIX}m 根据工具结果回答：t（失败）: boom"


# -- prompt mode -------------------------------------------------------------------------


def test_prompt_mode_calls_in_text_on_every_model() -> None:
    system = prompt_system(WEATHER, ADDER)
    question = "What is 3 + 4 with my_adder_tool? And get_weather in Paris."
    for request in (
        v2("ernie-speed-8k", [{"role": "system", "content": system}, user(question)]),
        v1("ernie-lite-8k", [user(question)], system=system),
        v2("ernie-3.5-8k", [{"role": "system", "content": system}, user(question)]),
    ):
        assert prompt_calls(decide(request)) == [
            {"name": "my_adder_tool", "arguments": {"a": 3, "b": 4}},
            {"name": "get_weather", "arguments": {"location": "Paris"}},
        ]


def test_native_tools_win_over_prompt_tools_on_fc_models() -> None:
    messages = [{"role": "system", "content": prompt_system(WEATHER)}, user("magic_function(2)")]
    turn = decide(v2("ernie-3.5-8k", messages, tools=v2_tools(MAGIC)))
    assert arguments(turn) == [("magic_function", {"input": 2})]
    # ...but a non-FC model ignores the native ones and follows the prompt.
    speed = decide(v2("ernie-speed-8k", messages, tools=v2_tools(MAGIC)))
    assert prompt_calls(speed) == [
        {"name": "get_weather", "arguments": {"location": "magic_function(2)"}}
    ]


def test_prompt_mode_results_and_forcing() -> None:
    response = (
        "<tool_response>\n"
        '{"name": "my_adder_tool", "tool_call_id": "c1", "status": "success", "content": 7}\n'
        "</tool_response>"
    )
    history = [user("What is 3 + 4"), {"role": "assistant", "content": "<tool_call>…</tool_call>"}]
    auto = decide(v1("ernie_speed", [*history, user(response)], system=prompt_system(ADDER)))
    assert auto.text == f"{REPLY_PREFIX}ernie_speed 根据工具结果回答：my_adder_tool: 7"
    for extra in (FORCE_ANY, FORCE_TOOL.format(name="my_adder_tool")):
        forced = decide(
            v1("ernie_speed", [*history, user(response)], system=prompt_system(ADDER, extra=extra))
        )
        # the blank (blocks-only) user message falls back to the earlier question
        assert prompt_calls(forced) == [{"name": "my_adder_tool", "arguments": {"a": 3, "b": 4}}]


def test_prompt_forcing_one_tool_calls_only_that_one() -> None:
    system = prompt_system(WEATHER, ADDER, extra=FORCE_TOOL.format(name="get_weather"))
    turn = decide(v1("ernie_speed", [user("my_adder_tool 1 2")], system=system))
    assert [call["name"] for call in prompt_calls(turn)] == ["get_weather"]


# -- JSON output -------------------------------------------------------------------------


def test_prompt_json_schema_line_on_any_model() -> None:
    system = "Tell jokes. " + JSON_SCHEMA + " " + json.dumps(JOKE, separators=(",", ":"))
    turn = decide(v1("ernie_speed", [user("Tell me a joke about 'cats'")], system=system))
    assert turn.text is not None
    assert json.loads(turn.text) == {"setup": "cats", "punchline": "Tell me a joke about 'cats'"}


def test_prompt_json_only_line() -> None:
    messages = [{"role": "system", "content": JSON_ONLY + "."}, user("  hello\n world ")]
    assert decide(v2("ernie-tiny-8k", messages)) == Turn('{"answer": "hello world"}')


def test_response_format_on_fc_models() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "Joke", "schema": JOKE}}
    turn = decide(v2("ernie-3.5-8k", [user("about dogs")], response_format=fmt))
    assert turn.text is not None
    assert json.loads(turn.text) == {"setup": "about dogs", "punchline": "about dogs"}
    free = decide(v2("ernie-3.5-8k", [user("hi")], response_format={"type": "json_object"}))
    assert free == Turn('{"answer": "hi"}')
    system = JSON_SCHEMA + ' {"type":"object","properties":{"n":{"type":"integer"}}}'
    from_system = decide(
        v2(
            "ernie-3.5-8k",
            [{"role": "system", "content": system}, user("n is 9")],
            response_format={"type": "json_object"},
        )
    )
    assert from_system == Turn('{"n": 9}')
    v1_turn = decide(v1("completions", [user("hi")], response_format="json_object"))
    assert v1_turn == Turn('{"answer": "hi"}')
    text = decide(v2("ernie-3.5-8k", [user("hi")], response_format={"type": "text"}))
    assert text == Turn()


def test_response_format_is_ignored_on_non_fc_models() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "Joke", "schema": JOKE}}
    assert decide(v2("ernie-speed-8k", [user("hi")], response_format=fmt)) == Turn()
    assert decide(v1("ernie_speed", [user("hi")], response_format="json_object")) == Turn()


def test_tools_come_before_json_and_json_after_results() -> None:
    fmt = {"type": "json_object"}
    first = decide(
        v2("ernie-3.5-8k", [user("magic_function(1)")], tools=v2_tools(MAGIC), response_format=fmt)
    )
    assert first.calls
    none = decide(
        v2(
            "ernie-3.5-8k",
            [user("q")],
            tools=v2_tools(MAGIC),
            tool_choice="none",
            response_format=fmt,
        )
    )
    assert none == Turn('{"answer": "q"}')


# -- respond: scripted answers and composition ------------------------------------------


def ids() -> Any:
    counter = itertools.count()
    return lambda: f"call_{next(counter):024x}"


def answer(request: ChatRequest, scripted: Any = None) -> Any:
    return respond(
        request,
        scripted,
        unsafe_input_words=("BAD_IN",),
        unsafe_output_words=("BAD_OUT",),
        new_call_id=ids(),
    )


def test_scripted_text_is_verbatim_even_with_tools() -> None:
    broken = '```\n<tool_call>\n{"name": "get_weather", "arguments": {\n```'
    request = v2(
        "ernie-speed-8k",
        [{"role": "system", "content": prompt_system(WEATHER, extra=FORCE_ANY)}, user("x")],
    )
    reply = answer(request, ReplyFault(broken))
    assert (reply.text, reply.tool_calls) == (broken, ())
    native = answer(v2("ernie-3.5-8k", [user("x")], tools=v2_tools(WEATHER)), ReplyFault("纯文本"))
    assert (native.text, native.tool_calls) == ("纯文本", ())


def test_scripted_calls_get_ids_and_thoughts() -> None:
    fault = ToolCallsFault.build(
        [{"name": "a", "arguments": {"城市": "北京"}}, {"name": "b", "arguments": "{bad"}]
    )
    reply = answer(v2("ernie-speed-8k", [user("x")]), fault)
    assert reply.tool_calls == (
        ToolCall("a", '{"城市": "北京"}', "call_" + "0" * 24),
        ToolCall("b", "{bad", "call_" + "0" * 23 + "1"),
    )
    assert (reply.text, reply.finish_reason, reply.thoughts) == ("", None, default_thoughts("a"))
    assert reply.completion_tokens > 0
    custom = answer(v1("ernie_speed", [user("x")]), ToolCallsFault.build([{"name": "a"}], "想一想"))
    assert (custom.tool_calls[0].arguments, custom.thoughts) == ("{}", "想一想")


def test_model_calls_are_composed_with_ids_and_never_cut() -> None:
    request = v2(
        "ernie-3.5-8k",
        [user("Create a customer named 'ACME' for BAD_OUT")],
        tools=v2_tools(CUSTOMER),
        stop=["ACME", "{"],
        max_tokens=2,
    )
    reply = answer(request)
    (call,) = reply.tool_calls
    assert call.id == "call_" + "0" * 24
    assert json.loads(call.arguments)["customer_name"] == "ACME"
    assert (reply.truncated, reply.finish_reason) == (False, None)


def test_input_moderation_beats_tools() -> None:
    request = v2("ernie-3.5-8k", [user("BAD_IN magic_function(1)")], tools=v2_tools(MAGIC))
    for scripted in (None, ToolCallsFault.build([{"name": "x"}])):
        reply = answer(request, scripted)
        assert (reply.text, reply.input_flagged, reply.tool_calls) == (REFUSAL_TEXT, True, ())


def test_text_answers_are_still_cut() -> None:
    system = JSON_ONLY
    request = v2(
        "ernie-speed-8k", [{"role": "system", "content": system}, user("abc")], stop=['"abc']
    )
    reply = answer(request)
    assert (reply.text, reply.finish_reason) == ('{"answer": ', "stop")


def test_named_tools_are_called_in_turn_until_each_has_answered() -> None:
    def call(call_id: str, name: str) -> dict[str, Any]:
        return {"id": call_id, "function": {"name": name, "arguments": "{}"}}

    question = user("先用 get_weather 查“北京”，再用 my_adder_tool 算 3 + 4")
    first_result = [
        question,
        {"role": "assistant", "content": None, "tool_calls": [call("w", "get_weather")]},
        {"role": "tool", "tool_call_id": "w", "content": "晴"},
    ]
    tools = v2_tools(WEATHER, ADDER)
    turn = decide(v2("ernie-3.5-8k", first_result, tools=tools, parallel_tool_calls=False))
    assert arguments(turn) == [("my_adder_tool", {"a": 3, "b": 4})]  # the one still missing
    both = [
        *first_result,
        {"role": "assistant", "content": None, "tool_calls": [call("a", "my_adder_tool")]},
        {"role": "tool", "tool_call_id": "a", "content": "7"},
    ]
    final = decide(v2("ernie-3.5-8k", both, tools=tools, parallel_tool_calls=False))
    assert final.text == (
        f"{REPLY_PREFIX}ernie-3.5-8k 根据工具结果回答：get_weather: 晴\nmy_adder_tool: 7"
    )
    unnamed = decide(v2("ernie-3.5-8k", first_result, tools=v2_tools(WEATHER, MAGIC)))
    assert unnamed.text  # magic_function is not named: the model answers
