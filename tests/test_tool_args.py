"""Argument repair against tool schemas: fix types losslessly, refuse the rest."""

from __future__ import annotations

import pytest

from langchain_qianfan_free._tools.args import ArgumentError, coerce_arguments

SCHEMA = {
    "type": "object",
    "properties": {
        "n": {"type": "integer"},
        "x": {"type": "number"},
        "flag": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "either": {"type": ["integer", "string"]},
        "mode": {"type": "string", "enum": ["fast", "slow"]},
    },
    "required": ["n"],
}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"n": 1}, {"n": 1}),
        ('{"n": 2}', {"n": 2}),
        ({"n": "7", "x": "2.5", "flag": "false"}, {"n": 7, "x": 2.5, "flag": False}),
        ({"n": 1, "x": "4"}, {"n": 1, "x": 4}),
        ({"n": 1, "tags": '["a", "b"]'}, {"n": 1, "tags": ["a", "b"]}),
        ({"n": 1, "tags": [1, "b"]}, {"n": 1, "tags": ["1", "b"]}),
        ({"n": 1, "maybe": None}, {"n": 1, "maybe": None}),
        ({"n": 1, "maybe": "5"}, {"n": 1, "maybe": 5}),
        ({"n": 1, "either": "abc"}, {"n": 1, "either": "abc"}),
        ({"n": 1, "either": "007"}, {"n": 1, "either": "007"}),  # already a string: kept
        ({"n": 1, "either": 3}, {"n": 1, "either": 3}),
        ({"n": 1, "mode": "FAST"}, {"n": 1, "mode": "fast"}),
        ({"n": 1, "extra": "kept"}, {"n": 1, "extra": "kept"}),
    ],
)
def test_repairs(given, expected) -> None:
    assert coerce_arguments(given, SCHEMA) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "missing required 'n'"),
        ({"n": True}, "arguments.n: expected an integer"),
        ({"n": 1.5}, "arguments.n: expected an integer"),
        ({"n": 1, "x": "nan"}, "arguments.x: expected a number"),
        ({"n": 1, "flag": "maybe"}, "arguments.flag: expected true or false"),
        ({"n": 1, "tags": "a,b"}, "arguments.tags: expected a list"),
        ({"n": 1, "mode": "medium"}, "is not one of"),
        ("not json", "expected an object"),
        ([1, 2], "expected an object"),
    ],
)
def test_refusals_say_where(given, message) -> None:
    with pytest.raises(ArgumentError, match=message):
        coerce_arguments(given, SCHEMA)


def test_closed_objects_refuse_unexpected_arguments() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "additionalProperties": False,
    }
    with pytest.raises(ArgumentError, match="unexpected 'b'"):
        coerce_arguments({"a": "x", "b": 1}, schema)


def test_no_parameters() -> None:
    assert coerce_arguments(None, None) == {}
    assert coerce_arguments("", {"type": "object", "properties": {}}) == {}
