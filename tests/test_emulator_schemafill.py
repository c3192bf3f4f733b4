"""Filling JSON Schemas from a user message: the argument table the scripted model uses."""

from __future__ import annotations

from typing import Any

import pytest

from langchain_qianfan_free.emulator._model.schemafill import (
    FALLBACK_TEXT,
    fill_schema,
    message_numbers,
    quoted_parts,
)


def obj(required: list[str] | None = None, **properties: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required is not None:
        schema["required"] = required
    return schema


INT = {"type": "integer"}
STR = {"type": "string"}
UNICODE_CUSTOMER = obj(
    ["customer_name", "description"],
    customer_name={"type": "string", "description": "The customer's name"},
    description={"type": "string", "description": "The customer's description"},
)
JOKE = obj(
    ["setup"],
    setup={"type": "string", "description": "The setup of the joke"},
    punchline={
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "default": None,
        "description": "The punchline of the joke",
    },
)

# langchain-tests' cases (exact values where the brief fixes them).
EXACT = [
    pytest.param(
        obj(["input"], input=INT),
        "What is the value of magic_function(3)? Use the tool.",
        {"input": 3},
        id="magic-function",
    ),
    pytest.param(obj(), "What is the value of magic_function_no_args()?", {}, id="no-args"),
    pytest.param({"type": "object"}, "anything", {}, id="object-without-properties"),
    pytest.param(obj(["a", "b"], a=INT, b=INT), "What is 3 + 4", {"a": 3, "b": 4}, id="adder"),
    pytest.param(obj(a=INT, b=INT), "３加４等于几", {"a": 3, "b": 4}, id="full-width-digits"),
    pytest.param(obj(a=INT, b=INT), "what is 7?", {"a": 7, "b": 1}, id="numbers-run-out"),
    pytest.param(
        obj(a={"type": "integer", "default": 5}, b={"type": "integer", "minimum": 10}),
        "no numbers",
        {"a": 5, "b": 10},
        id="default-then-minimum",
    ),
    pytest.param(
        obj(n={"type": "integer", "maximum": 9}), "set 42", {"n": 9}, id="clamped-to-maximum"
    ),
    pytest.param(obj(x={"type": "number"}), "scale by 2.5", {"x": 2.5}, id="float"),
    pytest.param(obj(x={"type": "integer"}), "scale by 2.5", {"x": 2}, id="float-to-integer"),
    pytest.param(obj(x=INT), "warm to -5 degrees", {"x": -5}, id="negative"),
    pytest.param(obj(x=INT), "3-4", {"x": 3}, id="minus-after-digit-is-not-a-sign"),
    pytest.param(obj(x=INT), "use tool2 with 8", {"x": 8}, id="digits-in-words-are-skipped"),
    pytest.param(
        UNICODE_CUSTOMER,
        "Create a customer named '你好啊集团' (Hello Group) - a Chinese technology company "
        "that provides cloud services.",
        {"customer_name": "你好啊集团"},
        id="unicode-customer-chinese",
    ),
    pytest.param(
        UNICODE_CUSTOMER,
        "Create a customer named 'こんにちは株式会社' (Hello Corporation) - a Japanese "
        "technology company.",
        {"customer_name": "こんにちは株式会社"},
        id="unicode-customer-japanese",
    ),
    pytest.param(
        obj(a=STR, b=STR, c=STR, d=STR),
        '「甲」 then “乙” and "丙" or ‘丁’',
        {"a": "甲", "b": "乙", "c": "丙", "d": "丁"},
        id="quote-kinds-in-order",
    ),
    pytest.param(
        obj(location=STR),
        "What is the weather in San Francisco, CA?",
        {"location": "San Francisco, CA"},
        id="location-words",
    ),
    pytest.param(
        obj(city=STR),
        "Weather in Paris and then in 北京 for tomorrow?",
        {"city": "北京"},
        id="location-words-last-place",
    ),
    pytest.param(
        obj(unit={"type": "string", "enum": ["celsius", "fahrenheit"]}),
        "in Fahrenheit please",
        {"unit": "fahrenheit"},
        id="enum-mentioned",
    ),
    pytest.param(
        obj(unit={"enum": ["celsius", "fahrenheit"]}), "hot?", {"unit": "celsius"}, id="enum-first"
    ),
    pytest.param(obj(k={"const": "fixed"}), "x", {"k": "fixed"}, id="const"),
    pytest.param(obj(flag={"type": "boolean"}), "x", {"flag": True}, id="boolean"),
    pytest.param(obj(nothing={"type": "null"}), "x", {"nothing": None}, id="null"),
    pytest.param(obj(tags={"type": "array"}), "x", {"tags": []}, id="array-without-items"),
    pytest.param(
        obj(ids={"type": "array", "items": INT, "minItems": 2}),
        "ids 4 and 6",
        {"ids": [4, 6]},
        id="array-min-items",
    ),
    pytest.param(
        obj(when={"type": "string", "format": "date"}), "x", {"when": "2024-01-01"}, id="format"
    ),
    pytest.param(
        obj(n={"type": ["integer", "null"]}), "take 12", {"n": 12}, id="type-list-skips-null"
    ),
]


@pytest.mark.parametrize(("schema", "text", "expected"), EXACT)
def test_fill_exact(schema: dict[str, Any], text: str, expected: dict[str, Any]) -> None:
    filled = fill_schema(schema, text)
    assert {key: filled[key] for key in expected} == expected
    assert set(filled) == set(schema.get("properties", {}))


@pytest.mark.parametrize(
    ("schema", "text"),
    [
        pytest.param(
            obj(["answer_style"], answer_style=STR),
            "Using the tool, generate a Pirate greeting.",
            id="greeting-generator",
        ),
        pytest.param(
            obj(["location"], location=STR),
            "What is the weather in San Francisco, CA?",
            id="get-weather",
        ),
        pytest.param(JOKE, "Tell me a joke about cats", id="joke"),
        pytest.param(UNICODE_CUSTOMER, "no quotes here", id="strings-without-quotes"),
    ],
)
def test_strings_are_never_empty(schema: dict[str, Any], text: str) -> None:
    filled = fill_schema(schema, text)
    assert set(filled) == set(schema["properties"])
    for value in filled.values():
        assert isinstance(value, str)
        assert value.strip()


def test_text_fallback_is_collapsed_and_short() -> None:
    text = "  a   very long message " + "word " * 40
    value = fill_schema(STR, text)
    assert value == " ".join(text.split())[:60].strip()
    assert fill_schema(STR, "   ") == FALLBACK_TEXT
    assert fill_schema({"type": "string", "maxLength": 3}, "abcdef") == "abc"


def test_refs_any_of_all_of_and_nesting() -> None:
    schema = {
        "$defs": {
            "Point": obj(x=INT, y=INT),
            "Tag": {"type": "string", "enum": ["red", "blue"]},
        },
        "definitions": {"Flag": {"type": "boolean"}},
        "type": "object",
        "properties": {
            "start": {"$ref": "#/$defs/Point"},
            "end": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/Point"}]},
            "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}},
            "flag": {"$ref": "#/definitions/Flag"},
            "merged": {"allOf": [obj(a=INT), obj(b=STR)]},
            "either": {"oneOf": [{"type": "null"}, STR]},
        },
    }
    filled = fill_schema(schema, "from 1,2 to 3,4 in blue")
    assert filled["start"] == {"x": 1, "y": 2}
    assert filled["end"] == {"x": 3, "y": 4}
    assert filled["tags"] == ["blue"]
    assert filled["flag"] is True
    assert filled["merged"] == {"a": 1, "b": "from 1,2 to 3,4 in blue"}
    assert filled["either"] == "from 1,2 to 3,4 in blue"


def test_recursive_schemas_terminate() -> None:
    schema = {
        "$defs": {"Node": obj(value=INT, child={"$ref": "#/$defs/Node"})},
        "$ref": "#/$defs/Node",
    }
    filled = fill_schema(schema, "1")
    assert filled["value"] == 1
    depth = 0
    while filled:
        filled = filled.get("child")
        depth += 1
    assert depth < 20
    assert fill_schema({"$ref": "#/$defs/missing"}, "hi") == "hi"


def test_non_object_schemas() -> None:
    assert fill_schema({"type": "array", "items": INT}, "5") == [5]
    assert fill_schema({}, "just text") == "just text"


def test_helpers() -> None:
    assert message_numbers("a 1, b ２．５, c -3, x9, 7") == [1, 2.5, -3, 7]
    assert quoted_parts("it's 'Acme Co' and \"x\" — '  '") == ["Acme Co", "x"]


def test_filling_is_deterministic() -> None:
    text = "Create a customer named 'ACME' with 3 seats"
    schema = obj(name=STR, seats=INT, note=STR)
    assert fill_schema(schema, text) == fill_schema(schema, text)
