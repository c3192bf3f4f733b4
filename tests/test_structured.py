"""with_structured_output on ChatQianfan: every method, include_raw, what is sent."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_qianfan_free._tools.structured import JsonOutputParser, json_request
from langchain_qianfan_free.errors import QianfanInvalidRequestError

from .conftest import PROTOCOLS, make_model

pytestmark = pytest.mark.usefixtures("fresh_tokens")


class Joke(BaseModel):
    """A joke."""

    setup: str = Field(description="question to set up a joke")
    rating: int = Field(description="how funny, 1-10")


class JokeDict(TypedDict):
    setup: str
    rating: int


def bodies(emu: Any) -> list[dict[str, Any]]:
    return [r.json for r in emu.requests if r.protocol in ("v1", "v2")]


def system_of(body: dict[str, Any]) -> str:
    if "system" in body:
        return str(body["system"])
    return str(body["messages"][0]["content"])


CALL = (
    '<tool_call>{"name": "Joke", "arguments": {"setup": "猫为什么爱睡觉？", "rating": "7"}}'
    "</tool_call>"
)
JSON = '好的：\n```json\n{"setup": "猫为什么爱睡觉？", "rating": "7",}\n```'


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("method", "reply"),
    [("function_calling", CALL), ("json_mode", JSON), ("json_schema", JSON)],
)
@pytest.mark.parametrize("schema", [Joke, JokeDict], ids=["pydantic", "typeddict"])
def test_every_method_parses_what_the_free_model_says(
    qianfan_emulator, protocol, method, reply, schema
) -> None:
    qianfan_emulator.queue_reply(reply.replace('"Joke"', f'"{schema.__name__}"'))
    chain = make_model(qianfan_emulator, protocol).with_structured_output(schema, method=method)
    result = chain.invoke("讲一个关于猫的笑话")
    expected = {"setup": "猫为什么爱睡觉？", "rating": 7}  # "7" repaired to 7
    assert (result.model_dump() if isinstance(result, Joke) else result) == expected
    body = bodies(qianfan_emulator)[0]
    assert "response_format" not in body  # free model: asked for in the prompt only
    if method != "function_calling":
        assert "It must match this JSON Schema" in system_of(body)
        assert '"rating"' in system_of(body)


def test_json_schema_is_sent_natively_to_function_calling_models(qianfan_emulator) -> None:
    qianfan_emulator.queue_reply('{"setup": "s", "rating": 3}')
    model = make_model(qianfan_emulator, "v2", model="ernie-4.0-8k")
    model.with_structured_output(Joke, method="json_schema", strict=True).invoke("joke")
    sent = bodies(qianfan_emulator)[0]["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["name"] == "Joke"
    assert sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["schema"]["required"] == ["setup", "rating"]


def test_json_mode_without_schema_returns_a_dict(qianfan_emulator) -> None:
    qianfan_emulator.queue_reply('结果如下 {"a": 1}')
    chain = make_model(qianfan_emulator, "v2").with_structured_output(None, method="json_mode")
    assert chain.invoke("给我 JSON") == {"a": 1}


def test_include_raw_reports_parsing_errors_instead_of_raising(qianfan_emulator) -> None:
    qianfan_emulator.queue_reply('{"setup": "s", "rating": "very"}')
    chain = make_model(qianfan_emulator, "v2").with_structured_output(
        Joke, method="json_mode", include_raw=True
    )
    out = chain.invoke("joke")
    assert out["parsed"] is None
    assert isinstance(out["parsing_error"], OutputParserException)
    assert out["raw"].content == '{"setup": "s", "rating": "very"}'


def test_include_raw_when_the_forced_call_never_comes(qianfan_emulator) -> None:
    qianfan_emulator.queue_reply("我只想聊天。", times=2)
    chain = make_model(qianfan_emulator, "v2").with_structured_output(Joke, include_raw=True)
    out = chain.invoke("joke")
    assert out["parsed"] is None
    assert "tool_choice requires a call of Joke" in str(out["parsing_error"])
    assert out["raw"].content == "我只想聊天。"


def test_structured_stream_yields_the_complete_object(qianfan_emulator) -> None:
    qianfan_emulator.queue_reply(CALL)
    chain = make_model(qianfan_emulator, "v1").with_structured_output(Joke)
    assert list(chain.stream("joke")) == [Joke(setup="猫为什么爱睡觉？", rating=7)]


def test_bad_arguments_are_refused_before_any_request(qianfan_emulator) -> None:
    model = make_model(qianfan_emulator, "v2")
    with pytest.raises(QianfanInvalidRequestError, match="method='xml'"):
        model.with_structured_output(Joke, method="xml")  # type: ignore[arg-type]
    with pytest.raises(QianfanInvalidRequestError, match="needs a schema"):
        model.with_structured_output(None)
    with pytest.raises(QianfanInvalidRequestError, match="unknown argument"):
        model.with_structured_output(Joke, temperature=0)
    with pytest.raises(QianfanInvalidRequestError, match="response_format"):
        model.invoke("x", response_format={"type": "yaml"})
    assert bodies(qianfan_emulator) == []


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"setup": "a", "rating": 1}', {"setup": "a", "rating": 1}),
        ('这是结果：｛"setup"："a"，"rating"：1｝。', {"setup": "a", "rating": 1}),
        ("```\n{'setup': 'a', 'rating': 1.0}\n```", {"setup": "a", "rating": 1}),
    ],
)
def test_json_parser_repairs_what_is_lossless(reply, expected) -> None:
    assert JsonOutputParser(schema_=JokeDict).parse(reply) == expected


@pytest.mark.parametrize("reply", ["没有 JSON", "[1, 2]", '{"setup": "a"}'])
def test_json_parser_refuses_the_rest(reply) -> None:
    with pytest.raises(OutputParserException):
        JsonOutputParser(schema_=Joke).parse(reply)


def test_text_response_format_is_no_request() -> None:
    assert json_request({"type": "text"}, native_support=True) is None
    assert json_request({"type": "json_object"}, native_support=False).native is None


def test_a_bare_arguments_object_answers_a_function_calling_request(qianfan_emulator) -> None:
    qianfan_emulator.queue_reply('{"setup": "猫为什么爱睡觉？", "rating": 7}')
    chain = make_model(qianfan_emulator, "v2").with_structured_output(Joke)
    assert chain.invoke("joke") == Joke(setup="猫为什么爱睡觉？", rating=7)
    assert len(bodies(qianfan_emulator)) == 1  # no corrective retry needed


@pytest.mark.parametrize("method", ["json_mode", "json_schema", "function_calling"])
def test_a_truncated_answer_is_a_parsing_error_not_a_cut_value(qianfan_emulator, method) -> None:
    long = "猫" * 40
    qianfan_emulator.queue_reply(f'{{"rating": 7, "setup": "{long}"}}', times=2)
    if method == "function_calling":
        qianfan_emulator.reset()
        qianfan_emulator.queue_reply(
            f'<tool_call>{{"name": "Joke", "arguments": {{"rating": 7, "setup": "{long}"}}}}'
            "</tool_call>",
            times=2,
        )
    model = make_model(qianfan_emulator, "v2", max_tokens=10)
    out = model.with_structured_output(Joke, method=method, include_raw=True).invoke("joke")
    assert out["parsed"] is None
    assert out["parsing_error"] is not None
